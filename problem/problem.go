// Package problem writes RFC 9457 problem details, the body of every answer
// of the Handinger Tasks API other than 2xx, as the Problem schema of
// openapi.yaml defines them.
//
// The package depends on nothing generated from openapi.yaml, so the schema
// and this code can change independently; a test checks that what Write
// produces validates against the schema.
package problem

import (
	"encoding/json"
	"net/http"
	"strings"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// TypeBase is the prefix of every problem type URI; the slug follows it.
const TypeBase = "https://handinger.com/problems/"

// RequestIDHeader is the response header whose value Write copies into
// Problem.RequestID.
const RequestIDHeader = "X-Request-Id"

// Where an offending field is, the values of FieldError.In.
const (
	InBody   = "body"
	InPath   = "path"
	InQuery  = "query"
	InHeader = "header"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	// Type is a URI that identifies the kind of problem, TypeBase followed by
	// a slug such as "invalid-request".
	Type string `json:"type"`
	// Title is a short summary of the kind of problem, the same for every
	// problem of one Type.
	Title string `json:"title"`
	// Status is the HTTP status code, 400 to 599.
	Status int `json:"status"`
	// Detail says what was wrong with this request, for people.
	Detail string `json:"detail"`
	// Instance is the request path the problem occurred on; Write fills it
	// when it is empty.
	Instance string `json:"instance,omitempty"`
	// RequestID is the id of the request, also sent in the X-Request-Id
	// header; Write fills it from that response header when it is empty.
	RequestID string `json:"requestId,omitempty"`
	// Errors names each offending field when the problem is about fields;
	// it is left out of the document when empty.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one offending field of a request.
type FieldError struct {
	// In is where the field is: InBody, InPath, InQuery or InHeader.
	In string `json:"in"`
	// Pointer is an RFC 6901 JSON pointer to the field: inside the body for
	// InBody, "/<name>" for a parameter.
	Pointer string `json:"pointer"`
	// Detail says what is wrong with the field.
	Detail string `json:"detail"`
}

// New returns a problem of the kind named by slug (its Type is TypeBase +
// slug) with the given status, title and detail.
func New(status int, slug, title, detail string) Problem {
	return Problem{Type: TypeURI(slug), Title: title, Status: status, Detail: detail}
}

// TypeURI returns the problem type URI of slug, e.g.
// "https://handinger.com/problems/not-found" for "not-found".
func TypeURI(slug string) string {
	return TypeBase + slug
}

// Error makes a Problem usable as an error; it returns the title and detail.
func (p Problem) Error() string {
	if p.Detail == "" {
		return p.Title
	}
	return p.Title + ": " + p.Detail
}

// Write sends p as the answer to r with the content type ContentType and
// p.Status as the status code. It fills an empty Instance with the request
// path and an empty RequestID with the X-Request-Id response header, if the
// header is set. A Status outside 400–599 is sent as 500 (the schema allows
// nothing else), and an empty Type or Title is taken from the status, so that
// every document Write sends matches the Problem schema.
func Write(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Status < 400 || p.Status > 599 {
		p.Status = http.StatusInternalServerError
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Type == "" {
		p.Type = TypeURI(slugOf(p.Status))
	}
	if p.Instance == "" && r != nil && r.URL != nil {
		p.Instance = r.URL.Path
	}
	h := w.Header()
	if p.RequestID == "" {
		p.RequestID = h.Get(RequestIDHeader)
	}
	if len(p.Errors) == 0 {
		p.Errors = nil
	}
	body, err := json.Marshal(p)
	if err != nil {
		// A Problem holds only strings and ints; this cannot happen.
		body = []byte(`{"type":"` + TypeURI("internal") + `","title":"Internal server error","status":500,"detail":"The problem document could not be encoded."}`)
		p.Status = http.StatusInternalServerError
	}
	body = append(body, '\n')
	h.Set("Content-Type", ContentType)
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// slugOf names the problem kind of a status for problems built without a
// Type.
func slugOf(status int) string {
	text := http.StatusText(status)
	if text == "" {
		if status < 500 {
			return "client-error"
		}
		return "server-error"
	}
	return strings.ToLower(strings.ReplaceAll(text, " ", "-"))
}

// PointerToken escapes s for use as one reference token of a FieldError's
// JSON pointer (RFC 6901): "~" becomes "~0" and "/" becomes "~1".
func PointerToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
