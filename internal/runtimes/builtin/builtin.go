// Package builtin is a deterministic local stand-in runtime for development
// and tests. It calls no model: it answers every turn with a short preamble
// (which names the turn and how much history it saw) followed by the input,
// word by word, so that a server, its budgets and its streaming can be
// exercised without a model or a network.
//
// The same request always produces the same output, and the output grows with
// the input (about one output word per input word), so a long input on the
// low budget reaches its credit cap. Two directives in the input change a
// turn and are left out of its output:
//
//	[delay=DURATION]  spread the output over DURATION (a Go duration such as
//	                  750ms or 2s) instead of Runtime.Delay
//	[fail]            fail the turn once its delay has passed
//
// A worker with an output schema (agent.Request.OutputSchema) is answered,
// after the delay, with a small object valid against the schema (its
// required properties, enums, formats: package outputschema's Example) as
// JSON text, which is also the result's StructuredOutput.
package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/outputschema"
)

// Runtime answers turns locally and deterministically. The zero value answers
// at once; it keeps no state, so one Runtime may run any number of turns
// concurrently and re-run a turn with the same result.
type Runtime struct {
	// Delay is how long a turn takes to write its whole output; the words
	// are spread evenly over it. An input's [delay=…] directive overrides it.
	Delay time.Duration
}

var _ agent.Runtime = Runtime{}

// Run answers req. emit, when not nil, receives each word as it is written
// (with the space before it), so the deltas add up to Result.OutputText.
//
// Run stops before the word that would take the turn past
// req.Budget.MaxCredits, or when req.Budget.MaxTime has passed since it
// started, and returns the output so far with Incomplete set to
// agent.IncompleteBudget and a nil error. When ctx ends it returns the output
// so far, Incomplete set to agent.IncompleteShutdown and ctx.Err(). A failed
// turn (the [fail] directive, or a directive it cannot read) returns an error
// that matches agent.ErrFailed.
func (r Runtime) Run(ctx context.Context, req agent.Request, emit func(delta string)) (agent.Result, error) {
	start := time.Now()
	res := agent.Result{InputTokens: agent.InputTokens(req)}
	res.Credits = agent.Credits(0)

	input, d, err := parseDirectives(req.Input)
	if err != nil {
		return res, err
	}
	delay := r.Delay
	if d.delay != nil {
		delay = *d.delay
	}
	c := clock{start: start}
	if req.Budget.MaxTime > 0 {
		c.deadline = start.Add(req.Budget.MaxTime)
	}

	if d.fail {
		switch stop := c.waitUntil(ctx, start.Add(delay)); stop {
		case stopBudget:
			res.Incomplete = agent.IncompleteBudget
			return res, nil
		case stopContext:
			res.Incomplete = agent.IncompleteShutdown
			return res, ctx.Err()
		}
		return res, agent.Failure("the input asked the turn to fail (the [fail] directive of the builtin runtime)", nil)
	}

	if len(req.OutputSchema) > 0 {
		return r.structured(ctx, req, c, start.Add(delay), res, emit)
	}

	words := compose(req, input)
	var out strings.Builder
	var written int64
	for i, w := range words {
		if req.Budget.MaxCredits > 0 && agent.Credits(written+1) > req.Budget.MaxCredits {
			res.Incomplete = agent.IncompleteBudget
			break
		}
		at := start.Add(time.Duration(float64(delay) * float64(i+1) / float64(len(words))))
		if stop := c.waitUntil(ctx, at); stop != stopNone {
			res.Incomplete = agent.IncompleteBudget
			if stop == stopContext {
				res.Incomplete = agent.IncompleteShutdown
				err = ctx.Err()
			}
			break
		}
		delta := w
		if i > 0 {
			delta = " " + w
		}
		out.WriteString(delta)
		written++
		if emit != nil {
			emit(delta)
		}
	}
	res.OutputText = out.String()
	res.OutputTokens = agent.CountTokens(res.OutputText)
	res.Credits = agent.Credits(res.OutputTokens)
	return res, err
}

// directives are the instructions to the builtin runtime found in an input.
type directives struct {
	delay *time.Duration // nil when the input names none
	fail  bool
}

var directiveRE = regexp.MustCompile(`\[(fail|delay=[^\]]*)\]`)

