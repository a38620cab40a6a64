package validation

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/handinger/handinger/problem"
	"github.com/handinger/handinger/validation/internal/fastpath"
)

// reqBody is a request body read once, then handed to kin-openapi and to the
// handler from memory. It is pooled: the handler must not read it after it
// returns, which net/http forbids anyway.
type reqBody struct {
	buf bytes.Buffer
	rd  bytes.Reader
}

// Read reads the body.
func (b *reqBody) Read(p []byte) (int, error) { return b.rd.Read(p) }

// WriteTo writes the rest of the body to w, for io.Copy.
func (b *reqBody) WriteTo(w io.Writer) (int64, error) { return b.rd.WriteTo(w) }

// Close does nothing: the body is in memory.
func (b *reqBody) Close() error { return nil }

// rewind makes the whole body readable again.
func (b *reqBody) rewind() { b.rd.Reset(b.buf.Bytes()) }

// maxPooledBody is the largest body buffer kept for reuse.
const maxPooledBody = 64 << 10

// maxPreGrow is the most a body buffer grows before the body's bytes come.
const maxPreGrow = 8 << 10

var bodyPool = sync.Pool{New: func() any { return new(reqBody) }}

func (b *reqBody) release() {
	b.rd.Reset(nil)
	if b.buf.Cap() > maxPooledBody {
		return
	}
	b.buf.Reset()
	bodyPool.Put(b)
}

// checkRequest validates r, the request of rt with path parameter values
// vals. It answers r itself with a problem and returns ok false when r is
// refused; otherwise r.Body, if the operation has a body, reads from body,
// which the caller releases after the handler returns.
func (v *validator) checkRequest(w http.ResponseWriter, r *http.Request, rt *route, vals []string) (in *openapi3filter.RequestValidationInput, body *reqBody, ok bool) {
	defer func() {
		// kin-openapi is not supposed to panic on any input; if it does,
		// the request is refused rather than the server failing.
		if p := recover(); p != nil {
			v.logger.LogAttrs(r.Context(), slog.LevelError, "request validation panicked",
				slog.String("operation", rt.name), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			v.write(w, r, problem.New(http.StatusBadRequest, slugInvalidRequest, titleInvalidRequest,
				"The request could not be validated against the API document."))
			ok = false
		}
	}()

	if rt.plainOnly && !v.full && len(vals) == len(rt.pathParams) {
		// Nothing below needs kin-openapi's request input: no body, no
		// parameter but plain path ones, no response to validate.
		var fields []problem.FieldError
		for i, p := range rt.params {
			if err := v.checkPlainPathParam(nil, p, vals[rt.plainPath[i]]); err != nil {
				fields = appendParamError(fields, p, err)
			}
		}
		if len(fields) > 0 {
			v.refuse(w, r, rt, invalidRequest(fields, ""))
			return nil, nil, false
		}
		return nil, nil, true
	}

	var pathParams map[string]string
	if len(rt.pathParams) > 0 {
		pathParams = make(map[string]string, len(rt.pathParams))
		for i, name := range rt.pathParams {
			if i < len(vals) {
				pathParams[name] = vals[i]
			}
		}
	}
	in = &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: pathParams,
		Route:      rt.kin,
		Options:    v.kinOpts,
	}

	var bodyFields []problem.FieldError
	var bodyDetail string
	if rt.body != nil {
		var refusal *problem.Problem
		body, refusal = v.readBody(w, r)
		if refusal != nil {
			v.refuse(w, r, rt, *refusal)
			return nil, body, false
		}
		bodyFields, bodyDetail, refusal = v.checkBody(r, rt, in, body)
		if refusal != nil {
			v.refuse(w, r, rt, *refusal)
			return nil, body, false
		}
	}

	var fields []problem.FieldError
	for i, p := range rt.params {
		var err error
		if j := rt.plainPath[i]; j >= 0 && j < len(vals) {
			err = v.checkPlainPathParam(in, p, vals[j])
		} else {
			err = openapi3filter.ValidateParameter(r.Context(), in, p)
		}
		if err != nil {
			fields = appendParamError(fields, p, err)
		}
	}
	fields = append(fields, bodyFields...)
	if len(fields) > 0 || bodyDetail != "" {
		v.refuse(w, r, rt, invalidRequest(fields, bodyDetail))
		return nil, body, false
	}
	return in, body, true
}

