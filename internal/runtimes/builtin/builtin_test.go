package builtin

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/outputschema"
)

// request is a turn with no budget caps; tests change what they need.
func request(input string) agent.Request {
	return agent.Request{
		TaskID:       "tsk_1",
		TurnID:       "trn_1",
		Seq:          1,
		WorkerID:     "wrk_1",
		Instructions: "You answer briefly.",
		Input:        input,
		Budget:       agent.Budgets["unlimited"],
	}
}

// run runs req and returns the result, the error and every delta emitted.
func run(t *testing.T, ctx context.Context, r Runtime, req agent.Request) (agent.Result, error, []string) {
	t.Helper()
	var deltas []string
	res, err := r.Run(ctx, req, func(d string) { deltas = append(deltas, d) })
	return res, err, deltas
}

// words is an input of n words.
func words(n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = "word" + string(rune('a'+i%26))
	}
	return strings.Join(ws, " ")
}

func TestOutputAndAccounting(t *testing.T) {
	t.Parallel()
	req := request("summarise the quarterly report")
	req.History = []agent.Message{{Role: "user", Content: "hello there"}, {Role: "assistant", Content: "hi"}}
	req.Seq = 2

	res, err, deltas := run(t, t.Context(), Runtime{}, req)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.HasPrefix(res.OutputText, "Turn 2, with 2 earlier messages in view.") {
		t.Errorf("output %q does not start with the preamble", res.OutputText)
	}
	if !strings.HasSuffix(res.OutputText, ": summarise the quarterly report") {
		t.Errorf("output %q does not end with the input", res.OutputText)
	}
	if got := strings.Join(deltas, ""); got != res.OutputText {
		t.Errorf("emitted %q, output %q", got, res.OutputText)
	}
	if len(deltas) != len(strings.Fields(res.OutputText)) {
		t.Errorf("%d deltas for %d words", len(deltas), len(strings.Fields(res.OutputText)))
	}
	if want := int64(3 + 4 + 2 + 1); res.InputTokens != want {
		t.Errorf("InputTokens = %d, want %d", res.InputTokens, want)
	}
	if want := agent.CountTokens(res.OutputText); res.OutputTokens != want {
		t.Errorf("OutputTokens = %d, want %d", res.OutputTokens, want)
	}
	if want := agent.Credits(res.OutputTokens); res.Credits != want {
		t.Errorf("Credits = %d, want %d", res.Credits, want)
	}
	if res.Incomplete != "" {
		t.Errorf("Incomplete = %q, want none", res.Incomplete)
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	req := request("write a haiku about queues")
	req.History = []agent.Message{{Role: "user", Content: "be terse"}, {Role: "assistant", Content: "ok"}}

	first, err := Runtime{}.Run(t.Context(), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for range 3 {
		again, err := (&Runtime{}).Run(t.Context(), req, nil)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if !reflect.DeepEqual(again, first) {
			t.Fatalf("re-run = %+v, first run = %+v", again, first)
		}
	}
}

func TestOutputDependsOnTheConversation(t *testing.T) {
	t.Parallel()
	base := request("what next")
	base.Seq = 0
	longer := base
	longer.History = []agent.Message{{Role: "user", Content: "plan a trip"}, {Role: "assistant", Content: "to where?"}}
	other := base
	other.History = []agent.Message{{Role: "user", Content: "plan a party"}, {Role: "assistant", Content: "for whom?"}}
	instructed := base
	instructed.Instructions = "You are a travel agent."

	seen := map[string]string{}
	for name, req := range map[string]agent.Request{"base": base, "longer": longer, "other": other, "instructed": instructed} {
		res, err := Runtime{}.Run(t.Context(), req, nil)
		if err != nil {
			t.Fatalf("%s: Run: %v", name, err)
		}
		if prev, ok := seen[res.OutputText]; ok {
			t.Errorf("%s and %s both answer %q", name, prev, res.OutputText)
		}
		seen[res.OutputText] = name
	}
	res, _ := Runtime{}.Run(t.Context(), longer, nil)
	if !strings.HasPrefix(res.OutputText, "Turn 2, with 2 earlier messages in view.") {
		t.Errorf("without seq, output %q does not count the turn from the history", res.OutputText)
	}
}

func TestLowBudgetStopsLongInput(t *testing.T) {
	t.Parallel()
	req := request(words(400))
	full, err := Runtime{}.Run(t.Context(), req, nil)
	if err != nil {
		t.Fatalf("unlimited Run: %v", err)
	}
	if full.Credits <= 10 {
		t.Fatalf("the full answer costs %d credits, not more than low's 10", full.Credits)
	}

	req.Budget = agent.Budgets["low"]
	res, err, deltas := run(t, t.Context(), Runtime{}, req)
	if err != nil {
		t.Fatalf("low Run: %v", err)
	}
	if res.Incomplete != agent.IncompleteBudget {
		t.Errorf("Incomplete = %q, want %q", res.Incomplete, agent.IncompleteBudget)
	}
	if res.Credits > 10 || agent.Credits(res.OutputTokens+1) <= 10 {
		t.Errorf("stopped at %d tokens (%d credits), not at the last word 10 credits buy", res.OutputTokens, res.Credits)
	}
	if !strings.HasPrefix(full.OutputText, res.OutputText) {
		t.Errorf("partial output is not a prefix of the full output")
	}
	if got := strings.Join(deltas, ""); got != res.OutputText {
		t.Errorf("emitted %q, output %q", got, res.OutputText)
	}
}

func TestDelaySpreadsTheOutput(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		res, err := Runtime{Delay: time.Second}.Run(t.Context(), request("one two three"), func(string) {
			at = append(at, time.Since(start))
		})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("took %v, want 1s", got)
		}
		n := len(strings.Fields(res.OutputText))
		for i, d := range at {
			if want := time.Duration(float64(time.Second) * float64(i+1) / float64(n)); d != want {
				t.Errorf("word %d at %v, want %v", i, d, want)
			}
		}
	})
}

