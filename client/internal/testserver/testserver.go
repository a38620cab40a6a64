// Package testserver runs the whole Handinger Tasks API server in-process on
// a loopback port, for the tests, examples and benchmarks of the client: the
// server as server.New assembles it, on an SQLite file in a temporary
// directory, with full OpenAPI validation and the deterministic builtin
// runtime.
//
// Start is for tests (it cleans up through testing.TB); New is for code that
// has no testing.TB, such as a TestMain that serves runnable examples.
package testserver

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

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/runtimes/builtin"
	"github.com/handinger/handinger/server"
	"github.com/handinger/handinger/validation"
)

// Server is a running in-process server.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234, the value
	// for HANDINGER_BASE_URL or client.WithBaseURL.
	URL string

	srv       *server.Server
	tb        testing.TB // nil for a server from New
	closeOnce sync.Once
	closers   []func() // run in reverse order by Close
}

// Option tunes a Server.
type Option func(*options)

type options struct {
	validate  validation.Mode
	runtime   agent.Runtime
	waitLimit time.Duration
	rateLimit float64
	rateBurst int
	logger    *slog.Logger
}

// Validation sets the server's OpenAPI validation mode (default
// validation.Full: requests and responses).
func Validation(m validation.Mode) Option { return func(o *options) { o.validate = m } }

// Runtime sets the agent runtime the runners use (default the builtin
// runtime with no delay).
func Runtime(rt agent.Runtime) Option { return func(o *options) { o.runtime = rt } }

// WaitLimit sets how long a create call waits for its turn before answering
// with the turn still pending or running (default 20 s).
func WaitLimit(d time.Duration) Option { return func(o *options) { o.waitLimit = d } }

// RateLimit limits each API key to perSecond requests, with bursts of burst
// (default no limit).
func RateLimit(perSecond float64, burst int) Option {
	return func(o *options) { o.rateLimit, o.rateBurst = perSecond, burst }
}

// Logger sets where the server and the runners log (default nowhere).
func Logger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Start runs a server for the length of tb; it is closed by tb.Cleanup.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := start(tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("testserver: %v", err)
	}
	s.tb = tb
	tb.Cleanup(s.Close)
	return s
}

// New runs a server in a new temporary directory; the caller must Close it.
func New(opts ...Option) (*Server, error) {
	dir, err := os.MkdirTemp("", "handinger-testserver-")
	if err != nil {
		return nil, fmt.Errorf("testserver: %w", err)
	}
	s, err := start(dir, opts)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("testserver: %w", err)
	}
	s.closers = append([]func(){func() { _ = os.RemoveAll(dir) }}, s.closers...)
	return s, nil
}

func start(dir string, opts []Option) (*Server, error) {
	o := options{validate: validation.Full, runtime: builtin.Runtime{}, waitLimit: 20 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	url := "http://" + ln.Addr().String()
	srv, err := server.New(context.Background(), server.Config{
		DB: "sqlite:" + filepath.Join(dir, "handinger.db"), Runtime: o.runtime, Runners: 8,
		Validate: o.validate, PublicURL: url, WaitLimit: o.waitLimit,
		RateLimit: o.rateLimit, RateBurst: o.rateBurst, Logger: o.logger,
	})
	if err != nil {
		_ = ln.Close()
		return nil, err
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
	return s, nil
}

// NewKey makes an API key for user in org and returns its secret, the value
// for HANDINGER_API_KEY or client.WithAPIKey. Users of one org see each
// other's tasks; only a worker's creator may archive its tasks.
//
// A failure to store the key ends the test (Start) or panics (New): it
// means the server's database is broken.
func (s *Server) NewKey(org, user string) string {
	secret, err := s.srv.NewAPIKey(context.Background(), org, user)
	if err != nil {
		if s.tb != nil {
			s.tb.Helper()
			s.tb.Fatalf("testserver: create API key for %s/%s: %v", org, user, err)
		}
		panic(fmt.Sprintf("testserver: create API key for %s/%s: %v", org, user, err))
	}
	return secret
}

// Close stops the server and closes its database, and removes the
// temporary directory of a server from New. It is safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		for i := len(s.closers) - 1; i >= 0; i-- {
			s.closers[i]()
		}
	})
}
