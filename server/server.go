// Package server is the Handinger Tasks API server, ready to embed. New
// opens the database a Config names and assembles everything behind the
// API: the service that stores create calls and waits for their turns, the
// pool of runners that executes turns on an agent.Runtime, the wake-up bus,
// and the HTTP handler (request ids, logs, metrics, API-key auth, rate
// limits, OpenAPI validation, the generated strict handlers). The Server it
// returns is an http.Handler, and can also serve a listener of its own.
//
// The command `handinger serve`, the project's tests and in-process test
// servers all start the server through New, so they run the same wiring.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/apikey"
	"github.com/handinger/handinger/internal/backend"
	"github.com/handinger/handinger/internal/runner"
	"github.com/handinger/handinger/internal/runtimes/builtin"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/spec"
	"github.com/handinger/handinger/validation"
)

// DefaultDB is the database of a Config that names none: an SQLite file
// in the working directory.
const DefaultDB = backend.Default

// DBUsage describes the database addresses Config.DB accepts.
const DBUsage = backend.Usage

// ErrDBAddress is wrapped by New's error when Config.DB is not a database
// address it knows.
var ErrDBAddress = backend.ErrAddress

// ErrNotShared is wrapped by New's error when Config.NoRunners is set for
// a database only one process can use: then nobody would run the turns.
var ErrNotShared = backend.ErrNotShared

// ShutdownMode says what happens to turns still running when the server
// shuts down and its grace period is over.
type ShutdownMode string

// The shutdown modes.
const (
	// ShutdownResume puts unfinished turns back in the queue; they run again
	// from the start after a restart, or on another replica.
	ShutdownResume ShutdownMode = "resume"
	// ShutdownAbort ends unfinished turns aborted, with reason shutdown and
	// the output produced so far.
	ShutdownAbort ShutdownMode = "abort"
)

// Config configures a Server. The zero value serves an SQLite file
// handinger.db in the working directory with the builtin runtime, 64
// runners and request validation.
type Config struct {
	// DB is the database address (DBUsage): "sqlite:PATH", "postgres://…"
	// for several replicas, or "memory:". Default DefaultDB.
	DB string
	// Runtime runs the turns (default: the builtin stand-in, a
	// deterministic local runtime that calls no model).
	Runtime agent.Runtime
	// Runners is the number of turns this process runs at once (default 64).
	Runners int
	// RunnersPerOrg is the most turns of one organization this process runs
	// at once, even when no other organization is waiting, so that another
	// organization's turn always finds a free runner (default: all but a
	// quarter of Runners, and at least one kept free). Claims also take
	// organizations in turn, so a long queue of one does not delay the
	// others' turns.
	RunnersPerOrg int
	// NoRunners makes this process answer the API only; the other replicas
	// of its database run the turns. Only a shared database (PostgreSQL)
	// allows it.
	NoRunners bool
	// Lease is how long a claimed turn stays claimed without a heartbeat
	// (default 10 s); a crashed process's turn runs again about Lease + 2 s
	// after the crash.
	Lease time.Duration
	// MaxAttempts is how many claims a turn gets before it ends in error
	// (default 3).
	MaxAttempts int
	// OnShutdown is what happens to turns still running when Shutdown's
	// grace ends (default ShutdownResume).
	OnShutdown ShutdownMode
	// Drain is how long Shutdown goes on serving with /readyz answering
	// 503 before it stops accepting connections, so that a load balancer
	// takes the server out of rotation first (default none; serve's
	// --drain is 5 s).
	Drain time.Duration

	// PublicURL is the base of the task and worker links in answers, e.g.
	// http://127.0.0.1:8080 (no trailing slash). Empty: the links are paths
	// on this server (/tasks/{taskId}).
	PublicURL string
	// WaitLimit is how long a create call waits for its turn before it
	// answers with the turn still pending or running (default 50 s, below
	// the official clients' 60 s timeout).
	WaitLimit time.Duration
	// Validate is what is checked against openapi.yaml (the zero value:
	// requests).
	Validate validation.Mode
	// MaxBodyBytes limits request bodies (default 1 MiB; larger is 413).
	MaxBodyBytes int64
	// RateLimit is the requests per second allowed per API key; 0 is none.
	RateLimit float64
	// RateBurst is how many requests above RateLimit may come at once
	// (default twice RateLimit, at least 1).
	RateBurst int
	// KeyCacheTTL is how long a checked API key is remembered (default 10 s).
	KeyCacheTTL time.Duration
	// MaxConns bounds the connections Serve keeps open (default: the
	// process's file descriptor limit less an eighth, at least 64 less).
	// At the cap a newcomer is still served: the connection idle longest,
	// or waiting longest for its first request, is closed for it.
	MaxConns int

	// Logger logs requests, turns and the server's life (default
	// slog.Default()).
	Logger *slog.Logger
	// Registry receives the metrics served on /metrics (default a new
	// registry).
	Registry *prometheus.Registry
	// PrivateMetrics leaves /metrics off the API: serve Server.Metrics on
	// an address of its own instead. The metrics reveal request counts and
	// latencies by route and status, turns finished by outcome and the
	// queue's depth, for the whole server: no keys, ids or contents, but
	// how busy every organization together keeps it.
	PrivateMetrics bool
}

