package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// openaiTestKey is the key given to serve in these tests; no output may
// show it.
const openaiTestKey = "sk-serve-test-key-0123456789SECRET"

// TestServeOpenAIFlags checks the openai runtime's flag validation: a wrong
// command line is a usage error (exit 2) that never shows the key.
func TestServeOpenAIFlags(t *testing.T) {
	// The environment could name a model or a URL: these cases need none.
	t.Setenv("HANDINGER_OPENAI_MODEL", "")
	t.Setenv("HANDINGER_OPENAI_BASE_URL", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no model", nil, "--openai-model"},
		{"blank model", []string{"--openai-model", " "}, "--openai-model"},
		{"no credit rate", []string{"--openai-model", "m", "--openai-tokens-per-credit", "0"}, "--openai-tokens-per-credit"},
		{"negative output cap", []string{"--openai-model", "m", "--openai-max-output-tokens", "-1"}, "--openai-max-output-tokens"},
		{"base URL without a scheme", []string{"--openai-model", "m", "--openai-base-url", "127.0.0.1:11434/v1"}, "base URL"},
		{"base URL that does not parse", []string{"--openai-model", "m", "--openai-base-url", "http://u:" + openaiTestKey + "@:1:2/v1"}, "base URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", "memory:", "--runtime", "openai",
				"--openai-api-key", openaiTestKey}, tc.args...)
			if code := run(context.Background(), args, &out, &errb); code != exitUsage {
				t.Errorf("exit %d, want %d: %s", code, exitUsage, errb.String())
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Errorf("the error does not name %s: %s", tc.want, errb.String())
			}
			if strings.Contains(out.String()+errb.String(), "SECRET") {
				t.Errorf("the output shows the API key:\n%s%s", out.String(), errb.String())
			}
		})
	}

	t.Run("model from the environment", func(t *testing.T) {
		calls := noCalls(t)
		t.Setenv("HANDINGER_OPENAI_MODEL", "llama3.2")
		t.Setenv("HANDINGER_OPENAI_BASE_URL", calls.URL+"/v1")
		var out, errb bytes.Buffer
		args := []string{"serve", "--db", "memory:", "--migrate-only", "--runtime", "openai", "--openai-api-key", openaiTestKey}
		if code := run(context.Background(), args, &out, &errb); code != exitOK {
			t.Errorf("exit %d, want %d: %s", code, exitOK, errb.String())
		}
	})

	t.Run("help", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"serve", "--help"}, &out, &errb); code != exitOK {
			t.Fatalf("serve --help: %d", code)
		}
		for _, want := range []string{"--openai-base-url", "HANDINGER_OPENAI_BASE_URL", "--openai-api-key", "HANDINGER_OPENAI_API_KEY",
			"--openai-model", "HANDINGER_OPENAI_MODEL", "--openai-tokens-per-credit", "OPENAI_BASE_URL", "upstream_timeout"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("serve --help does not mention %s", want)
			}
		}
	})
}

// TestServeOpenAIStartsWithoutCalling starts serve with the openai runtime
// and checks that it calls nothing and logs no key before it is stopped.
func TestServeOpenAIStartsWithoutCalling(t *testing.T) {
	t.Parallel()
	calls := noCalls(t)
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		var stdout bytes.Buffer
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", "memory:", "--log-level", "debug",
			"--drain", "0", "--shutdown-grace", "1s", "--runtime", "openai", "--openai-model", "llama3.2",
			"--openai-base-url", calls.URL + "/v1", "--openai-api-key", openaiTestKey}, &stdout, &stderr)
	}()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(stderr.String(), "turns run as chat completions") {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d:\n%s", code, stderr.String())
		case <-deadline:
			t.Fatalf("serve did not start:\n%s", stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("serve exited with %d:\n%s", code, stderr.String())
	}
	logs := stderr.String()
	if strings.Contains(logs, "SECRET") {
		t.Errorf("the logs show the API key:\n%s", logs)
	}
	if !strings.Contains(logs, "llama3.2") || !strings.Contains(logs, calls.URL+"/v1") {
		t.Errorf("the logs do not name the model and the endpoint:\n%s", logs)
	}
}

// noCalls starts a stand-in for the model server that fails the test when
// it is called.
func noCalls(t *testing.T) *httptest.Server {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "no call expected", http.StatusTeapot)
	}))
	t.Cleanup(func() {
		srv.Close()
		if n.Load() != 0 {
			t.Errorf("serve made %d calls to the model server, want none", n.Load())
		}
	})
	return srv
}

// syncBuffer is a bytes.Buffer that a server may write while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
