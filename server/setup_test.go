package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/internal/apikey"
	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/notify/pgnotify"
	"github.com/handinger/handinger/internal/runner"
	"github.com/handinger/handinger/internal/runtimes/builtin"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/postgres"
	"github.com/handinger/handinger/internal/testdb"
	"github.com/handinger/handinger/server"
	"github.com/handinger/handinger/spec"
	"github.com/handinger/handinger/validation"
)

// TestMain runs the suite on SQLite and again on PostgreSQL when
// HANDINGER_TEST_POSTGRES_URL is set.
func TestMain(m *testing.M) { testdb.Main(m) }

// newStore opens the store the suite runs on: a fresh database of the
// current backend per test, closed when the test ends.
func newStore(t *testing.T) store.Store {
	t.Helper()
	return testdb.Store(t)
}

// newBus returns the wake-up bus of st's backend.
func newBus(t *testing.T, st store.Store) notify.Bus {
	t.Helper()
	pg, ok := st.(*postgres.Store)
	if !ok {
		return notify.NewLocal()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := pgnotify.New(ctx, pg.Pool(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// options tune a test stack.
type options struct {
	runtime   agent.Runtime
	waitLimit time.Duration
	rateLimit float64
	rateBurst int
	validate  validation.Mode
	store     store.Store
}

// stack is a whole server on a loopback port: store, runners, HTTP with
// response validation on, and clients for two users of one organization and
// one user of another.
type stack struct {
	t      *testing.T
	url    string
	store  store.Store
	alice  *gen.ClientWithResponses // org_a, usr_alice
	bob    *gen.ClientWithResponses // org_a, usr_bob
	eve    *gen.ClientWithResponses // org_b, usr_eve
	keys   map[string]string        // user → key
	server *server.Server
}

func setup(t *testing.T, o options) *stack {
	t.Helper()
	if o.runtime == nil {
		o.runtime = &builtin.Runtime{}
	}
	if o.waitLimit == 0 {
		o.waitLimit = 20 * time.Second
	}
	if o.validate == 0 {
		o.validate = validation.Full
	}
	st := o.store
	if st == nil {
		st = newStore(t)
	}
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	bus := newBus(t, st)
	svc := service.New(service.Config{Store: st, Bus: bus, WaitLimit: o.waitLimit})
	ts := httptest.NewUnstartedServer(nil)
	srv, err := server.New(server.Config{
		Service: svc, Store: st, Spec: doc, Validate: o.validate,
		PublicURL: "http://" + ts.Listener.Addr().String(),
		RateLimit: o.rateLimit, RateBurst: o.rateBurst, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	pool, err := runner.New(runner.Config{
		Store: st, Runtime: o.runtime, Bus: bus, Owner: "test-" + t.Name(),
		Concurrency: 8, Lease: 2 * time.Second, ReapEvery: 200 * time.Millisecond,
		Logger: logger, OnFinish: srv.TurnFinished,
	})
	if err != nil {
		t.Fatal(err)
	}
	pool.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = pool.Shutdown(ctx)
	})

	s := &stack{t: t, url: ts.URL, store: st, keys: map[string]string{}, server: srv}
	s.alice = s.client("org_a", "usr_alice")
	s.bob = s.client("org_a", "usr_bob")
	s.eve = s.client("org_b", "usr_eve")
	return s
}

// client makes an API key for user in org and a generated client using it.
func (s *stack) client(org, user string) *gen.ClientWithResponses {
	s.t.Helper()
	k := apikey.New()
	if err := s.store.CreateAPIKey(context.Background(), k.ID, org, user, k.Hash, time.Now()); err != nil {
		s.t.Fatal(err)
	}
	s.keys[user] = k.Secret
	c, err := gen.NewClientWithResponses(s.url, gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+k.Secret)
		return nil
	}))
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// create runs a create call that must answer 200.
func (s *stack) create(c *gen.ClientWithResponses, body gen.CreateTask) *gen.CreateTaskResponse {
	s.t.Helper()
	res, err := c.CreateTaskWithResponse(context.Background(), nil, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if res.JSON200 == nil {
		s.t.Fatalf("create: status %d: %s", res.StatusCode(), res.Body)
	}
	return res
}

// retrieve reads a task that must exist.
func (s *stack) retrieve(c *gen.ClientWithResponses, id string) gen.TaskWithTurns {
	s.t.Helper()
	res, err := c.RetrieveTaskWithResponse(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	if res.JSON200 == nil {
		s.t.Fatalf("retrieve %s: status %d: %s", id, res.StatusCode(), res.Body)
	}
	return *res.JSON200
}

// do sends a raw request with user's key ("" for none) and decodes a
// problem answer.
func (s *stack) do(user, method, path, contentType, body string) (*http.Response, problemDoc) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+s.keys[user])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var p problemDoc
	if res.StatusCode >= 400 {
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			s.t.Errorf("%s %s: status %d with content type %q, want application/problem+json: %s", method, path, res.StatusCode, ct, raw)
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			s.t.Errorf("%s %s: problem body does not decode: %v: %s", method, path, err, raw)
		}
		if p.Status != res.StatusCode || p.Detail == "" || p.Type == "" {
			s.t.Errorf("%s %s: incomplete problem %+v", method, path, p)
		}
	}
	p.raw = string(raw)
	return res, p
}

type problemDoc struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	RequestID string `json:"requestId"`
	Errors    []struct {
		In      string `json:"in"`
		Pointer string `json:"pointer"`
		Detail  string `json:"detail"`
	} `json:"errors"`
	raw string
}

// pointers lists the fields a problem names.
func (p problemDoc) pointers() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.In+":"+e.Pointer)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
