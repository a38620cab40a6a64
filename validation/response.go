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

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/handinger/handinger/problem"
	"github.com/handinger/handinger/validation/internal/fastpath"
)

// recorder buffers a handler's answer until it is validated. It has no
// Flush: in Full mode nothing reaches the client before the handler
// returns.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

// Header returns the header map the answer will be sent with.
func (rec *recorder) Header() http.Header { return rec.header }

// WriteHeader records the status. Informational (1xx) codes are dropped and
// only the first final code counts, as with net/http; a code net/http would
// panic on is kept, for the validation to refuse.
func (rec *recorder) WriteHeader(code int) {
	if rec.wroteHeader || (code >= 100 && code < 200) {
		return
	}
	rec.status, rec.wroteHeader = code, true
}

// Write buffers body bytes.
func (rec *recorder) Write(p []byte) (int, error) {
	rec.WriteHeader(http.StatusOK)
	return rec.body.Write(p)
}

// WriteString buffers body bytes.
func (rec *recorder) WriteString(s string) (int, error) {
	rec.WriteHeader(http.StatusOK)
	return rec.body.WriteString(s)
}

// maxPooledResponse is the largest response buffer kept for reuse.
const maxPooledResponse = 256 << 10

var recorderPool = sync.Pool{New: func() any { return &recorder{header: http.Header{}} }}

// serveChecked runs next into a buffer, validates its answer, and sends
// it, or a 500 problem if it breaks the document.
func (v *validator) serveChecked(w http.ResponseWriter, r *http.Request, rt *route, in *openapi3filter.RequestValidationInput, next http.Handler) {
	rec := recorderPool.Get().(*recorder)
	dst := w.Header()
	// The handler sees the headers set before it (X-Request-Id, …).
	for k, vs := range dst {
		rec.header[k] = vs
	}
	next.ServeHTTP(rec, r)
	rec.WriteHeader(http.StatusOK)

	if err := v.checkResponse(r, rt, in, rec); err != nil {
		v.logger.LogAttrs(r.Context(), slog.LevelError, "response does not match the API document",
			slog.String("operation", rt.name), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.String("error", err.Error()))
		if id := rec.header.Get(problem.RequestIDHeader); id != "" && dst.Get(problem.RequestIDHeader) == "" {
			dst.Set(problem.RequestIDHeader, id)
		}
		detail := fmt.Sprintf("The response did not match the API document (operation %s, status %d); the server's log has the details under the request id.", rt.name, rec.status)
		if v.exposeRespErr {
			detail = truncate(fmt.Sprintf("The response did not match the API document (operation %s, status %d): %v", rt.name, rec.status, err), maxDetail)
		}
		v.write(w, r, problem.New(http.StatusInternalServerError, slugInvalidResponse, titleInvalidResponse, detail))
	} else {
		for k := range dst {
			if _, ok := rec.header[k]; !ok {
				delete(dst, k)
			}
		}
		for k, vs := range rec.header {
			dst[k] = vs
		}
		w.WriteHeader(rec.status)
		if rec.body.Len() > 0 {
			_, _ = w.Write(rec.body.Bytes())
		}
	}

	clear(rec.header)
	rec.status, rec.wroteHeader = 0, false
	if rec.body.Cap() > maxPooledResponse {
		rec.body = bytes.Buffer{}
	}
	rec.body.Reset()
	recorderPool.Put(rec)
}

// checkResponse validates the recorded answer to r. kin-openapi checks the
// status and the headers; a JSON body is decoded here and handed to
// kin-openapi's schema validation, any other body to kin-openapi whole.
func (v *validator) checkResponse(r *http.Request, rt *route, in *openapi3filter.RequestValidationInput, rec *recorder) (err error) {
	defer func() {
		// kin-openapi is not supposed to panic; if it does, the answer is
		// refused like one that breaks the document.
		if p := recover(); p != nil {
			v.logger.LogAttrs(r.Context(), slog.LevelError, "response validation panicked",
				slog.String("operation", rt.name), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("response validation panicked: %v", p)
		}
	}()
	if rec.status < 200 || rec.status > 999 {
		return fmt.Errorf("status code %d is not valid", rec.status)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 rec.status,
		Header:                 rec.header,
		Options:                v.respKinOpts,
	}
	if err := openapi3filter.ValidateResponse(r.Context(), input); err != nil {
		return err
	}
	// The cases kin-openapi does not validate at all.
	if r.Method == http.MethodHead {
		return nil
	}
	switch rec.status {
	case http.StatusNotModified, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusMovedPermanently:
		return nil
	}
	resp := rt.response(rec.status)
	if resp == nil || len(resp.Content) == 0 {
		return nil
	}
	ct := rec.header.Get("Content-Type")
	media := resp.Content.Get(ct)
	if media == nil {
		return &openapi3filter.ResponseError{Input: input,
			Reason: fmt.Sprintf("response header Content-Type has unexpected value: %q", ct)}
	}
	if media.Schema == nil || media.Schema.Value == nil {
		return nil
	}
	schema := media.Schema.Value
	data := rec.body.Bytes()
	if !isJSON(ct) || isBinary(schema) {
		input.Options = v.respKinOptsWithBody
		input.Body = io.NopCloser(bytes.NewReader(data))
		return openapi3filter.ValidateResponse(r.Context(), input)
	}
	value, dec, err := fastpath.Decode(data)
	if err != nil {
		return &openapi3filter.ResponseError{Input: input, Reason: "failed to decode response body", Err: err}
	}
	err = schema.VisitJSON(value, v.c.respOpts[schema]...)
	if err != nil {
		// The error may hold decoded values, which release recycles: keep
		// its message only.
		err = errors.New(err.Error())
	}
	dec.Release()
	if err != nil {
		reason := "response body doesn't match schema"
		if media.Schema.Ref != "" {
			reason += " " + media.Schema.Ref
		}
		return &openapi3filter.ResponseError{Input: input, Reason: reason, Err: err}
	}
	return nil
}
