// Package server is the HTTP side of the Handinger Tasks API: the generated
// strict server interface implemented over package service, behind request
// ids, logging, metrics, API-key auth, rate limits and OpenAPI validation.
package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/problem"
	"github.com/handinger/handinger/validation"
)

// Config configures a Server. Zero values take the defaults noted.
type Config struct {
	Service *service.Service
	// Store answers API-key lookups.
	Store store.Store
	// Spec is the contract to validate against (spec.Load()).
	Spec *openapi3.T
	// Validate is the validation mode (default requests).
	Validate validation.Mode
	// MaxBodyBytes limits request bodies (default 1 MiB).
	MaxBodyBytes int64
	// PublicURL is the base of the task and worker URLs in answers, e.g.
	// http://127.0.0.1:8080 (no trailing slash).
	PublicURL string
	// RateLimit is the requests per second allowed per API key; 0 is none.
	RateLimit float64
	// RateBurst is how many requests above RateLimit may come at once
	// (default twice RateLimit, at least 1).
	RateBurst int
	// KeyCacheTTL is how long a checked API key is remembered (default 10 s).
	KeyCacheTTL time.Duration
	// Registry receives the server's metrics (default a new registry).
	Registry *prometheus.Registry
	// Logger logs requests (default slog.Default()).
	Logger *slog.Logger
}

// Server is the Tasks API over HTTP.
type Server struct {
	svc        *service.Service
	log        *slog.Logger
	publicURL  string
	auth       *authenticator
	limiter    *limiter
	metrics    *metrics
	handler    http.Handler
	draining   atomic.Bool
	requestIDs *requestIDs
}

// New builds the server's handler chain.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.Store == nil || cfg.Spec == nil {
		return nil, errors.New("server: Service, Store and Spec are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{
		svc:        cfg.Service,
		log:        cfg.Logger,
		publicURL:  strings.TrimRight(cfg.PublicURL, "/"),
		auth:       newAuthenticator(cfg.Store, cfg.KeyCacheTTL),
		limiter:    newLimiter(cfg.RateLimit, cfg.RateBurst),
		requestIDs: newRequestIDs(),
	}
	m, err := newMetrics(cfg.Registry, cfg.Store)
	if err != nil {
		return nil, err
	}
	s.metrics = m

	validate, err := validation.New(cfg.Spec, validation.Options{
		Mode: cfg.Validate, Logger: cfg.Logger, MaxBodyBytes: cfg.MaxBodyBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("server: build validator: %w", err)
	}

	mux := http.NewServeMux()
	strict := gen.NewStrictHandlerWithOptions(handlers{s}, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: s.requestError,
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			s.writeError(w, r, err, detailOf(err))
		},
	})
	gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{
		BaseRouter:       mux,
		ErrorHandlerFunc: s.requestError,
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /openapi.json", serveSpec)
	// The pages behind the url fields of tasks and workers (pages.go); they
	// answer GET and HEAD, other methods 405.
	mux.HandleFunc("/tasks/{taskId}", s.taskPage)
	mux.HandleFunc("/workers/{workerId}", s.workerPage)
	mux.HandleFunc("/assets/{name}", s.pageAsset)
	// Paths of the API with a method it does not serve.
	for p := range allowed {
		mux.HandleFunc(p, methodNotAllowed)
	}
	mux.HandleFunc("/", notFound)

	var h http.Handler = mux
	h = validate(h)
	h = s.limit(h)
	h = s.authenticate(h)
	h = limitBody(h, cfg.MaxBodyBytes)
	h = s.observe(h)
	s.handler = h
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Drain makes /readyz answer 503 so that load balancers stop sending work
// while the server shuts down.
func (s *Server) Drain() { s.draining.Store(true) }

// TurnFinished counts a finished turn in the metrics; the runner pool
// calls it.
func (s *Server) TurnFinished(status store.Status) {
	s.metrics.turns.WithLabelValues(string(status)).Inc()
}

func detailOf(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.detail
	}
	return ""
}

// allowed lists the methods each API path serves, for 405's Allow header.
var allowed = map[string]string{
	"/api/tasks":                "GET, POST",
	"/api/tasks/{taskId}":       "GET, DELETE",
	"/api/tasks/{taskId}/turns": "GET",
	"/healthz":                  "GET",
	"/readyz":                   "GET",
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if a, ok := allowed[r.Pattern]; ok {
		w.Header().Set("Allow", a)
	}
	problem.Write(w, r, problem.New(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
		fmt.Sprintf("%s is not served on %s.", r.Method, r.URL.Path)))
}

func notFound(w http.ResponseWriter, r *http.Request) {
	problem.Write(w, r, problem.New(http.StatusNotFound, "not-found", "Not found",
		fmt.Sprintf("Nothing is served at %s.", r.URL.Path)))
}

// serveSpec answers the contract this server implements (openapi.yaml, as
// JSON), so that clients can be generated from a running server.
func serveSpec(w http.ResponseWriter, r *http.Request) {
	raw, err := gen.PathToRawSpec("openapi.json")["openapi.json"]()
	if err != nil {
		problem.Write(w, r, problem.New(http.StatusInternalServerError, "internal", "Internal server error",
			"The embedded specification could not be read."))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

// limitBody caps every request body; reading past the cap fails with
// *http.MaxBytesError, answered 413.
func limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			problem.Write(w, r, problem.New(http.StatusRequestEntityTooLarge, "payload-too-large", "Payload too large",
				fmt.Sprintf("The request body is larger than %d bytes.", max)))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}
