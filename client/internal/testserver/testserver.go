// Package testserver runs the whole Handinger Tasks API server in-process on
// a loopback port, for the tests, examples and benchmarks of the client and
// the command line: a SQLite store in a temporary directory, a local
// notification bus, the service, the HTTP server with OpenAPI validation,
// and a runner pool on the deterministic builtin runtime.
//
// Start is for tests (it cleans up through testing.TB); New is for code that
// has no testing.TB, such as a TestMain that serves runnable examples.
package testserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/apikey"
	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/runner"
	"github.com/handinger/handinger/internal/runtimes/builtin"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/sqlite"
	"github.com/handinger/handinger/server"
	"github.com/handinger/handinger/spec"
	"github.com/handinger/handinger/validation"
)

// Server is a running in-process server.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234, the value
	// for HANDINGER_BASE_URL or client.WithBaseURL.
	URL string
	// Store is the server's database, for tests that need to look behind
	// the API.
	Store store.Store

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

func start(dir string, opts []Option) (s *Server, err error) {
	o := options{validate: validation.Full, runtime: builtin.Runtime{}, waitLimit: 20 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s = &Server{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "handinger.db"))
	if err != nil {
		return nil, err
	}
	s.Store = st
	s.closers = append(s.closers, func() { _ = st.Close() })

	doc, err := spec.Load()
	if err != nil {
		return nil, err
	}
	bus := notify.NewLocal()
	svc := service.New(service.Config{Store: st, Bus: bus, WaitLimit: o.waitLimit})
	ts := httptest.NewUnstartedServer(nil)
	srv, err := server.New(server.Config{
		Service: svc, Store: st, Spec: doc, Validate: o.validate,
		PublicURL: "http://" + ts.Listener.Addr().String(),
		RateLimit: o.rateLimit, RateBurst: o.rateBurst, Logger: o.logger,
	})
	if err != nil {
		ts.Listener.Close()
		return nil, err
	}
	ts.Config.Handler = srv
	ts.Start()
	s.URL = ts.URL
	s.closers = append(s.closers, func() {
		// Creates still waiting for their turns would hold Close up to the
		// wait limit; answer them now.
		svc.StopWaiting()
		ts.Close()
	})

	pool, err := runner.New(runner.Config{
		Store: st, Runtime: o.runtime, Bus: bus, Owner: "testserver-" + randomHex(8),
		Concurrency: 8, Lease: 2 * time.Second, ReapEvery: 200 * time.Millisecond,
		Logger: o.logger, OnFinish: srv.TurnFinished,
	})
	if err != nil {
		return nil, err
	}
	pool.Start()
	s.closers = append(s.closers, func() {
		// Turns still running when the server closes are of no interest to
		// anyone: stop them after a short grace.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = pool.Shutdown(ctx)
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
	k := apikey.New()
	if err := s.Store.CreateAPIKey(context.Background(), k.ID, org, user, k.Hash, time.Now()); err != nil {
		if s.tb != nil {
			s.tb.Helper()
			s.tb.Fatalf("testserver: create API key for %s/%s: %v", org, user, err)
		}
		panic(fmt.Sprintf("testserver: create API key for %s/%s: %v", org, user, err))
	}
	return k.Secret
}

// Close stops the HTTP server, the runners and the store, and removes the
// temporary directory of a server from New. It is safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		for i := len(s.closers) - 1; i >= 0; i-- {
			s.closers[i]()
		}
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
