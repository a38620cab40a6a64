package validation

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/handinger/handinger/spec"
	"github.com/handinger/handinger/validation/internal/fastpath"
)

// BenchmarkResponseSteps splits the validation of a 2 KB TaskWithTurns into
// its steps, each next to what kin-openapi's openapi3filter does by itself:
//
//   - decode: decodeJSON against encoding/json with UseNumber;
//   - visit: the schema walk with the options the middleware passes
//     (hand-written date-time and id-pattern matchers, no VisitAsResponse
//     where no writeOnly property is reachable) against kin-openapi's
//     defaults (VisitAsResponse, its regular expressions);
//   - whole: the middleware's checkResponse against
//     openapi3filter.ValidateResponse.
func BenchmarkResponseSteps(b *testing.B) {
	doc, err := spec.Load()
	if err != nil {
		b.Fatal(err)
	}
	c, err := compile(doc)
	if err != nil {
		b.Fatal(err)
	}
	// Patterns are compiled into kin-openapi's process-wide cache: each
	// sub-benchmark installs the compiler it measures.
	patterns := func(b *testing.B, c openapi3.RegexCompilerFunc) {
		b.Helper()
		if err := doc.Validate(context.Background(), openapi3.SetRegexCompiler(c)); err != nil {
			b.Fatal(err)
		}
	}
	kinPatterns := fastpath.KinPattern
	schema := doc.Components.Schemas["TaskWithTurns"].Value
	data := []byte(taskWithTurnsJSON)
	value, _, err := fastpath.Decode(data) // kept, never released
	if err != nil {
		b.Fatal(err)
	}
	worker := doc.Components.Schemas["Worker"].Value
	workerData := []byte(workerJSON)
	workerValue, _, err := fastpath.Decode(workerData)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("decode/ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, dec, err := fastpath.Decode(data)
			if err != nil {
				b.Fatal(err)
			}
			dec.Release()
		}
	})
	b.Run("decode/ours/worker", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, dec, err := fastpath.Decode(workerData)
			if err != nil {
				b.Fatal(err)
			}
			dec.Release()
		}
	})
	b.Run("decode/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v any
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("visit/ours", func(b *testing.B) {
		patterns(b, fastpath.CompilePattern)
		b.ReportAllocs()
		opts := c.respOpts[schema]
		for b.Loop() {
			if err := schema.VisitJSON(value, opts...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("visit/ours/worker", func(b *testing.B) {
		patterns(b, fastpath.CompilePattern)
		b.ReportAllocs()
		opts := c.respOpts[worker]
		for b.Loop() {
			if err := worker.VisitJSON(workerValue, opts...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("visit/kin-defaults", func(b *testing.B) {
		patterns(b, kinPatterns)
		b.ReportAllocs()
		for b.Loop() {
			if err := schema.VisitJSON(value, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
				b.Fatal(err)
			}
		}
	})

	mw, err := New(doc, Options{Mode: Full})
	if err != nil {
		b.Fatal(err)
	}
	v := mw(http.NotFoundHandler()).(*handler).v
	req := httptest.NewRequest(http.MethodGet, "/api/tasks/tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D", nil)
	rt, vals := v.c.find(req.Method, req.URL)
	in, _, ok := v.checkRequest(httptest.NewRecorder(), req, rt, vals)
	if !ok {
		b.Fatal("request refused")
	}
	b.Run("whole/ours", func(b *testing.B) {
		patterns(b, fastpath.CompilePattern)
		b.ReportAllocs()
		rec := &recorder{header: http.Header{"Content-Type": {"application/json"}}, status: 200, wroteHeader: true}
		rec.body.Write(data)
		for b.Loop() {
			if err := v.checkResponse(req, rt, in, rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	router, err := legacy.NewRouter(doc)
	if err != nil {
		b.Fatal(err)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("whole/openapi3filter", func(b *testing.B) {
		patterns(b, kinPatterns)
		b.ReportAllocs()
		opts := &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
		header := http.Header{"Content-Type": {"application/json"}}
		for b.Loop() {
			err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
				Status:                 200,
				Header:                 header,
				Body:                   io.NopCloser(bytes.NewReader(data)),
				Options:                opts,
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
