package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// usageError marks a wrong command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func isUsageError(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "handinger",
		Short:         "The Handinger Tasks API: server and tools",
		Long:          "handinger runs the Handinger Tasks API server (handinger serve) and manages its API keys (handinger keys).",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServeCommand(), newKeysCommand())
	return root
}

// envPrefix prefixes the environment variable of every flag.
const envPrefix = "HANDINGER_"

// envName is the environment variable that sets a flag.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv documents every flag's environment variable in its usage, and
// returns a function that applies the variables to flags not set on the
// command line. Call it in PreRunE.
func bindEnv(fs *pflag.FlagSet) func() error {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			f.Usage += fmt.Sprintf(" (env %s)", envName(f.Name))
		}
	})
	return func() error {
		var errs []error
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Changed || f.Name == "help" {
				return
			}
			if v, ok := os.LookupEnv(envName(f.Name)); ok {
				if err := fs.Set(f.Name, v); err != nil {
					errs = append(errs, usageError{fmt.Errorf("%s: %w", envName(f.Name), err)})
				}
			}
		})
		return errors.Join(errs...)
	}
}