func TestContextInterruptsTheDelay(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		req := request(words(50))
		full, _ := Runtime{}.Run(t.Context(), req, nil)

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		res, err, deltas := run(t, ctx, Runtime{Delay: 10 * time.Second}, req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("returned after %v, want 1s", got)
		}
		if res.Incomplete != agent.IncompleteShutdown {
			t.Errorf("Incomplete = %q, want %q", res.Incomplete, agent.IncompleteShutdown)
		}
		if res.OutputText == "" || !strings.HasPrefix(full.OutputText, res.OutputText) || res.OutputText == full.OutputText {
			t.Errorf("partial output %q is not a proper prefix of %q", res.OutputText, full.OutputText)
		}
		if got := strings.Join(deltas, ""); got != res.OutputText {
			t.Errorf("emitted %q, output %q", got, res.OutputText)
		}
	})
}

func TestContextInterruptsTheDelayOnTheRealClock(t *testing.T) {
	t.Parallel()
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := Runtime{Delay: time.Minute}.Run(ctx, request("a b c"), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if got := time.Since(start); got < 50*time.Millisecond || got > 5*time.Second {
		t.Errorf("returned after %v, want about 50ms", got)
	}

	start = time.Now()
	if _, err := (Runtime{Delay: 80 * time.Millisecond}).Run(t.Context(), request("a b c"), nil); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := time.Since(start); got < 80*time.Millisecond || got > 5*time.Second {
		t.Errorf("took %v, want about 80ms", got)
	}
}

func TestMaxTimeStopsTheTurn(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		req := request(words(30))
		req.Budget = agent.Budget{Name: "test", MaxTime: 500 * time.Millisecond}
		full, _ := Runtime{}.Run(t.Context(), req, nil)
		n := len(strings.Fields(full.OutputText))

		start := time.Now()
		res, err := Runtime{Delay: time.Duration(n) * 100 * time.Millisecond}.Run(t.Context(), req, nil)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := time.Since(start); got != 500*time.Millisecond {
			t.Errorf("returned after %v, want 500ms", got)
		}
		if res.Incomplete != agent.IncompleteBudget {
			t.Errorf("Incomplete = %q, want %q", res.Incomplete, agent.IncompleteBudget)
		}
		if res.OutputTokens != 5 || !strings.HasPrefix(full.OutputText, res.OutputText) {
			t.Errorf("output %q (%d tokens), want the first 5 words of %q", res.OutputText, res.OutputTokens, full.OutputText)
		}
	})
}

