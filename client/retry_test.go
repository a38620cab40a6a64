package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handinger/handinger/client"
	"github.com/handinger/handinger/gen"
)

// The tests here run against servers that misbehave on purpose. Waits
// between attempts go to a recorder instead of the clock, and the jitter
// always draws the top of its range, so the waits are exact.

// recorder is a sleep that records its waits and returns at once (or with
// the context's error).
type recorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *recorder) all() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.waits)
}

// top draws the largest jitter: waits are the backoff ceilings less 1 ns.
func top(n int64) int64 { return n - 1 }

// fake is a misbehaving server: its handler gets the attempt number (from 1)
// and the requests it saw are kept.
type fake struct {
	t       *testing.T
	srv     *httptest.Server
	waits   recorder
	mu      sync.Mutex
	seen    []seenRequest
	handler func(w http.ResponseWriter, r *http.Request, attempt int)
}

type seenRequest struct {
	header http.Header
	body   string
}

func newFake(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, attempt int)) *fake {
	t.Helper()
	f := &fake{t: t, handler: handler}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, seenRequest{header: r.Header.Clone(), body: string(body)})
		n := len(f.seen)
		f.mu.Unlock()
		f.handler(w, r, n)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// client is a client of the fake server with recorded, instant waits.
func (f *fake) client(opts ...client.Option) *client.Client {
	f.t.Helper()
	c, err := client.New(append([]client.Option{
		client.WithAPIKey("hnd_test-key"), client.WithBaseURL(f.srv.URL),
		client.WithSleep(f.waits.sleep), client.WithRandom(top),
	}, opts...)...)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fake) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

// Answers of the fake server.

const taskJSON = `{"task":{"id":"tsk_1","status":"completed","title":"t","organizationId":"org_1","workerId":"wrk_1",` +
	`"createdAt":"2026-05-14T09:30:00Z","completedAt":null,"createdByUserId":null,"triggeredBy":"api","url":"u",` +
	`"totals":{"credits":0,"durationMs":0,"turnCount":0}},"turns":[]}`

const workerJSON = `{"id":"wrk_1","object":"worker","created_at":null,"status":"completed","running":false,` +
	`"output_text":"done","output":[],"messages":[],"structured_output":null,"files":[],"sources":[],` +
	`"metadata":{"taskId":"tsk_1","turnId":"trn_1","seq":1},"error":null,"incomplete_details":null,"url":"u"}`

func ok(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodPost {
		w.Header().Set("Location", "/api/tasks/tsk_1")
		_, _ = io.WriteString(w, workerJSON)
		return
	}
	_, _ = io.WriteString(w, taskJSON)
}

func problem(w http.ResponseWriter, status int, header ...string) {
	for i := 0; i+1 < len(header); i += 2 {
		w.Header().Set(header[i], header[i+1])
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Request-Id", "req_1")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"type":"https://handinger.com/problems/x","title":"X","status":`+strconv.Itoa(status)+`,"detail":"It went wrong."}`)
}

// hangUp closes the connection without an answer.
func hangUp(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	conn.Close()
}

func retrieve(c *client.Client, opts ...client.Option) error {
	_, err := c.Tasks.Retrieve(context.Background(), "tsk_1", opts...)
	return err
}

func wantAttempts(t *testing.T, f *fake, n int) {
	t.Helper()
	if got := len(f.requests()); got != n {
		t.Errorf("%d attempts, want %d", got, n)
	}
}

func wantStatus(t *testing.T, err error, status int) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.StatusCode != status {
		t.Fatalf("got %v, want a %d *Error", err, status)
	}
	return e
}

func TestRetryDroppedConnection(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			hangUp(t, w)
			return
		}
		ok(w, r)
	})
	if err := retrieve(f.client()); err != nil {
		t.Fatal(err)
	}
	wantAttempts(t, f, 2)
	if got := f.waits.all(); !slices.Equal(got, []time.Duration{500*time.Millisecond - 1}) {
		t.Errorf("waits %v, want one of at most 0.5 s", got)
	}
}

