package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/api/labels"
)

// newCreateConfigMapCmd is kubectl create configmap.
func newCreateConfigMapCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "configmap NAME [--from-file=[key=]source] [--from-literal=key1=value1] [--from-env-file=source]",
		Aliases: []string{"cm"},
		Short:   "Create a config map from a local file, directory or literal value",
		Long: `Create a config map from files, directories, literals or env files, as kubectl does: a file's key
is its base name unless given as key=path, a directory adds each regular file in it, and a file
that is not UTF-8 goes to binaryData.`,
		Example: `  wk create configmap app --from-literal=color=blue --from-file=app.properties
  wk create configmap env --from-env-file=app.env`,
		Args: cobra.ExactArgs(1),
		RunE: clientAction(s, runCreateConfigMap),
	}
	addSourceFlags(cmd)
	addCreateOutputFlags(cmd)
	return cmd
}

// newCreateSecretCmd is kubectl create secret generic and tls.
func newCreateSecretCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret (generic | tls) NAME",
		Short: "Create a secret using a specified subcommand",
	}
	gen := &cobra.Command{
		Use:   "generic NAME [--type=string] [--from-file=[key=]source] [--from-literal=key1=value1] [--from-env-file=source]",
		Short: "Create a secret from a local file, directory or literal value",
		Example: `  wk create secret generic db --from-literal=user=admin --from-file=password=./pw.txt
  wk create secret generic env --from-env-file=app.env`,
		Args: cobra.ExactArgs(1),
		RunE: clientAction(s, runCreateSecretGeneric),
	}
	addSourceFlags(gen)
	gen.Flags().String("type", "", "the type of secret to create (default Opaque)")
	addCreateOutputFlags(gen)
	tlsCmd := &cobra.Command{
		Use:     "tls NAME --cert=path/to/cert/file --key=path/to/key/file",
		Short:   "Create a TLS secret from a certificate and its private key",
		Example: `  wk create secret tls web --cert=tls.crt --key=tls.key`,
		Args:    cobra.ExactArgs(1),
		RunE:    clientAction(s, runCreateSecretTLS),
	}
	tlsCmd.Flags().String("cert", "", "path to the PEM encoded public key certificate")
	tlsCmd.Flags().String("key", "", "path to the PEM encoded private key")
	addCreateOutputFlags(tlsCmd)
	cmd.AddCommand(gen, tlsCmd)
	return cmd
}

func addSourceFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSlice("from-file", nil, "a file or directory to read keys from; key=path names the key (default: the file's base name)")
	f.StringArray("from-literal", nil, "a key and literal value, key=value")
	f.StringSlice("from-env-file", nil, "a file of KEY=VALUE lines (# comments, a KEY alone takes its value from the environment)")
}

// keyData collects the keys of a ConfigMap or a Secret from the source flags.
type keyData struct {
	kind, name string
	text       map[string]string // UTF-8 values (ConfigMap data)
	binary     map[string][]byte // the rest (ConfigMap binaryData), or every value of a Secret
	secret     bool
}

func (k *keyData) add(key string, value []byte) error {
	if errs := labels.IsConfigMapKey(key); len(errs) > 0 {
		return fmt.Errorf("%q is not a valid key name for a %s: %s", key, k.kind, strings.Join(errs, ";"))
	}
	_, inText := k.text[key]
	_, inBinary := k.binary[key]
	if inText || inBinary {
		return fmt.Errorf("cannot add key %q, another key by that name already exists in %s %q", key, k.kind, k.name)
	}
	if !k.secret && utf8.Valid(value) {
		k.text[key] = string(value)
	} else {
		k.binary[key] = value
	}
	return nil
}