func TestDelayDirective(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		res, err := Runtime{Delay: time.Hour}.Run(t.Context(), request("[delay=750ms] hello [delay=oops-not-last] [delay=1500ms]world"), nil)
		if err == nil {
			t.Fatalf("a malformed [delay=] was accepted: %q", res.OutputText)
		}
		if !errors.Is(err, agent.ErrFailed) || !strings.Contains(err.Error(), "oops-not-last") {
			t.Errorf("err = %v, want a failed turn naming the bad directive", err)
		}

		res, err = Runtime{Delay: time.Hour}.Run(t.Context(), request("[delay=750ms] hello [delay=1500ms]world"), nil)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := time.Since(start); got != 1500*time.Millisecond {
			t.Errorf("took %v, want the last directive's 1.5s", got)
		}
		if !strings.HasSuffix(res.OutputText, ": hello world") || strings.Contains(res.OutputText, "[") {
			t.Errorf("output %q still holds directives", res.OutputText)
		}
	})
}

func TestFailDirective(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		res, err, deltas := run(t, t.Context(), Runtime{}, request("please [fail] now [delay=2s]"))
		if !errors.Is(err, agent.ErrFailed) {
			t.Fatalf("err = %v, want agent.ErrFailed", err)
		}
		if !strings.Contains(err.Error(), "input asked the turn to fail") {
			t.Errorf("message %q does not say the input asked for it", err)
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("failed after %v, want the directive's 2s", got)
		}
		if res.OutputText != "" || len(deltas) != 0 {
			t.Errorf("a failed turn wrote %q", res.OutputText)
		}
		if res.InputTokens != agent.CountTokens(request("please [fail] now [delay=2s]").Input)+3 {
			t.Errorf("InputTokens = %d", res.InputTokens)
		}
	})
}

func TestCanceledBeforeTheFirstWord(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := Runtime{}.Run(ctx, request("hello"), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.OutputText != "" || res.Incomplete != agent.IncompleteShutdown {
		t.Errorf("result = %+v, want no output and Incomplete shutdown", res)
	}
}

func FuzzParseDirectives(f *testing.F) {
	for _, s := range []string{"", "plain", "[fail]", "[delay=1s] x", "[delay=]", "[[fail]fail]", "[delay=[fail]1s]", "[delay=-1s]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		clean, d, err := parseDirectives(input)
		if err != nil {
			if !errors.Is(err, agent.ErrFailed) {
				t.Fatalf("error %v is not a failed turn", err)
			}
			return
		}
		if directiveRE.MatchString(clean) {
			t.Errorf("%q left a directive in %q", input, clean)
		}
		if d.delay != nil && *d.delay < 0 {
			t.Errorf("negative delay %v", *d.delay)
		}
	})
}

// TestOutputSchemaGetsAValidObject: a worker with an output schema is
// answered with JSON that validates against it, as text and as the
// structured output; a schema with no valid object fails the turn.
func TestOutputSchemaGetsAValidObject(t *testing.T) {
	t.Parallel()
	schema := []byte(`{"type":"object","required":["sentiment","score","when"],
		"properties":{"sentiment":{"enum":["positive","negative"]},
		"score":{"type":"integer","minimum":1,"maximum":5},
		"when":{"type":"string","format":"date-time"},"note":{"type":"string"}}}`)
	req := request("How was the review?")
	req.OutputSchema = schema
	res, err, deltas := run(t, context.Background(), Runtime{}, req)
	if err != nil || res.Incomplete != "" {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	compiled, err := outputschema.Compile(schema)
	if err != nil {
		t.Fatal(err)
	}
	got, err := compiled.Validate(res.OutputText)
	if err != nil {
		t.Fatalf("the output %s does not validate: %v", res.OutputText, err)
	}
	if got["sentiment"] != "positive" || len(deltas) != 1 || deltas[0] != res.OutputText {
		t.Errorf("output %s, deltas %q", res.OutputText, deltas)
	}
	if _, ok := res.StructuredOutput["note"]; ok || res.StructuredOutput["sentiment"] != "positive" {
		t.Errorf("StructuredOutput = %v, want the required members only", res.StructuredOutput)
	}
	if res.OutputTokens != agent.CountTokens(res.OutputText) || res.Credits != agent.Credits(res.OutputTokens) {
		t.Errorf("tokens %d, credits %d for %q", res.OutputTokens, res.Credits, res.OutputText)
	}

	req.OutputSchema = []byte(`{"type":"object","required":["n"],"properties":{"n":{"type":"integer","minimum":5,"maximum":4}}}`)
	if _, err, _ := run(t, context.Background(), Runtime{}, req); !errors.Is(err, agent.ErrFailed) || !strings.Contains(err.Error(), "/properties/n") {
		t.Errorf("an unsatisfiable schema: err = %v, want a failure naming /properties/n", err)
	}
}
