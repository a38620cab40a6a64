package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.yaml.in/yaml/v3"

	"github.com/handinger/handinger"

	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/internal/runner"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/problem"
	"github.com/handinger/handinger/validation"
)

// handler is the HTTP side of the server: the generated strict server
// interface implemented over the service (tasks.go), behind request ids,
// logs and metrics, the body limit, API-key auth, rate limits and OpenAPI
// validation, with the pages behind the url fields beside it.
type handler struct {
	svc        *service.Service
	log        *slog.Logger
	publicURL  string
	auth       *authenticator
	limiter    *limiter
	metrics    *metrics
	requestIDs *requestIDs
	draining   *atomic.Bool // set by Server.Shutdown: /readyz answers 503
	next       http.Handler
	// metricsHandler serves the registry, on /metrics unless the metrics
	// are private (Server.Metrics).
	metricsHandler http.Handler
}

// newHandler builds the handler chain of a server whose configuration
// cfg.defaults filled in. keys answers API-key lookups; turns is the
// runner's collector, registered beside the HTTP metrics.
func newHandler(cfg Config, doc *openapi3.T, svc *service.Service, keys store.Keys, turns *runner.Metrics, draining *atomic.Bool) (*handler, error) {
	s := &handler{
		svc:        svc,
		log:        cfg.Logger,
		publicURL:  cfg.PublicURL,
		auth:       newAuthenticator(keys, cfg.KeyCacheTTL),
		limiter:    newLimiter(cfg.RateLimit, cfg.RateBurst),
		requestIDs: newRequestIDs(),
		draining:   draining,
	}
	m, err := newMetrics(cfg.Registry, turns)
	if err != nil {
		return nil, err
	}
	s.metrics = m

	validate, err := validation.New(doc, validation.Options{
		Mode: cfg.Validate, Logger: cfg.Logger, MaxBodyBytes: cfg.MaxBodyBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("server: build validator: %w", err)
	}

	mux := http.NewServeMux()
	strict := gen.NewStrictHandlerWithOptions(handlers{s}, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  s.requestError,
		ResponseErrorHandlerFunc: s.writeError,
	})
	gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{
		BaseRouter:       mux,
		ErrorHandlerFunc: s.requestError,
	})
	s.metricsHandler = promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})
	if !cfg.PrivateMetrics {
		mux.Handle("GET /metrics", s.metricsHandler)
	}
	mux.HandleFunc("GET /openapi.json", serveSpec)
	// The contract as written, and the API reference drawn from it
	// (docs.go); /docs answers GET and HEAD, as the pages below do.
	mux.HandleFunc("GET /openapi.yaml", serveSpecYAML)
	mux.HandleFunc("/docs", s.docsPage)
	mux.HandleFunc("/docs/{name}", s.docsFile)
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
	if cfg.Validate == validation.Off {
		h = requireUniqueKeys(h) // the validator's rule, which it checks itself
	}
	h = validate(h)
	h = s.limit(h)
	h = s.authenticate(h)
	h = limitBody(h, cfg.MaxBodyBytes)
	h = s.observe(h)
	s.next = h
	return s, nil
}

// ServeHTTP serves the API.
func (s *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.next.ServeHTTP(w, r)
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

// specJSON is openapi.yaml as JSON, member for member (not the generator's
// re-encoded copy in gen, whose operationIds are capitalised).
var specJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal([]byte(handinger.OpenAPIYAML), &doc); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

// serveSpec answers the contract this server implements (openapi.yaml, as
// JSON), so that clients can be generated from a running server.
func serveSpec(w http.ResponseWriter, r *http.Request) {
	raw, err := specJSON()
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
