package openai

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// upstream is an in-process OpenAI-compatible server on loopback: it records
// each POST /v1/chat/completions and answers it with its handler.
type upstream struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []recorded
}

// recorded is one call the fake received.
type recorded struct {
	Header http.Header
	Body   chatRequest
	Raw    map[string]json.RawMessage // the body's top-level fields, to check what is absent
}

// chatRequest is the part of a chat completion request the tests check.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Stream              bool            `json:"stream"`
	StreamOptions       map[string]any  `json:"stream_options"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	ResponseFormat      *responseFormat `json:"response_format"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema struct {
		Name   string          `json:"name"`
		Strict *bool           `json:"strict"`
		Schema json.RawMessage `json:"schema"`
	} `json:"json_schema"`
}

// newUpstream starts a fake that answers every call with handle.
func newUpstream(t *testing.T, handle http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec := recorded{Header: r.Header.Clone()}
		if err := json.Unmarshal(raw, &rec.Body); err != nil {
			t.Errorf("fake upstream: request body: %v: %s", err, raw)
		}
		_ = json.Unmarshal(raw, &rec.Raw)
		u.mu.Lock()
		u.requests = append(u.requests, rec)
		u.mu.Unlock()
		handle(w, r)
	})
	u.srv = httptest.NewServer(mux)
	t.Cleanup(u.srv.Close)
	return u
}

// baseURL is the fake's base URL, /v1 included, as a Config takes it.
func (u *upstream) baseURL() string { return u.srv.URL + "/v1" }

// calls returns the calls received so far.
func (u *upstream) calls() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]recorded(nil), u.requests...)
}

// only returns the one call the fake received.
func (u *upstream) only(t *testing.T) recorded {
	t.Helper()
	calls := u.calls()
	if len(calls) != 1 {
		t.Fatalf("the fake received %d calls, want 1", len(calls))
	}
	return calls[0]
}

// usage is the token usage a fake reports.
type usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

// sse writes chat.completion.chunk events in the documented wire format.
type sse struct {
	w http.ResponseWriter
}

// startSSE sends the headers of a streamed answer.
func startSSE(w http.ResponseWriter) sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	return sse{w: w}
}

// event writes one data line and flushes it, so that it leaves at once.
func (s sse) event(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(s.w, "data: %s\n\n", b)
	s.w.(http.Flusher).Flush()
}

// delta writes a chunk carrying content.
func (s sse) delta(content string) {
	s.event(chunk(map[string]any{"role": "assistant", "content": content}, nil))
}

// finish writes the chunk that ends the choice with reason.
func (s sse) finish(reason string) {
	s.event(chunk(map[string]any{}, reason))
}

// usage writes the last chunk of a stream with include_usage: no choices.
func (s sse) usage(u usage) {
	c := chunk(nil, nil)
	c["choices"] = []any{}
	c["usage"] = u
	s.event(c)
}

// done writes the stream's terminator.
func (s sse) done() {
	fmt.Fprint(s.w, "data: [DONE]\n\n")
	s.w.(http.Flusher).Flush()
}

// chunk is a chat.completion.chunk with one choice.
func chunk(delta map[string]any, finish any) map[string]any {
	return map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": "fake-model",
		"system_fingerprint": "fp_fake",
		"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
	}
}

// answer is a handler that streams deltas, ends with reason and, when u is
// not nil, reports u.
func answer(deltas []string, reason string, u *usage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := startSSE(w)
		for _, d := range deltas {
			s.delta(d)
		}
		s.finish(reason)
		if u != nil {
			s.usage(*u)
		}
		s.done()
	}
}

// refuse is a handler that answers status with an OpenAI error object.
func refuse(status int, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": message, "type": "invalid_request_error", "param": nil, "code": nil,
		}})
	}
}
