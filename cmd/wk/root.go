package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/wasmkube/wasmkube/control/api"
)

// streams are a command's standard input and outputs; tests pass buffers.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// exitError carries an exit code through cobra without printing twice.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run is what main and the tests call: it parses args, runs one command, and returns the exit
// code. Errors are printed the way kubectl prints them.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := &streams{in: stdin, out: stdout, err: stderr}
	root := newRoot(s)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, formatError(err))
	return 1
}

// formatError prints an API error as kubectl does ("Error from server (NotFound): ...") and any
// other error as "error: ...".
func formatError(err error) string {
	var se *api.StatusError
	if errors.As(err, &se) {
		reason := se.Status.Reason
		if reason == "" {
			reason = fmt.Sprint(se.Status.Code)
		}
		return fmt.Sprintf("Error from server (%s): %s", reason, se.Status.Message)
	}
	return "error: " + err.Error()
}

func newRoot(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "wk",
		Short:         "wk runs and drives a wasmkube cluster: Kubernetes for WebAssembly",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "a YAML file of settings (flags > WK_* environment > this file > defaults)")
	root.PersistentFlags().String("kubeconfig", "", "the kubeconfig file (default $KUBECONFIG, ~/.wk/config, ~/.kube/config)")
	root.PersistentFlags().String("context", "", "the kubeconfig context to use")
	root.PersistentFlags().StringP("namespace", "n", "", "the namespace of the request")
	root.AddCommand(newServerCmd(s), newRunnerCmd(s), newUpCmd(s), newBenchCmd(s))
	addClientCommands(root, s)
	return root
}

// settings layers configuration for one command: flags > WK_* environment > --config file >
// defaults (the flags' defaults). Commands read their values through it, never from the flags
// directly, so every knob is settable all three ways.
func settings(cmd *cobra.Command) (*viper.Viper, error) {
	v := viper.New()
	v.SetEnvPrefix("WK")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	var bindErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err := v.BindPFlag(f.Name, f); err != nil && bindErr == nil {
			bindErr = err
		}
	})
	if bindErr != nil {
		return nil, bindErr
	}
	if file := v.GetString("config"); file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read config file %s: %w", file, err)
		}
	}
	return v, nil
}
