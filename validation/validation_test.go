package validation_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/handinger/handinger/problem"
	"github.com/handinger/handinger/spec"
	"github.com/handinger/handinger/validation"
)

// loadSpec returns the project's document, loaded once for all tests (the
// middleware only reads it).
var loadSpec = sync.OnceValues(spec.Load)

func mustSpec(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// received is what the handler behind the middleware saw.
type received struct {
	mu    sync.Mutex
	calls int
	path  string
	body  []byte
	query string
}

func (rc *received) record(r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	rc.path = r.URL.Path
	rc.query = r.URL.RawQuery
	rc.body = body
}

func (rc *received) get() (calls int, path string, body []byte) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.calls, rc.path, rc.body
}

// syncBuffer is a log destination shared by concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// bundle is one middleware in front of one handler, served over HTTP.
type bundle struct {
	url  string
	got  *received
	logs *syncBuffer
}

// specHandler answers the operations of openapi.yaml as the document says,
// with the fixtures, and everything else with plain text; it records each
// request it sees.
func specHandler(rc *received) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/tasks", func(w http.ResponseWriter, r *http.Request) {
		rc.record(r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/api/tasks/tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D")
		_, _ = io.WriteString(w, validation.WorkerJSON)
	})
	mux.HandleFunc("GET /api/tasks", func(w http.ResponseWriter, r *http.Request) {
		rc.record(r)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"items":[],"nextCursor":null}`)
	})
	mux.HandleFunc("GET /api/tasks/{taskId}", func(w http.ResponseWriter, r *http.Request) {
		rc.record(r)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, validation.TaskWithTurnsJSON)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rc.record(r)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "passed through")
	})
	return mux
}

// setup serves the middleware, built on openapi.yaml with opts, in front of
// h (specHandler when nil).
func setup(t *testing.T, opts validation.Options, h http.Handler) *bundle {
	t.Helper()
	b := &bundle{got: &received{}, logs: &syncBuffer{}}
	if h == nil {
		h = specHandler(b.got)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	mw, err := validation.New(mustSpec(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mw(h))
	t.Cleanup(srv.Close)
	b.url = srv.URL
	return b
}

// do sends a request; body may be a string, an io.Reader (sent chunked) or
// a func returning one.
func (b *bundle) do(t *testing.T, method, path, contentType string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	resp, data, err := b.send(method, path, contentType, body, header...)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// send is do for goroutines other than the test's, which may not call
// t.Fatal.
func (b *bundle) send(method, path, contentType string, body any, header ...string) (*http.Response, []byte, error) {
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case io.Reader:
		rd = v
	case func() io.Reader:
		rd = v()
	default:
		return nil, nil, fmt.Errorf("body of type %T", body)
	}
	req, err := http.NewRequest(method, b.url+path, rd)
	if err != nil {
		return nil, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

// wantProblem checks that an answer is a problem document with status, that
// it matches the Problem schema, and returns it.
func wantProblem(t *testing.T, resp *http.Response, data []byte, status int) problem.Problem {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d; body %s", resp.StatusCode, status, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
		t.Errorf("Content-Type = %q, want %q", ct, problem.ContentType)
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		t.Fatalf("problem is not JSON: %v: %s", err, data)
	}
	if err := mustSpec(t).Components.Schemas["Problem"].Value.VisitJSON(generic); err != nil {
		t.Errorf("problem does not match the Problem schema: %v\n%s", err, data)
	}
	var p problem.Problem
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != status {
		t.Errorf("problem status = %d, want %d", p.Status, status)
	}
	if p.Detail == "" {
		t.Error("problem has no detail")
	}
	return p
}

// fieldsOf lists a problem's errors as "in pointer".
func fieldsOf(p problem.Problem) []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.In+" "+f.Pointer)
	}
	slices.Sort(out)
	return out
}

func TestRequestRejections(t *testing.T) {
	t.Parallel()
	const js = "application/json"
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        any
		header      []string
		wantStatus  int
		wantFields  []string // sorted "in pointer"
		wantDetail  string   // a part of the detail
	}{
		{name: "missing input", method: "POST", path: "/api/tasks", contentType: js, body: `{"budget":"low"}`,
			wantStatus: 400, wantFields: []string{"body /input"}, wantDetail: `property "input" is missing`},
		{name: "empty input", method: "POST", path: "/api/tasks", contentType: js, body: `{"input":""}`,
			wantStatus: 400, wantFields: []string{"body /input"}, wantDetail: "minimum string length is 1"},
		{name: "unknown budget", method: "POST", path: "/api/tasks", contentType: js, body: `{"input":"x","budget":"huge"}`,
			wantStatus: 400, wantFields: []string{"body /budget"}, wantDetail: "allowed values"},
		{name: "extra field", method: "POST", path: "/api/tasks", contentType: js, body: `{"input":"x","extra":1}`,
			wantStatus: 400, wantFields: []string{"body /extra"}, wantDetail: `property "extra" is unsupported`},
		{name: "wrong type", method: "POST", path: "/api/tasks", contentType: js, body: `{"input":42}`,
			wantStatus: 400, wantFields: []string{"body /input"}, wantDetail: "value must be a string"},
		{name: "invalid taskId in body", method: "POST", path: "/api/tasks", contentType: js, body: `{"input":"x","taskId":"bad id"}`,
			wantStatus: 400, wantFields: []string{"body /taskId"}, wantDetail: "regular expression"},
		{name: "duplicate key", method: "POST", path: "/api/tasks", contentType: js, body: `{"input":1,"input":"a"}`,
			wantStatus: 400, wantFields: []string{"body /input"}, wantDetail: `"input" appears twice`},
		{name: "duplicate key, nested", method: "POST", path: "/api/tasks", contentType: js, body: `{"input":"a","x":{"k":1,"k":1}}`,
			wantStatus: 400, wantFields: []string{"body /x/k"}, wantDetail: `"k" appears twice`},
		{name: "body not an object", method: "POST", path: "/api/tasks", contentType: js, body: `[1,2]`,
			wantStatus: 400, wantFields: []string{"body "}, wantDetail: "value must be an object"},
		{name: "every offending field at once", method: "POST", path: "/api/tasks", contentType: js,
			body:       `{"budget":"huge","extra":true,"workerId":"","taskId":7}`,
			wantStatus: 400, wantFields: []string{"body /budget", "body /extra", "body /input", "body /taskId", "body /workerId", "body /workerId"},
			wantDetail: "in 6 places"},
		{name: "invalid taskId in path", method: "GET", path: "/api/tasks/bad%20id",
			wantStatus: 400, wantFields: []string{"path /taskId"}, wantDetail: "path parameter taskId"},
		{name: "taskId too long in path", method: "DELETE", path: "/api/tasks/" + strings.Repeat("a", 65),
			wantStatus: 400, wantFields: []string{"path /taskId", "path /taskId"}, wantDetail: "maximum string length is 64"},
		{name: "slash encoded in path", method: "GET", path: "/api/tasks/a%2Fb/turns",
			wantStatus: 400, wantFields: []string{"path /taskId"}},
		{name: "limit=0 in query", method: "GET", path: "/api/tasks?limit=0",
			wantStatus: 400, wantFields: []string{"query /limit"}, wantDetail: "number must be at least 1"},
		{name: "limit not a number", method: "GET", path: "/api/tasks?limit=abc",
			wantStatus: 400, wantFields: []string{"query /limit"}, wantDetail: "value abc is an invalid integer"},
		{name: "several query parameters", method: "GET", path: "/api/tasks?limit=101&status=sleeping&workerId=a%20b",
			wantStatus: 400, wantFields: []string{"query /limit", "query /status", "query /workerId"}},
		{name: "invalid header", method: "POST", path: "/api/tasks", contentType: js, body: `{"input":"x"}`,
			header:     []string{"Idempotency-Key", "has space"},
			wantStatus: 400, wantFields: []string{"header /Idempotency-Key"}},
		{name: "parameters and body together", method: "POST", path: "/api/tasks", contentType: js, body: `{}`,
			header:     []string{"Idempotency-Key", "has space"},
			wantStatus: 400, wantFields: []string{"body /input", "header /Idempotency-Key"}},
		{name: "malformed JSON", method: "POST", path: "/api/tasks", contentType: js, body: `{"input":`,
			wantStatus: 400, wantDetail: "not valid JSON"},
		{name: "trailing data after JSON", method: "POST", path: "/api/tasks", contentType: js, body: `{"input":"x"} {}`,
			wantStatus: 400, wantDetail: "not valid JSON"},
		{name: "empty body", method: "POST", path: "/api/tasks", contentType: js, body: ``,
			wantStatus: 400, wantDetail: "body is required"},
		{name: "text/plain content type", method: "POST", path: "/api/tasks", contentType: "text/plain", body: `{"input":"x"}`,
			wantStatus: 415, wantDetail: "application/json"},
		{name: "form content type", method: "POST", path: "/api/tasks", contentType: "application/x-www-form-urlencoded", body: `input=x`,
			wantStatus: 415},
		{name: "missing content type", method: "POST", path: "/api/tasks", body: `{"input":"x"}`,
			wantStatus: 415, wantDetail: "Content-Type: application/json"},
		{name: "oversized body with Content-Length", method: "POST", path: "/api/tasks", contentType: js,
			body: `{"input":"` + strings.Repeat("x", 2000) + `"}`, wantStatus: 413, wantDetail: "larger than 1024 bytes"},
		{name: "oversized chunked body", method: "POST", path: "/api/tasks", contentType: js,
			body: func() io.Reader {
				return io.MultiReader(strings.NewReader(`{"input":"`), strings.NewReader(strings.Repeat("x", 5000)), strings.NewReader(`"}`))
			},
			wantStatus: 413},
	}
	for _, mode := range []validation.Mode{validation.Requests, validation.Full} {
		b := setup(t, validation.Options{Mode: mode, MaxBodyBytes: 1024}, nil)
		for _, tt := range tests {
			t.Run(mode.String()+"/"+tt.name, func(t *testing.T) {
				resp, data := b.do(t, tt.method, tt.path, tt.contentType, tt.body, tt.header...)
				p := wantProblem(t, resp, data, tt.wantStatus)
				if got := fieldsOf(p); !slices.Equal(got, tt.wantFields) {
					t.Errorf("errors = %q, want %q\n%s", got, tt.wantFields, data)
				}
				for _, f := range p.Errors {
					if f.Detail == "" {
						t.Errorf("field error %+v has no detail", f)
					}
				}
				if !strings.Contains(p.Detail, tt.wantDetail) {
					t.Errorf("detail = %q, want it to contain %q", p.Detail, tt.wantDetail)
				}
				wantType := map[int]string{400: "invalid-request", 413: "payload-too-large", 415: "unsupported-media-type"}[tt.wantStatus]
				if p.Type != problem.TypeURI(wantType) {
					t.Errorf("type = %q, want %q", p.Type, problem.TypeURI(wantType))
				}
				if want, _ := url.PathUnescape(strings.SplitN(tt.path, "?", 2)[0]); p.Instance != want {
					t.Errorf("instance = %q, want %q", p.Instance, want)
				}
			})
		}
		t.Run(mode.String()+"/handler not reached", func(t *testing.T) {
			if calls, path, _ := b.got.get(); calls != 0 {
				t.Errorf("the handler ran %d times (last %s) for refused requests", calls, path)
			}
		})
	}
}

func TestValidRequestsReachHandler(t *testing.T) {
	t.Parallel()
	for _, mode := range []validation.Mode{validation.Requests, validation.Full} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, validation.Options{Mode: mode}, nil)

			// The body reaches the handler byte for byte: white space kept,
			// no default (budget) written into it.
			body := "{ \"input\" : \"Summarise the report\",\n  \"workerId\": \"wrk_vk81XUHKHG-qr4\" }"
			resp, data := b.do(t, "POST", "/api/tasks", "application/json; charset=utf-8", body,
				"Idempotency-Key", "5c0f6a4e-2b1d")
			if resp.StatusCode != 200 || string(data) != validation.WorkerJSON {
				t.Fatalf("create: %d %s", resp.StatusCode, data)
			}
			if resp.Header.Get("Location") == "" {
				t.Error("create answer lost its Location header")
			}
			if _, _, got := b.got.get(); string(got) != body {
				t.Errorf("handler got body %q, want %q", got, body)
			}

			// A chunked body is read and handed on too.
			resp, _ = b.do(t, "POST", "/api/tasks", "application/json", io.MultiReader(strings.NewReader(`{"input":`), strings.NewReader(`"chunked"}`)))
			if resp.StatusCode != 200 {
				t.Fatalf("chunked create: %d", resp.StatusCode)
			}
			if _, _, got := b.got.get(); string(got) != `{"input":"chunked"}` {
				t.Errorf("handler got chunked body %q", got)
			}

			resp, data = b.do(t, "GET", "/api/tasks/tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D", "", nil)
			if resp.StatusCode != 200 || string(data) != validation.TaskWithTurnsJSON {
				t.Fatalf("retrieve: %d %s", resp.StatusCode, data)
			}
			resp, _ = b.do(t, "GET", "/api/tasks?limit=100&status=running", "", nil)
			if resp.StatusCode != 200 {
				t.Fatalf("list: %d", resp.StatusCode)
			}
			b.got.mu.Lock()
			query := b.got.query
			b.got.mu.Unlock()
			if query != "limit=100&status=running" {
				t.Errorf("handler got query %q: defaults must not be added", query)
			}
		})
	}
}

func TestUnknownRoutesPassThrough(t *testing.T) {
	t.Parallel()
	for _, mode := range []validation.Mode{validation.Requests, validation.Full} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, validation.Options{Mode: mode, MaxBodyBytes: 16}, nil)
			for _, tc := range []struct{ method, path, body string }{
				{"GET", "/metrics", ""},
				{"GET", "/docs/index.html", ""},
				{"PUT", "/api/tasks", strings.Repeat("not json ", 10)}, // method not in the document
				{"GET", "/api/tasks/", ""},                             // empty taskId
				{"GET", "/api/tasks/tsk_1/turns/extra", ""},
				{"POST", "/api/tasks/tsk_1", "{"},
			} {
				calls, _, _ := b.got.get()
				resp, data := b.do(t, tc.method, tc.path, "text/plain", tc.body)
				if resp.StatusCode != 200 || string(data) != "passed through" {
					t.Errorf("%s %s: %d %s, want it passed to the handler", tc.method, tc.path, resp.StatusCode, data)
				}
				after, path, body := b.got.get()
				if after != calls+1 || path != strings.SplitN(tc.path, "?", 2)[0] || string(body) != tc.body {
					t.Errorf("%s %s: handler saw %q %q", tc.method, tc.path, path, body)
				}
			}
		})
	}
}

// TestRejectUnknown: with the option, a path the document lacks is 404 and
// a method its path lacks is 405 with Allow, as problem JSON, and the
// handler never runs; described requests are validated as ever.
func TestRejectUnknown(t *testing.T) {
	t.Parallel()
	b := setup(t, validation.Options{RejectUnknown: true}, nil)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/metrics", 404, ""},
		{"GET", "/api/tasks/", 404, ""},
		{"GET", "/api/tasks/tsk_1/turns/extra", 404, ""},
		{"PUT", "/api/tasks", 405, "GET, HEAD, POST"},
		{"POST", "/api/tasks/tsk_1", 405, "DELETE, GET, HEAD"},
	} {
		calls, _, _ := b.got.get()
		resp, data := b.do(t, tc.method, tc.path, "", "")
		p := wantProblem(t, resp, data, tc.status)
		if got := resp.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		if !strings.Contains(p.Detail, tc.path) {
			t.Errorf("%s %s: detail %q does not name the path", tc.method, tc.path, p.Detail)
		}
		if after, _, _ := b.got.get(); after != calls {
			t.Errorf("%s %s reached the handler", tc.method, tc.path)
		}
	}
	if resp, data := b.do(t, "HEAD", "/api/tasks/tsk_1", "", ""); resp.StatusCode != 200 {
		t.Errorf("HEAD of a GET operation: %d %s, want it passed", resp.StatusCode, data)
	}
	if resp, data := b.do(t, "GET", "/api/tasks?limit=abc", "", ""); resp.StatusCode != 400 {
		t.Errorf("a described request with a bad parameter: %d %s, want 400", resp.StatusCode, data)
	}
}

// TestProblemTypeBase: every problem the middleware writes takes the
// configured type base.
func TestProblemTypeBase(t *testing.T) {
	t.Parallel()
	const base = "https://example.com/errors/"
	b := setup(t, validation.Options{Mode: validation.Full, ProblemTypeBase: base, RejectUnknown: true, MaxBodyBytes: 16},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, tc := range []struct {
		method, path, ct, body string
		status                 int
		slug                   string
	}{
		{"GET", "/api/tasks?limit=abc", "", "", 400, "invalid-request"},
		{"POST", "/api/tasks", "application/json", strings.Repeat("x", 32), 413, "payload-too-large"},
		{"POST", "/api/tasks", "text/plain", "{}", 415, "unsupported-media-type"},
		{"GET", "/api/tasks/tsk_1", "", "", 500, "invalid-response"},
		{"GET", "/nowhere", "", "", 404, "not-found"},
		{"PUT", "/api/tasks", "", "", 405, "method-not-allowed"},
	} {
		resp, data := b.do(t, tc.method, tc.path, tc.ct, tc.body)
		if p := wantProblem(t, resp, data, tc.status); p.Type != base+tc.slug {
			t.Errorf("%s %s: type %q, want %q", tc.method, tc.path, p.Type, base+tc.slug)
		}
	}
}

func TestOffPassesEverything(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	mw, err := validation.New(mustSpec(t), validation.Options{Mode: validation.Off})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mw(h).ServeHTTP(rec, httptest.NewRequest("POST", "/api/tasks", strings.NewReader("not json")))
	if rec.Code != 200 {
		t.Errorf("Off refused a request: %d", rec.Code)
	}
}

func TestSecuredOperationsNeedNoAuthentication(t *testing.T) {
	t.Parallel()
	// Every operation under /api is secured with bearerAuth; the middleware
	// leaves authentication to the host, with or without a header.
	b := setup(t, validation.Options{Mode: validation.Requests}, nil)
	for _, auth := range []string{"", "Bearer k", "Basic x"} {
		var hdr []string
		if auth != "" {
			hdr = []string{"Authorization", auth}
		}
		resp, data := b.do(t, "GET", "/api/tasks/tsk_1", "", nil, hdr...)
		if resp.StatusCode != 200 {
			t.Errorf("Authorization %q: %d %s", auth, resp.StatusCode, data)
		}
	}
}

func TestModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want validation.Mode
	}{{"off", validation.Off}, {"requests", validation.Requests}, {"full", validation.Full}, {" FULL ", validation.Full}} {
		got, err := validation.ParseMode(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		var m validation.Mode
		if err := m.UnmarshalText([]byte(tc.in)); err != nil || m != tc.want {
			t.Errorf("UnmarshalText(%q) = %v, %v", tc.in, m, err)
		}
		text, err := tc.want.MarshalText()
		if err != nil || string(text) != tc.want.String() {
			t.Errorf("MarshalText(%v) = %q, %v", tc.want, text, err)
		}
	}
	if _, err := validation.ParseMode("strict"); err == nil {
		t.Error(`ParseMode("strict") succeeded`)
	}
	if _, err := validation.Mode(7).MarshalText(); err == nil {
		t.Error("MarshalText of an undefined mode succeeded")
	}
	if s := validation.Mode(7).String(); s != "Mode(7)" {
		t.Errorf("String() = %q", s)
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	t.Parallel()
	doc := mustSpec(t)
	if _, err := validation.New(nil, validation.Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := validation.New(doc, validation.Options{Mode: 9}); err == nil {
		t.Error("New with mode 9 succeeded")
	}
	if _, err := validation.New(doc, validation.Options{MaxBodyBytes: -1}); err == nil {
		t.Error("New with a negative MaxBodyBytes succeeded")
	}
	bad, err := openapi3.NewLoader().LoadFromData([]byte(`
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /files/{a}{b}:
    get:
      parameters:
        - {name: a, in: path, required: true, schema: {type: string}}
        - {name: b, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: ok}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := validation.New(bad, validation.Options{Mode: validation.Requests}); err == nil ||
		!strings.Contains(err.Error(), "exactly one {parameter}") {
		t.Errorf("New with two parameters in a segment: %v", err)
	}
	invalid, err := openapi3.NewLoader().LoadFromData([]byte("openapi: 3.0.3\ninfo: {title: t}\npaths: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := validation.New(invalid, validation.Options{Mode: validation.Requests}); err == nil {
		t.Error("New with an invalid document succeeded")
	}
}

// discard is a logger that drops everything.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newServer serves h over HTTP until the test ends and returns its URL.
func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestHeadIsCheckedAsGet checks that a HEAD request, which net/http serves
// with the GET handler, is validated as that GET.
func TestHeadIsCheckedAsGet(t *testing.T) {
	t.Parallel()
	for _, mode := range []validation.Mode{validation.Requests, validation.Full} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			b := setup(t, validation.Options{Mode: mode}, nil)
			for _, path := range []string{"/api/tasks?status=bogus", "/api/tasks/%C0%AE", "/api/tasks?workerId=%00", "/api/tasks/bad%20id/turns"} {
				resp, _ := b.do(t, "HEAD", path, "", nil)
				if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != problem.ContentType {
					t.Errorf("HEAD %s: %d %q, want a 400 problem", path, resp.StatusCode, resp.Header.Get("Content-Type"))
				}
			}
			if calls, path, _ := b.got.get(); calls != 0 {
				t.Errorf("the handler ran %d times (last %s) for refused HEAD requests", calls, path)
			}
			if resp, _ := b.do(t, "HEAD", "/api/tasks?status=running", "", nil); resp.StatusCode != 200 {
				t.Errorf("HEAD of a valid GET: %d", resp.StatusCode)
			}
			if calls, _, _ := b.got.get(); calls != 1 {
				t.Errorf("a valid HEAD reached the handler %d times", calls)
			}
		})
	}
}