func TestRetryServerError(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 502, 503, 504, 408, 429} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					problem(w, status)
					return
				}
				ok(w, r)
			})
			if err := retrieve(f.client()); err != nil {
				t.Fatal(err)
			}
			wantAttempts(t, f, 2)
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 14, 9, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		header string
		want   time.Duration
	}{
		{"2", 2 * time.Second},
		{"0", 0},
		{"1.5", 1500 * time.Millisecond},
		{now.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"3600", time.Minute}, // capped
		{"soon", 500*time.Millisecond - 1},
	} {
		t.Run(tt.header, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					problem(w, http.StatusTooManyRequests, "Retry-After", tt.header)
					return
				}
				ok(w, r)
			})
			if err := retrieve(f.client(client.WithNow(func() time.Time { return now }))); err != nil {
				t.Fatal(err)
			}
			if got := f.waits.all(); !slices.Equal(got, []time.Duration{tt.want}) {
				t.Errorf("waits %v, want [%s]", got, tt.want)
			}
		})
	}
}

func TestNotRetried(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		status int
		header []string
	}{
		{"400", 400, nil},
		{"401", 401, nil},
		{"404", 404, nil},
		{"409", 409, nil},
		{"422", 422, nil},
		{"503 with x-should-retry false", 503, []string{"X-Should-Retry", "false"}},
		{"429 with x-should-retry false", 429, []string{"X-Should-Retry", "false", "Retry-After", "1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { problem(w, tt.status, tt.header...) })
			e := wantStatus(t, retrieve(f.client()), tt.status)
			wantAttempts(t, f, 1)
			if len(f.waits.all()) != 0 {
				t.Errorf("waited %v", f.waits.all())
			}
			if e.Detail != "It went wrong." || e.RequestID != "req_1" {
				t.Errorf("error %+v lacks the problem's detail or request id", e)
			}
		})
	}
}

func TestShouldRetryTrue(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 409} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				problem(w, status, "X-Should-Retry", "true")
			})
			e := wantStatus(t, retrieve(f.client()), status)
			wantAttempts(t, f, 3)
			if e.ShouldRetry == nil || !*e.ShouldRetry {
				t.Errorf("ShouldRetry %v, want true", e.ShouldRetry)
			}
		})
	}
}

