package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/apikey"
	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/runner"
	"github.com/handinger/handinger/internal/runtimes/builtin"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store/memory"
	"github.com/handinger/handinger/server"
	"github.com/handinger/handinger/spec"
	"github.com/handinger/handinger/validation"
)

// fuzzServer is the whole request-handling path in process, over the
// in-memory store, with response validation on: any answer that breaks the
// spec comes back as a 500 and fails the fuzz target.
func fuzzServer(f *testing.F) (http.Handler, string) {
	f.Helper()
	st := memory.New()
	k := apikey.New()
	if err := st.CreateAPIKey(context.Background(), k.ID, "org_f", "usr_f", k.Hash, time.Now()); err != nil {
		f.Fatal(err)
	}
	doc, err := spec.Load()
	if err != nil {
		f.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := notify.NewLocal()
	svc := service.New(service.Config{Store: st, Bus: bus, WaitLimit: 2 * time.Second})
	srv, err := server.New(server.Config{
		Service: svc, Store: st, Spec: doc, Validate: validation.Full,
		PublicURL: "http://127.0.0.1", MaxBodyBytes: 64 << 10, Logger: logger,
	})
	if err != nil {
		f.Fatal(err)
	}
	pool, err := runner.New(runner.Config{Store: st, Runtime: &builtin.Runtime{}, Bus: bus, Owner: "fuzz", Logger: logger})
	if err != nil {
		f.Fatal(err)
	}
	pool.Start()
	f.Cleanup(func() { _ = pool.Shutdown(context.Background()) })
	return srv, k.Secret
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
		for _, target := range []struct{ method, path string }{
			{"GET", "/api/tasks/" + url.PathEscape(id)},
			{"GET", "/api/tasks/" + url.PathEscape(id) + "/turns"},
			{"DELETE", "/api/tasks/" + url.PathEscape(id)},
			{"GET", "/api/tasks?cursor=" + url.QueryEscape(id) + "&workerId=" + url.QueryEscape(id)},
		} {
			req, err := http.NewRequest(target.method, "http://127.0.0.1"+target.path, nil)
			if err != nil {
				continue // not a request a client could send
			}
			req.Header.Set("Authorization", "Bearer "+key)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			checkAnswer(t, rec, target.method+" "+target.path)
		}
	})
}
