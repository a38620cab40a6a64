package validation_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/handinger/handinger/validation"
)

// otherDoc is the document of some other service, with what openapi.yaml
// does not use: readOnly and writeOnly properties, a form body, a text
// response, a cookie, response classes and defaults, servers.
const otherDoc = `
openapi: 3.0.3
info: {title: other, version: "1"}
servers: [{url: "https://other.example/v1"}]
security: [{key: []}]
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Key}
  schemas:
    User:
      type: object
      additionalProperties: false
      required: [id, name, password]
      properties:
        id: {type: integer, readOnly: true}
        name: {type: string, minLength: 2}
        password: {type: string, writeOnly: true}
paths:
  /users:
    post:
      requestBody:
        required: true
        content:
          application/json: {schema: {$ref: '#/components/schemas/User'}}
          application/x-www-form-urlencoded: {schema: {$ref: '#/components/schemas/User'}}
      responses:
        "2XX":
          description: created
          content:
            application/json: {schema: {$ref: '#/components/schemas/User'}}
        default:
          description: error
          content:
            text/plain: {schema: {type: string, maxLength: 10}}
  /prefs:
    get:
      parameters:
        - {name: theme, in: cookie, schema: {type: string, enum: [dark, light]}}
      responses:
        "200": {description: ok}
`

func otherService(t *testing.T, mode validation.Mode, h http.Handler) *bundle {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(otherDoc))
	if err != nil {
		t.Fatal(err)
	}
	mw, err := validation.New(doc, validation.Options{Mode: mode, Logger: discard(), ExposeResponseErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{url: newServer(t, mw(h))}
}

func TestOtherService(t *testing.T) {
	t.Parallel()
	var status int
	var ct, body string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
	b := otherService(t, validation.Full, h)

	// Requests: servers are ignored, security is not checked, readOnly is
	// refused in a request, forms are decoded by kin-openapi.
	status, ct, body = 201, "application/json", `{"id":1,"name":"ann"}`
	resp, data := b.do(t, "POST", "/users", "application/json", `{"name":"ann","password":"pw"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("valid create: %d %s", resp.StatusCode, data)
	}
	resp, data = b.do(t, "POST", "/users", "application/json", `{"id":7,"name":"ann","password":"pw"}`)
	if p := wantProblem(t, resp, data, 400); !strings.Contains(p.Detail, "readOnly") {
		t.Errorf("readOnly id in a request: %s", data)
	}
	resp, data = b.do(t, "POST", "/users", "application/x-www-form-urlencoded", `name=ann&password=pw`)
	if resp.StatusCode != 201 {
		t.Fatalf("valid form: %d %s", resp.StatusCode, data)
	}
	resp, data = b.do(t, "POST", "/users", "application/x-www-form-urlencoded", `name=a&password=pw`)
	if p := wantProblem(t, resp, data, 400); len(p.Errors) != 1 || p.Errors[0].Pointer != "/name" {
		t.Errorf("short name in a form: %s", data)
	}
	resp, data = b.do(t, "GET", "/prefs", "", nil, "Cookie", "theme=blue")
	if p := wantProblem(t, resp, data, 400); len(p.Errors) != 1 || p.Errors[0].In != "header" || p.Errors[0].Pointer != "/theme" {
		t.Errorf("bad cookie: %s", data)
	}

	// Responses: writeOnly is refused in a response, classes and defaults
	// apply, text bodies are validated by kin-openapi.
	status, ct, body = 201, "application/json", `{"id":1,"name":"ann","password":"pw"}`
	resp, data = b.do(t, "POST", "/users", "application/json", `{"name":"ann","password":"pw"}`)
	if p := wantProblem(t, resp, data, 500); !strings.Contains(p.Detail, "writeOnly") {
		t.Errorf("writeOnly password in a response: %s", data)
	}
	status, ct, body = 409, "text/plain", "taken"
	if resp, data = b.do(t, "POST", "/users", "application/json", `{"name":"ann","password":"pw"}`); resp.StatusCode != 409 {
		t.Errorf("default text answer: %d %s", resp.StatusCode, data)
	}
	status, ct, body = 0, "text/plain", "bad code" // net/http would panic; the default response would take it
	resp, data = b.do(t, "POST", "/users", "application/json", `{"name":"ann","password":"pw"}`)
	if p := wantProblem(t, resp, data, 500); !strings.Contains(p.Detail, "status code 0") {
		t.Errorf("status 0: %s", data)
	}
	status, ct, body = 409, "text/plain", "this name is already taken"
	resp, data = b.do(t, "POST", "/users", "application/json", `{"name":"ann","password":"pw"}`)
	if p := wantProblem(t, resp, data, 500); !strings.Contains(p.Detail, "maximum string length") {
		t.Errorf("text answer too long: %s", data)
	}
}
