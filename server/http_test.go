package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/handinger/handinger"
	"github.com/handinger/handinger/gen"
	agentexec "github.com/handinger/handinger/internal/runtimes/exec"
	"go.yaml.in/yaml/v3"
)

// TestBadInput sends every kind of bad request; each gets a clear 4xx
// problem naming what was wrong, and nothing is stored.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	big := `{"input":"` + strings.Repeat("a", 1<<20) + `"}`
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		pointers                        []string // fields the problem must name
	}{
		{"missing input", "POST", "/api/tasks", "application/json", `{"budget":"low"}`, 400, []string{"body:/input"}},
		{"empty input", "POST", "/api/tasks", "application/json", `{"input":""}`, 400, []string{"body:/input"}},
		{"unknown budget", "POST", "/api/tasks", "application/json", `{"input":"x","budget":"huge"}`, 400, []string{"body:/budget"}},
		{"unknown field", "POST", "/api/tasks", "application/json", `{"input":"x","colour":"red"}`, 400, []string{"body:/colour"}},
		{"wrong type", "POST", "/api/tasks", "application/json", `{"input":42}`, 400, []string{"body:/input"}},
		{"two bad fields", "POST", "/api/tasks", "application/json", `{"input":"","budget":"x"}`, 400, []string{"body:/input", "body:/budget"}},
		{"bad task id", "POST", "/api/tasks", "application/json", `{"input":"x","taskId":"../../etc/passwd"}`, 400, []string{"body:/taskId"}},
		{"long worker id", "POST", "/api/tasks", "application/json", `{"input":"x","workerId":"` + strings.Repeat("w", 65) + `"}`, 400, []string{"body:/workerId"}},
		{"malformed json", "POST", "/api/tasks", "application/json", `{"input":`, 400, nil},
		{"not an object", "POST", "/api/tasks", "application/json", `["input"]`, 400, nil},
		{"empty body", "POST", "/api/tasks", "application/json", ``, 400, nil},
		{"text body", "POST", "/api/tasks", "text/plain", `input=x`, 415, nil},
		{"no content type", "POST", "/api/tasks", "", `{"input":"x"}`, 415, nil},
		{"too large", "POST", "/api/tasks", "application/json", big, 413, nil},
		{"bad path id", "GET", "/api/tasks/bad%20id", "", "", 400, []string{"path:/taskId"}},
		{"path traversal", "GET", "/api/tasks/..%2F..%2Fetc", "", "", 400, []string{"path:/taskId"}},
		{"long path id", "GET", "/api/tasks/" + strings.Repeat("t", 65), "", "", 400, []string{"path:/taskId"}},
		{"bad turns id", "GET", "/api/tasks/a.b/turns", "", "", 400, []string{"path:/taskId"}},
		{"limit 0", "GET", "/api/tasks?limit=0", "", "", 400, []string{"query:/limit"}},
		{"limit text", "GET", "/api/tasks?limit=ten", "", "", 400, []string{"query:/limit"}},
		{"bad status", "GET", "/api/tasks?status=done", "", "", 400, []string{"query:/status"}},
		{"bad idempotency key", "POST", "/api/tasks", "application/json", `{"input":"x"}`, 400, nil},
		{"unknown path", "GET", "/api/nothing", "", "", 404, nil},
		{"unknown method", "PUT", "/api/tasks", "application/json", `{}`, 405, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, s.url+c.path, strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			req.Header.Set("Authorization", "Bearer "+s.keys["usr_alice"])
			if c.name == "bad idempotency key" {
				req.Header.Set("Idempotency-Key", strings.Repeat("k", 300))
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			if res.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.status, raw)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q: %s", ct, raw)
			}
			p := decodeProblem(t, raw)
			got := p.pointers()
			for _, want := range c.pointers {
				if !slices.Contains(got, want) {
					t.Errorf("problem names %v, not %s: %s", got, want, raw)
				}
			}
			if c.status == 405 && res.Header.Get("Allow") != "GET, POST" {
				t.Errorf("405 Allow = %q", res.Header.Get("Allow"))
			}
			if strings.Contains(string(raw), "goroutine") || strings.Contains(string(raw), ".go:") {
				t.Errorf("answer leaks internals: %s", raw)
			}
		})
	}
	list, _ := s.alice.ListTasksWithResponse(context.Background(), nil)
	if len(list.JSON200.Items) != 0 {
		t.Errorf("bad requests stored %d tasks", len(list.JSON200.Items))
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	for _, h := range []string{"", "Bearer ", "Bearer hnd_wrong", "Basic " + s.keys["usr_alice"], s.keys["usr_alice"]} {
		req, _ := http.NewRequest("GET", s.url+"/api/tasks", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 401 || res.Header.Get("Content-Type") != "application/problem+json" || res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: %d %s", h, res.StatusCode, raw)
		}
	}
	// Probes need no key; an invalid body without a key is 401, not 400.
	for _, p := range []string{"/healthz", "/readyz"} {
		if res, _ := s.do("", "GET", p, "", ""); res.StatusCode != 200 {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
	if res, _ := s.do("", "POST", "/api/tasks", "application/json", `{}`); res.StatusCode != 401 {
		t.Errorf("unauthenticated bad body: %d", res.StatusCode)
	}
}

func TestRequestIDAndMetrics(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	res, p := s.do("usr_alice", "GET", "/api/tasks/tsk_missing", "", "")
	if id := res.Header.Get("X-Request-Id"); id == "" || p.RequestID != id {
		t.Errorf("request id header %q, problem %q", id, p.RequestID)
	}
	req, _ := http.NewRequest("GET", s.url+"/healthz", nil)
	req.Header.Set("X-Request-Id", "trace-42")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.Header.Get("X-Request-Id") != "trace-42" {
		t.Errorf("request id not echoed: %q", r2.Header.Get("X-Request-Id"))
	}
	s.create(s.alice, gen.CreateTask{Input: "count me"})
	res, _ = s.do("", "GET", "/metrics", "", "")
	if res.StatusCode != 200 {
		t.Fatalf("metrics: %d", res.StatusCode)
	}
	r3, _ := http.Get(s.url + "/metrics")
	body, _ := io.ReadAll(r3.Body)
	r3.Body.Close()
	for _, want := range []string{
		`handinger_http_requests_total{code="404",route="GET /api/tasks/{taskId}"} 1`,
		`handinger_http_requests_total{code="200",route="POST /api/tasks"} 1`,
		`handinger_turns_finished_total{outcome="completed"} 1`,
		`handinger_queue_depth{state="pending"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	s := setup(t, options{rateLimit: 0.5, rateBurst: 2})
	var codes []int
	var retryAfter string
	for range 3 {
		res, err := s.alice.RetrieveTaskWithResponse(context.Background(), "tsk_none")
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, res.StatusCode())
		if res.StatusCode() == 429 {
			retryAfter = res.HTTPResponse.Header.Get("Retry-After")
		}
	}
	if !slices.Equal(codes, []int{404, 404, 429}) {
		t.Errorf("statuses %v, want the third limited", codes)
	}
	if n, err := strconv.Atoi(retryAfter); err != nil || n < 1 || n > 2 {
		t.Errorf("Retry-After %q", retryAfter)
	}
	// Limits are per key: bob is not limited by alice's calls.
	if res, _ := s.bob.RetrieveTaskWithResponse(context.Background(), "tsk_none"); res.StatusCode() != 404 {
		t.Errorf("bob: %d", res.StatusCode())
	}
}

// TestExecRuntime runs turns through a real child process.
func TestExecRuntime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "agent.sh")
	// The agent reads the turn as JSON and answers with a line that shows it
	// saw the input and the history; "explode" makes it fail.
	err := os.WriteFile(script, []byte(`#!/bin/sh
turn=$(cat)
case "$turn" in
  *explode*) echo "warming up" >&2; echo "model endpoint refused the request" >&2; exit 3 ;;
esac
n=$(printf '%s' "$turn" | grep -o '"role":"user"' | wc -l)
echo "exec saw $n earlier inputs"
`), 0o755)
	if err != nil {
		t.Fatal(err)
	}
	s := setup(t, options{runtime: &agentexec.Runtime{Command: []string{"/bin/sh", script}}})
	w := s.create(s.alice, gen.CreateTask{Input: "first"}).JSON200
	if w.OutputText != "exec saw 0 earlier inputs" || w.Error != nil {
		t.Errorf("first turn: %q %+v", w.OutputText, w.Error)
	}
	w2 := s.create(s.alice, gen.CreateTask{Input: "second", TaskID: &w.Metadata.TaskID}).JSON200
	if w2.OutputText != "exec saw 1 earlier inputs" {
		t.Errorf("second turn: %q", w2.OutputText)
	}
	bad := s.create(s.alice, gen.CreateTask{Input: "explode"}).JSON200
	if bad.Error == nil || !strings.Contains(bad.Error.Message, "model endpoint refused the request") || strings.Contains(bad.Error.Message, "warming") {
		t.Errorf("failing command: %+v", bad.Error)
	}
	if got := s.retrieve(s.alice, bad.Metadata.TaskID); got.Task.Status != gen.TaskStatusError {
		t.Errorf("task status %s", got.Task.Status)
	}
}

func decodeProblem(t *testing.T, raw []byte) problemDoc {
	t.Helper()
	var p problemDoc
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("problem does not decode: %v: %s", err, raw)
	}
	if p.Type == "" || p.Title == "" || p.Detail == "" || p.Status == 0 {
		t.Errorf("incomplete problem: %s", raw)
	}
	return p
}

// TestServesItsSpec fetches /openapi.json, without a key, and checks it is
// the contract the server implements.
func TestServesItsSpec(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	res, err := http.Get(s.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("status %d: %v", res.StatusCode, err)
	}
	// Member for member openapi.yaml, as written (operationIds included).
	var want any
	if err := yaml.Unmarshal([]byte(handinger.OpenAPIYAML), &want); err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(doc)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("/openapi.json is not openapi.yaml: %d bytes, want %d", len(gotJSON), len(wantJSON))
	}
	if !bytes.Contains(got, []byte(`"operationId":"createTask"`)) {
		t.Error(`/openapi.json lacks "operationId":"createTask"`)
	}
}

// TestAnswersArePrivate checks the headers that keep API answers out of
// caches and content sniffing, on successes and problems alike.
func TestAnswersArePrivate(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	id := s.create(s.alice, gen.CreateTask{Input: "private"}).JSON200.Metadata.TaskID
	for _, c := range []struct{ user, method, path string }{
		{"usr_alice", "GET", "/api/tasks/" + id},
		{"usr_alice", "GET", "/api/tasks"},
		{"usr_alice", "GET", "/api/tasks/tsk_missing"},
		{"", "GET", "/api/tasks"},
		{"", "GET", "/healthz"},
		{"", "GET", "/openapi.json"},
	} {
		res, _ := s.do(c.user, c.method, c.path, "", "")
		if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s (%d): Cache-Control %q, X-Content-Type-Options %q", c.method, c.path, res.StatusCode,
				res.Header.Get("Cache-Control"), res.Header.Get("X-Content-Type-Options"))
		}
	}
}

// TestJSONRulesWithoutValidation checks that a server with validation off
// still refuses repeated keys as the validator does, and words decoding
// errors in the API's terms, not Go's.
func TestJSONRulesWithoutValidation(t *testing.T) {
	t.Parallel()
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("validation off %v", off), func(t *testing.T) {
			t.Parallel()
			s := setup(t, options{noValidation: off})
			for body, pointer := range map[string]string{
				`{"input":1,"input":"a"}`:                     "body:/input",
				`{"input":"a","input":"b"}`:                   "body:/input",
				`{"input":"a","budget":"low","budget":"low"}`: "body:/budget",
			} {
				res, p := s.do("usr_alice", "POST", "/api/tasks", "application/json", body)
				if res.StatusCode != 400 || !slices.Contains(p.pointers(), pointer) || !strings.Contains(p.Detail, "twice") {
					t.Errorf("%s: %d %+v", body, res.StatusCode, p)
				}
			}
			res, p := s.do("usr_alice", "POST", "/api/tasks", "application/json", `{"input":42}`)
			if res.StatusCode != 400 || !slices.Contains(p.pointers(), "body:/input") ||
				strings.Contains(p.raw, "Go struct") || strings.Contains(p.raw, "CreateTask") {
				t.Errorf("a number for input: %d %s", res.StatusCode, p.raw)
			}
			if list, err := s.alice.ListTasksWithResponse(context.Background(), nil); err != nil || len(list.JSON200.Items) != 0 {
				t.Errorf("refused bodies made tasks: %v %s", err, list.Body)
			}
		})
	}
}
