// Package handingertest runs the Handinger Tasks API server in-process, for
// the tests of code that talks to Handinger: the real server, as server.New
// assembles it, on a loopback port, with a temporary SQLite file (or the
// memory backend), full OpenAPI validation, and a runtime the test scripts.
//
//	func TestSummary(t *testing.T) {
//		srv := handingertest.NewServer(t, handingertest.Reply("Summarise.", "All good."))
//		created, err := srv.Client.Tasks.Create(context.Background(), gen.CreateTask{Input: "Summarise."})
//		// err == nil, created.Worker.OutputText == "All good."
//	}
//
// Server.URL and Server.APIKey are what the code under test is configured
// with (client.WithBaseURL and client.WithAPIKey, or HANDINGER_BASE_URL and
// HANDINGER_API_KEY); Server.Client is a client ready to use, and
// Server.NewClient makes clients of other users and organizations.
//
// # The runtime
//
// Reply, ReplyResult and Fail script the turn of one input, matched
// exactly; Delay makes it slow, DelayAll every turn. Other inputs are
// answered by ReplyFunc's function or the Runtime option's runtime, or else
// by the project's builtin stand-in runtime: a short preamble followed by
// the input, where the directives [delay=DURATION] and [fail] make that
// turn slow or fail. Turns count tokens and credits as the builtin runtime
// does (one token per word), unless ReplyResult says otherwise.
//
// Budgets are honoured: a delay past the budget's time cap, or a Reply or
// ReplyFunc output past its credit cap, ends the turn aborted with reason
// budget and the output so far. A ReplyResult is returned as it is, and a
// Runtime is given what is left of the time cap after the delay and left
// to honour the budget itself. Every turn stops when the server shuts
// down.
//
// NewServer ties the server to a test; Start is for code without a
// testing.TB, such as a TestMain serving runnable examples.
package handingertest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/handinger/handinger/client"
	"github.com/handinger/handinger/server"
)

// The organization and user of Server.APIKey and Server.Client.
const (
	// DefaultOrg is the organization of Server.APIKey.
	DefaultOrg = "org_test"
	// DefaultUser is the user of Server.APIKey.
	DefaultUser = "usr_test"
)

// Server is a running in-process server.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234: the value
	// for client.WithBaseURL or HANDINGER_BASE_URL.
	URL string
	// APIKey is a key of user DefaultUser in organization DefaultOrg: the
	// value for client.WithAPIKey or HANDINGER_API_KEY.
	APIKey string
	// Client is a client of URL with APIKey.
	Client *client.Client

	srv       *server.Server
	tb        testing.TB // nil for a server from Start
	closeOnce sync.Once
	closers   []func() // run in reverse order by Close
}

// NewServer runs a server for the length of tb's test: Close is registered
// with tb.Cleanup. A server that cannot start ends the test.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	o := newConfig(opts)
	dir := ""
	if !o.memory {
		dir = tb.TempDir()
	}
	s, err := start(dir, o)
	if err != nil {
		tb.Fatalf("handingertest: %v", err)
	}
	s.tb = tb
	tb.Cleanup(s.Close)
	return s
}

// Start runs a server outside a test, in a new temporary directory; the
// caller must Close it.
func Start(opts ...Option) (*Server, error) {
	o := newConfig(opts)
	dir := ""
	if !o.memory {
		var err error
		if dir, err = os.MkdirTemp("", "handingertest-"); err != nil {
			return nil, fmt.Errorf("handingertest: %w", err)
		}
	}
	s, err := start(dir, o)
	if err != nil {
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
		return nil, fmt.Errorf("handingertest: %w", err)
	}
	if dir != "" {
		s.closers = append([]func(){func() { _ = os.RemoveAll(dir) }}, s.closers...)
	}
	return s, nil
}

// start runs a server on an SQLite file in dir, or in memory when dir is
// empty.
func start(dir string, o config) (*Server, error) {
	db := "memory:"
	if dir != "" {
		db = "sqlite:" + filepath.Join(dir, "handinger.db")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	url := "http://" + ln.Addr().String()
	srv, err := server.New(context.Background(), server.Config{
		DB: db, Runtime: o.runtime(), Runners: 8,
		Validate: o.validate, PublicURL: url, WaitLimit: o.waitLimit, Logger: o.logger,
	})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("start server: %w", err)
	}
	go func() { _ = srv.Serve(ln) }()
	s := &Server{URL: url, srv: srv}
	s.closers = append(s.closers, func() {
		// Creates still waiting are answered at once; turns still running
		// are of no interest to anyone: stop them after a short grace.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
	})
	if s.APIKey, err = s.newAPIKey(DefaultOrg, DefaultUser); err == nil {
		s.Client, err = s.newClient(s.APIKey, nil)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// NewAPIKey makes another API key for user in org, creating both on first
// use, and returns its secret. Users of one organization see each other's
// tasks, and nothing of another organization's; only a worker's creator may
// archive its tasks.
//
// A key that cannot be stored means the server's database is broken: that
// ends the test of a server from NewServer, and panics for one from Start.
func (s *Server) NewAPIKey(org, user string) string {
	key, err := s.newAPIKey(org, user)
	if err != nil {
		s.fatal(err)
	}
	return key
}

// NewClient returns a client of the server with a new key for user in org
// (NewAPIKey); opts are applied after the base URL and key. Failures end
// the test or panic as NewAPIKey's do.
func (s *Server) NewClient(org, user string, opts ...client.Option) *client.Client {
	key, err := s.newAPIKey(org, user)
	if err != nil {
		s.fatal(err)
	}
	c, err := s.newClient(key, opts)
	if err != nil {
		s.fatal(err)
	}
	return c
}

func (s *Server) newAPIKey(org, user string) (string, error) {
	key, err := s.srv.NewAPIKey(context.Background(), org, user)
	if err != nil {
		return "", fmt.Errorf("create API key for %s/%s: %w", org, user, err)
	}
	return key, nil
}

func (s *Server) newClient(key string, opts []client.Option) (*client.Client, error) {
	c, err := client.New(append([]client.Option{client.WithAPIKey(key), client.WithBaseURL(s.URL)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	return c, nil
}

func (s *Server) fatal(err error) {
	if s.tb != nil {
		s.tb.Helper()
		s.tb.Fatalf("handingertest: %v", err)
	}
	panic("handingertest: " + err.Error())
}

// Close stops the server (turns still running are given 100 ms), closes its
// database and removes the temporary directory of a server from Start. It
// is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		for i := len(s.closers) - 1; i >= 0; i-- {
			s.closers[i]()
		}
	})
}

// discard is the default logger: a test's output is the test's.
var discard = slog.New(slog.DiscardHandler)