// checkPlainPathParam is kin-openapi's ValidateParameter for a parameter
// plainPathParams picked, without its decoding machinery: the value is the
// path segment, and kin-openapi's schema validation, with the options
// ValidateParameter would pass, decides. The same errors come out (a
// fuzz test compares the two). in may be nil; it only goes into the error.
func (v *validator) checkPlainPathParam(in *openapi3filter.RequestValidationInput, p *openapi3.Parameter, value string) error {
	if value == "" {
		return &openapi3filter.RequestError{Input: in, Parameter: p,
			Reason: openapi3filter.ErrInvalidRequired.Error(), Err: openapi3filter.ErrInvalidRequired}
	}
	if err := p.Schema.Value.VisitJSON(value, v.c.paramOpts...); err != nil {
		return &openapi3filter.RequestError{Input: in, Parameter: p, Err: err}
	}
	return nil
}

// readBody reads the body of r, at most v.maxBody bytes of it, and leaves
// r.Body reading the copy. It returns the problem to answer when the body is
// too large or cannot be read.
func (v *validator) readBody(w http.ResponseWriter, r *http.Request) (*reqBody, *problem.Problem) {
	if r.ContentLength > v.maxBody {
		p := tooLarge(v.maxBody)
		return nil, &p
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		r.Body = http.NoBody
		return nil, nil
	}
	body := bodyPool.Get().(*reqBody)
	if r.ContentLength > 0 {
		// Room for what is promised, up to a few KiB: beyond that, memory
		// follows the bytes that arrive, not the bytes announced, so that
		// a client that promises a megabyte and sends nothing costs next
		// to nothing.
		body.buf.Grow(int(min(r.ContentLength, maxPreGrow)) + bytes.MinRead)
	}
	_, err := body.buf.ReadFrom(http.MaxBytesReader(w, r.Body, v.maxBody))
	body.rewind()
	r.Body = body
	r.ContentLength = int64(body.buf.Len())
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			p := tooLarge(v.maxBody)
			return body, &p
		}
		p := problem.New(http.StatusBadRequest, slugInvalidRequest, titleInvalidRequest,
			fmt.Sprintf("The request body could not be read: %v.", err))
		return body, &p
	}
	return body, nil
}

// checkBody validates the body read into body (nil when empty) against the
// operation's requestBody. It returns the offending fields, or a detail when
// the body as a whole is wrong (missing, not JSON), or the problem to answer
// at once (415).
func (v *validator) checkBody(r *http.Request, rt *route, in *openapi3filter.RequestValidationInput, body *reqBody) ([]problem.FieldError, string, *problem.Problem) {
	var data []byte
	if body != nil {
		data = body.buf.Bytes()
	}
	if len(data) == 0 {
		if rt.body.Required {
			return nil, "The request body is required.", nil
		}
		return nil, "", nil
	}
	if len(rt.body.Content) == 0 {
		return nil, "", nil // any body goes
	}
	ct := r.Header.Get("Content-Type")
	media := rt.body.Content.Get(ct)
	if media == nil {
		p := unsupportedMediaType(ct, rt.accepts)
		return nil, "", &p
	}
	if media.Schema == nil || media.Schema.Value == nil {
		return nil, "", nil
	}
	schema := media.Schema.Value
	if !isJSON(ct) || isBinary(schema) {
		// Forms, YAML, files…: kin-openapi decodes them itself.
		getBody := r.GetBody
		err := openapi3filter.ValidateRequestBody(r.Context(), in, rt.body)
		body.rewind()
		r.Body, r.GetBody, r.ContentLength = body, getBody, int64(len(data))
		if err != nil {
			fields, detail := bodyRequestError(err)
			return fields, detail, nil
		}
		return nil, "", nil
	}
	value, dec, err := fastpath.Decode(data)
	var dup *fastpath.DuplicateKeyError
	if errors.As(err, &dup) {
		return []problem.FieldError{{In: problem.InBody, Pointer: dup.Pointer,
			Detail: fmt.Sprintf("The key %q appears twice in one object; send each key once.", dup.Key)}}, "", nil
	}
	if err != nil {
		return nil, fmt.Sprintf("The request body is not valid JSON: %v.", err), nil
	}
	var fields []problem.FieldError
	if err := schema.VisitJSON(value, v.c.reqOpts[schema]...); err != nil {
		fields = appendSchemaErrors(nil, problem.InBody, "", err) // strings only
	}
	dec.Release()
	return fields, "", nil
}

// refuse answers a refused request with p, and logs it for debugging.
func (v *validator) refuse(w http.ResponseWriter, r *http.Request, rt *route, p problem.Problem) {
	if v.logger.Enabled(r.Context(), slog.LevelDebug) {
		v.logger.LogAttrs(r.Context(), slog.LevelDebug, "request refused",
			slog.String("operation", rt.name), slog.Int("status", p.Status), slog.String("detail", p.Detail))
	}
	v.write(w, r, p)
}
