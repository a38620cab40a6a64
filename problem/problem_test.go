package problem_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/handinger/handinger/problem"
	"github.com/handinger/handinger/spec"
)

// problemSchema returns the Problem schema of openapi.yaml.
func problemSchema(t *testing.T) *openapi3.Schema {
	t.Helper()
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	ref := doc.Components.Schemas["Problem"]
	if ref == nil || ref.Value == nil {
		t.Fatal("openapi.yaml has no Problem schema")
	}
	return ref.Value
}

// write runs problem.Write for a request to target and returns the recorded
// answer and its body decoded as the schema validator wants it.
func write(t *testing.T, target string, reqID string, p problem.Problem) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	if reqID != "" {
		rec.Header().Set("X-Request-Id", reqID)
	}
	problem.Write(rec, httptest.NewRequest(http.MethodPost, target, nil), p)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
	}
	return rec, m
}

func TestWrite(t *testing.T) {
	t.Parallel()
	schema := problemSchema(t)

	tests := []struct {
		name       string
		target     string
		reqID      string
		in         problem.Problem
		wantStatus int
		wantKeys   []string
		check      func(t *testing.T, m map[string]any)
	}{
		{
			name:       "field errors",
			target:     "/api/tasks?x=1",
			reqID:      "01HZY3B8Q2M7W9X4K6T1N5R0CV",
			in:         withErrors(problem.New(400, "invalid-request", "Invalid request", "The request body does not match the schema.")),
			wantStatus: 400,
			wantKeys:   []string{"type", "title", "status", "detail", "instance", "requestId", "errors"},
			check: func(t *testing.T, m map[string]any) {
				if m["instance"] != "/api/tasks" {
					t.Errorf("instance = %v, want the request path /api/tasks", m["instance"])
				}
				if m["requestId"] != "01HZY3B8Q2M7W9X4K6T1N5R0CV" {
					t.Errorf("requestId = %v, want the X-Request-Id header", m["requestId"])
				}
				if m["type"] != "https://handinger.com/problems/invalid-request" {
					t.Errorf("type = %v", m["type"])
				}
			},
		},
		{
			name:       "no errors and no request id",
			target:     "/api/tasks/tsk_1",
			in:         problem.New(404, "not-found", "Not found", "Task tsk_1 does not exist."),
			wantStatus: 404,
			wantKeys:   []string{"type", "title", "status", "detail", "instance"},
		},
		{
			name:       "empty errors slice left out",
			target:     "/x",
			in:         problem.Problem{Type: problem.TypeURI("conflict"), Title: "Conflict", Status: 409, Detail: "d", Errors: []problem.FieldError{}},
			wantStatus: 409,
			wantKeys:   []string{"type", "title", "status", "detail", "instance"},
		},
		{
			name:       "explicit instance and request id kept",
			target:     "/x",
			reqID:      "header-id",
			in:         problem.Problem{Type: problem.TypeURI("unavailable"), Title: "Service unavailable", Status: 503, Detail: "d", Instance: "/y", RequestID: "own-id"},
			wantStatus: 503,
			wantKeys:   []string{"type", "title", "status", "detail", "instance", "requestId"},
			check: func(t *testing.T, m map[string]any) {
				if m["instance"] != "/y" || m["requestId"] != "own-id" {
					t.Errorf("instance, requestId = %v, %v; want /y, own-id", m["instance"], m["requestId"])
				}
			},
		},
		{
			name:       "status outside 400-599 and empty type and title",
			target:     "/x",
			in:         problem.Problem{Status: 200, Detail: "misuse"},
			wantStatus: 500,
			wantKeys:   []string{"type", "title", "status", "detail", "instance"},
			check: func(t *testing.T, m map[string]any) {
				if m["title"] != "Internal Server Error" || m["type"] != "https://handinger.com/problems/internal-server-error" {
					t.Errorf("title, type = %v, %v", m["title"], m["type"])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, m := write(t, tt.target, tt.reqID, tt.in)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
				t.Errorf("Content-Type = %q, want %q", ct, problem.ContentType)
			}
			if got := m["status"]; got != json.Number(strconv.Itoa(tt.wantStatus)) {
				t.Errorf("status member = %v, want %d", got, tt.wantStatus)
			}
			if len(m) != len(tt.wantKeys) {
				t.Errorf("members = %v, want exactly %v", m, tt.wantKeys)
			}
			for _, k := range tt.wantKeys {
				if _, ok := m[k]; !ok {
					t.Errorf("member %q missing from %v", k, m)
				}
			}
			if err := schema.VisitJSON(m); err != nil {
				t.Errorf("document does not match the Problem schema: %v\n%s", err, rec.Body)
			}
			if tt.check != nil {
				tt.check(t, m)
			}
		})
	}
}

func withErrors(p problem.Problem) problem.Problem {
	p.Errors = []problem.FieldError{
		{In: problem.InBody, Pointer: "/input", Detail: `property "input" is missing`},
		{In: problem.InPath, Pointer: "/taskId", Detail: "string doesn't match the regular expression"},
		{In: problem.InQuery, Pointer: "/limit", Detail: "number must be at least 1"},
		{In: problem.InHeader, Pointer: "/Idempotency-Key", Detail: "minimum string length is 1"},
	}
	return p
}

func TestFieldErrorInValuesMatchSpec(t *testing.T) {
	t.Parallel()
	doc, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	in := doc.Components.Schemas["FieldError"].Value.Properties["in"].Value
	for _, v := range []string{problem.InBody, problem.InPath, problem.InQuery, problem.InHeader} {
		if err := in.VisitJSON(v); err != nil {
			t.Errorf("FieldError.in %q: %v", v, err)
		}
	}
	if got := len(in.Enum); got != 4 {
		t.Errorf("FieldError.in has %d values in openapi.yaml, the package knows 4", got)
	}
}

func TestProblemError(t *testing.T) {
	t.Parallel()
	var err error = problem.New(404, "not-found", "Not found", "Task tsk_1 does not exist.")
	if got, want := err.Error(), "Not found: Task tsk_1 does not exist."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (problem.Problem{Title: "Gone"}).Error(); got != "Gone" {
		t.Errorf("Error() without detail = %q", got)
	}
}

func TestPointerToken(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"a": "a", "a/b": "a~1b", "~x": "~0x", "~/": "~0~1", "": ""} {
		if got := problem.PointerToken(in); got != want {
			t.Errorf("PointerToken(%q) = %q, want %q", in, got, want)
		}
	}
}