// fromSources reads --from-literal, --from-file and --from-env-file, as kubectl does.
func (k *keyData) fromSources(sess *session) error {
	v := sess.v
	// A literal may hold commas: read the flag itself, not viper's comma-split view of it.
	literals, err := sess.cmd.Flags().GetStringArray("from-literal")
	if err != nil {
		return err
	}
	files, envFiles := v.GetStringSlice("from-file"), v.GetStringSlice("from-env-file")
	if len(envFiles) > 0 && len(literals)+len(files) > 0 {
		return errors.New("from-env-file cannot be combined with from-file or from-literal")
	}
	for _, l := range literals {
		key, value, ok := strings.Cut(l, "=")
		if !ok || key == "" {
			return fmt.Errorf("invalid literal source %v, expected key=value", l)
		}
		if err := k.add(key, []byte(value)); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := k.fromFile(f); err != nil {
			return err
		}
	}
	for _, f := range envFiles {
		if err := k.fromEnvFile(f); err != nil {
			return err
		}
	}
	return nil
}

func (k *keyData) fromFile(source string) error {
	key, path, named := strings.Cut(source, "=")
	if !named {
		key, path = filepath.Base(source), source
	} else if key == "" || path == "" {
		return fmt.Errorf("key names or file paths cannot be empty: %q", source)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("error reading %s: %w", path, err)
	}
	if !info.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return k.add(key, b)
	}
	if named {
		return errors.New("cannot give a key name for a directory path")
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(path, e.Name()))
		if err != nil {
			return err
		}
		if err := k.add(e.Name(), b); err != nil {
			return err
		}
	}
	return nil
}

// fromEnvFile reads KEY=VALUE lines as kubectl does: blank lines and # comments are
// skipped, leading space is dropped, a key without = takes its value from the environment.
func (k *keyData) fromEnvFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("error reading %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if !utf8.Valid(line) {
			return fmt.Errorf("env file %s contains invalid utf8 bytes at line %d", path, n)
		}
		text := strings.TrimLeftFunc(string(line), unicode.IsSpace)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		if errs := labels.IsEnvVarName(key); len(errs) > 0 {
			return fmt.Errorf("env file %s, line %d: %q is not a valid key name: %s", path, n, key, strings.Join(errs, ";"))
		}
		if !ok {
			value = os.Getenv(key)
		}
		if err := k.add(key, []byte(value)); err != nil {
			return err
		}
	}
	return sc.Err()
}

func runCreateConfigMap(ctx context.Context, sess *session, args []string) error {
	k := &keyData{kind: "ConfigMap", name: args[0], text: map[string]string{}, binary: map[string][]byte{}}
	if err := k.fromSources(sess); err != nil {
		return err
	}
	ns := namespaceOf(sess)
	cm := &api.ConfigMap{ObjectMeta: api.ObjectMeta{Name: args[0], Namespace: ns}}
	if len(k.text) > 0 {
		cm.Data = k.text
	}
	if len(k.binary) > 0 {
		cm.BinaryData = k.binary
	}
	return createObject(ctx, sess, builtin("configmaps"), ns, cm, "created")
}

func runCreateSecretGeneric(ctx context.Context, sess *session, args []string) error {
	k := &keyData{kind: "Secret", name: args[0], text: map[string]string{}, binary: map[string][]byte{}, secret: true}
	if err := k.fromSources(sess); err != nil {
		return err
	}
	ns := namespaceOf(sess)
	sec := &api.Secret{ObjectMeta: api.ObjectMeta{Name: args[0], Namespace: ns}, Type: sess.v.GetString("type")}
	if len(k.binary) > 0 {
		sec.Data = k.binary
	}
	return createObject(ctx, sess, builtin("secrets"), ns, sec, "created")
}

func runCreateSecretTLS(ctx context.Context, sess *session, args []string) error {
	certFile, keyFile := sess.v.GetString("cert"), sess.v.GetString("key")
	if certFile == "" || keyFile == "" {
		return errors.New("required flag(s) \"cert\", \"key\" not set")
	}
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return fmt.Errorf("read --cert: %w", err)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("read --key: %w", err)
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		return fmt.Errorf("failed to load key pair %w", err)
	}
	ns := namespaceOf(sess)
	sec := &api.Secret{ObjectMeta: api.ObjectMeta{Name: args[0], Namespace: ns}, Type: api.SecretTypeTLS,
		Data: map[string][]byte{api.TLSCertKey: cert, api.TLSPrivateKeyKey: key}}
	return createObject(ctx, sess, builtin("secrets"), ns, sec, "created")
}
