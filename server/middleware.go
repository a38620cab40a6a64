package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"
	"golang.org/x/time/rate"

	"github.com/handinger/handinger/internal/apikey"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/problem"
)

type principalKey struct{}

// principal returns the caller authenticated by the auth middleware.
func principal(ctx context.Context) store.Principal {
	p, _ := ctx.Value(principalKey{}).(store.Principal)
	return p
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe gives every request an id (X-Request-Id, echoed), logs it,
// counts it, marks its answer private (Cache-Control: no-store, nosniff;
// the pages relax the first), and turns a panic into a 500 problem without
// a stack trace.
func (s *handler) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = s.requestIDs.next()
		}
		h := w.Header()
		h.Set("X-Request-Id", id)
		// Answers are for the caller alone: no cache keeps them, and no
		// browser reads them as anything but their declared type.
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		rec := &recorder{ResponseWriter: w}
		route := routeOf(r)
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "request_id", id, "panic", fmt.Sprint(v))
				if rec.status == 0 {
					problem.Write(rec, r, problem.New(http.StatusInternalServerError, "internal", "Internal server error",
						"The server failed to answer; quote the request id when reporting it."))
				}
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			s.metrics.observe(r.Method, route, status, elapsed.Seconds())
			s.log.LogAttrs(r.Context(), levelFor(status), "request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", status), slog.Duration("duration", elapsed))
		}()
		next.ServeHTTP(rec, r)
	})
}

// requestIDs makes request ids: a random prefix per process and a counter,
// unique without a random read per request.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	return &requestIDs{prefix: ulid.Make().String()[10:] + "-"}
}

func (g *requestIDs) next() string {
	return g.prefix + strconv.FormatUint(g.n.Add(1), 36)
}

// routeOf names the route of a request for metrics without the ids in it,
// so that label values stay few. It returns constants: no allocation.
func routeOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/api/tasks":
		return "/api/tasks"
	case strings.HasPrefix(p, "/api/tasks/") && strings.HasSuffix(p, "/turns"):
		return "/api/tasks/{taskId}/turns"
	case strings.HasPrefix(p, "/api/tasks/"):
		return "/api/tasks/{taskId}"
	case p == "/healthz":
		return "/healthz"
	case p == "/readyz":
		return "/readyz"
	case p == "/metrics":
		return "/metrics"
	case p == "/openapi.json":
		return "/openapi.json"
	case p == "/openapi.yaml":
		return "/openapi.yaml"
	case p == "/docs":
		return "/docs"
	case strings.HasPrefix(p, "/docs/"):
		return "/docs/{name}"
	case strings.HasPrefix(p, "/tasks/"):
		return "/tasks/{taskId}"
	case strings.HasPrefix(p, "/workers/"):
		return "/workers/{workerId}"
	case strings.HasPrefix(p, "/assets/"):
		return "/assets/{name}"
	}
	return "other"
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// authenticator checks API keys, remembering good ones briefly so that a
// request costs one SHA-256, not a database read.
type authenticator struct {
	store store.Keys
	ttl   time.Duration
	mu    sync.Mutex
	cache map[string]cachedKey // by hash
}

type cachedKey struct {
	hash    []byte
	who     store.Principal
	expires time.Time
}

func newAuthenticator(st store.Keys, ttl time.Duration) *authenticator {
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	return &authenticator{store: st, ttl: ttl, cache: make(map[string]cachedKey)}
}

// check returns the principal of a key, or store.ErrNotFound.
func (a *authenticator) check(ctx context.Context, secret string) (store.Principal, error) {
	hash := apikey.Hash(secret)
	now := time.Now()
	a.mu.Lock()
	c, ok := a.cache[string(hash)]
	a.mu.Unlock()
	if ok && now.Before(c.expires) && subtle.ConstantTimeCompare(c.hash, hash) == 1 {
		return c.who, nil
	}
	who, err := a.store.LookupAPIKey(ctx, hash)
	if err != nil {
		return store.Principal{}, err
	}
	a.mu.Lock()
	if len(a.cache) > 10000 {
		clear(a.cache)
	}
	a.cache[string(hash)] = cachedKey{hash: hash, who: who, expires: now.Add(a.ttl)}
	a.mu.Unlock()
	return who, nil
}

// authenticate requires a valid API key on /api paths.
func (s *handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/api" {
			next.ServeHTTP(w, r)
			return
		}
		secret, ok := apikey.FromHeader(r.Header.Get("Authorization"))
		if !ok {
			unauthorized(w, r, `Send an API key as "Authorization: Bearer <key>".`)
			return
		}
		who, err := s.auth.check(r.Context(), secret)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				unauthorized(w, r, "The API key is not valid.")
				return
			}
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, who)))
	})
}

func unauthorized(w http.ResponseWriter, r *http.Request, detail string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="handinger"`)
	problem.Write(w, r, problem.New(http.StatusUnauthorized, "unauthorized", "Unauthorized", detail))
}

// limiter holds a token bucket per API key.
type limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
}

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(2*perSecond))
	}
	return &limiter{rate: rate.Limit(perSecond), burst: burst, keys: make(map[string]*rate.Limiter)}
}

func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	lim, ok := l.keys[key]
	if !ok {
		if len(l.keys) > 100000 {
			clear(l.keys)
		}
		lim = rate.NewLimiter(l.rate, l.burst)
		l.keys[key] = lim
	}
	l.mu.Unlock()
	res := lim.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return false, d
	}
	return true, 0
}

// limit answers 429 with Retry-After when a key exceeds its rate.
func (s *handler) limit(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := principal(r.Context())
		if who.KeyID != "" {
			if ok, wait := s.limiter.allow(who.KeyID); !ok {
				secs := int(math.Ceil(wait.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(secs))
				problem.Write(w, r, problem.New(http.StatusTooManyRequests, "rate-limited", "Too many requests",
					fmt.Sprintf("This API key sent more requests than its limit allows; retry in %d second(s).", secs)))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// levelFor logs failures of the server louder than the rest.
func levelFor(status int) slog.Level {
	if status >= 500 && status != statusClientClosed {
		return slog.LevelError
	}
	return slog.LevelInfo
}