func TestMaxRetries(t *testing.T) {
	t.Parallel()
	const s = time.Second
	for _, tt := range []struct {
		name  string
		opts  []client.Option // given to the call
		waits []time.Duration
	}{
		{"default", nil, []time.Duration{s/2 - 1, s - 1}},
		{"none", []client.Option{client.WithMaxRetries(0)}, nil},
		{"negative", []client.Option{client.WithMaxRetries(-1)}, nil},
		{"seven", []client.Option{client.WithMaxRetries(7)},
			[]time.Duration{s/2 - 1, s - 1, 2*s - 1, 4*s - 1, 8*s - 1, 8*s - 1, 8*s - 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { problem(w, 500) })
			wantStatus(t, retrieve(f.client(), tt.opts...), 500)
			wantAttempts(t, f, len(tt.waits)+1)
			if got := f.waits.all(); !slices.Equal(got, tt.waits) {
				t.Errorf("waits %v, want %v", got, tt.waits)
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n%3 != 0 { // every create fails twice, then succeeds
			problem(w, 503)
			return
		}
		ok(w, r)
	})
	c := f.client()
	p := gen.CreateTask{Input: "Charge once.", Budget: ptr(gen.BudgetHigh)}
	first, err := c.Tasks.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Tasks.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	third, err := c.Tasks.Create(context.Background(), p, client.WithIdempotencyKey("mine-1"))
	if err != nil {
		t.Fatal(err)
	}
	if first.TaskID != "tsk_1" || first.TurnID != "trn_1" || first.Seq != 1 || first.Worker.OutputText != "done" {
		t.Errorf("created %+v", first)
	}
	seen := f.requests()
	if len(seen) != 9 {
		t.Fatalf("%d requests, want 9", len(seen))
	}
	keys := make([]string, len(seen))
	for i, r := range seen {
		keys[i] = r.header.Get("Idempotency-Key")
		if r.body != `{"budget":"high","input":"Charge once."}` {
			t.Errorf("attempt %d sent body %q", i+1, r.body)
		}
		if r.header.Get("Content-Type") != "application/json" {
			t.Errorf("attempt %d sent content type %q", i+1, r.header.Get("Content-Type"))
		}
	}
	k1, k2 := first.IdempotencyKey, second.IdempotencyKey
	if want := []string{k1, k1, k1, k2, k2, k2, "mine-1", "mine-1", "mine-1"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if k1 == k2 || !strings.HasPrefix(k1, "idem_") || third.IdempotencyKey != "mine-1" {
		t.Errorf("keys %q and %q of two creates, want two different idem_ keys", k1, k2)
	}
}

func TestCreateTaskIDFromLocation(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "https://handinger.com/api/tasks/tsk_from_location")
		_, _ = io.WriteString(w, strings.Replace(workerJSON, `"taskId":"tsk_1",`, ``, 1))
	})
	created, err := f.client().Tasks.Create(context.Background(), gen.CreateTask{Input: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if created.TaskID != "tsk_from_location" {
		t.Errorf("task id %q, want the Location's", created.TaskID)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { ok(w, r) })
	c := f.client(client.WithHeader("x-team", "blue"))
	if err := retrieve(c); err != nil {
		t.Fatal(err)
	}
	if err := retrieve(c, client.WithAPIKey("hnd_other"), client.WithHeader("X-Team", "red"), client.WithHeader("User-Agent", "mine")); err != nil {
		t.Fatal(err)
	}
	if err := retrieve(c); err != nil { // the call's options did not stick
		t.Fatal(err)
	}
	seen := f.requests()
	for i, want := range []struct{ auth, team, ua string }{
		{"Bearer hnd_test-key", "blue", "handinger-go/0.1.0 (go"},
		{"Bearer hnd_other", "red", "mine"},
		{"Bearer hnd_test-key", "blue", "handinger-go/0.1.0 (go"},
	} {
		h := seen[i].header
		if h.Get("Authorization") != want.auth || h.Get("X-Team") != want.team || !strings.HasPrefix(h.Get("User-Agent"), want.ua) {
			t.Errorf("request %d: Authorization %q, X-Team %q, User-Agent %q; want %q, %q, %q…", i+1,
				h.Get("Authorization"), h.Get("X-Team"), h.Get("User-Agent"), want.auth, want.team, want.ua)
		}
	}
}

func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	// Count attempts as sent: under load the server may not see an attempt
	// that timed out early.
	var sent counter
	start := time.Now()
	err := retrieve(f.client(client.WithTimeout(50*time.Millisecond), client.WithMaxRetries(1), client.WithHTTPClient(sent.client())))
	if !errors.Is(err, client.ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v matches context.DeadlineExceeded; only the caller's deadline should", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
	if n := sent.n.Load(); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
	if !strings.HasPrefix(err.Error(), "handinger: retrieve task tsk_1: request timed out") {
		t.Errorf("message %q", err)
	}
}

func TestSlowBodyTimesOut(t *testing.T) {
	t.Parallel()
	// The timeout covers the answer's body, not only its headers.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, taskJSON[:10])
		http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	if err := retrieve(f.client(client.WithTimeout(50*time.Millisecond), client.WithMaxRetries(0))); !errors.Is(err, client.ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
}

func TestCallerContext(t *testing.T) {
	t.Parallel()
	t.Run("cancelled during the request", func(t *testing.T) {
		t.Parallel()
		arrived := make(chan struct{}, 1)
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			arrived <- struct{}{}
			<-r.Context().Done()
		})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel() }()
		_, err := f.client().Tasks.Retrieve(ctx, "tsk_1")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		wantAttempts(t, f, 1)
	})
	t.Run("cancelled during the wait before a retry", func(t *testing.T) {
		t.Parallel()
		arrived := make(chan struct{}, 1)
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			problem(w, 503, "Retry-After", "30")
			arrived <- struct{}{}
		})
		// The real sleep this time: it must end with the context.
		c, err := client.New(client.WithAPIKey("k"), client.WithBaseURL(f.srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; time.Sleep(20 * time.Millisecond); cancel() }()
		start := time.Now()
		_, err = c.Tasks.Retrieve(ctx, "tsk_1")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("returned after %s, not when the context ended", d)
		}
		wantAttempts(t, f, 1)
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { <-r.Context().Done() })
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err := f.client().Tasks.Retrieve(ctx, "tsk_1")
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, client.ErrTimeout) {
			t.Fatalf("got %v, want context.DeadlineExceeded and not ErrTimeout", err)
		}
	})
}

