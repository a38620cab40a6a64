package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handinger/handinger/agent"
)

// testKey is the API key of the tests' runtimes; no message may show it.
const testKey = "sk-test-0123456789abcdefSECRET"

// setup starts a fake upstream answering with handle and a runtime calling
// it with cfg, whose empty BaseURL, APIKey and Model are filled in. Retries
// are off unless cfg asks for some.
func setup(t *testing.T, handle http.HandlerFunc, cfg Config) (*Runtime, *upstream) {
	t.Helper()
	u := newUpstream(t, handle)
	if cfg.BaseURL == "" {
		cfg.BaseURL = u.baseURL()
	}
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Model == "" {
		cfg.Model = "fake-model"
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = -1
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, u
}

// request is a turn with no budget caps; tests change what they need.
func request() agent.Request {
	return agent.Request{
		TaskID:       "tsk_1",
		TurnID:       "trn_3",
		Seq:          3,
		WorkerID:     "wrk_1",
		Instructions: "You answer briefly.",
		History: []agent.Message{
			{Role: "user", Content: "What is the capital of France?"},
			{Role: "assistant", Content: "Paris."},
			{Role: "user", Content: "And of Italy?"},
			{Role: "assistant", Content: "Rome."},
		},
		Input:  "And of Spain?",
		Budget: agent.Budget{Name: "unlimited"},
	}
}

// run runs req on r and returns the result, the error and the deltas emit
// received, in order.
func run(t *testing.T, ctx context.Context, r *Runtime, req agent.Request) (agent.Result, error, []string) {
	t.Helper()
	var deltas []string
	res, err := r.Run(ctx, req, func(d string) { deltas = append(deltas, d) })
	return res, err, deltas
}

func TestMessagesAndModel(t *testing.T) {
	t.Parallel()
	r, u := setup(t, answer([]string{"Madrid."}, "stop", &usage{40, 2, 42}), Config{Model: "llama3.2"})
	res, err, _ := run(t, context.Background(), r, request())
	if err != nil || res.OutputText != "Madrid." {
		t.Fatalf("Run = %q, %v", res.OutputText, err)
	}
	call := u.only(t)
	want := []chatMessage{
		{"system", "You answer briefly."},
		{"user", "What is the capital of France?"},
		{"assistant", "Paris."},
		{"user", "And of Italy?"},
		{"assistant", "Rome."},
		{"user", "And of Spain?"},
	}
	if !reflect.DeepEqual(call.Body.Messages, want) {
		t.Errorf("messages = %+v, want %+v", call.Body.Messages, want)
	}
	if call.Body.Model != "llama3.2" || !call.Body.Stream || call.Body.StreamOptions["include_usage"] != true {
		t.Errorf("model %q, stream %v, stream_options %v", call.Body.Model, call.Body.Stream, call.Body.StreamOptions)
	}
	if got := call.Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("Authorization = %q", got)
	}
	for _, absent := range []string{"response_format", "max_tokens", "max_completion_tokens", "n", "tools"} {
		if _, ok := call.Raw[absent]; ok {
			t.Errorf("the request sends %s: %s", absent, call.Raw[absent])
		}
	}

	t.Run("no instructions, no history", func(t *testing.T) {
		t.Parallel()
		r, u := setup(t, answer([]string{"Hi."}, "stop", nil), Config{})
		req := request()
		req.Instructions, req.History = "", nil
		if _, err := r.Run(context.Background(), req, nil); err != nil {
			t.Fatal(err)
		}
		if got := u.only(t).Body.Messages; !reflect.DeepEqual(got, []chatMessage{{"user", "And of Spain?"}}) {
			t.Errorf("messages = %+v, want the input alone", got)
		}
	})
}

