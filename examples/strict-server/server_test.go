package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/handinger/handinger/validation"

	"example.com/strict-server/api"
)

// spy records what reaches the handlers, to show what the middleware keeps
// from them.
type spy struct {
	*Server
	mu    sync.Mutex
	calls []string
}

func (s *spy) record(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf(format, args...))
}

// Calls returns what reached the handlers so far, one line per call.
func (s *spy) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *spy) RetrieveTask(ctx context.Context, req api.RetrieveTaskRequestObject) (api.RetrieveTaskResponseObject, error) {
	s.record("retrieveTask taskId=%q", req.TaskID)
	return s.Server.RetrieveTask(ctx, req)
}

func (s *spy) ListTasks(ctx context.Context, req api.ListTasksRequestObject) (api.ListTasksResponseObject, error) {
	p := req.Params
	s.record("listTasks limit=%v status=%v", deref(p.Limit), deref(p.Status))
	return s.Server.ListTasks(ctx, req)
}

func (s *spy) CreateTask(ctx context.Context, req api.CreateTaskRequestObject) (api.CreateTaskResponseObject, error) {
	s.record("createTask input=%q budget=%v", req.Body.Input, deref(req.Body.Budget))
	return s.Server.CreateTask(ctx, req)
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// fixture is one server on loopback and the generated client for it.
type fixture struct {
	spy    *spy
	url    string
	http   *http.Client
	client *api.ClientWithResponses
}

// bare stands for no middleware at all in setup.
const bare validation.Mode = -1

// setup serves exampleTask over httptest on 127.0.0.1: with NewHandler,
// behind the validation middleware in the given mode, or, with bare, as the
// generated code alone with its default options.
func setup(t *testing.T, mode validation.Mode) *fixture {
	t.Helper()
	s := &spy{Server: NewServer(exampleTask())}
	var h http.Handler
	if mode == bare {
		h = api.Handler(api.NewStrictHandler(s, nil))
	} else {
		var err error
		if h, err = NewHandler(s, validation.Options{Mode: mode}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := api.NewClientWithResponses(srv.URL, api.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{spy: s, url: srv.URL, http: srv.Client(), client: c}
}

// get sends a request the generated client cannot make, such as
// limit=abc, and returns the status, content type and body.
func (f *fixture) get(t *testing.T, path string) (int, string, string) {
	t.Helper()
	res, err := f.http.Get(f.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), string(body)
}

// TestRetrieveTask runs the one real handler with response validation on,
// so its answers are checked against openapi.yaml too.
func TestRetrieveTask(t *testing.T) {
	t.Parallel()
	f := setup(t, validation.Full)
	ctx := t.Context()

	res, err := f.client.RetrieveTaskWithResponse(ctx, "tsk_example")
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != http.StatusOK || res.JSON200 == nil {
		t.Fatalf("retrieve tsk_example: %d %s", res.StatusCode(), res.Body)
	}
	want := exampleTask()
	got := res.JSON200
	if got.Task.ID != want.Task.ID || !got.Task.CompletedAt.Equal(*want.Task.CompletedAt) ||
		len(got.Turns) != 1 || got.Turns[0].OutputText != want.Turns[0].OutputText {
		t.Errorf("retrieve tsk_example = %+v, want %+v", got, want)
	}

	res, err = f.client.RetrieveTaskWithResponse(ctx, "tsk_missing")
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != http.StatusNotFound || res.ContentType() != "application/problem+json" || res.ApplicationproblemJSON404 == nil {
		t.Fatalf("retrieve tsk_missing: %d %s %s", res.StatusCode(), res.ContentType(), res.Body)
	}
	if want := `retrieveTask taskId="tsk_example",retrieveTask taskId="tsk_missing"`; strings.Join(f.spy.Calls(), ",") != want {
		t.Errorf("calls = %q, want %s", f.spy.Calls(), want)
	}
}

// TestValidation shows the middleware answering what breaks openapi.yaml
// with 400 problem JSON that names the field, before any handler runs.
func TestValidation(t *testing.T) {
	t.Parallel()
	f := setup(t, validation.Full)
	ctx := t.Context()

	// The generated client's ListTasksParams.Limit is an *int: "abc" can
	// only come from another client.
	status, ctype, body := f.get(t, "/api/tasks?limit=abc")
	if status != http.StatusBadRequest || ctype != "application/problem+json" ||
		!strings.Contains(body, `"in":"query","pointer":"/limit"`) {
		t.Errorf("limit=abc: %d %s %s", status, ctype, body)
	}

	badRequest := func(name string, p *api.BadRequest, status int, in, pointer string) {
		t.Helper()
		if status != http.StatusBadRequest || p == nil || p.Errors == nil || len(*p.Errors) == 0 {
			t.Errorf("%s: status %d, problem %+v; want 400 naming %s %s", name, status, p, in, pointer)
			return
		}
		if e := (*p.Errors)[0]; string(e.In) != in || e.Pointer != pointer {
			t.Errorf("%s: first error %+v, want %s %s", name, e, in, pointer)
		}
	}

	limit := 1000 // maximum: 100
	list, err := f.client.ListTasksWithResponse(ctx, &api.ListTasksParams{Limit: &limit})
	if err != nil {
		t.Fatal(err)
	}
	badRequest("limit=1000", list.ApplicationproblemJSON400, list.StatusCode(), "query", "/limit")

	for _, id := range []string{"bad.id", strings.Repeat("x", 65)} {
		res, err := f.client.RetrieveTaskWithResponse(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		badRequest("taskId "+id, res.ApplicationproblemJSON400, res.StatusCode(), "path", "/taskId")
	}

	huge := api.Budget("huge")
	created, err := f.client.CreateTaskWithResponse(ctx, nil, api.CreateTask{Input: "Hello.", Budget: &huge})
	if err != nil {
		t.Fatal(err)
	}
	badRequest("budget huge", created.ApplicationproblemJSON400, created.StatusCode(), "body", "/budget")

	if calls := f.spy.Calls(); len(calls) != 0 {
		t.Errorf("invalid requests reached the handlers: %q", calls)
	}
}

// TestNotImplemented shows a valid request for an operation the example
// leaves out: it reaches the handler, whose error is answered 501. (In Full
// mode the middleware would replace that answer with a 500, as 501 is not a
// status openapi.yaml documents.)
func TestNotImplemented(t *testing.T) {
	t.Parallel()
	f := setup(t, validation.Requests)
	status, ctype, body := f.get(t, "/api/tasks?limit=5")
	if status != http.StatusNotImplemented || ctype != "application/problem+json" ||
		!strings.Contains(body, `"detail":"listTasks: not implemented"`) {
		t.Errorf("list tasks: %d %s %s", status, ctype, body)
	}
	if want := "listTasks limit=5 status=<nil>"; strings.Join(f.spy.Calls(), ",") != want {
		t.Errorf("calls = %q, want %s", f.spy.Calls(), want)
	}
}

// TestWithoutMiddleware documents what the generated server checks on its
// own: only that each parameter can be converted to its Go type (limit
// must parse as an int) and that the body is JSON, both answered 400
// text/plain. Everything else openapi.yaml says — pattern, maximum, enum,
// required, additionalProperties — reaches the handler unchecked, and so
// does the generated client send it.
func TestWithoutMiddleware(t *testing.T) {
	t.Parallel()
	f := setup(t, bare)
	ctx := t.Context()

	status, ctype, body := f.get(t, "/api/tasks?limit=abc")
	if want := `Invalid format for parameter limit: error binding string parameter: strconv.ParseInt: parsing "abc": invalid syntax`; status != http.StatusBadRequest ||
		!strings.HasPrefix(ctype, "text/plain") || strings.TrimSpace(body) != want {
		t.Errorf("limit=abc: %d %s %q, want 400 text/plain %q", status, ctype, body, want)
	}

	res, err := f.http.Post(f.url+"/api/tasks", "application/json", strings.NewReader("{"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ctype := res.Header.Get("Content-Type"); res.StatusCode != http.StatusBadRequest || !strings.HasPrefix(ctype, "text/plain") {
		t.Errorf("a body that is not JSON: %d %s, want 400 text/plain", res.StatusCode, ctype)
	}

	limit, status2 := 1000, api.TaskStatus("bogus")
	if _, err := f.client.ListTasks(ctx, &api.ListTasksParams{Limit: &limit, Status: &status2}); err != nil {
		t.Fatal(err)
	}
	retrieved, err := f.client.RetrieveTaskWithResponse(ctx, "bad.id")
	if err != nil {
		t.Fatal(err)
	}
	if retrieved.StatusCode() != http.StatusNotFound {
		t.Errorf("retrieve bad.id: %d, want the handler's 404", retrieved.StatusCode())
	}
	res, err = f.http.Post(f.url+"/api/tasks", "application/json", strings.NewReader(`{"budget":"huge","extra":true}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ctype := res.Header.Get("Content-Type"); res.StatusCode != http.StatusInternalServerError || !strings.HasPrefix(ctype, "text/plain") {
		t.Errorf("create: %d %s, want the default handler-error answer, 500 text/plain", res.StatusCode, ctype)
	}

	want := []string{
		"listTasks limit=1000 status=bogus",
		`retrieveTask taskId="bad.id"`,
		`createTask input="" budget=huge`,
	}
	if got := f.spy.Calls(); !slices.Equal(got, want) {
		t.Errorf("reached the handlers:\n%q\nwant\n%q", got, want)
	}
}
