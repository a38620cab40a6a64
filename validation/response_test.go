package validation_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/handinger/handinger/problem"
	"github.com/handinger/handinger/validation"
)

// answer is a handler that answers every request with a fixed response.
func answer(status int, header map[string]string, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

// edit returns the JSON document doc with fn applied to it.
func edit(t *testing.T, doc string, fn func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestFullModeRefusesResponsesThatBreakTheSpec(t *testing.T) {
	t.Parallel()
	js := map[string]string{"Content-Type": "application/json"}
	created := map[string]string{"Content-Type": "application/json", "Location": "/api/tasks/tsk_1"}
	tests := []struct {
		name       string
		method     string
		path       string
		handler    http.Handler
		wantDetail string
	}{
		{name: "files null in a Worker", method: "POST", path: "/api/tasks",
			handler:    answer(200, created, edit(t, validation.WorkerJSON, func(m map[string]any) { m["files"] = nil })),
			wantDetail: `/files`},
		{name: "missing required field of a Task", method: "GET", path: "/api/tasks/tsk_1",
			handler: answer(200, js, edit(t, validation.TaskWithTurnsJSON, func(m map[string]any) {
				delete(m["task"].(map[string]any), "title")
			})),
			wantDetail: `property "title" is missing`},
		{name: "wrong type deep in a turn", method: "GET", path: "/api/tasks/tsk_1",
			handler: answer(200, js, edit(t, validation.TaskWithTurnsJSON, func(m map[string]any) {
				m["turns"].([]any)[1].(map[string]any)["seq"] = "2"
			})),
			wantDetail: `/turns/1/seq`},
		{name: "bad date-time", method: "GET", path: "/api/tasks/tsk_1",
			handler: answer(200, js, edit(t, validation.TaskWithTurnsJSON, func(m map[string]any) {
				m["task"].(map[string]any)["createdAt"] = "yesterday"
			})),
			wantDetail: `date-time`},
		{name: "extra member where additionalProperties is false", method: "DELETE", path: "/api/tasks/tsk_1",
			handler: answer(200, js, `{"archived":true,"when":"now"}`), wantDetail: `"when" is unsupported`},
		{name: "missing required Location header", method: "POST", path: "/api/tasks",
			handler: answer(200, js, validation.WorkerJSON), wantDetail: `Location`},
		{name: "status not in the document", method: "GET", path: "/api/tasks/tsk_1",
			handler: answer(http.StatusTeapot, js, `{}`), wantDetail: "status is not supported"},
		{name: "wrong content type", method: "GET", path: "/api/tasks/tsk_1",
			handler: answer(200, map[string]string{"Content-Type": "text/plain"}, validation.TaskWithTurnsJSON), wantDetail: "Content-Type"},
		{name: "body not JSON", method: "GET", path: "/api/tasks/tsk_1",
			handler: answer(200, js, `{"task":`), wantDetail: "failed to decode"},
		{name: "empty body", method: "GET", path: "/api/tasks/tsk_1",
			handler: answer(200, js, ``), wantDetail: "failed to decode"},
		{name: "nothing written", method: "GET", path: "/healthz",
			handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), wantDetail: "Content-Type"},
		{name: "error answer that is not a problem", method: "GET", path: "/api/tasks/tsk_1",
			handler:    answer(404, map[string]string{"Content-Type": "application/problem+json"}, `{"error":"not found"}`),
			wantDetail: `property "type" is missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, validation.Options{Mode: validation.Full}, tt.handler)
			ct, body := "", ""
			if tt.method == "POST" {
				ct, body = "application/json", `{"input":"x"}`
			}
			resp, data := b.do(t, tt.method, tt.path, ct, body)
			p := wantProblem(t, resp, data, 500)
			if p.Type != problem.TypeURI("invalid-response") {
				t.Errorf("type = %q", p.Type)
			}
			// By default the caller learns that the answer broke the
			// document, not how: that is in the log.
			if !strings.Contains(p.Detail, "did not match the API document") || strings.Contains(p.Detail, tt.wantDetail) {
				t.Errorf("detail = %q, want it to say the response did not match, without %q", p.Detail, tt.wantDetail)
			}
			if resp.Header.Get("Location") != "" {
				t.Error("the refused answer's Location header was sent")
			}
			logs := b.logs.String()
			if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "response does not match the API document") ||
				!strings.Contains(logs, "operation=") || !strings.Contains(logs, strings.ReplaceAll(tt.wantDetail, `"`, `\"`)) {
				t.Errorf("log = %q, want an error naming the operation, with %q", logs, tt.wantDetail)
			}

			// ExposeResponseErrors puts the details in the answer.
			b = setup(t, validation.Options{Mode: validation.Full, ExposeResponseErrors: true}, tt.handler)
			resp, data = b.do(t, tt.method, tt.path, ct, body)
			if p := wantProblem(t, resp, data, 500); !strings.Contains(p.Detail, tt.wantDetail) {
				t.Errorf("detail with ExposeResponseErrors = %q, want %q", p.Detail, tt.wantDetail)
			}

			// The same answer goes through untouched in Requests mode.
			b = setup(t, validation.Options{Mode: validation.Requests}, tt.handler)
			if resp, _ := b.do(t, tt.method, tt.path, ct, body); resp.StatusCode == 500 {
				t.Error("Requests mode validated a response")
			}
		})
	}
}