// Server is a running Tasks API server: its runners run turns from the
// moment New returns, and it answers requests as an http.Handler or on the
// listener given to Serve. Shutdown stops it gracefully; Close releases it.
type Server struct {
	http     *handler
	svc      *service.Service
	db       *backend.Backend
	pool     *runner.Pool // nil without runners
	log      *slog.Logger
	timeout  time.Duration // the HTTP write timeout: the wait limit and some
	maxConns int
	drain    time.Duration

	mu        sync.Mutex
	listeners []*http.Server
	draining  atomic.Bool
	shutdown  sync.Once
	closeOnce sync.Once
	closeErr  error
}

// New opens (creating and migrating) the database cfg names, starts the
// runners, and returns the server. Errors for a bad cfg.DB wrap
// ErrDBAddress; no error shows a password the address holds.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	doc, err := spec.Load()
	if err != nil {
		return nil, err
	}
	db, err := backend.Open(ctx, cfg.DB, backend.Options{Logger: cfg.Logger, Shared: cfg.NoRunners})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	for _, w := range db.Warnings(ctx) {
		cfg.Logger.Warn(w)
	}
	s := &Server{db: db, log: cfg.Logger, timeout: cfg.WaitLimit + 30*time.Second, maxConns: cfg.MaxConns, drain: cfg.Drain}
	s.svc = service.New(service.Config{Store: db.Store, Bus: db.Bus, WaitLimit: cfg.WaitLimit})
	metrics := runner.NewMetrics(db.Store)
	s.http, err = newHandler(cfg, doc, s.svc, db.Store, metrics, &s.draining)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if !cfg.NoRunners {
		s.pool, err = runner.New(runner.Config{
			Store: db.Store, Runtime: cfg.Runtime, Bus: db.Bus, Owner: owner(),
			Concurrency: cfg.Runners, PerOrg: cfg.RunnersPerOrg, Lease: cfg.Lease, MaxAttempts: cfg.MaxAttempts,
			OnShutdown: runner.ShutdownMode(cfg.OnShutdown), Logger: cfg.Logger, Metrics: metrics,
		})
		if err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("server: %w", err)
		}
		s.pool.Start()
	}
	return s, nil
}

