// Package validation checks HTTP requests, and optionally responses, against
// an OpenAPI 3 document with kin-openapi, in front of any net/http handler.
//
// The middleware New returns looks each request up in the document's paths
// once. A request for a path and method the document does not describe
// passes through untouched, so a host can serve /metrics or /docs beside the
// API; a HEAD request the document does not describe is checked as the GET
// of its path, since net/http's ServeMux serves it with the GET handler.
// Every other request has its parameters and body checked by
// kin-openapi before the handler sees it; what kin-openapi refuses is
// answered with an RFC 9457 problem document (application/problem+json,
// package problem), never plain text:
//
//   - 400 when parameters or the body break the schema, with every offending
//     field in the problem's errors (in: body, path, query or header, and a
//     JSON pointer: "/input" inside the body, "/<name>" for a parameter), or
//     when the body is not JSON;
//   - 413 when the body is larger than Options.MaxBodyBytes;
//   - 415 when a body comes without a content type the operation accepts.
//
// Security requirements are not checked: authentication is the host's job,
// before or behind the middleware. (Left to itself, kin-openapi would answer
// 401 to every request of a secured operation for want of an
// AuthenticationFunc; the middleware gives it one that accepts.)
//
// In Full mode the handler's answer is buffered and checked too; one that
// breaks the document is logged and replaced by a 500 problem, so tests run
// in Full mode catch any drift between a server and its document. Full mode
// holds each answer until the handler returns: it is no mode for streaming
// (the buffered writer has no Flush) or for hijacked connections.
//
// Validating a body means decoding it into map[string]any and walking the
// schema, which costs far more than routing. The package reads each body
// once into pooled buffers; decodes JSON in one pass with its own decoder,
// into values kin-openapi judges exactly as those of encoding/json, in maps
// and arrays recycled from earlier bodies; computes everything that depends only
// on the document in New; and hands JSON bodies straight to kin-openapi's
// schema validation (openapi3.Schema's VisitJSON) with the options
// openapi3filter would pass, less VisitAsRequest and VisitAsResponse where
// no readOnly or writeOnly property can be reached (they change no verdict
// there, and cost a sort per object). kin-openapi still decides what is
// valid; two of its plug-ins get faster equivalents: the "date-time" format
// check (a per-validation format validator) and the regular expressions of
// simple id patterns such as ^[A-Za-z0-9_-]{1,64}$ (see New). Each accepts
// exactly what kin-openapi's own accepts, which the fuzz tests of
// validation/internal/fastpath, where these fast paths live, check. Other
// bodies (forms, text, files) go to openapi3filter whole.
package validation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/handinger/handinger/problem"
	"github.com/handinger/handinger/validation/internal/fastpath"
)

// Mode says what the middleware validates.
type Mode int

const (
	// Requests validates requests only. It is the zero value, so that a
	// middleware nobody configured still validates what it is given.
	Requests Mode = iota
	// Off passes every request and response through unchecked; it has to
	// be asked for.
	Off
	// Full validates requests and responses.
	Full
)

// ParseMode parses "off", "requests" or "full" (in any case).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "off":
		return Off, nil
	case "requests":
		return Requests, nil
	case "full":
		return Full, nil
	}
	return Requests, fmt.Errorf("validation mode %q: want off, requests or full", s)
}