func TestConnectionError(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { hangUp(t, w) })
	err := retrieve(f.client())
	var ce *client.ConnectionError
	if !errors.As(err, &ce) || ce.Attempts != 3 || ce.Err == nil {
		t.Fatalf("got %v, want a *ConnectionError after 3 attempts", err)
	}
	wantAttempts(t, f, 3)
	if len(f.waits.all()) != 2 {
		t.Errorf("waits %v, want 2", f.waits.all())
	}
}

func TestErrorWithoutProblem(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>\n  <body>Bad gateway</body>\n</html>\n")
	})
	var body []byte
	err := retrieve(f.client(), client.WithResponseBody(&body))
	e := wantStatus(t, err, 502)
	wantAttempts(t, f, 3)
	if e.Detail != "" || !strings.Contains(string(e.Body), "Bad gateway") || string(body) != string(e.Body) {
		t.Errorf("error %+v, body %q", e, body)
	}
	if want := "handinger: 502 Bad Gateway: <html> <body>Bad gateway</body> </html>"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
}

func TestUndecodableAnswers(t *testing.T) {
	t.Parallel()
	t.Run("problem that is not JSON", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "{oops")
		})
		e := wantStatus(t, retrieve(f.client(client.WithMaxRetries(0))), 500)
		if string(e.Body) != "{oops" {
			t.Errorf("body %q", e.Body)
		}
	})
	t.Run("429 with an HTTP-date Retry-After", func(t *testing.T) {
		t.Parallel()
		// The generated code reads Retry-After as an integer and fails on a
		// date; the answer is still an *Error.
		now := time.Now()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			problem(w, 429, "Retry-After", now.Add(10*time.Second).Format(http.TimeFormat))
		})
		e := wantStatus(t, retrieve(f.client(client.WithMaxRetries(0), client.WithNow(func() time.Time { return now }))), 429)
		if e.RetryAfter <= 9*time.Second || e.RetryAfter > 10*time.Second {
			t.Errorf("RetryAfter %s, want about 10 s", e.RetryAfter)
		}
	})
	t.Run("200 that is not JSON", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "[1,2")
		})
		err := retrieve(f.client())
		if err == nil || !strings.Contains(err.Error(), "decode 200 answer") {
			t.Errorf("got %v, want a decoding error", err)
		}
		wantAttempts(t, f, 1)
	})
	t.Run("200 of another content type", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "hello")
		})
		if err := retrieve(f.client()); err == nil || !strings.Contains(err.Error(), `content type "text/plain"`) {
			t.Errorf("got %v, want an unexpected-answer error", err)
		}
	})
}

func TestCertificateErrorNotRetried(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	var waits recorder
	// The default HTTP client does not trust the test server's certificate.
	c, err := client.New(client.WithAPIKey("k"), client.WithBaseURL(srv.URL), client.WithSleep(waits.sleep))
	if err != nil {
		t.Fatal(err)
	}
	err = retrieve(c)
	var ce *client.ConnectionError
	if !errors.As(err, &ce) || ce.Attempts != 1 {
		t.Fatalf("got %v, want a *ConnectionError after 1 attempt", err)
	}
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Errorf("%v does not unwrap to the certificate error", err)
	}
	if hits.Load() != 0 || len(waits.all()) != 0 {
		t.Errorf("%d requests served, waits %v", hits.Load(), waits.all())
	}
}

func TestShouldRetryIsPerError(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { problem(w, 409, "X-Should-Retry", "false") })
	c := f.client()
	e1 := wantStatus(t, retrieve(c), 409)
	*e1.ShouldRetry = true // a caller may change its copy
	e2 := wantStatus(t, retrieve(c), 409)
	if e2.ShouldRetry == nil || *e2.ShouldRetry {
		t.Errorf("second error's ShouldRetry %v, want false", e2.ShouldRetry)
	}
	wantAttempts(t, f, 2)
}
