// Package agent defines what executes a turn: the Runtime interface, the
// budgets that cap a turn, and the token and credit accounting that every
// runtime shares. The project's own runtimes live in internal/runtimes
// (builtin, exec, openai); server.Config.Runtime takes any implementation.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Budget caps what one turn may spend.
type Budget struct {
	Name       string
	MaxCredits int64         // 0 means no credit cap
	MaxTime    time.Duration // wall-clock cap of one turn
}

// Budgets maps each budget name of the API to its caps. openapi.yaml's
// description documents the same numbers.
var Budgets = map[string]Budget{
	"low":       {Name: "low", MaxCredits: 10, MaxTime: 60 * time.Second},
	"standard":  {Name: "standard", MaxCredits: 100, MaxTime: 300 * time.Second},
	"high":      {Name: "high", MaxCredits: 1000, MaxTime: 900 * time.Second},
	"unlimited": {Name: "unlimited", MaxCredits: 0, MaxTime: 3600 * time.Second},
}

// DefaultBudget is the budget of a create call that names none.
const DefaultBudget = "standard"

// Message is one earlier exchange of the task, given as history.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is everything a runtime needs to run a turn.
type Request struct {
	TaskID       string    `json:"taskId"`
	TurnID       string    `json:"turnId"`
	Seq          int       `json:"seq"`
	WorkerID     string    `json:"workerId"`
	Instructions string    `json:"instructions"`
	History      []Message `json:"history"`
	Input        string    `json:"input"`
	Budget       Budget    `json:"-"`
	// OutputSchema, when not empty, is the JSON Schema (draft-07, root type
	// object) the worker's output must satisfy: a runtime that can ask its
	// model for JSON of that shape does so. The server validates the output
	// against it whatever the runtime did.
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
}

// Result is what a turn produced. When the runtime stopped it early,
// Incomplete names why (IncompleteBudget) and the output is partial.
type Result struct {
	OutputText       string
	InputTokens      int64
	OutputTokens     int64
	Credits          int64
	StructuredOutput map[string]any
	Incomplete       string
}

// Reasons a turn ends before its natural end.
const (
	IncompleteBudget   = "budget"
	IncompleteShutdown = "shutdown"
)

// Runtime executes turns. Run must be safe to call again for the same turn
// (a crashed run is re-run from the start). emit, when not nil, receives the
// output as it is produced, for streaming. Run returns promptly with the
// output so far when ctx ends; an error means the turn failed, and its
// message is shown to the caller.
type Runtime interface {
	Run(ctx context.Context, req Request, emit func(delta string)) (Result, error)
}

// ErrFailed wraps the failure of a turn that a runtime reports.
var ErrFailed = errors.New("turn failed")

// Failure returns the error of a failed turn. Its message is what the
// caller is shown, so it carries no prefix; errors.Is(err, ErrFailed) holds,
// and so does errors.Is(err, cause) when cause is not nil. The turn's error
// code is DefaultErrorCode.
func Failure(msg string, cause error) error {
	return &failure{msg: msg, cause: cause}
}

// FailureWithCode is Failure with the error code the turn's error carries
// (Worker.error.code), such as "upstream_timeout".
func FailureWithCode(code, msg string, cause error) error {
	return &failure{code: code, msg: msg, cause: cause}
}

// DefaultErrorCode is the error code of a failed turn whose runtime named
// none.
const DefaultErrorCode = "runtime_error"

// ErrorCode is the error code of a turn that failed with err: the code of
// a FailureWithCode in err's chain, else DefaultErrorCode.
func ErrorCode(err error) string {
	var f *failure
	if errors.As(err, &f) && f.code != "" {
		return f.code
	}
	return DefaultErrorCode
}

type failure struct {
	code  string
	msg   string
	cause error
}

func (f *failure) Error() string { return f.msg }

func (f *failure) Unwrap() []error {
	if f.cause == nil {
		return []error{ErrFailed}
	}
	return []error{ErrFailed, f.cause}
}

// InputTokens is what a turn reads: its instructions, its history and its
// input.
func InputTokens(req Request) int64 {
	n := CountTokens(req.Instructions) + CountTokens(req.Input)
	for _, m := range req.History {
		n += CountTokens(m.Content)
	}
	return n
}

// CountTokens estimates the tokens of a text: one per whitespace-separated
// word, the accounting every runtime of this server uses.
func CountTokens(s string) int64 {
	return int64(len(strings.Fields(s)))
}

// TokensPerCredit is the price of output: one credit per this many output
// tokens, and one credit for every started turn.
const TokensPerCredit = 20

// Credits is the price of a turn that wrote outputTokens tokens.
func Credits(outputTokens int64) int64 {
	return 1 + (outputTokens+TokensPerCredit-1)/TokensPerCredit
}
