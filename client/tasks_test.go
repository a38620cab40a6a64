package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handinger/handinger/client"
	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/handingertest"
)

// The tests here run against the whole server in-process (validation Full:
// every request and answer is checked against openapi.yaml).

// fixture is a server with clients for two users of one organization and
// one user of another.
type fixture struct {
	srv   *handingertest.Server
	alice *client.Client // org_a, usr_alice
	bob   *client.Client // org_a, usr_bob
	eve   *client.Client // org_b, usr_eve
	keys  map[string]string
}

func setup(t *testing.T, opts ...handingertest.Option) *fixture {
	t.Helper()
	srv := handingertest.NewServer(t, opts...)
	f := &fixture{srv: srv, keys: map[string]string{}}
	f.alice = f.client(t, "org_a", "usr_alice")
	f.bob = f.client(t, "org_a", "usr_bob")
	f.eve = f.client(t, "org_b", "usr_eve")
	return f
}

func (f *fixture) client(t *testing.T, org, user string, opts ...client.Option) *client.Client {
	t.Helper()
	f.keys[user] = f.srv.NewAPIKey(org, user)
	c, err := client.New(append([]client.Option{client.WithAPIKey(f.keys[user]), client.WithBaseURL(f.srv.URL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// counter is an HTTP client that counts the requests it sends.
type counter struct {
	n atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func (c *counter) client() *http.Client { return &http.Client{Transport: c} }

func ptr[T any](v T) *T { return &v }

func create(t *testing.T, c *client.Client, p gen.CreateTask) *client.Created {
	t.Helper()
	got, err := c.Tasks.Create(context.Background(), p)
	if err != nil {
		t.Fatalf("create %q: %v", p.Input, err)
	}
	return got
}

func TestCreateRetrieveTurnsArchive(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()

	first := create(t, f.alice, gen.CreateTask{Input: "Summarise the report.", Budget: ptr(gen.BudgetLow)})
	if !strings.HasPrefix(first.TaskID, "tsk_") || !strings.HasPrefix(first.TurnID, "trn_") || first.Seq != 1 {
		t.Errorf("created %+v, want a tsk_ task, a trn_ turn and seq 1", first)
	}
	if first.Worker.Status != gen.WorkerStatusCompleted || first.Worker.Running || first.Worker.OutputText == "" {
		t.Errorf("worker %+v, want a completed run with output", first.Worker)
	}
	if !strings.HasPrefix(first.IdempotencyKey, "idem_") || len(first.IdempotencyKey) != len("idem_")+32 {
		t.Errorf("idempotency key %q, want idem_ and 32 hex digits", first.IdempotencyKey)
	}

	second := create(t, f.alice, gen.CreateTask{Input: "Now in Spanish.", TaskID: &first.TaskID, WorkerID: &first.Worker.ID})
	if second.TaskID != first.TaskID || second.Seq != 2 || second.TurnID == first.TurnID {
		t.Errorf("follow-up %+v, want turn 2 of %s", second, first.TaskID)
	}

	got, err := f.alice.Tasks.Retrieve(ctx, first.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Task.ID != first.TaskID || got.Task.Status != gen.TaskStatusCompleted || got.Task.Totals.TurnCount != 2 {
		t.Errorf("task %+v, want %s completed with 2 turns", got.Task, first.TaskID)
	}
	if len(got.Turns) != 2 || got.Turns[0].ID != first.TurnID || got.Turns[1].ID != second.TurnID ||
		got.Turns[0].OutputText != first.Worker.OutputText {
		t.Errorf("turns %+v, want %s then %s", got.Turns, first.TurnID, second.TurnID)
	}

	// Another user of the organization sees the task; another organization
	// does not.
	if _, err := f.bob.Tasks.Retrieve(ctx, first.TaskID); err != nil {
		t.Errorf("bob retrieves: %v", err)
	}
	var apiErr *client.Error
	if _, err := f.eve.Tasks.Retrieve(ctx, first.TaskID); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("eve retrieves: %v, want a 404 *Error", err)
	}

	turns, err := f.alice.Tasks.Turns(ctx, first.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	if turns.TaskID != first.TaskID || !reflect.DeepEqual(turns.Items, got.Turns) {
		t.Errorf("turns %+v, want the retrieved ones %+v", turns, got.Turns)
	}

	for range 2 { // archiving is idempotent
		res, err := f.alice.Tasks.Archive(ctx, first.TaskID)
		if err != nil || !res.Archived {
			t.Fatalf("archive: %+v, %v", res, err)
		}
	}
	page, err := f.alice.Tasks.ListPage(ctx, client.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 0 {
		t.Errorf("list after archive: %+v, want no tasks", page.Items)
	}
	if _, err := f.alice.Tasks.Retrieve(ctx, first.TaskID); err != nil {
		t.Errorf("retrieve archived task: %v", err)
	}
}

func TestCreateWithIdempotencyKeyReplays(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := gen.CreateTask{Input: "Only once, please."}
	a, err := f.alice.Tasks.Create(context.Background(), p, client.WithIdempotencyKey("order-42"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.alice.Tasks.Create(context.Background(), p, client.WithIdempotencyKey("order-42"))
	if err != nil {
		t.Fatal(err)
	}
	if a.TurnID != b.TurnID || a.TaskID != b.TaskID || b.IdempotencyKey != "order-42" {
		t.Errorf("second create %+v, want the first one's turn %s", b, a.TurnID)
	}
	got, err := f.alice.Tasks.Retrieve(context.Background(), a.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Turns) != 1 {
		t.Errorf("%d turns, want 1", len(got.Turns))
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	first := create(t, f.alice, gen.CreateTask{Input: "Task 1"})
	want := []string{first.TaskID}
	for i := 2; i <= 7; i++ {
		c := create(t, f.alice, gen.CreateTask{Input: "Task " + string(rune('0'+i)), WorkerID: &first.Worker.ID})
		want = append(want, c.TaskID)
	}
	other := create(t, f.bob, gen.CreateTask{Input: "Another worker's task"})
	create(t, f.eve, gen.CreateTask{Input: "Another organization's task"})
	slices.Reverse(want) // newest first

	t.Run("pages", func(t *testing.T) {
		var got []string
		for task, err := range f.alice.Tasks.List(ctx, client.ListParams{WorkerID: first.Worker.ID, PageSize: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, task.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("listed %v, want %v", got, want)
		}
	})
	t.Run("page by page", func(t *testing.T) {
		p := client.ListParams{WorkerID: first.Worker.ID, PageSize: 3}
		var sizes []int
		for {
			page, err := f.alice.Tasks.ListPage(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(page.Items))
			if page.NextCursor == nil {
				break
			}
			p.Cursor = *page.NextCursor
		}
		if !slices.Equal(sizes, []int{3, 3, 1}) {
			t.Errorf("page sizes %v, want [3 3 1]", sizes)
		}
	})
	t.Run("organization", func(t *testing.T) {
		var n int
		for task, err := range f.bob.Tasks.List(ctx, client.ListParams{PageSize: 100}) {
			if err != nil {
				t.Fatal(err)
			}
			if task.OrganizationID != "org_a" {
				t.Errorf("bob lists %s of %s", task.ID, task.OrganizationID)
			}
			n++
		}
		if n != len(want)+1 {
			t.Errorf("bob lists %d tasks, want %d", n, len(want)+1)
		}
	})
	t.Run("status", func(t *testing.T) {
		var n int
		for _, err := range f.alice.Tasks.List(ctx, client.ListParams{Status: gen.TaskStatusRunning}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 0 {
			t.Errorf("%d running tasks, want none", n)
		}
	})
	t.Run("stop early", func(t *testing.T) {
		var got []string
		for task, err := range f.alice.Tasks.List(ctx, client.ListParams{PageSize: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, task.ID)
			if len(got) == 3 {
				break
			}
		}
		if !slices.Equal(got, []string{other.TaskID, want[0], want[1]}) {
			t.Errorf("first three %v, want %v", got, []string{other.TaskID, want[0], want[1]})
		}
	})
	t.Run("error", func(t *testing.T) {
		var errs int
		for _, err := range f.alice.Tasks.List(ctx, client.ListParams{Cursor: "bm90IGEgY3Vyc29y"}) {
			var apiErr *client.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
				t.Errorf("bad cursor: %v, want a 400 *Error", err)
			}
			errs++
		}
		if errs != 1 {
			t.Errorf("%d yields, want the error once", errs)
		}
	})
}

func TestWait(t *testing.T) {
	t.Parallel()
	// A short wait limit: the create answers while the turn still runs.
	f := setup(t, handingertest.WaitLimit(50*time.Millisecond))
	ctx := context.Background()
	created := create(t, f.alice, gen.CreateTask{Input: "Take your time. [delay=1s]"}) // long enough to outlast a slow answer on a busy machine
	if !created.Worker.Running {
		t.Fatalf("create answered %s, want the turn still running", created.Worker.Status)
	}

	var mu sync.Mutex
	var pauses []time.Duration
	recordSleep := client.WithSleep(func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		pauses = append(pauses, d)
		mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	})
	got, err := f.alice.Tasks.Wait(ctx, created.TaskID, recordSleep)
	if err != nil {
		t.Fatal(err)
	}
	if got.Task.Status != gen.TaskStatusCompleted || len(got.Turns) != 1 || got.Turns[0].OutputText == "" {
		t.Errorf("waited for %+v, want the completed task", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pauses) == 0 {
		t.Fatal("Wait did not poll")
	}
	ceiling := 100 * time.Millisecond
	for i, d := range pauses {
		if d < ceiling/2 || d > ceiling {
			t.Errorf("pause %d is %s, want between %s and %s", i, d, ceiling/2, ceiling)
		}
		ceiling = min(2*ceiling, 2*time.Second)
	}

	t.Run("context ends", func(t *testing.T) {
		slow := create(t, f.alice, gen.CreateTask{Input: "Longer. [delay=2s]"})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := f.alice.Tasks.Wait(ctx, slow.TaskID)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, client.ErrTimeout) {
			t.Errorf("Wait: %v, want the context's deadline", err)
		}
		if !strings.Contains(err.Error(), "wait for task "+slow.TaskID) {
			t.Errorf("error %q does not name the wait", err)
		}
	})
	t.Run("unknown task", func(t *testing.T) {
		_, err := f.alice.Tasks.Wait(ctx, "tsk_nope")
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Errorf("Wait: %v, want a 404 *Error", err)
		}
	})
}

func TestProblems(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	task := create(t, f.alice, gen.CreateTask{Input: "Something to archive."})
	archived := create(t, f.alice, gen.CreateTask{Input: "Archived soon."})
	if _, err := f.alice.Tasks.Archive(ctx, archived.TaskID); err != nil {
		t.Fatal(err)
	}
	mallory, err := client.New(client.WithAPIKey("hnd_not-a-key"), client.WithBaseURL(f.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.alice.Tasks.Create(ctx, gen.CreateTask{Input: "First body"}, client.WithIdempotencyKey("k-1")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		call        func(opts ...client.Option) error
		status      int
		slug        string
		shouldRetry *bool
		pointer     string // in:pointer of the one offending field, if any
	}{
		{"400 bad id", func(o ...client.Option) error {
			_, err := f.alice.Tasks.Retrieve(ctx, "not an id!", o...)
			return err
		}, 400, "invalid-request", nil, "path:/taskId"},
		{"401 bad key", func(o ...client.Option) error {
			_, err := mallory.Tasks.Retrieve(ctx, task.TaskID, o...)
			return err
		}, 401, "unauthorized", nil, ""},
		{"403 archive by another user", func(o ...client.Option) error {
			_, err := f.bob.Tasks.Archive(ctx, task.TaskID, o...)
			return err
		}, 403, "forbidden", ptr(false), ""},
		{"404", func(o ...client.Option) error {
			_, err := f.alice.Tasks.Turns(ctx, "tsk_missing", o...)
			return err
		}, 404, "not-found", nil, ""},
		{"409 follow-up on archived task", func(o ...client.Option) error {
			_, err := f.alice.Tasks.Create(ctx, gen.CreateTask{Input: "More?", TaskID: &archived.TaskID}, o...)
			return err
		}, 409, "task-archived", ptr(false), ""},
		{"422 idempotency key reused", func(o ...client.Option) error {
			_, err := f.alice.Tasks.Create(ctx, gen.CreateTask{Input: "Second body"}, append(o, client.WithIdempotencyKey("k-1"))...)
			return err
		}, 422, "idempotency-key-reused", ptr(false), "header:/Idempotency-Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n counter
			var body []byte
			err := tt.call(client.WithHTTPClient(n.client()), client.WithResponseBody(&body))
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.StatusCode != tt.status || e.Type != "https://handinger.com/problems/"+tt.slug || e.Title == "" || e.Detail == "" {
				t.Errorf("got %+v, want status %d and type %s", e, tt.status, tt.slug)
			}
			if e.RequestID == "" || e.RequestID != e.Header.Get("X-Request-Id") {
				t.Errorf("request id %q, want the X-Request-Id %q", e.RequestID, e.Header.Get("X-Request-Id"))
			}
			if !reflect.DeepEqual(e.ShouldRetry, tt.shouldRetry) {
				t.Errorf("ShouldRetry %v, want %v", e.ShouldRetry, tt.shouldRetry)
			}
			var pointers []string
			for _, fe := range e.Errors {
				pointers = append(pointers, string(fe.In)+":"+fe.Pointer)
			}
			if tt.pointer != "" && !slices.Equal(pointers, []string{tt.pointer}) {
				t.Errorf("offending fields %v, want %s", pointers, tt.pointer)
			}
			if got := n.n.Load(); got != 1 {
				t.Errorf("%d attempts, want 1: a %d is not retried", got, tt.status)
			}
			if string(body) != string(e.Body) || !json.Valid(body) {
				t.Errorf("WithResponseBody stored %q, want the problem document %q", body, e.Body)
			}
			want := "handinger: " + strconv.Itoa(tt.status) + " " + http.StatusText(tt.status) + ": " + e.Detail + " (request " + e.RequestID + ")"
			if err.Error() != want {
				t.Errorf("message %q, want %q", err.Error(), want)
			}
			if strings.Contains(err.Error(), f.keys["usr_alice"]) || strings.Contains(err.Error(), "hnd_not-a-key") {
				t.Errorf("message %q shows an API key", err.Error())
			}
		})
	}
}

func TestResponseBody(t *testing.T) {
	t.Parallel()
	f := setup(t)
	task := create(t, f.alice, gen.CreateTask{Input: "Keep the bytes."})
	var body []byte
	got, err := f.alice.Tasks.Retrieve(context.Background(), task.TaskID, client.WithResponseBody(&body))
	if err != nil {
		t.Fatal(err)
	}
	var decoded gen.TaskWithTurns
	if err := json.Unmarshal(body, &decoded); err != nil {
		t.Fatalf("stored body %q: %v", body, err)
	}
	if !reflect.DeepEqual(&decoded, got) {
		t.Errorf("stored body decodes to %+v, want %+v", decoded, got)
	}
}

func TestNew(t *testing.T) {
	// Not parallel: it sets the environment.
	srv := handingertest.NewServer(t)
	key := srv.APIKey

	t.Run("no key", func(t *testing.T) {
		t.Setenv(client.EnvAPIKey, "")
		if _, err := client.New(client.WithBaseURL(srv.URL)); !errors.Is(err, client.ErrNoAPIKey) {
			t.Errorf("New: %v, want ErrNoAPIKey", err)
		}
		if _, err := client.New(client.WithAPIKey("")); !errors.Is(err, client.ErrNoAPIKey) {
			t.Errorf("New with an empty key: %v, want ErrNoAPIKey", err)
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv(client.EnvAPIKey, key+"\n")
		t.Setenv(client.EnvBaseURL, srv.URL)
		c, err := client.New()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Tasks.ListPage(context.Background(), client.ListParams{}); err != nil {
			t.Errorf("list with the environment's key and URL: %v", err)
		}
	})
	t.Run("options win", func(t *testing.T) {
		t.Setenv(client.EnvAPIKey, "hnd_wrong")
		t.Setenv(client.EnvBaseURL, "http://127.0.0.1:1")
		c, err := client.New(client.WithAPIKey(key), client.WithBaseURL(srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Tasks.ListPage(context.Background(), client.ListParams{}); err != nil {
			t.Errorf("list with the options' key and URL: %v", err)
		}
	})
	t.Run("per call", func(t *testing.T) {
		t.Setenv(client.EnvAPIKey, "")
		c, err := client.New(client.WithAPIKey("hnd_wrong"), client.WithBaseURL("http://127.0.0.1:1"), client.WithMaxRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Tasks.ListPage(context.Background(), client.ListParams{}, client.WithAPIKey(key), client.WithBaseURL(srv.URL)); err != nil {
			t.Errorf("list with the call's key and URL: %v", err)
		}
		var conn *client.ConnectionError
		if _, err := c.Tasks.ListPage(context.Background(), client.ListParams{}); !errors.As(err, &conn) {
			t.Errorf("list with the client's unreachable URL: %v, want a *ConnectionError", err)
		}
	})
	t.Run("bad base URL", func(t *testing.T) {
		for _, u := range []string{"handinger.com", "ftp://handinger.com", "http://", "::"} {
			if _, err := client.New(client.WithAPIKey(key), client.WithBaseURL(u)); err == nil || !strings.Contains(err.Error(), "base URL") {
				t.Errorf("New with base URL %q: %v, want an error", u, err)
			}
		}
	})
	t.Run("empty id", func(t *testing.T) {
		c, err := client.New(client.WithAPIKey(key), client.WithBaseURL(srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Tasks.Archive(context.Background(), ""); err == nil {
			t.Error("Archive of an empty id succeeded")
		}
	})
}

// TestCreateRetryRunsOneTurn puts a proxy between client and server that
// lets the first create reach the server (which runs its turn) but loses
// the answer; the client's retry, with the same Idempotency-Key, gets the
// first attempt's turn instead of running a second.
func TestCreateRetryRunsOneTurn(t *testing.T) {
	t.Parallel()
	for _, loss := range []string{"502", "dropped connection"} {
		t.Run(loss, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			target, _ := url.Parse(f.srv.URL)
			var mu sync.Mutex
			var keys []string
			proxy := httputil.NewSingleHostReverseProxy(target)
			errLost := errors.New("answer lost on purpose")
			proxy.ModifyResponse = func(res *http.Response) error {
				if res.Request.Method != http.MethodPost {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				keys = append(keys, res.Request.Header.Get("Idempotency-Key"))
				if len(keys) == 1 {
					return errLost
				}
				return nil
			}
			proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
				if !errors.Is(err, errLost) {
					t.Errorf("proxy: %v", err)
				}
				if loss == "502" {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				panic(http.ErrAbortHandler) // close the connection, no answer
			}
			ps := httptest.NewServer(proxy)
			defer ps.Close()

			var sleeps recorder
			c := f.client(t, "org_a", "usr_carol", client.WithBaseURL(ps.URL), client.WithSleep(sleeps.sleep))
			created, err := c.Tasks.Create(context.Background(), gen.CreateTask{Input: "Charge the card once."})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			if len(keys) != 2 || keys[0] != keys[1] || keys[0] != created.IdempotencyKey {
				t.Errorf("the server saw keys %v, want %s twice", keys, created.IdempotencyKey)
			}
			mu.Unlock()
			if len(sleeps.all()) != 1 {
				t.Errorf("waits %v, want one before the retry", sleeps.all())
			}

			got, err := c.Tasks.Retrieve(context.Background(), created.TaskID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Turns) != 1 || got.Turns[0].ID != created.TurnID {
				t.Errorf("turns %+v, want exactly the created one %s", got.Turns, created.TurnID)
			}
			n := 0
			for _, err := range c.Tasks.List(context.Background(), client.ListParams{}) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 1 {
				t.Errorf("%d tasks, want 1", n)
			}
		})
	}
}

// TestResponseInfo: a successful call hands its answer's status, headers
// and request id to a caller who asks.
func TestResponseInfo(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var info client.ResponseInfo
	created, err := f.alice.Tasks.Create(context.Background(), gen.CreateTask{Input: "hello"}, client.WithResponseInfo(&info))
	if err != nil {
		t.Fatal(err)
	}
	if info.StatusCode != 200 || info.RequestID == "" || info.Header.Get("Location") != "/api/tasks/"+created.TaskID {
		t.Errorf("ResponseInfo = %d %q, Location %q", info.StatusCode, info.RequestID, info.Header.Get("Location"))
	}
	if _, err := f.alice.Tasks.Retrieve(context.Background(), "tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D", client.WithResponseInfo(&info)); err == nil {
		t.Fatal("retrieve of a task that does not exist succeeded")
	}
	if info.StatusCode != 404 || info.RequestID == "" {
		t.Errorf("ResponseInfo of a 404 = %d %q", info.StatusCode, info.RequestID)
	}
}
