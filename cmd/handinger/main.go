// Command handinger is the Handinger Tasks API in one binary: `handinger
// serve` runs the server, `handinger keys create` makes API keys, and
// `handinger tasks` calls the API as a client.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/handinger/handinger/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes, documented in the root command's help.
const (
	exitOK      = 0
	exitError   = 1 // the command failed
	exitUsage   = 2 // the command line is wrong
	exitAPI     = 3 // the server answered with a problem
	exitNetwork = 4 // the server could not be reached, or did not answer in time
)

// run executes the command line args; it is main without the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		return report(stderr, err)
	}
	return exitOK
}

// report prints err to stderr and returns the exit code it calls for.
func report(stderr io.Writer, err error) int {
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		printAPIError(stderr, apiErr)
		return exitAPI
	}
	// The client's errors start with "handinger: " already.
	fmt.Fprintln(stderr, "handinger:", strings.TrimPrefix(err.Error(), "handinger: "))
	return exitCode(err)
}

// exitCode maps an error of a command to its exit code.
func exitCode(err error) int {
	var (
		apiErr  *client.Error
		connErr *client.ConnectionError
	)
	switch {
	case err == nil:
		return exitOK
	case isUsageError(err), errors.Is(err, client.ErrNoAPIKey):
		return exitUsage
	case errors.As(err, &apiErr):
		return exitAPI
	case errors.Is(err, client.ErrTimeout), errors.As(err, &connErr), errors.Is(err, context.DeadlineExceeded):
		return exitNetwork
	}
	return exitError
}

// printAPIError prints a problem the server answered with: its status, title
// and detail on one line, then each offending field.
func printAPIError(w io.Writer, e *client.Error) {
	title := oneLine(e.Title, 0)
	if title == "" {
		title = http.StatusText(e.StatusCode)
	}
	line := fmt.Sprintf("handinger: %d %s", e.StatusCode, title)
	if d := oneLine(e.Detail, 0); d != "" {
		line += ": " + d
	}
	fmt.Fprintln(w, line)
	for _, f := range e.Errors {
		fmt.Fprintf(w, "  %s %s: %s\n", oneLine(string(f.In), 0), oneLine(f.Pointer, 0), oneLine(f.Detail, 0))
	}
	if e.RequestID != "" {
		fmt.Fprintf(w, "  request id: %s\n", oneLine(e.RequestID, 0))
	}
}
