package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSendRewindsBodyWithoutGetBody(t *testing.T) {
	t.Parallel()
	// The generated code builds bodies that can be read again (GetBody);
	// one that cannot must still go out whole on every attempt.
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n := len(bodies)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	cl := &call{config: defaultConfig()}
	cl.sleep = func(ctx context.Context, d time.Duration) error { return nil }
	req, err := http.NewRequest(http.MethodPost, srv.URL, io.NopCloser(strings.NewReader(`{"input":"x"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if req.GetBody != nil {
		t.Fatal("the request can rewind its body by itself; the test tests nothing")
	}
	res, err := cl.send(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || len(bodies) != 3 {
		t.Fatalf("status %d after %d attempts", res.StatusCode, len(bodies))
	}
	for i, b := range bodies {
		if b != `{"input":"x"}` {
			t.Errorf("attempt %d sent %q", i+1, b)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 14, 9, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"1", time.Second, true},
		{" 2 ", 2 * time.Second, true},
		{"0.25", 250 * time.Millisecond, true},
		{"60", time.Minute, true},
		{"61", time.Minute, true},
		{"1e9", time.Minute, true},
		{"Inf", time.Minute, true},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"tomorrow", 0, false},
		{"Thu, 14 May 2026 09:30:05 GMT", 5 * time.Second, true},
		{"Thu, 14 May 2026 09:29:00 GMT", 0, true},
		{"Fri, 15 May 2026 09:30:00 GMT", time.Minute, true},
	} {
		h := http.Header{}
		if tt.v != "" {
			h.Set("Retry-After", tt.v)
		}
		got, ok := retryAfter(h, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Retry-After %q: %s, %v; want %s, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"1", "0.5", "-3", "Thu, 14 May 2026 09:30:05 GMT", "Monday, 02-Jan-06 15:04:05 MST", "1e400", "0x1p3"} {
		f.Add(s)
	}
	now := time.Date(2026, 5, 14, 9, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{"Retry-After": {v}}
		d, ok := retryAfter(h, now)
		if d < 0 || d > maxRetryAfter || (!ok && d != 0) {
			t.Errorf("Retry-After %q: %s, %v", v, d, ok)
		}
	})
}

func FuzzNewError(f *testing.F) {
	f.Add(404, "application/problem+json", `{"type":"t","title":"Not found","status":404,"detail":"d","requestId":"r","errors":[{"in":"path","pointer":"/taskId","detail":"x"}]}`)
	f.Add(502, "text/html", "<html>\x00\xff bad gateway</html>")
	f.Add(500, "application/json", `{"errors":null,"requestId":7}`)
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		h := http.Header{"Content-Type": {contentType}, "X-Request-Id": {"req_h"}}
		e := newError(status, h, []byte(body), time.Now())
		msg := e.Error()
		if !strings.HasPrefix(msg, "handinger: ") || strings.ContainsAny(msg, "\n\r\x00") {
			t.Errorf("message %q", msg)
		}
		if e.RequestID == "" {
			t.Error("no request id")
		}
	})
}
