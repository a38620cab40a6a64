package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestFailure(t *testing.T) {
	t.Parallel()
	err := Failure("model endpoint refused the request", io.ErrUnexpectedEOF)
	if err.Error() != "model endpoint refused the request" {
		t.Errorf("message %q carries more than the caller should see", err)
	}
	if !errors.Is(err, ErrFailed) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("the failure does not match ErrFailed and its cause")
	}
	if !errors.Is(Failure("x", nil), ErrFailed) {
		t.Error("a failure without a cause does not match ErrFailed")
	}
	if got := ErrorCode(err); got != DefaultErrorCode {
		t.Errorf("ErrorCode(Failure) = %q, want %q", got, DefaultErrorCode)
	}
	coded := fmt.Errorf("run: %w", FailureWithCode("upstream_timeout", "the model took too long", context.DeadlineExceeded))
	if got := ErrorCode(coded); got != "upstream_timeout" || !errors.Is(coded, ErrFailed) || !errors.Is(coded, context.DeadlineExceeded) {
		t.Errorf("ErrorCode(FailureWithCode) = %q, is ErrFailed %v", got, errors.Is(coded, ErrFailed))
	}
	if got := ErrorCode(io.EOF); got != DefaultErrorCode {
		t.Errorf("ErrorCode(io.EOF) = %q, want %q", got, DefaultErrorCode)
	}
}

func TestInputTokensAndCredits(t *testing.T) {
	t.Parallel()
	req := Request{Instructions: "be brief", Input: "three words here",
		History: []Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "hello you"}}}
	if got := InputTokens(req); got != 2+3+1+2 {
		t.Errorf("InputTokens = %d, want 8", got)
	}
	for out, want := range map[int64]int64{0: 1, 1: 2, 20: 2, 21: 3} {
		if got := Credits(out); got != want {
			t.Errorf("Credits(%d) = %d, want %d", out, got, want)
		}
	}
}
