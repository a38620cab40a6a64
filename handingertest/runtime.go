package handingertest

import (
	"context"
	"time"
	"unicode"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/runtimes/builtin"
)

// script is the runtime of a Server: the turns the options script, and
// what answers the others. It is not changed once the server has started,
// so any number of turns may run on it at once.
type script struct {
	entries  map[string]*entry // by exact input
	delay    time.Duration     // DelayAll
	fallback agent.Runtime     // nil: builtin.Runtime
}

var _ agent.Runtime = (*script)(nil)

// entry is the script of one input.
type entry struct {
	answer func(agent.Request) (agent.Result, error) // nil: the fallback answers
	delay  *time.Duration                            // nil: script.delay
}

// runtimeFunc makes a function an agent.Runtime.
type runtimeFunc func(ctx context.Context, req agent.Request, emit func(string)) (agent.Result, error)

func (f runtimeFunc) Run(ctx context.Context, req agent.Request, emit func(string)) (agent.Result, error) {
	return f(ctx, req, emit)
}

// Run answers req as the options say. A scripted turn waits for its delay,
// then answers all at once (emit receives the whole output); a delay past
// the budget's time cap ends the turn aborted with reason budget when the
// cap is reached, and the end of ctx ends it with agent.IncompleteShutdown
// and ctx's error, as the builtin runtime does. A fallback runtime runs
// after the delay, with what is left of the time cap.
func (s *script) Run(ctx context.Context, req agent.Request, emit func(string)) (agent.Result, error) {
	e := s.entries[req.Input]
	delay := s.delay
	if e != nil && e.delay != nil {
		delay = *e.delay
	}
	if (e == nil || e.answer == nil) && s.fallback == nil {
		return builtin.Runtime{Delay: delay}.Run(ctx, req, emit)
	}

	start := time.Now()
	if reason := wait(ctx, req.Budget.MaxTime, delay); reason != "" {
		if reason == agent.IncompleteShutdown {
			return stoppedResult(req, reason), ctx.Err()
		}
		return stoppedResult(req, reason), nil
	}
	if e == nil || e.answer == nil {
		if req.Budget.MaxTime > 0 {
			req.Budget.MaxTime -= time.Since(start)
			if req.Budget.MaxTime <= 0 {
				return stoppedResult(req, agent.IncompleteBudget), nil
			}
		}
		return s.fallback.Run(ctx, req, emit)
	}
	res, err := e.answer(req)
	if emit != nil && res.OutputText != "" {
		emit(res.OutputText)
	}
	return res, err
}

// wait waits for delay, and returns why the turn must stop instead of
// answering: agent.IncompleteBudget when the delay passes the time cap
// maxTime (0: none), agent.IncompleteShutdown when ctx ends first.
func wait(ctx context.Context, maxTime, delay time.Duration) string {
	reason := ""
	if maxTime > 0 && delay > maxTime {
		delay, reason = maxTime, agent.IncompleteBudget
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	if ctx.Err() != nil {
		return agent.IncompleteShutdown
	}
	return reason
}

// stoppedResult is the result of a turn stopped before it wrote anything.
func stoppedResult(req agent.Request, reason string) agent.Result {
	return agent.Result{InputTokens: agent.InputTokens(req), Credits: agent.Credits(0), Incomplete: reason}
}

// reply is the result of a turn that answers output, counted as the
// builtin runtime counts, and cut before the first word past the budget's
// credit cap.
func reply(req agent.Request, output string) agent.Result {
	res := agent.Result{InputTokens: agent.InputTokens(req), OutputText: output}
	if max := req.Budget.MaxCredits; max > 0 && agent.Credits(agent.CountTokens(output)) > max {
		res.OutputText = firstWords(output, (max-1)*agent.TokensPerCredit)
		res.Incomplete = agent.IncompleteBudget
	}
	res.OutputTokens = agent.CountTokens(res.OutputText)
	res.Credits = agent.Credits(res.OutputTokens)
	return res
}

// firstWords returns s up to the end of its nth whitespace-separated word.
func firstWords(s string, n int64) string {
	if n <= 0 {
		return ""
	}
	inWord := false
	for i, r := range s {
		switch {
		case unicode.IsSpace(r) && inWord:
			if n--; n == 0 {
				return s[:i]
			}
			inWord = false
		case !unicode.IsSpace(r):
			inWord = true
		}
	}
	return s
}