func TestStreamUsageAndCredits(t *testing.T) {
	t.Parallel()
	deltas := []string{"The", " capital", " of", " Spain", " is", " Madrid", "."}
	for _, tc := range []struct {
		name            string
		tokensPerCredit int64
		usage           *usage
		wantIn, wantOut int64
		wantCredits     int64
	}{
		{"server usage, default rate", 0, &usage{PromptTokens: 31, CompletionTokens: 45, TotalTokens: 76}, 31, 45, 1 + 3},
		{"server usage, 10 tokens a credit", 10, &usage{PromptTokens: 31, CompletionTokens: 45, TotalTokens: 76}, 31, 45, 1 + 5},
		{"no usage: the word estimates", 0, nil, agent.InputTokens(request()), 6, agent.Credits(6)},
		{"a usage of zeros: the word estimates", 0, &usage{}, agent.InputTokens(request()), 6, agent.Credits(6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, _ := setup(t, answer(deltas, "stop", tc.usage), Config{TokensPerCredit: tc.tokensPerCredit})
			res, err, got := run(t, context.Background(), r, request())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, deltas) {
				t.Errorf("emit received %q, want %q", got, deltas)
			}
			if res.OutputText != strings.Join(deltas, "") || res.Incomplete != "" || res.StructuredOutput != nil {
				t.Errorf("result %+v", res)
			}
			if res.InputTokens != tc.wantIn || res.OutputTokens != tc.wantOut || res.Credits != tc.wantCredits {
				t.Errorf("tokens %d in, %d out, %d credits; want %d, %d, %d",
					res.InputTokens, res.OutputTokens, res.Credits, tc.wantIn, tc.wantOut, tc.wantCredits)
			}
		})
	}
}

func TestMaxTokensFromBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		cfg    Config
		budget agent.Budget
		field  string // the field that carries the cap; "" for none
		want   int64
	}{
		{"low", Config{}, agent.Budgets["low"], "max_tokens", (10 - 1) * agent.TokensPerCredit},
		{"standard", Config{}, agent.Budgets["standard"], "max_tokens", (100 - 1) * agent.TokensPerCredit},
		{"unlimited", Config{}, agent.Budgets["unlimited"], "", 0},
		{"own rate", Config{TokensPerCredit: 5}, agent.Budgets["low"], "max_tokens", 45},
		{"model limit below the budget", Config{MaxOutputTokens: 100}, agent.Budgets["standard"], "max_tokens", 100},
		{"model limit above the budget", Config{MaxOutputTokens: 10000}, agent.Budgets["low"], "max_tokens", 180},
		{"model limit, no credit cap", Config{MaxOutputTokens: 4096}, agent.Budgets["unlimited"], "max_tokens", 4096},
		{"max_completion_tokens", Config{MaxCompletionTokens: true}, agent.Budgets["low"], "max_completion_tokens", 180},
		{"huge cap", Config{TokensPerCredit: 1 << 40}, agent.Budget{MaxCredits: 1 << 40}, "max_tokens", 1<<31 - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, u := setup(t, answer([]string{"ok"}, "stop", nil), tc.cfg)
			req := request()
			req.Budget = tc.budget
			if _, err := r.Run(context.Background(), req, nil); err != nil {
				t.Fatal(err)
			}
			raw := u.only(t).Raw
			for _, f := range []string{"max_tokens", "max_completion_tokens"} {
				v, ok := raw[f]
				switch {
				case f != tc.field && ok:
					t.Errorf("the request sends %s: %s", f, v)
				case f == tc.field && string(v) != fmt.Sprint(tc.want):
					t.Errorf("%s = %s, want %d", f, v, tc.want)
				}
			}
		})
	}
}

func TestBudgetPaysForNoOutput(t *testing.T) {
	t.Parallel()
	r, u := setup(t, answer([]string{"never"}, "stop", nil), Config{})
	req := request()
	req.Budget = agent.Budget{Name: "tiny", MaxCredits: 1, MaxTime: time.Minute}
	res, err := r.Run(context.Background(), req, nil)
	if err != nil || res.Incomplete != agent.IncompleteBudget || res.OutputText != "" || res.Credits != 1 {
		t.Errorf("Run = %+v, %v; want an empty turn stopped by its budget", res, err)
	}
	if n := len(u.calls()); n != 0 {
		t.Errorf("the fake received %d calls, want none", n)
	}
}

func TestFinishLengthIsBudget(t *testing.T) {
	t.Parallel()
	r, _ := setup(t, answer([]string{"One", " two", " thr"}, "length", &usage{PromptTokens: 12, CompletionTokens: 180, TotalTokens: 192}), Config{})
	req := request()
	req.Budget = agent.Budgets["low"]
	res, err, deltas := run(t, context.Background(), r, req)
	if err != nil {
		t.Fatalf("a turn cut by max_tokens failed: %v", err)
	}
	if res.Incomplete != agent.IncompleteBudget || res.OutputText != "One two thr" || len(deltas) != 3 {
		t.Errorf("result %+v, deltas %q", res, deltas)
	}
	if res.OutputTokens != 180 || res.Credits != 10 {
		t.Errorf("%d output tokens for %d credits, want 180 for 10", res.OutputTokens, res.Credits)
	}
}

