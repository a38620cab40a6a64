package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/internal/testdb"
	"github.com/handinger/handinger/server"
	"github.com/handinger/handinger/validation"
)

// TestMain runs the suite on SQLite and again on PostgreSQL when
// HANDINGER_TEST_POSTGRES_URL is set.
func TestMain(m *testing.M) { testdb.Main(m) }

// options tune a test stack.
type options struct {
	runtime   agent.Runtime
	waitLimit time.Duration
	rateLimit float64
	rateBurst int
	// noValidation turns validation off (default full: requests and
	// responses), for the checks the server makes whatever runs in front.
	noValidation bool
}

// stack is a whole server on a loopback port, as server.New assembles it
// (database, runners, HTTP), with response validation on, and clients for two users of one organization and
// one user of another.
type stack struct {
	t      *testing.T
	url    string
	alice  *gen.ClientWithResponses // org_a, usr_alice
	bob    *gen.ClientWithResponses // org_a, usr_bob
	eve    *gen.ClientWithResponses // org_b, usr_eve
	keys   map[string]string        // user → key
	server *server.Server
	db     string // the --db address of its database
}

func setup(t *testing.T, o options) *stack {
	t.Helper()
	if o.waitLimit == 0 {
		o.waitLimit = 20 * time.Second
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	mode := validation.Full
	if o.noValidation {
		mode = validation.Off
	}
	db := testdb.DSN(t, testdb.Current())
	srv, err := server.New(context.Background(), server.Config{
		DB: db, Runtime: o.runtime, Runners: 8,
		Validate: mode, PublicURL: url, WaitLimit: o.waitLimit,
		RateLimit: o.rateLimit, RateBurst: o.rateBurst, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	s := &stack{t: t, url: url, db: db, keys: map[string]string{}, server: srv}
	s.alice = s.client("org_a", "usr_alice")
	s.bob = s.client("org_a", "usr_bob")
	s.eve = s.client("org_b", "usr_eve")
	return s
}

// client makes an API key for user in org and a generated client using it.
func (s *stack) client(org, user string) *gen.ClientWithResponses {
	s.t.Helper()
	secret, err := s.server.NewAPIKey(context.Background(), org, user)
	if err != nil {
		s.t.Fatal(err)
	}
	s.keys[user] = secret
	c, err := gen.NewClientWithResponses(s.url, gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+secret)
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
	if res.StatusCode >= 400 && method == http.MethodHead {
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			s.t.Errorf("%s %s: status %d with content type %q, want application/problem+json", method, path, res.StatusCode, ct)
		}
	} else if res.StatusCode >= 400 {
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