// defaults fills the zero values of cfg and refuses values out of range.
func (cfg *Config) defaults() error {
	if cfg.DB == "" {
		cfg.DB = DefaultDB
	}
	if cfg.Runtime == nil {
		cfg.Runtime = &builtin.Runtime{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.WaitLimit == 0 {
		cfg.WaitLimit = 50 * time.Second
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = validation.DefaultMaxBodyBytes
	}
	if cfg.OnShutdown == "" {
		cfg.OnShutdown = ShutdownResume
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = defaultMaxConns()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	switch {
	case cfg.Runners < 0:
		return fmt.Errorf("server: Runners %d: want 0 (the default) or more", cfg.Runners)
	case cfg.RunnersPerOrg < 0:
		return fmt.Errorf("server: RunnersPerOrg %d: want 0 (the default) or more", cfg.RunnersPerOrg)
	case cfg.WaitLimit < 0:
		return fmt.Errorf("server: WaitLimit %s: want a positive duration", cfg.WaitLimit)
	case cfg.Drain < 0:
		return fmt.Errorf("server: Drain %s: want a positive duration", cfg.Drain)
	case cfg.MaxConns < 0:
		return fmt.Errorf("server: MaxConns %d: want a positive number", cfg.MaxConns)
	case cfg.MaxBodyBytes < 0:
		return fmt.Errorf("server: MaxBodyBytes %d: want a positive size", cfg.MaxBodyBytes)
	case cfg.OnShutdown != ShutdownResume && cfg.OnShutdown != ShutdownAbort:
		return fmt.Errorf("server: OnShutdown %q: want resume or abort", cfg.OnShutdown)
	}
	return nil
}

// owner names this process in the leases of the turns it runs.
func owner() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.http.ServeHTTP(w, r)
}

// Metrics serves the server's Prometheus metrics, for a listener of their
// own when Config.PrivateMetrics keeps them off the API.
func (s *Server) Metrics() http.Handler { return s.http.metricsHandler }

// The timeouts of Serve's connections.
const (
	// ReadHeaderTimeout is the time a connection has to send a request's
	// headers, its first request's included.
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout is the time it has to send a whole request.
	ReadTimeout = time.Minute
	// IdleTimeout is how long an idle keep-alive connection stays open.
	IdleTimeout = 30 * time.Second
)

// Serve answers requests on ln until Shutdown or Close, with the limits
// fit for the API: at most Config.MaxConns connections (the idlest one
// makes room for a newcomer), ReadHeaderTimeout to send a request's
// headers, ReadTimeout for the whole request, the wait limit and 30 s to
// write the answer, IdleTimeout for an idle keep-alive connection. It
// returns nil after Shutdown or Close, and closes ln.
func (s *Server) Serve(ln net.Listener) error {
	capped := newConns(ln, s.maxConns)
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      s.timeout,
		IdleTimeout:       IdleTimeout,
		ConnState:         capped.track,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ln = capped
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.listeners = append(s.listeners, hs)
	s.mu.Unlock()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// Shutdown stops the server gracefully: /readyz answers 503 from now on,
// and for Config.Drain (or until ctx ends) the server goes on serving;
// then create calls still waiting for their turns are answered at once with the
// turn as it stands (it goes on running), the listeners of Serve stop
// accepting, and requests in flight and running turns get until ctx ends to
// finish. Connections still open then are closed, and turns still running
// go back to the queue or end aborted, as Config.OnShutdown says. Shutdown
// does not close the database: Close does.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutdown.Do(func() {
		s.mu.Lock()
		s.draining.Store(true)
		listeners := s.listeners
		s.mu.Unlock()
		if s.drain > 0 && len(listeners) > 0 {
			// Go on serving, /readyz answering 503, so that load
			// balancers see the replica leave before its listener does.
			t := time.NewTimer(s.drain)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		s.svc.StopWaiting()
		for _, hs := range listeners {
			if e := hs.Shutdown(ctx); e != nil {
				s.log.Warn("requests still open after the grace period; closing them", "err", e)
				_ = hs.Close()
				err = e
			}
		}
		if s.pool != nil {
			_ = s.pool.Shutdown(ctx)
		}
	})
	return err
}

// Close stops the server at once, without a grace period (turns still
// running are handled as Config.OnShutdown says), and closes the database.
// It is safe to call more than once, and after Shutdown.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.Shutdown(ctx)
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// NewAPIKey makes an API key for user in org, creating the organization
// and the user on first use, and returns its secret: what a client sends as
// "Authorization: Bearer <secret>". Only the key's SHA-256 is stored. Users
// of one organization see each other's tasks; only a worker's creator may
// archive its tasks.
func (s *Server) NewAPIKey(ctx context.Context, org, user string) (string, error) {
	k := apikey.New()
	if err := s.db.Store.CreateAPIKey(ctx, k.ID, org, user, k.Hash, time.Now()); err != nil {
		return "", fmt.Errorf("create API key for %s in %s: %w", user, org, err)
	}
	return k.Secret, nil
}

// DevelopmentKey makes a key for user usr_dev of organization org_dev when
// the database holds no key at all, so that a fresh server can be used at
// once, and returns its secret; it returns "" when the database has keys
// already or is shared by several replicas (each would make and print one).
func (s *Server) DevelopmentKey(ctx context.Context) (string, error) {
	if s.db.Shared {
		return "", nil
	}
	n, err := s.db.Store.CountAPIKeys(ctx)
	if err != nil {
		return "", fmt.Errorf("count API keys: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	return s.NewAPIKey(ctx, DevOrg, DevUser)
}

// The organization and user of DevelopmentKey's key.
const (
	DevOrg  = "org_dev"
	DevUser = "usr_dev"
)

// Migrate creates the database db names, or brings its schema up to date,
// and closes it: for deploy pipelines that migrate before they start
// replicas. It refuses a database migrated by a newer version.
func Migrate(ctx context.Context, db string) error {
	b, err := backend.Open(ctx, db, backend.Options{})
	if err != nil {
		return err
	}
	return b.Close()
}

// RedactDB returns the database address db with its passwords hidden, for
// logs and messages.
func RedactDB(db string) string { return backend.Redact(db) }
