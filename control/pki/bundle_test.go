package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func ensure(t *testing.T, dir string, opts BundleOptions, now time.Time) *Bundle {
	t.Helper()
	b, err := Ensure(dir, opts, now)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func servingCert(t *testing.T, b *Bundle) *x509.Certificate {
	t.Helper()
	c, err := ParseCertificatePEM(b.ServingCertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEnsureFirstStart(t *testing.T) {
	dir := t.TempDir()
	b := ensure(t, dir, BundleOptions{Hosts: []string{"10.0.0.5", "api.example.test", "[fd00::1]"}}, t0)
	if !b.CreatedCA || !b.IssuedServing {
		t.Errorf("CreatedCA=%v IssuedServing=%v, want both", b.CreatedCA, b.IssuedServing)
	}
	for _, tc := range []struct {
		path string
		mode os.FileMode
	}{
		{"pki", 0o700 | os.ModeDir},
		{"pki/ca.crt", 0o644},
		{"pki/ca.key", 0o600},
		{"pki/apiserver.crt", 0o644},
		{"pki/apiserver.key", 0o600},
		{"admin-token", 0o600},
		{"join-token", 0o600},
	} {
		t.Run(tc.path, func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(dir, tc.path))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tc.mode {
				t.Errorf("mode %v, want %v", fi.Mode(), tc.mode)
			}
		})
	}
	for _, tc := range []struct {
		file, prefix, token string
	}{
		{"admin-token", AdminTokenPrefix, b.AdminToken},
		{"join-token", JoinTokenPrefix, b.JoinToken},
	} {
		data, err := os.ReadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != tc.token+"\n" || !strings.HasPrefix(tc.token, tc.prefix) {
			t.Errorf("%s holds %q, token %q", tc.file, data, tc.token)
		}
	}
	cert := servingCert(t, b)
	for _, host := range []string{"127.0.0.1", "::1", "localhost", "10.0.0.5", "api.example.test", "fd00::1"} {
		_, err := cert.Verify(x509.VerifyOptions{Roots: b.CA.Pool(), DNSName: host, CurrentTime: t0})
		if err != nil {
			t.Errorf("serving cert for %s: %v", host, err)
		}
	}
	if got, want := cert.NotAfter, t0.Add(DefaultValidity); !got.Equal(want) {
		t.Errorf("serving NotAfter = %s, want %s", got, want)
	}
}

func TestEnsureIdempotent(t *testing.T) {
	dir := t.TempDir()
	opts := BundleOptions{Hosts: []string{"10.0.0.5"}}
	first := ensure(t, dir, opts, t0)
	second := ensure(t, dir, opts, t0.Add(24*time.Hour))
	if second.CreatedCA || second.IssuedServing {
		t.Errorf("second start: CreatedCA=%v IssuedServing=%v, want neither", second.CreatedCA, second.IssuedServing)
	}
	if !first.CA.Cert.Equal(second.CA.Cert) || !bytes.Equal(first.CA.CertPEM, second.CA.CertPEM) {
		t.Error("CA changed")
	}
	if !bytes.Equal(first.ServingCertPEM, second.ServingCertPEM) || !bytes.Equal(first.ServingKeyPEM, second.ServingKeyPEM) {
		t.Error("serving certificate changed")
	}
	if first.AdminToken != second.AdminToken || first.JoinToken != second.JoinToken {
		t.Error("tokens changed")
	}
	if first.AdminToken == first.JoinToken {
		t.Error("admin and join tokens are equal")
	}
}

func TestEnsureReissue(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    BundleOptions
		at      time.Time
		mangle  func(t *testing.T, dir string)
		reissue bool
	}{
		{"same hosts", BundleOptions{Hosts: []string{"10.0.0.5"}}, t0, nil, false},
		{"subset of hosts", BundleOptions{}, t0, nil, false},
		{"host in other case", BundleOptions{Hosts: []string{"10.0.0.5", "LocalHost"}}, t0, nil, false},
		{"new IP", BundleOptions{Hosts: []string{"10.0.0.5", "10.0.0.6"}}, t0, nil, true},
		{"new name", BundleOptions{Hosts: []string{"10.0.0.5", "wk.example.test"}}, t0, nil, true},
		{"31 days left", BundleOptions{Hosts: []string{"10.0.0.5"}}, t0.Add(DefaultValidity - 31*24*time.Hour), nil, false},
		{"29 days left", BundleOptions{Hosts: []string{"10.0.0.5"}}, t0.Add(DefaultValidity - 29*24*time.Hour), nil, true},
		{"expired", BundleOptions{Hosts: []string{"10.0.0.5"}}, t0.Add(2 * DefaultValidity), nil, true},
		{"key of another cert", BundleOptions{Hosts: []string{"10.0.0.5"}}, t0, func(t *testing.T, dir string) {
			// What a crash between writing the key and the certificate leaves.
			ca := newTestCA(t, "x")
			_, _, key, _ := issueServer(ca, t0)
			os.WriteFile(filepath.Join(dir, "pki", "apiserver.key"), key, 0o600)
		}, true},
		{"cert missing", BundleOptions{Hosts: []string{"10.0.0.5"}}, t0, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "pki", "apiserver.crt"))
		}, true},
		{"cert from another CA", BundleOptions{Hosts: []string{"10.0.0.5"}}, t0, func(t *testing.T, dir string) {
			ca := newTestCA(t, "x")
			_, cert, key, _ := issueServer(ca, t0)
			os.WriteFile(filepath.Join(dir, "pki", "apiserver.crt"), cert, 0o644)
			os.WriteFile(filepath.Join(dir, "pki", "apiserver.key"), key, 0o600)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first := ensure(t, dir, BundleOptions{Hosts: []string{"10.0.0.5"}}, t0)
			if tc.mangle != nil {
				tc.mangle(t, dir)
			}
			got := ensure(t, dir, tc.opts, tc.at)
			if got.IssuedServing != tc.reissue {
				t.Fatalf("IssuedServing = %v, want %v", got.IssuedServing, tc.reissue)
			}
			if got.CreatedCA || !got.CA.Cert.Equal(first.CA.Cert) {
				t.Fatal("CA changed")
			}
			if got.AdminToken != first.AdminToken || got.JoinToken != first.JoinToken {
				t.Fatal("tokens changed")
			}
			cert := servingCert(t, got)
			if _, err := cert.Verify(x509.VerifyOptions{Roots: first.CA.Pool(), CurrentTime: tc.at, DNSName: "10.0.0.5"}); err != nil {
				t.Errorf("serving cert does not verify against the first CA: %v", err)
			}
			for _, h := range tc.opts.Hosts {
				if err := cert.VerifyHostname(h); err != nil {
					t.Errorf("serving cert: %v", err)
				}
			}
			// What Ensure returned is what is on disk.
			again := ensure(t, dir, tc.opts, tc.at)
			if again.IssuedServing || !bytes.Equal(again.ServingCertPEM, got.ServingCertPEM) {
				t.Error("third start reissued or returned another certificate")
			}
		})
	}
}