// parseDirectives returns the input without its directives, and the
// directives. The last [delay=…] wins.
func parseDirectives(input string) (string, directives, error) {
	var d directives
	for _, m := range directiveRE.FindAllStringSubmatch(input, -1) {
		if m[1] == "fail" {
			d.fail = true
			continue
		}
		v := strings.TrimPrefix(m[1], "delay=")
		delay, err := time.ParseDuration(v)
		if err != nil || delay < 0 {
			return "", d, agent.Failure(fmt.Sprintf("the input's directive [delay=%s] is not a duration such as 750ms or 2s", v), nil)
		}
		d.delay = &delay
	}
	return directiveRE.ReplaceAllString(input, " "), d, nil
}

// openers vary the preamble with the instructions, the history and the input,
// so a different conversation reads differently while the same one repeats.
var openers = []string{
	"Here is my answer",
	"Here is what I make of it",
	"Taking it point by point",
	"As I read your request",
	"Working from what you wrote",
	"In reply",
}

// compose is the whole output of a turn as words: a short preamble, then one
// word per word of the input.
func compose(req agent.Request, input string) []string {
	turn := req.Seq
	if turn <= 0 {
		turn = len(req.History)/2 + 1
	}
	earlier := "no earlier messages"
	switch n := len(req.History); n {
	case 0:
	case 1:
		earlier = "1 earlier message"
	default:
		earlier = strconv.Itoa(n) + " earlier messages"
	}

	h := fnv.New64a()
	write := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	write(req.Instructions)
	for _, m := range req.History {
		write(m.Role)
		write(m.Content)
	}
	write(input)
	opener := openers[h.Sum64()%uint64(len(openers))]

	words := strings.Fields(fmt.Sprintf("Turn %d, with %s in view. %s:", turn, earlier, opener))
	body := strings.Fields(input)
	if len(body) == 0 {
		body = []string{"there", "is", "nothing", "to", "answer."}
	}
	return append(words, body...)
}

// Why a wait ended early.
const (
	stopNone = iota
	stopBudget
	stopContext
)

// clock paces a turn from its start; deadline, when not zero, is where the
// budget's time cap falls.
type clock struct {
	start    time.Time
	deadline time.Time
}

// waitUntil waits until at, and reports whether the budget's deadline or ctx
// came first. A word due exactly at the deadline is still written.
func (c clock) waitUntil(ctx context.Context, at time.Time) int {
	stop := stopNone
	if !c.deadline.IsZero() && at.After(c.deadline) {
		at, stop = c.deadline, stopBudget
	}
	d := time.Until(at)
	if d <= 0 {
		if ctx.Err() != nil {
			return stopContext
		}
		return stop
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return stopContext
	case <-t.C:
		return stop
	}
}

// schemas compiles the output schemas the builtin answers, once per
// schema version.
var schemas = outputschema.NewCache(0)

// structured answers a worker with an output schema: after the turn's
// delay, a small object valid against the schema (outputschema's Example:
// its required properties, enums, formats), as JSON text, in one delta.
func (r Runtime) structured(ctx context.Context, req agent.Request, c clock, at time.Time, res agent.Result, emit func(string)) (agent.Result, error) {
	s, err := schemas.Get(req.OutputSchema)
	if err != nil {
		return res, agent.Failure(err.Error(), err)
	}
	obj, err := s.Example()
	if err != nil {
		return res, agent.Failure(err.Error(), err)
	}
	text, err := json.Marshal(obj)
	if err != nil {
		return res, agent.Failure("the example output could not be encoded", err)
	}
	switch c.waitUntil(ctx, at) {
	case stopBudget:
		res.Incomplete = agent.IncompleteBudget
		return res, nil
	case stopContext:
		res.Incomplete = agent.IncompleteShutdown
		return res, ctx.Err()
	}
	tokens := agent.CountTokens(string(text))
	if req.Budget.MaxCredits > 0 && agent.Credits(tokens) > req.Budget.MaxCredits {
		// Half an object is no answer: a budget too small for the whole
		// one stops the turn with nothing.
		res.Incomplete = agent.IncompleteBudget
		return res, nil
	}
	if emit != nil {
		emit(string(text))
	}
	res.OutputText, res.OutputTokens, res.Credits = string(text), tokens, agent.Credits(tokens)
	res.StructuredOutput = obj
	return res, nil
}
