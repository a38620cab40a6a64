package handingertest

import (
	"context"
	"log/slog"
	"time"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/validation"
)

// Option configures a Server. Options apply in order; for one input, a
// later Reply, ReplyResult or Fail replaces an earlier one.
type Option func(*config)

type config struct {
	memory    bool
	validate  validation.Mode
	waitLimit time.Duration
	logger    *slog.Logger
	script    script
}

func newConfig(opts []Option) config {
	o := config{validate: validation.Full, waitLimit: 20 * time.Second, logger: discard}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// runtime is the agent.Runtime the server's runners use.
func (o config) runtime() agent.Runtime {
	s := o.script
	return &s
}

// entry returns the script of input, creating it.
func (o *config) entry(input string) *entry {
	if o.script.entries == nil {
		o.script.entries = map[string]*entry{}
	}
	e := o.script.entries[input]
	if e == nil {
		e = &entry{}
		o.script.entries[input] = e
	}
	return e
}

// Reply makes the turn whose input is exactly input answer output. Its
// tokens and credits are counted as the builtin runtime counts them: one
// token per word of the instructions, history and input read and of the
// output written, one credit per started turn plus one per 20 output words.
// A budget's credit cap cuts the output short (the turn ends aborted, with
// reason budget).
func Reply(input, output string) Option {
	return func(o *config) {
		o.entry(input).answer = func(req agent.Request) (agent.Result, error) { return reply(req, output), nil }
	}
}

// ReplyResult makes the turn whose input is exactly input end with res as
// it is: its output, tokens, credits and structured output. The budget's
// credit cap is not applied; res.Incomplete set to agent.IncompleteBudget
// ends the turn aborted with reason budget.
func ReplyResult(input string, res agent.Result) Option {
	return func(o *config) {
		o.entry(input).answer = func(agent.Request) (agent.Result, error) { return res, nil }
	}
}

// Fail makes the turn whose input is exactly input fail with message: the
// answer's Worker.Error has code runtime_error and this message.
func Fail(input, message string) Option {
	return func(o *config) {
		o.entry(input).answer = func(req agent.Request) (agent.Result, error) {
			return agent.Result{InputTokens: agent.InputTokens(req), Credits: agent.Credits(0)}, agent.Failure(message, nil)
		}
	}
}

// ReplyFunc answers every input that Reply, ReplyResult and Fail do not
// script with f(input), counted as Reply counts it, instead of the builtin
// runtime's answer. f may be called from several goroutines at once. It
// replaces an earlier Runtime option.
func ReplyFunc(f func(input string) string) Option {
	return Runtime(runtimeFunc(func(_ context.Context, req agent.Request, _ func(string)) (agent.Result, error) {
		return reply(req, f(req.Input)), nil
	}))
}

// Runtime runs every input that Reply, ReplyResult and Fail do not script
// on rt instead of the builtin runtime. It replaces an earlier ReplyFunc.
func Runtime(rt agent.Runtime) Option {
	return func(o *config) { o.script.fallback = rt }
}

// Delay makes the turn whose input is exactly input take d before it
// answers, whoever answers it; it overrides DelayAll. The builtin runtime
// spreads its output over d, and its [delay=…] directive overrides d.
func Delay(input string, d time.Duration) Option {
	return func(o *config) { o.entry(input).delay = &d }
}

// DelayAll makes every turn take d (default none), except those of a Delay.
func DelayAll(d time.Duration) Option {
	return func(o *config) { o.script.delay = d }
}

// WaitLimit sets how long a create call waits for its turn before it
// answers with the turn still running, Worker.Running true (default 20 s).
// Combined with Delay, a short limit tests a program's handling of a turn
// that outlasts its create call.
func WaitLimit(d time.Duration) Option {
	return func(o *config) { o.waitLimit = d }
}

// Validation sets what the server checks against openapi.yaml (default
// validation.Full: requests and answers, so that a test also catches a
// server answer that drifts from the contract).
func Validation(m validation.Mode) Option {
	return func(o *config) { o.validate = m }
}

// Memory keeps the server's data in memory (the memory: backend) instead of
// a temporary SQLite file.
func Memory() Option {
	return func(o *config) { o.memory = true }
}

// Logger sets where the server and its runners log (default nowhere).
func Logger(l *slog.Logger) Option {
	return func(o *config) { o.logger = l }
}
