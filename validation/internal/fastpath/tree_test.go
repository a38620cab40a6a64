package fastpath

import (
	"net/url"
	"slices"
	"testing"
)

func TestTreeMethods(t *testing.T) {
	var tr Tree[int]
	for _, r := range []struct{ path, method string }{
		{"/api/tasks", "GET"}, {"/api/tasks", "POST"},
		{"/api/tasks/{taskId}", "GET"}, {"/api/tasks/{taskId}", "DELETE"},
		{"/api/tasks/export", "PUT"}, // a literal beside the template: both match "export"
		{"/api/tasks/{taskId}/turns", "GET"},
	} {
		if _, err := tr.Add(r.path, r.method, 0); err != nil {
			t.Fatal(err)
		}
	}
	for path, want := range map[string][]string{
		"/api/tasks":             {"GET", "POST"},
		"/api/tasks/tsk_1":       {"DELETE", "GET"},
		"/api/tasks/export":      {"DELETE", "GET", "PUT"},
		"/api/tasks/a%2Fb/turns": {"GET"},
		"/api/tasks/":            {},
		"/api/tasks/tsk_1/other": {},
		"/nowhere":               {},
	} {
		u, err := url.Parse(path)
		if err != nil {
			u = &url.URL{RawPath: path, Path: path}
		}
		if got := tr.Methods(u); !slices.Equal(got, want) {
			t.Errorf("Methods(%s) = %v, want %v", path, got, want)
		}
	}
}