// TestFinishThenBrokenStream checks that an answer whose finish_reason came
// is whole, even if the connection broke before the usage chunk.
func TestFinishThenBrokenStream(t *testing.T) {
	t.Parallel()
	r, _ := setup(t, func(w http.ResponseWriter, r *http.Request) {
		s := startSSE(w)
		s.delta("All of it.")
		s.finish("stop")
		fmt.Fprint(w, `data: {"id":"chatcmpl-1","choi`)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}, Config{})
	res, err := r.Run(context.Background(), request(), nil)
	if err != nil || res.OutputText != "All of it." || res.Incomplete != "" || res.OutputTokens != 3 {
		t.Errorf("Run = %+v, %v; want the whole answer with estimated tokens", res, err)
	}
}

func TestOutputSchema(t *testing.T) {
	t.Parallel()
	schema := `{"type":"object","properties":{"capital":{"type":"string"}},"required":["capital"]}`
	r, u := setup(t, answer([]string{`{"capital":`, `"Madrid"}`}, "stop", nil), Config{})
	req := request()
	req.OutputSchema = json.RawMessage(schema)
	res, err := r.Run(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputText != `{"capital":"Madrid"}` || res.StructuredOutput != nil {
		t.Errorf("result %+v: want the text, and no structured output", res)
	}
	rf := u.only(t).Body.ResponseFormat
	if rf == nil {
		t.Fatal("no response_format sent")
	}
	if rf.Type != "json_schema" || rf.JSONSchema.Name != schemaName || rf.JSONSchema.Strict == nil || *rf.JSONSchema.Strict {
		t.Errorf("response_format = %+v, want json_schema, name %q, strict false", rf, schemaName)
	}
	if got := compact(t, rf.JSONSchema.Schema); got != compact(t, json.RawMessage(schema)) {
		t.Errorf("schema sent = %s, want %s", got, schema)
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestNothingBuffers proves that each delta reaches emit while the upstream
// still holds back the rest of its answer.
func TestNothingBuffers(t *testing.T) {
	t.Parallel()
	seen := make(chan struct{})
	heldBack := make(chan bool, 1) // whether the fake had to give up waiting
	r, _ := setup(t, func(w http.ResponseWriter, r *http.Request) {
		s := startSSE(w)
		s.delta("first")
		select {
		case <-seen:
			heldBack <- false
		case <-time.After(10 * time.Second):
			heldBack <- true
		case <-r.Context().Done():
			heldBack <- true
			return
		}
		s.delta(" last")
		s.finish("stop")
		s.usage(usage{1, 2, 3})
		s.done()
	}, Config{})
	var once sync.Once
	var deltas []string
	res, err := r.Run(context.Background(), request(), func(d string) {
		deltas = append(deltas, d)
		once.Do(func() { close(seen) })
	})
	if err != nil || res.OutputText != "first last" {
		t.Fatalf("Run = %q, %v", res.OutputText, err)
	}
	if <-heldBack {
		t.Error("the first delta reached emit only after the upstream sent the rest: something buffers the stream")
	}
	if !reflect.DeepEqual(deltas, []string{"first", " last"}) {
		t.Errorf("deltas %q", deltas)
	}
}

func TestUpstreamErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("This model's maximum context length is 4096 tokens. ", 40)
	for _, tc := range []struct {
		name      string
		handle    http.HandlerFunc
		code      string
		contains  []string
		calls     int // 0: 1
		retries   int
		maxLength int // 0: no check
	}{
		{name: "401 quoting the key", handle: refuse(401, "Incorrect API key provided: "+testKey+"."),
			code: CodeAuth, contains: []string{"HTTP 401"}},
		{name: "401 quoting a masked key", handle: refuse(401, "Incorrect API key provided: sk-test-****CRET."),
			code: CodeAuth, contains: []string{"HTTP 401"}},
		{name: "403", handle: refuse(403, "You are not allowed to sample from this model"),
			code: CodeAuth, contains: []string{"HTTP 403"}},
		{name: "429 after one retry", handle: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After-Ms", "1")
			refuse(429, "Rate limit reached for requests")(w, r)
		}, retries: 1, calls: 2, code: CodeRateLimited, contains: []string{"HTTP 429", "Rate limit reached"}},
		{name: "400 context too long", handle: refuse(400, long),
			code: CodeBadRequest, contains: []string{"HTTP 400", "maximum context length"}, maxLength: 400},
		{name: "404 with a string error", handle: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":"model \"nope\" not found, try pulling it first"}`)
		}, code: CodeBadRequest, contains: []string{"HTTP 404", `model "nope" not found`}},
		{name: "400 with a top-level message (older vLLM)", handle: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"object":"error","message":"max_tokens must be at least 1","type":"BadRequestError","param":null,"code":400}`)
		}, code: CodeBadRequest, contains: []string{"HTTP 400", "max_tokens must be at least 1"}},
		{name: "500", handle: refuse(500, "The server had an error while processing your request."),
			code: CodeUnavailable, contains: []string{"HTTP 500", "had an error"}},
		{name: "502 in plain text", handle: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream connect error", http.StatusBadGateway)
		}, code: CodeUnavailable, contains: []string{"HTTP 502", "upstream connect error"}},
		{name: "503 after two retries", handle: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After-Ms", "1")
			refuse(503, "overloaded")(w, r)
		}, retries: 2, calls: 3, code: CodeUnavailable, contains: []string{"HTTP 503", "overloaded"}},
		{name: "504", handle: refuse(504, "gateway timeout"), code: CodeTimeout, contains: []string{"HTTP 504"}},
		{name: "error inside the stream", handle: func(w http.ResponseWriter, r *http.Request) {
			s := startSSE(w)
			s.delta("Half an")
			s.event(map[string]any{"error": map[string]any{"message": "CUDA out of memory", "type": "InternalServerError", "code": 500}})
		}, code: CodeUnavailable, contains: []string{"HTTP 500", "CUDA out of memory"}},
		{name: "error inside the stream without a status", handle: func(w http.ResponseWriter, r *http.Request) {
			s := startSSE(w)
			s.event(map[string]any{"error": map[string]any{"message": "something broke", "type": "server_error"}})
		}, code: CodeUnavailable, contains: []string{"something broke"}},
		{name: "stream ended without a finish_reason", handle: func(w http.ResponseWriter, r *http.Request) {
			s := startSSE(w)
			s.delta("Half an")
		}, code: CodeUnavailable, contains: []string{"ended before"}},
		{name: "stream cut mid-chunk", handle: func(w http.ResponseWriter, r *http.Request) {
			s := startSSE(w)
			s.delta("Half an")
			fmt.Fprint(w, `data: {"id":"chatcmpl-1","choi`)
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drops the connection
		}, code: CodeUnavailable, contains: []string{"broke off"}},
		{name: "a chunk that is not JSON", handle: func(w http.ResponseWriter, r *http.Request) {
			s := startSSE(w)
			fmt.Fprint(s.w, "data: {not json\n\n")
		}, code: CodeUnavailable, contains: []string{"not a chat completion chunk"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, u := setup(t, tc.handle, Config{MaxRetries: tc.retries})
			res, err := r.Run(context.Background(), request(), nil)
			checkFailure(t, err, tc.code, tc.contains...)
			if err != nil && tc.maxLength > 0 && len(err.Error()) > tc.maxLength {
				t.Errorf("message of %d bytes, want at most %d: %s", len(err.Error()), tc.maxLength, err)
			}
			want := max(tc.calls, 1)
			if n := len(u.calls()); n != want {
				t.Errorf("the fake received %d calls, want %d", n, want)
			}
			if res.Credits < 1 || res.Incomplete != "" {
				t.Errorf("result %+v", res)
			}
		})
	}
}

