package validation_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/handinger/handinger/problem"
	"github.com/handinger/handinger/validation"
)

// FuzzValidate sends arbitrary bodies and task ids through the middleware,
// in Requests and Full mode, in front of a handler that answers as the
// document says: nothing may panic, and every answer is 2xx or a 4xx
// problem, never a 5xx.
func FuzzValidate(f *testing.F) {
	for _, seed := range []struct {
		body string
		id   string
	}{
		{`{"input":"x"}`, "tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D"},
		{`{"input":"x","budget":"low","taskId":"tsk_1","workerId":"wrk_1"}`, "bad id"},
		{`{"input":""}`, ""},
		{`{"input":42,"extra":[1,{"a":null}]}`, "a/b"},
		{`{"input":"\ud800","budget":"\u0000"}`, "%zz"},
		{`{"input":"x"} trailing`, "é"},
		{`[[[[[[[[[[]]]]]]]]]]`, "..."},
		{`{"input":1e400}`, "\x00\n"},
		{``, "x?y#z"},
		{`{`, "0000000000000000000000000000000000000000000000000000000000000000000"},
	} {
		f.Add([]byte(seed.body), seed.id)
	}
	var handlers []http.Handler
	for _, mode := range []validation.Mode{validation.Requests, validation.Full} {
		mw, err := validation.New(mustSpec(f), validation.Options{Mode: mode, Logger: discard(), MaxBodyBytes: 4096})
		if err != nil {
			f.Fatal(err)
		}
		handlers = append(handlers, mw(specHandler(&received{})))
	}
	f.Fuzz(func(t *testing.T, body []byte, id string) {
		requests := []func() *http.Request{
			func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/api/tasks", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Idempotency-Key", id)
				return r
			},
			func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/api/tasks", bytes.NewReader(body))
				r.Header.Set("Content-Type", id)
				r.ContentLength = -1
				return r
			},
			func() *http.Request {
				return httptest.NewRequest(http.MethodGet, "/api/tasks/"+url.PathEscape(id), nil)
			},
			func() *http.Request {
				return httptest.NewRequest(http.MethodGet, "/api/tasks?limit="+url.QueryEscape(id)+"&cursor="+url.QueryEscape(id)+"&status="+url.QueryEscape(string(body)), nil)
			},
		}
		for _, h := range handlers {
			for _, newReq := range requests {
				rec := httptest.NewRecorder()
				req := newReq()
				h.ServeHTTP(rec, req)
				switch code := rec.Code; {
				case code >= 200 && code < 300:
				case code >= 400 && code < 500:
					if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
						t.Fatalf("%s %s: %d with Content-Type %q", req.Method, req.URL, code, ct)
					}
				default:
					t.Fatalf("%s %s: status %d: %s", req.Method, req.URL, code, rec.Body)
				}
			}
		}
	})
}
