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

	"github.com/handinger/handinger/internal/bare"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/server"
	"github.com/handinger/handinger/validation"
)

// The benchmarks here measure the whole HTTP path over loopback: a real
// client, net/http, and the server's handler chain over the in-memory store
// (so that the HTTP layer, not disk I/O, is what differs). "bare" is the
// physical baseline: net/http's ServeMux and encoding/json answering the
// same data from the same store and service, with nothing else.
// `make bench` prints each variant's throughput relative to bare and off.

// benchStack is a server over the in-memory store (a store of its own
// per variant) with a task of two finished turns.
type benchStack struct {
	srv  *server.Server
	key  string
	task string // a task with two finished turns
}

func newBenchStack(b *testing.B, mode validation.Mode) *benchStack {
	b.Helper()
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{
		DB: "memory:", Runners: 2 * runtime.GOMAXPROCS(0), Validate: mode,
		PublicURL: "http://127.0.0.1:8080", Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	key, err := srv.NewAPIKey(ctx, "org_b", "usr_b")
	if err != nil {
		b.Fatal(err)
	}
	svc := server.ServiceOf(srv)
	who := store.Principal{OrgID: "org_b", UserID: "usr_b"}
	first, err := svc.CreateTask(ctx, who, service.CreateParams{Input: "Summarise the attached quarterly report in five bullet points."})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.CreateTask(ctx, who, service.CreateParams{Input: "Now in Spanish.", TaskID: first.Task.ID}); err != nil {
		b.Fatal(err)
	}
	return &benchStack{srv: srv, key: key, task: first.Task.ID}
}

// handler is the variant's handler chain: the server's, or bare's over the
// same service.
func (s *benchStack) handler(bare bool) http.Handler {
	if bare {
		return bareHandler(server.ServiceOf(s.srv))
	}
	return s.srv
}

// bareHandler answers retrieve and create with ServeMux and encoding/json only.
func bareHandler(svc *service.Service) http.Handler {
	return bare.Handler(svc, store.Principal{OrgID: "org_b", UserID: "usr_b"}, "http://127.0.0.1:8080")
}

// variants are the handler chains every benchmark compares.
var variants = []struct {
	name string
	mode validation.Mode
	bare bool
}{{"bare", validation.Off, true}, {"off", validation.Off, false}, {"requests", validation.Requests, false}, {"full", validation.Full, false}}

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
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			s := newBenchStack(b, v.mode)
			runHTTP(b, s.handler(v.bare), func(base string) *http.Request {
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
	body := []byte(`{"input":"Summarise the attached quarterly report in five bullet points.","budget":"standard"}`)
	var n atomic.Int64
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			s := newBenchStack(b, v.mode)
			runHTTP(b, s.handler(v.bare), func(base string) *http.Request {
				r, _ := http.NewRequest("POST", base+"/api/tasks", bytes.NewReader(body))
				r.Header.Set("Authorization", "Bearer "+s.key)
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", n.Add(1)))
				return r
			})
		})
	}
}
