package validation

import (
	"net/url"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestRouter(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(`
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a/b:
    post: {operationId: staticPost, responses: {"200": {description: ok}}}
  /a/{x}:
    get:
      operationId: paramGet
      parameters: [{name: x, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /a/{x}/c:
    get:
      operationId: paramC
      parameters: [{name: x, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /a/b/d:
    get: {operationId: staticD, responses: {"200": {description: ok}}}
  /files/{name}.json:
    get:
      operationId: jsonFile
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /files/{name}:
    get:
      operationId: anyFile
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /u/{user}/r/{repo}:
    get:
      operationId: two
      parameters:
        - {name: user, in: path, required: true, schema: {type: string}}
        - {name: repo, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: ok}}
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := compile(doc)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, target string
		wantOp         string // "" for no route
		wantVals       []string
	}{
		{"POST", "/a/b", "staticPost", nil},
		{"GET", "/a/b", "paramGet", []string{"b"}}, // the static /a/b has no GET
		{"GET", "/a/zz", "paramGet", []string{"zz"}},
		{"GET", "/a/b/c", "paramC", []string{"b"}}, // backtracks from /a/b/…
		{"GET", "/a/b/d", "staticD", nil},
		{"GET", "/a/x%2Fy", "paramGet", []string{"x/y"}},
		{"GET", "/a/x%20y/c", "paramC", []string{"x y"}},
		{"GET", "/%61/b/d", "staticD", nil},
		{"GET", "/files/report.json", "jsonFile", []string{"report"}},
		{"GET", "/files/report.txt", "anyFile", []string{"report.txt"}},
		{"GET", "/files/.json", "anyFile", []string{".json"}},
		{"GET", "/u/ann/r/tools", "two", []string{"ann", "tools"}},
		{"DELETE", "/a/b", "", nil},
		{"GET", "/a/", "", nil},
		{"GET", "/a", "", nil},
		{"GET", "/a/b/c/", "", nil},
		{"GET", "//a/b", "", nil},
		{"GET", "/", "", nil},
		{"GET", "/nothing", "", nil},
		{"get", "/a/b", "", nil},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.target)
		if err != nil {
			t.Fatal(err)
		}
		rt, vals := c.find(tt.method, u)
		got := ""
		if rt != nil {
			got = rt.name
		}
		if got != tt.wantOp || (rt != nil && !slices.Equal(vals, tt.wantVals)) {
			t.Errorf("%s %s = %q %q, want %q %q", tt.method, tt.target, got, vals, tt.wantOp, tt.wantVals)
		}
	}
	if _, vals := c.find("GET", &url.URL{Path: "/u/a/r/b"}); len(vals) != 2 {
		t.Errorf("values %q", vals)
	}
	if rt, _ := c.find("GET", &url.URL{Opaque: "x"}); rt != nil {
		t.Error("an opaque URL found a route")
	}
}