// checkFailure checks that err is a failed turn with code whose message
// holds each of contains and shows no key.
func checkFailure(t *testing.T, err error, code string, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if !errors.Is(err, agent.ErrFailed) || agent.ErrorCode(err) != code {
		t.Errorf("error %q has code %q (ErrFailed %v), want %s", err, agent.ErrorCode(err), errors.Is(err, agent.ErrFailed), code)
	}
	msg := err.Error()
	t.Logf("%s: %s", code, msg)
	for _, s := range contains {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not say %q", msg, s)
		}
	}
	if strings.Contains(msg, testKey) || strings.Contains(msg, "SECRET") || strings.Contains(msg, "CRET") {
		t.Errorf("message %q shows the API key", msg)
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("message %q spans lines", msg)
	}
}

func TestConnectionFailures(t *testing.T) {
	t.Parallel()
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		r, err := New(Config{BaseURL: "http://" + addr + "/v1", APIKey: testKey, Model: "m", MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Run(context.Background(), request(), nil)
		checkFailure(t, err, CodeUnavailable, "connection refused")
	})
	t.Run("DNS", func(t *testing.T) {
		t.Parallel()
		client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.DNSError{Err: "no such host", Name: "llm.invalid", IsNotFound: true}
		}}}
		r, err := New(Config{BaseURL: "http://llm.invalid/v1", APIKey: testKey, Model: "m", MaxRetries: -1, HTTPClient: client})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Run(context.Background(), request(), nil)
		checkFailure(t, err, CodeUnavailable, "did not resolve")
	})
}

