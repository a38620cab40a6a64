package handingertest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/handinger/handinger/agent"
)

// The budget and shutdown paths of the scripted runtime, called directly:
// through a server they would take a budget's minute.

func TestRunDelayPastTimeCap(t *testing.T) {
	t.Parallel()
	rt := newConfig([]Option{Reply("Slow.", "Done."), Delay("Slow.", time.Hour)}).runtime()
	req := agent.Request{Input: "Slow.", Budget: agent.Budget{MaxTime: 20 * time.Millisecond}}
	res, err := rt.Run(context.Background(), req, nil)
	if err != nil || res.Incomplete != agent.IncompleteBudget || res.OutputText != "" {
		t.Errorf("Run = %+v, %v; want no output, Incomplete budget, no error", res, err)
	}
}

func TestRunFallbackGetsTimeLeft(t *testing.T) {
	t.Parallel()
	var got time.Duration
	rt := newConfig([]Option{
		DelayAll(30 * time.Millisecond),
		Runtime(runtimeFunc(func(_ context.Context, req agent.Request, _ func(string)) (agent.Result, error) {
			got = req.Budget.MaxTime
			return agent.Result{OutputText: "ok"}, nil
		})),
	}).runtime()
	res, err := rt.Run(context.Background(), agent.Request{Input: "x", Budget: agent.Budget{MaxTime: time.Second}}, nil)
	if err != nil || res.OutputText != "ok" {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if got <= 0 || got > time.Second-30*time.Millisecond {
		t.Errorf("the fallback's time cap is %v, want what is left of 1s after 30ms", got)
	}
}

func TestRunContextEnds(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string][]Option{
		"scripted": {Reply("Slow.", "Done."), DelayAll(time.Hour)},
		"builtin":  {DelayAll(time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			res, err := newConfig(opts).runtime().Run(ctx, agent.Request{Input: "Slow."}, nil)
			if !errors.Is(err, context.DeadlineExceeded) || res.Incomplete != agent.IncompleteShutdown {
				t.Errorf("Run = %+v, %v; want Incomplete shutdown and the context's error", res, err)
			}
		})
	}
}

func TestRunEmit(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	res, err := newConfig([]Option{Reply("Hi.", "Hello there.")}).runtime().Run(context.Background(), agent.Request{Input: "Hi."}, func(d string) { b.WriteString(d) })
	if err != nil || b.String() != res.OutputText || res.OutputText != "Hello there." {
		t.Errorf("emitted %q, Run = %+v, %v", b.String(), res, err)
	}
}

func TestReplyCreditCap(t *testing.T) {
	t.Parallel()
	req := agent.Request{Input: "in", Budget: agent.Budget{MaxCredits: 2}} // 1 + 20 words
	out := strings.Repeat("word ", 30)
	res := reply(req, "  "+out)
	if res.Incomplete != agent.IncompleteBudget || res.OutputTokens != 20 || res.Credits != 2 {
		t.Errorf("reply = %+v; want 20 words, 2 credits, Incomplete budget", res)
	}
	if want := "  " + strings.TrimSpace(strings.Repeat("word ", 20)); res.OutputText != want {
		t.Errorf("output %q, want %q", res.OutputText, want)
	}
	if res := reply(agent.Request{Budget: agent.Budget{MaxCredits: 1}}, "a b"); res.OutputText != "" || res.Incomplete != agent.IncompleteBudget {
		t.Errorf("reply on a 1-credit cap = %+v, want no output", res)
	}
	if res := reply(agent.Request{Budget: agent.Budget{MaxCredits: 2}}, "a b"); res.OutputText != "a b" || res.Incomplete != "" || res.OutputTokens != 2 || res.Credits != 2 {
		t.Errorf("reply under the cap = %+v", res)
	}
}
