package openai_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/runtimes/openai"
)

func Example() {
	// A stand-in for Ollama, vLLM or OpenAI: it streams two deltas, the
	// finish reason and the usage.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, line := range []string{
			`{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Paris is"}}]}`,
			`{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" the capital of France."}}]}`,
			`{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
			`{"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":24,"completion_tokens":7,"total_tokens":31}}`,
			`[DONE]`,
		} {
			fmt.Fprintf(w, "data: %s\n\n", line)
		}
	}))
	defer upstream.Close()

	// For Ollama: BaseURL "http://127.0.0.1:11434/v1", Model "llama3.2".
	r, err := openai.New(openai.Config{BaseURL: upstream.URL + "/v1", Model: "llama3.2"})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := agent.Request{Instructions: "Answer in one sentence.", Input: "What is the capital of France?", Budget: agent.Budgets["low"]}
	res, err := r.Run(context.Background(), req, func(delta string) { fmt.Printf("delta %q\n", delta) })
	if err != nil {
		fmt.Println("failed:", agent.ErrorCode(err), err)
		return
	}
	fmt.Println(res.OutputText)
	fmt.Println(res.InputTokens, "tokens in,", res.OutputTokens, "out,", res.Credits, "credits")
	// Output:
	// delta "Paris is"
	// delta " the capital of France."
	// Paris is the capital of France.
	// 24 tokens in, 7 out, 2 credits
}
