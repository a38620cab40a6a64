package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/apikey"
	"github.com/handinger/handinger/internal/bare"
	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/runner"
	"github.com/handinger/handinger/internal/runtimes/builtin"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/memory"
	"github.com/handinger/handinger/server"
	"github.com/handinger/handinger/spec"
	"github.com/handinger/handinger/validation"
)

// The benchmarks here measure the whole HTTP path over loopback: a real
// client, net/http, and the server's handler chain over the in-memory store
// (so that the HTTP layer, not disk I/O, is what differs). "bare" is the
// physical baseline: net/http's ServeMux and encoding/json answering the
// same data from the same store and service, with nothing else.
// `make bench` prints each variant's throughput relative to bare and off.

// benchStack is a server and what it runs on.
type benchStack struct {
	svc   *service.Service
	store store.Store
	key   string
	task  string // a task with two finished turns
}

func newBenchStack(b *testing.B) *benchStack {
	b.Helper()
	st := memory.New()
	k := apikey.New()
	if err := st.CreateAPIKey(context.Background(), k.ID, "org_b", "usr_b", k.Hash, time.Now()); err != nil {
		b.Fatal(err)
	}
	bus := notify.NewLocal()
	svc := service.New(service.Config{Store: st, Bus: bus})
	pool, err := runner.New(runner.Config{
		Store: st, Runtime: &builtin.Runtime{}, Bus: bus, Owner: "bench",
		Concurrency: 2 * runtime.GOMAXPROCS(0), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	pool.Start()
	b.Cleanup(func() { _ = pool.Shutdown(context.Background()) })
	who := store.Principal{KeyID: k.ID, OrgID: "org_b", UserID: "usr_b"}
	first, err := svc.CreateTask(context.Background(), who, service.CreateParams{Input: "Summarise the attached quarterly report in five bullet points."})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.CreateTask(context.Background(), who, service.CreateParams{Input: "Now in Spanish.", TaskID: first.Task.ID}); err != nil {
		b.Fatal(err)
	}
	return &benchStack{svc: svc, store: st, key: k.Secret, task: first.Task.ID}
}

func (s *benchStack) handler(b *testing.B, mode validation.Mode) http.Handler {
	b.Helper()
	doc, err := spec.Load()
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Config{
		Service: s.svc, Store: s.store, Spec: doc, Validate: mode,
		PublicURL: "http://127.0.0.1:8080", Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// bare answers retrieve and create with ServeMux and encoding/json only.
func (s *benchStack) bare() http.Handler {
	return bare.Handler(s.svc, store.Principal{OrgID: "org_b", UserID: "usr_b"}, "http://127.0.0.1:8080")
}

// variants are the handler chains every benchmark compares.
var variants = []struct {
	name string
	mode validation.Mode
	bare bool
}{{"bare", 0, true}, {"off", validation.Off, false}, {"requests", validation.Requests, false}, {"full", validation.Full, false}}

// runHTTP drives h over loopback from parallel clients with keep-alive
// connections, and reports requests per second.
func runHTTP(b *testing.B, h http.Handler, newReq func(base string) *http.Request) {
	ts := httptest.NewServer(h)
	defer ts.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var failed atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4) // 4 × GOMAXPROCS clients keep the server busy
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := client.Do(newReq(ts.URL))
			if err != nil {
				failed.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
}

// BenchmarkRetrieveHTTP measures GET /api/tasks/{taskId} (a task with two
// turns, about 1.5 KB).
func BenchmarkRetrieveHTTP(b *testing.B) {
	s := newBenchStack(b)
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			h := s.bare()
			if !v.bare {
				h = s.handler(b, v.mode)
			}
			runHTTP(b, h, func(base string) *http.Request {
				r, _ := http.NewRequest("GET", base+"/api/tasks/"+s.task, nil)
				r.Header.Set("Authorization", "Bearer "+s.key)
				return r
			})
		})
	}
}

// BenchmarkCreateHTTP measures POST /api/tasks through to the completed
// turn: store, queue, runner (builtin runtime, no delay) and wake-up.
func BenchmarkCreateHTTP(b *testing.B) {
	s := newBenchStack(b)
	body := []byte(`{"input":"Summarise the attached quarterly report in five bullet points.","budget":"standard"}`)
	var n atomic.Int64
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			h := s.bare()
			if !v.bare {
				h = s.handler(b, v.mode)
			}
			runHTTP(b, h, func(base string) *http.Request {
				r, _ := http.NewRequest("POST", base+"/api/tasks", bytes.NewReader(body))
				r.Header.Set("Authorization", "Bearer "+s.key)
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", n.Add(1)))
				return r
			})
		})
	}
}
