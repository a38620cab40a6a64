package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/testdb"
	"github.com/handinger/handinger/server"
	"github.com/handinger/handinger/validation"
)

// fuzzServer is the whole request-handling path in process, over a fresh
// database of the current backend (SQLite, or PostgreSQL in the suite's
// second pass and under `make fuzz` when it is available), with response
// validation on: any answer that breaks the spec comes back as a 500 and
// fails the fuzz target.
func fuzzServer(f *testing.F) (http.Handler, string) {
	f.Helper()
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{
		DB: testdb.DSN(f, testdb.Current()), Validate: validation.Full, WaitLimit: 2 * time.Second,
		PublicURL: "http://127.0.0.1", MaxBodyBytes: 64 << 10, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close() })
	key, err := srv.NewAPIKey(ctx, "org_f", "usr_f")
	if err != nil {
		f.Fatal(err)
	}
	return srv, key
}

func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	if rec.Code >= 500 || rec.Code < 200 {
		t.Fatalf("%s: status %d: %s", what, rec.Code, rec.Body)
	}
	if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%s: %d without problem JSON: %s", what, rec.Code, rec.Body)
	}
}

// FuzzCreateBody sends arbitrary bodies to POST /api/tasks.
func FuzzCreateBody(f *testing.F) {
	h, key := fuzzServer(f)
	for _, seed := range []string{
		`{"input":"hello"}`, `{"input":"x","budget":"low","taskId":"t1"}`, `{"input":"[fail]"}`,
		`{"input":"x","workerId":"wrk_1"}`, `{}`, `[]`, `null`, `{"input":""}`, `{"input":"a","taskId":"t1"}`,
		`{"input":"\u0000"}`, `{"input":1e999}`, `{"input":"x","extra":{}}`, "\xff\xfe",
	} {
		f.Add(seed, "application/json")
	}
	f.Add(`input=x`, "application/x-www-form-urlencoded")
	f.Fuzz(func(t *testing.T, body, ctype string) {
		req := httptest.NewRequest("POST", "/api/tasks", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, rec, "POST "+body)
	})
}

// FuzzTaskID sends arbitrary ids to every operation that takes one.
func FuzzTaskID(f *testing.F) {
	h, key := fuzzServer(f)
	for _, seed := range []string{"tsk_1", "../etc", "%2e%2e", "a/b", "", " ", "x?y=1", "\x00", strings.Repeat("a", 65), "ü"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		for _, path := range []string{
			"/api/tasks/" + url.PathEscape(id),
			"/api/tasks/" + url.PathEscape(id) + "/turns",
			"/api/tasks?cursor=" + url.QueryEscape(id) + "&workerId=" + url.QueryEscape(id),
			"/api/tasks?status=" + url.QueryEscape(id) + "&limit=" + url.QueryEscape(id),
		} {
			// Every method net/http's router knows, HEAD included: the
			// ones the spec does not serve must answer 405, never reach
			// the database.
			for _, method := range fuzzMethods {
				req, err := http.NewRequest(method, "http://127.0.0.1"+path, nil)
				if err != nil {
					continue // not a request a client could send
				}
				req.Header.Set("Authorization", "Bearer "+key)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				checkAnswer(t, rec, method+" "+path)
			}
		}
	})
}

var fuzzMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace,
}
