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

// newRootCommand builds the command tree, printing to stdout and stderr.
func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "handinger",
		Short: "The Handinger Tasks API: server, tools and client",
		Long: `handinger runs the Handinger Tasks API server (handinger serve), manages its API keys
(handinger keys) and calls the API as a client (handinger tasks).

The global flags (--api-key, --base-url, --format, --timeout, --max-retries) configure the
tasks commands and may stand before or after the command and its arguments.

Exit codes:
  0  success
  1  any other failure
  2  usage error: unknown command or flag, missing or bad argument, bad --format,
     no API key
  3  API error: the server answered with a problem (printed as
     "handinger: <status> <title>: <detail>" and one line per offending field)
  4  network error or timeout: the server could not be reached or did not answer in time`,
		Example: `  handinger serve
  handinger keys create --org org_acme --user usr_ada
  handinger tasks create --input "Hello" --base-url http://127.0.0.1:8080 --api-key hnd_...
  handinger completion bash > /etc/bash_completion.d/handinger`,
		Args:          cobra.ArbitraryArgs,
		RunE:          helpOrUnknown,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	var global clientOptions
	global.register(root.PersistentFlags())
	_ = root.RegisterFlagCompletionFunc("format", fixedValues(formatValues...))
	root.AddCommand(newServeCommand(), newKeysCommand(), newTasksCommand(&global))
	return root
}

// envPrefix prefixes the environment variable of every flag.
const envPrefix = "HANDINGER_"

// envName is the environment variable that sets a flag.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv documents the environment variable of every flag fs holds now in
// its usage, and returns a function that applies the variables to those
// flags when they are not set on the command line. Call it in PreRunE.
// Flags merged into fs later (a parent's persistent flags) are left to the
// command that owns them.
func bindEnv(fs *pflag.FlagSet) func() error {
	own := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			own[f.Name] = true
			f.Usage += fmt.Sprintf(" (env %s)", envName(f.Name))
		}
	})
	return func() error {
		var errs []error
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Changed || !own[f.Name] {
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