// String returns the name ParseMode accepts for m.
func (m Mode) String() string {
	switch m {
	case Off:
		return "off"
	case Requests:
		return "requests"
	case Full:
		return "full"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// MarshalText returns the name of m, so a Mode can be a flag or a config
// value.
func (m Mode) MarshalText() ([]byte, error) {
	if m < Requests || m > Full {
		return nil, fmt.Errorf("validation mode %d is not defined", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText parses text with ParseMode.
func (m *Mode) UnmarshalText(text []byte) error {
	v, err := ParseMode(string(text))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// DefaultMaxBodyBytes is the largest request body accepted when
// Options.MaxBodyBytes is zero: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// Options configure the middleware.
type Options struct {
	// Mode says what is validated; the zero value is Requests.
	Mode Mode
	// Logger receives responses that break the document (Full mode), at
	// level Error, and rejected requests at level Debug. Nil means
	// slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes is the largest request body read, in bytes; a larger one
	// is answered 413 before the handler runs. Zero means
	// DefaultMaxBodyBytes. Only the bodies of operations that declare a
	// requestBody are read.
	MaxBodyBytes int64
	// ProblemTypeBase is the prefix of the type URI of every problem the
	// middleware answers with; a slug follows it ("invalid-request",
	// "payload-too-large", "unsupported-media-type", "invalid-response",
	// "not-found", "method-not-allowed"). Empty means problem.TypeBase,
	// Handinger's: a service that documents problem types of its own sets
	// its base here, e.g. "https://example.com/problems/".
	ProblemTypeBase string
	// ExposeResponseErrors, in Full mode, puts what was wrong with a
	// response that breaks the document (schema paths and values) in the
	// detail of the 500 answer. By default the caller only learns which
	// operation and status broke the document, and the details go to
	// Logger with the request id: they can show data and schema internals
	// the caller should not see. Tests may turn it on.
	ExposeResponseErrors bool
	// RejectUnknown answers a request for a path the document does not
	// describe with 404, and one for a method its path does not have with
	// 405 and an Allow header, both as problem JSON. By default such
	// requests pass through to the handler, so that a host can serve
	// /metrics or /docs beside the API.
	RejectUnknown bool
}

// New returns a middleware that validates requests, and in Full mode
// responses, against doc. It validates doc and compiles everything the
// validation needs once, here; it fails if doc is not valid or has a path
// template it cannot route (more than one parameter in one segment).
//
// Request paths are matched against doc's paths as they are: doc's servers
// are ignored (a host that serves the API under a prefix strips it first,
// e.g. with http.StripPrefix). Path segments are matched percent-decoded,
// so /api/tasks/a%2Fb reaches /api/tasks/{taskId} with taskId "a/b".
//
// kin-openapi keeps compiled patterns in a process-wide cache, by pattern.
// New validates doc with openapi3.SetRegexCompiler, which fills that cache
// for doc's patterns: those that only bound the length of a string drawn
// from one ASCII class get a byte-table matcher, the others Go's regexp as
// kin-openapi compiles them. Any other document in the process with the
// same pattern shares the matcher, which accepts exactly what the regexp
// accepts.
//
// In Off mode the middleware returns the handler itself.
func New(doc *openapi3.T, opts Options) (func(http.Handler) http.Handler, error) {
	if doc == nil {
		return nil, errors.New("validation: nil OpenAPI document")
	}
	if opts.Mode < Requests || opts.Mode > Full {
		return nil, fmt.Errorf("validation: mode %d is not defined", int(opts.Mode))
	}
	if opts.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("validation: MaxBodyBytes %d is negative", opts.MaxBodyBytes)
	}
	// Validating the document also compiles its patterns into kin-openapi's
	// cache, with fastpath.CompilePattern.
	if err := doc.Validate(context.Background(), openapi3.SetRegexCompiler(fastpath.CompilePattern)); err != nil {
		return nil, fmt.Errorf("validation: the OpenAPI document is not valid: %w", err)
	}
	c, err := compile(doc)
	if err != nil {
		return nil, fmt.Errorf("validation: %w", err)
	}
	if opts.Mode == Off {
		return func(next http.Handler) http.Handler { return next }, nil
	}
	v := &validator{
		c:             c,
		full:          opts.Mode == Full,
		logger:        opts.Logger,
		maxBody:       opts.MaxBodyBytes,
		typeBase:      opts.ProblemTypeBase,
		exposeRespErr: opts.ExposeResponseErrors,
		rejectUnknown: opts.RejectUnknown,
	}
	if v.logger == nil {
		v.logger = slog.Default()
	}
	if v.maxBody == 0 {
		v.maxBody = DefaultMaxBodyBytes
	}
	v.kinOpts = requestOptions(c)
	v.respKinOpts = &openapi3filter.Options{
		MultiError:              true,
		IncludeResponseStatus:   true,
		ExcludeResponseBody:     true,
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		SchemaValidationOptions: c.extraOpts,
	}
	v.respKinOptsWithBody = &openapi3filter.Options{
		MultiError:              true,
		IncludeResponseStatus:   true,
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		SchemaValidationOptions: c.extraOpts,
	}
	return func(next http.Handler) http.Handler {
		return &handler{v: v, next: next}
	}, nil
}

// validator is what New compiled, shared by every handler it wraps.
type validator struct {
	c             *compiled
	full          bool
	logger        *slog.Logger
	maxBody       int64
	typeBase      string // Options.ProblemTypeBase; empty: problem.TypeBase
	exposeRespErr bool
	rejectUnknown bool

	kinOpts             *openapi3filter.Options // requests
	respKinOpts         *openapi3filter.Options // response status and headers
	respKinOptsWithBody *openapi3filter.Options // responses kin-openapi decodes itself
}

// requestOptions are kin-openapi's options for validating a request.
func requestOptions(c *compiled) *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError: true,
		// Authentication is the host's job. kin-openapi only calls this
		// when it checks security requirements, which the middleware never
		// asks for; it is set so that no code path can answer 401.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// The handler gets the request as it was sent: no defaults written
		// into the query or the body.
		SkipSettingDefaults:     true,
		SchemaValidationOptions: c.extraOpts,
	}
}

// handler is the middleware in front of one handler.
type handler struct {
	v    *validator
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, vals := h.v.c.find(r.Method, r.URL)
	if rt == nil && r.Method == http.MethodHead {
		// net/http serves HEAD with the GET handler: check it as that GET.
		rt, vals = h.v.c.find(http.MethodGet, r.URL)
	}
	if rt == nil {
		if h.v.rejectUnknown {
			h.v.unknown(w, r)
			return
		}
		h.next.ServeHTTP(w, r)
		return
	}
	in, body, ok := h.v.checkRequest(w, r, rt, vals)
	if ok {
		if h.v.full {
			h.v.serveChecked(w, r, rt, in, h.next)
		} else {
			h.next.ServeHTTP(w, r)
		}
	}
	if body != nil {
		body.release()
	}
}

// unknown answers a request no operation of the document describes: 404
// when no path matches, else 405 with the path's methods in Allow (HEAD
// with GET, as net/http serves it).
func (v *validator) unknown(w http.ResponseWriter, r *http.Request) {
	methods := v.c.routes.Methods(r.URL)
	if len(methods) == 0 {
		v.write(w, r, problem.New(http.StatusNotFound, slugNotFound, titleNotFound,
			fmt.Sprintf("No operation of the API document has the path %s.", r.URL.Path)))
		return
	}
	if slices.Contains(methods, http.MethodGet) && !slices.Contains(methods, http.MethodHead) {
		methods = append(methods, http.MethodHead)
		slices.Sort(methods)
	}
	allow := strings.Join(methods, ", ")
	w.Header().Set("Allow", allow)
	v.write(w, r, problem.New(http.StatusMethodNotAllowed, slugMethodNotAllowed, titleMethodNotAllowed,
		fmt.Sprintf("The path %s has no %s operation; it has %s.", r.URL.Path, r.Method, allow)))
}

// write sends p with its type under Options.ProblemTypeBase.
func (v *validator) write(w http.ResponseWriter, r *http.Request, p problem.Problem) {
	if v.typeBase != "" {
		p.Type = v.typeBase + strings.TrimPrefix(p.Type, problem.TypeBase)
	}
	problem.Write(w, r, p)
}
