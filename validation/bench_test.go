package validation_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/validation"
)

// The benchmarks put the middleware, in each mode, in front of handlers
// that do what the real ones do last: encode a fixed answer (a 2 KB
// TaskWithTurns with two turns, a 1 KB Worker) from the generated models
// with encoding/json. Compare the modes' ns/op: Off is the bare handler.
// cpu-ns/op is the CPU time of the whole process per operation, garbage
// collection included: on a shared machine it is steadier than ns/op, and
// it is what bounds a server's throughput.

var benchModes = []validation.Mode{validation.Off, validation.Requests, validation.Full}

func benchHandler[T any](b *testing.B, fixture string, header map[string]string) http.Handler {
	b.Helper()
	var v T
	if err := json.Unmarshal([]byte(fixture), &v); err != nil {
		b.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			var in gen.CreateTask
			_ = json.NewDecoder(r.Body).Decode(&in)
		}
		for k, val := range header {
			w.Header().Set(k, val)
		}
		_ = json.NewEncoder(w).Encode(v)
	})
}

func benchModesRun(b *testing.B, h http.Handler, newReq func() *http.Request) {
	for _, mode := range benchModes {
		b.Run(mode.String(), func(b *testing.B) {
			mw, err := validation.New(mustSpec(b), validation.Options{Mode: mode, Logger: discard()})
			if err != nil {
				b.Fatal(err)
			}
			srv := mw(h)
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, newReq())
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			if cpu := cpuTime() - start; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// BenchmarkRetrieve measures GET /api/tasks/{taskId}.
func BenchmarkRetrieve(b *testing.B) {
	h := benchHandler[gen.TaskWithTurns](b, validation.TaskWithTurnsJSON, map[string]string{
		"Content-Type": "application/json",
	})
	benchModesRun(b, h, func() *http.Request {
		return httptest.NewRequest(http.MethodGet, "/api/tasks/tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D", nil)
	})
}

// BenchmarkCreate measures POST /api/tasks.
func BenchmarkCreate(b *testing.B) {
	h := benchHandler[gen.Worker](b, validation.WorkerJSON, map[string]string{
		"Content-Type": "application/json",
		"Location":     "/api/tasks/tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D",
	})
	const body = `{"input":"Summarise the attached quarterly report in five bullet points.","budget":"standard","workerId":"wrk_vk81XUHKHG-qr4"}`
	benchModesRun(b, h, func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/api/tasks", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", "5c0f6a4e-2b1d-4c8e-9a0b-3f1e2d4c5b6a")
		return r
	})
}

// BenchmarkRetrieveHTTP measures GET /api/tasks/{taskId} through a real
// server and client on the loopback: the costs of net/http both ways join
// Off's, as they do in production, so the ratios are closer to those of a
// server's throughput.
func BenchmarkRetrieveHTTP(b *testing.B) {
	h := benchHandler[gen.TaskWithTurns](b, validation.TaskWithTurnsJSON, map[string]string{
		"Content-Type": "application/json",
	})
	for _, mode := range benchModes {
		b.Run(mode.String(), func(b *testing.B) {
			mw, err := validation.New(mustSpec(b), validation.Options{Mode: mode, Logger: discard()})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(mw(h))
			defer srv.Close()
			client := srv.Client()
			url := srv.URL + "/api/tasks/tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D"
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