func TestFullModePassesValidResponsesUnchanged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		method  string
		path    string
		ct      string
		body    string
		handler http.Handler
		status  int
		want    string
	}{
		{name: "create", method: "POST", path: "/api/tasks", ct: "application/json", body: `{"input":"x"}`,
			handler: answer(200, map[string]string{"Content-Type": "application/json", "Location": "/api/tasks/tsk_1", "X-Extra": "kept"}, validation.WorkerJSON),
			status:  200, want: validation.WorkerJSON},
		{name: "retrieve", method: "GET", path: "/api/tasks/tsk_1",
			handler: answer(200, map[string]string{"Content-Type": "application/json; charset=utf-8", "X-Extra": "kept"}, validation.TaskWithTurnsJSON),
			status:  200, want: validation.TaskWithTurnsJSON},
		{name: "not found problem", method: "GET", path: "/api/tasks/tsk_1",
			handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Extra", "kept")
				problem.Write(w, r, problem.New(404, "not-found", "Not found", "Task tsk_1 does not exist."))
			}),
			status: 404},
		{name: "undocumented path, any answer", method: "GET", path: "/metrics",
			handler: answer(299, map[string]string{"Content-Type": "text/weird", "X-Extra": "kept"}, "whatever"),
			status:  299, want: "whatever"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, validation.Options{Mode: validation.Full}, tt.handler)
			resp, data := b.do(t, tt.method, tt.path, tt.ct, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s\nlogs: %s", resp.StatusCode, tt.status, data, b.logs)
			}
			if tt.want != "" && string(data) != tt.want {
				t.Errorf("body changed:\n got %s\nwant %s", data, tt.want)
			}
			if resp.Header.Get("X-Extra") != "kept" {
				t.Errorf("headers = %v, want the handler's", resp.Header)
			}
			if strings.Contains(b.logs.String(), "level=ERROR") {
				t.Errorf("logged an error: %s", b.logs)
			}
		})
	}
}

func TestFullModeKeepsHeadersSetBeforeIt(t *testing.T) {
	t.Parallel()
	// An outer middleware sets X-Request-Id; the handler sees it, the
	// answer keeps it, and a refused answer's problem carries it.
	var seen string
	for _, valid := range []bool{true, false} {
		inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = w.Header().Get("X-Request-Id")
			w.Header().Set("Content-Type", "application/json")
			if valid {
				_, _ = io.WriteString(w, `{"status":"ok"}`)
			} else {
				_, _ = io.WriteString(w, `{"status":"sleepy"}`)
			}
		})
		mw, err := validation.New(mustSpec(t), validation.Options{Mode: validation.Full, Logger: discard()})
		if err != nil {
			t.Fatal(err)
		}
		h := mw(inner)
		outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", "req-1")
			h.ServeHTTP(w, r)
		})
		b := &bundle{}
		srv := newServer(t, outer)
		b.url = srv
		resp, data := b.do(t, "GET", "/healthz", "", nil)
		if seen != "req-1" {
			t.Errorf("handler saw X-Request-Id %q", seen)
		}
		if resp.Header.Get("X-Request-Id") != "req-1" {
			t.Errorf("answer lost X-Request-Id: %v", resp.Header)
		}
		if valid {
			if resp.StatusCode != 200 || string(data) != `{"status":"ok"}` {
				t.Errorf("valid answer: %d %s", resp.StatusCode, data)
			}
			continue
		}
		p := wantProblem(t, resp, data, 500)
		if p.RequestID != "req-1" {
			t.Errorf("problem requestId = %q", p.RequestID)
		}
	}
}

// TestConcurrentRequests runs valid and invalid requests and answers at
// once, to catch any sharing between requests of the pooled buffers,
// decoders and recorders (run it with -race).
func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	bad := edit(t, validation.TaskWithTurnsJSON, func(m map[string]any) {
		m["turns"].([]any)[0].(map[string]any)["seq"] = 0
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST":
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Location", "/api/tasks/tsk_1")
			w.Header().Set("X-Echo", string(body))
			_, _ = io.WriteString(w, validation.WorkerJSON)
		case strings.HasSuffix(r.URL.Path, "/bad"):
			_, _ = io.WriteString(w, bad)
		default:
			_, _ = io.WriteString(w, validation.TaskWithTurnsJSON)
		}
	})
	b := setup(t, validation.Options{Mode: validation.Full, ExposeResponseErrors: true}, h)
	problemOf := func(data []byte) (p problem.Problem) {
		_ = json.Unmarshal(data, &p)
		return p
	}
	check := func(g, i int) error {
		switch (g + i) % 4 {
		case 0:
			body := `{"input":"request ` + strings.Repeat("x", g*i) + `"}`
			resp, data, err := b.send("POST", "/api/tasks", "application/json", body)
			if err != nil || resp.StatusCode != 200 || string(data) != validation.WorkerJSON || resp.Header.Get("X-Echo") != body {
				return fmt.Errorf("create: %v %v %q", err, resp, data)
			}
		case 1:
			resp, data, err := b.send("POST", "/api/tasks", "application/json", `{"budget":"huge","extra":1}`)
			if err != nil || resp.StatusCode != 400 || len(problemOf(data).Errors) != 3 {
				return fmt.Errorf("invalid create: %v %s", err, data)
			}
		case 2:
			resp, data, err := b.send("GET", "/api/tasks/tsk_1", "", nil)
			if err != nil || resp.StatusCode != 200 || string(data) != validation.TaskWithTurnsJSON {
				return fmt.Errorf("retrieve: %v %s", err, data)
			}
		case 3:
			resp, data, err := b.send("GET", "/api/tasks/bad", "", nil)
			if err != nil || resp.StatusCode != 500 || !strings.Contains(problemOf(data).Detail, "/turns/0/seq") {
				return fmt.Errorf("bad retrieve: %v %s", err, data)
			}
		}
		return nil
	}
	done := make(chan error)
	for g := range 8 {
		go func() {
			for i := range 40 {
				if err := check(g, i); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