// issueServer issues a server certificate for 10.0.0.5.
func issueServer(ca *CA, now time.Time) (*x509.Certificate, []byte, []byte, error) {
	certPEM, keyPEM, err := ca.Issue(CertRequest{CommonName: "s", IPs: []net.IP{net.ParseIP("10.0.0.5")}, Server: true}, now)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := ParseCertificatePEM(certPEM)
	return cert, certPEM, keyPEM, err
}

func TestEnsureDisk(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mangle  func(dir string)
		wantErr error
		check   func(t *testing.T, dir string, first, got *Bundle)
	}{
		{"lone CA key from a crashed first start is replaced", func(dir string) {
			os.Remove(filepath.Join(dir, "pki", "ca.crt"))
		}, nil, func(t *testing.T, dir string, first, got *Bundle) {
			if !got.CreatedCA || !got.IssuedServing || got.CA.Cert.Equal(first.CA.Cert) {
				t.Errorf("CreatedCA=%v IssuedServing=%v, want a new CA and serving cert", got.CreatedCA, got.IssuedServing)
			}
		}},
		{"CA key deleted", func(dir string) {
			os.Remove(filepath.Join(dir, "pki", "ca.key"))
		}, ErrIncompleteCA, nil},
		{"CA key from elsewhere", func(dir string) {
			other, _ := NewCA("x", t0)
			key, _ := other.KeyPEM()
			os.WriteFile(filepath.Join(dir, "pki", "ca.key"), key, 0o600)
		}, ErrKeyMismatch, nil},
		{"token deleted is regenerated", func(dir string) {
			os.Remove(filepath.Join(dir, "join-token"))
		}, nil, func(t *testing.T, dir string, first, got *Bundle) {
			if got.JoinToken == first.JoinToken || !strings.HasPrefix(got.JoinToken, JoinTokenPrefix) {
				t.Errorf("join token %q, want a new one", got.JoinToken)
			}
			if got.AdminToken != first.AdminToken {
				t.Error("admin token changed")
			}
		}},
		{"operator-chosen token is kept", func(dir string) {
			os.WriteFile(filepath.Join(dir, "join-token"), []byte("  my-join-secret\n\n"), 0o600)
		}, nil, func(t *testing.T, dir string, first, got *Bundle) {
			if got.JoinToken != "my-join-secret" {
				t.Errorf("join token %q", got.JoinToken)
			}
		}},
		{"empty token file", func(dir string) {
			os.WriteFile(filepath.Join(dir, "admin-token"), nil, 0o600)
		}, nil, nil},
		{"stale temp files are removed", func(dir string) {
			os.WriteFile(filepath.Join(dir, "pki", ".ca.key.tmp-123"), []byte("secret"), 0o600)
			os.WriteFile(filepath.Join(dir, ".admin-token.tmp-9"), []byte("secret"), 0o600)
		}, nil, func(t *testing.T, dir string, first, got *Bundle) {
			for _, p := range []string{"pki/.ca.key.tmp-123", ".admin-token.tmp-9"} {
				if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s: %v, want removed", p, err)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first := ensure(t, dir, BundleOptions{}, t0)
			tc.mangle(dir)
			got, err := Ensure(dir, BundleOptions{}, t0)
			if tc.check == nil {
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("Ensure = %v, want error %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), dir) {
					t.Errorf("error %q does not name the data directory", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, dir, first, got)
		})
	}
}

func TestEnsureInvalidHost(t *testing.T) {
	for _, h := range []string{"10.0.0.5:6443", "https://x", "a b", "-x.example", "x..y"} {
		t.Run(h, func(t *testing.T) {
			_, err := Ensure(t.TempDir(), BundleOptions{Hosts: []string{h}}, t0)
			if !errors.Is(err, ErrInvalidHost) {
				t.Errorf("Ensure = %v, want ErrInvalidHost", err)
			}
		})
	}
}

func TestParseHosts(t *testing.T) {
	ips, names, err := parseHosts([]string{"", " 10.0.0.5 ", "[fd00::1]", "Node1.Example.", "node1.example", "127.0.0.1", "*.svc.test", "under_score"})
	if err != nil {
		t.Fatal(err)
	}
	var gotIPs []string
	for _, ip := range ips {
		gotIPs = append(gotIPs, ip.String())
	}
	if got, want := strings.Join(gotIPs, ","), "127.0.0.1,::1,10.0.0.5,fd00::1"; got != want {
		t.Errorf("ips = %s, want %s", got, want)
	}
	if got, want := strings.Join(names, ","), "localhost,node1.example,*.svc.test,under_score"; got != want {
		t.Errorf("names = %s, want %s", got, want)
	}
}
