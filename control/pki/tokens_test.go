package pki

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	for _, prefix := range []string{AdminTokenPrefix, JoinTokenPrefix, ""} {
		t.Run("prefix "+prefix, func(t *testing.T) {
			seen := map[string]bool{}
			for range 100 {
				tok, err := NewToken(prefix)
				if err != nil {
					t.Fatal(err)
				}
				rest, ok := strings.CutPrefix(tok, prefix)
				if !ok || len(rest) != 43 {
					t.Fatalf("token %q: want %q + 43 chars", tok, prefix)
				}
				raw, err := base64.RawURLEncoding.DecodeString(rest)
				if err != nil || len(raw) != 32 {
					t.Fatalf("token %q: random part is not 32 bytes of base64url: %v", tok, err)
				}
				if seen[tok] {
					t.Fatalf("token %q repeated", tok)
				}
				seen[tok] = true
			}
		})
	}
}

func TestTokenEqual(t *testing.T) {
	tok, err := NewToken(AdminTokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		a, b string
		want bool
	}{
		{"same", tok, tok, true},
		{"copy", tok, strings.Clone(tok), true},
		{"last char differs", tok[:len(tok)-1] + "!", tok, false},
		{"prefix of", tok[:10], tok, false},
		{"longer", tok + "x", tok, false},
		{"both empty", "", "", false},
		{"presented empty", "", tok, false},
		{"expected empty", tok, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TokenEqual(tc.a, tc.b); got != tc.want {
				t.Errorf("TokenEqual = %v, want %v", got, tc.want)
			}
		})
	}
}

func BenchmarkTokenEqual(b *testing.B) {
	x, _ := NewToken(AdminTokenPrefix)
	y := strings.Clone(x)
	for b.Loop() {
		if !TokenEqual(x, y) {
			b.Fatal("not equal")
		}
	}
}

func BenchmarkNewToken(b *testing.B) {
	for b.Loop() {
		if _, err := NewToken(JoinTokenPrefix); err != nil {
			b.Fatal(err)
		}
	}
}