// stall is a handler that answers nothing until the call is given up.
func stall(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// stallAfter is a handler that streams one delta and then stalls.
func stallAfter(delta string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		startSSE(w).delta(delta)
		<-r.Context().Done()
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	short := agent.Budget{Name: "short", MaxTime: 100 * time.Millisecond}
	t.Run("budget's time cap before any output", func(t *testing.T) {
		t.Parallel()
		r, _ := setup(t, stall, Config{})
		req := request()
		req.Budget = short
		res, err := r.Run(context.Background(), req, nil)
		checkFailure(t, err, CodeTimeout, "within the budget's 100ms")
		if !errors.Is(err, context.DeadlineExceeded) || res.OutputText != "" {
			t.Errorf("error %v, output %q", err, res.OutputText)
		}
	})
	t.Run("budget's time cap while the model writes", func(t *testing.T) {
		t.Parallel()
		r, _ := setup(t, stallAfter("Once upon"), Config{})
		req := request()
		req.Budget = short
		res, err := r.Run(context.Background(), req, nil)
		if err != nil || res.Incomplete != agent.IncompleteBudget || res.OutputText != "Once upon" {
			t.Errorf("Run = %+v, %v; want the output so far, stopped by the budget", res, err)
		}
	})
	t.Run("budget's time cap covers the retries", func(t *testing.T) {
		t.Parallel()
		r, u := setup(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1") // a second: past the cap
			refuse(503, "overloaded")(w, r)
		}, Config{MaxRetries: 5})
		req := request()
		req.Budget = short
		start := time.Now()
		_, err := r.Run(context.Background(), req, nil)
		checkFailure(t, err, CodeTimeout)
		if d := time.Since(start); d > 900*time.Millisecond || len(u.calls()) != 1 {
			t.Errorf("gave up after %s and %d calls", d, len(u.calls()))
		}
	})
	t.Run("deadline of the caller's context", func(t *testing.T) {
		t.Parallel()
		r, _ := setup(t, stall, Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := r.Run(ctx, request(), nil)
		checkFailure(t, err, CodeTimeout, "deadline")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not match context.DeadlineExceeded", err)
		}
	})
	t.Run("HTTP client's timeout", func(t *testing.T) {
		t.Parallel()
		r, _ := setup(t, stall, Config{HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
		_, err := r.Run(context.Background(), request(), nil)
		checkFailure(t, err, CodeTimeout, "network timeout")
	})
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	t.Run("while the model writes", func(t *testing.T) {
		t.Parallel()
		r, _ := setup(t, stallAfter("Once upon"), Config{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		res, err := r.Run(ctx, request(), func(string) { cancel() })
		if !errors.Is(err, context.Canceled) || errors.Is(err, agent.ErrFailed) {
			t.Errorf("error %v, want ctx.Err()", err)
		}
		if res.Incomplete != agent.IncompleteShutdown || res.OutputText != "Once upon" {
			t.Errorf("result %+v, want the output so far, stopped by the shutdown", res)
		}
	})
	t.Run("before the call", func(t *testing.T) {
		t.Parallel()
		r, u := setup(t, answer([]string{"never"}, "stop", nil), Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := r.Run(ctx, request(), nil)
		if !errors.Is(err, context.Canceled) || res.Incomplete != agent.IncompleteShutdown {
			t.Errorf("Run = %+v, %v", res, err)
		}
		if n := len(u.calls()); n != 0 {
			t.Errorf("the fake received %d calls, want none", n)
		}
	})
}

func TestConcurrentTurns(t *testing.T) {
	t.Parallel()
	r, u := setup(t, answer([]string{"a", " b", " c"}, "stop", &usage{3, 3, 6}), Config{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			req := request()
			req.Input = fmt.Sprintf("turn %d", i)
			res, err := r.Run(context.Background(), req, func(string) {})
			if err != nil || res.OutputText != "a b c" {
				t.Errorf("turn %d: %q, %v", i, res.OutputText, err)
			}
		})
	}
	wg.Wait()
	if n := len(u.calls()); n != 8 {
		t.Errorf("the fake received %d calls, want 8", n)
	}
}

// TestEnvironment checks openai-go's conventions: OPENAI_BASE_URL and
// OPENAI_API_KEY stand in for what the Config leaves empty, and lose to
// what it sets.
func TestEnvironment(t *testing.T) {
	u := newUpstream(t, answer([]string{"ok"}, "stop", nil))
	t.Setenv("OPENAI_BASE_URL", u.baseURL())
	t.Setenv("OPENAI_API_KEY", "sk-from-the-environment")
	r, err := New(Config{Model: "m", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Endpoint() != u.baseURL() || r.Model() != "m" {
		t.Errorf("endpoint %q, model %q", r.Endpoint(), r.Model())
	}
	if _, err := r.Run(context.Background(), request(), nil); err != nil {
		t.Fatal(err)
	}
	r, err = New(Config{Model: "m", APIKey: testKey, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), request(), nil); err != nil {
		t.Fatal(err)
	}
	calls := u.calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	for i, want := range []string{"Bearer sk-from-the-environment", "Bearer " + testKey} {
		if got := calls[i].Header.Get("Authorization"); got != want {
			t.Errorf("call %d: Authorization %q, want %q", i, got, want)
		}
	}

	t.Setenv("OPENAI_API_KEY", "")
	r, err = New(Config{Model: "m", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background(), request(), nil); err != nil {
		t.Fatal(err)
	}
	if got := u.calls()[2].Header.Values("Authorization"); len(got) != 0 {
		t.Errorf("without a key, Authorization = %q, want none", got)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, answer([]string{"ok"}, "stop", nil))
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{BaseURL: u.baseURL()}, "no model"},
		{Config{BaseURL: u.baseURL(), Model: " "}, "no model"},
		{Config{BaseURL: "ftp://host/v1", Model: "m"}, "base URL"},
		{Config{BaseURL: "http://user:hunter2@:1:2/v1", Model: "m", APIKey: testKey}, "base URL"},
		{Config{BaseURL: "127.0.0.1:11434", Model: "m"}, "base URL"},
		{Config{BaseURL: "ftp://user:hunter2@host/v1", Model: "m"}, "ftp://host/v1"},
		{Config{BaseURL: u.baseURL(), Model: "m", TokensPerCredit: -1}, "tokens per credit"},
		{Config{BaseURL: u.baseURL(), Model: "m", MaxOutputTokens: -1}, "max output tokens"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%v) = %v, want an error about %s", tc.cfg, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), testKey) {
			t.Errorf("New's error %q shows a credential", err)
		}
	}
	if _, err := New(Config{BaseURL: u.baseURL(), Model: "m", APIKey: testKey}); err != nil {
		t.Fatal(err)
	}
	if n := len(u.calls()); n != 0 {
		t.Errorf("New made %d calls, want none", n)
	}

	cfg := Config{BaseURL: "https://alice:pw@llm.example/v1?key=x", APIKey: testKey, Model: "m"}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), cfg.LogValue().String()} {
		if strings.Contains(s, testKey) || strings.Contains(s, "pw") || strings.Contains(s, "key=x") || !strings.Contains(s, "llm.example") {
			t.Errorf("printed Config %q shows a credential or not the host", s)
		}
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Endpoint(); got != "https://llm.example/v1" {
		t.Errorf("Endpoint = %q", got)
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	r := &Runtime{scrub: scrubber("local-secret")}
	for in, want := range map[string]string{
		"bad key local-secret given":            "bad key [redacted] given",
		"Incorrect API key: sk-proj-****abcd.":  "Incorrect API key: [redacted].",
		"two\nlines\t and  spaces":              "two lines and spaces",
		"\xff invalid":                          "\uFFFD invalid",
		strings.Repeat("é", maxMessage):         strings.Repeat("é", maxMessage/2) + "…",
		"the model wrote 3 tokens (no key ask)": "the model wrote 3 tokens (no key ask)",
	} {
		if got := r.quote(in); got != want {
			t.Errorf("quote(%q) = %q, want %q", in, got, want)
		}
	}
}
