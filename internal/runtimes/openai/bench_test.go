package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/handinger/handinger/agent"
)

// benchTokens is the length of the benchmark's answer, in chunks of one
// token each, as local servers stream them.
const benchTokens = 200

// benchStream is a whole streamed answer of benchTokens chunks, rendered
// once so that the fake upstream only writes it.
func benchStream() []byte {
	var b bytes.Buffer
	write := func(v any) {
		raw, _ := json.Marshal(v)
		fmt.Fprintf(&b, "data: %s\n\n", raw)
	}
	for i := range benchTokens {
		write(chunk(map[string]any{"content": fmt.Sprintf(" word%d", i)}, nil))
	}
	write(chunk(map[string]any{}, "stop"))
	c := chunk(nil, nil)
	c["choices"] = []any{}
	c["usage"] = usage{PromptTokens: 40, CompletionTokens: benchTokens, TotalTokens: 40 + benchTokens}
	write(c)
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// benchUpstream answers every POST with the whole stream at once.
func benchUpstream(b *testing.B) *httptest.Server {
	body := benchStream()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkRun is one turn of a 200-token answer against a fake upstream on
// loopback: the runtime, openai-go and the HTTP round trip together.
// BenchmarkUpstreamBaseline is the same round trip without them, so the
// difference is what the runtime adds to an upstream call.
func BenchmarkRun(b *testing.B) {
	srv := benchUpstream(b)
	r, err := New(Config{BaseURL: srv.URL + "/v1", APIKey: testKey, Model: "m", MaxRetries: -1})
	if err != nil {
		b.Fatal(err)
	}
	req := request()
	req.Budget = agent.Budgets["standard"]
	var n int
	emit := func(d string) { n += len(d) }
	b.ReportAllocs()
	for b.Loop() {
		res, err := r.Run(context.Background(), req, emit)
		if err != nil || res.OutputTokens != benchTokens {
			b.Fatalf("Run = %d tokens, %v", res.OutputTokens, err)
		}
	}
}

// BenchmarkUpstreamBaseline posts a request of the same size and reads the
// same stream with net/http alone.
func BenchmarkUpstreamBaseline(b *testing.B) {
	srv := benchUpstream(b)
	r, err := New(Config{BaseURL: srv.URL + "/v1", Model: "m"})
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(r.params(request(), 1980))
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		res, err := client.Post(srv.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || !strings.HasSuffix(string(raw), "[DONE]\n\n") {
			b.Fatalf("read %d bytes, %v", len(raw), err)
		}
	}
}
