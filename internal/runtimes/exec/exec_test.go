//go:build unix

package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/handinger/handinger/agent"
)

// TestMain fails the run when a goroutine of this package outlives the tests:
// Run must wait for every goroutine it starts.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leak := leakedGoroutines(); leak != "" {
			fmt.Fprintf(os.Stderr, "goroutines left running:\n%s\n", leak)
			code = 1
		}
	}
	os.Exit(code)
}

func leakedGoroutines() string {
	var leak string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		leak = ""
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "handinger/agent/exec.Runtime.Run") && !strings.Contains(g, "leakedGoroutines") {
				leak += g + "\n\n"
			}
		}
		if leak == "" {
			return ""
		}
	}
	return leak
}

// sh is a runtime that runs script with sh -c.
func sh(script string) Runtime {
	return Runtime{Command: []string{"sh", "-c", script}}
}

// request is a turn with no budget caps; tests change what they need.
func request() agent.Request {
	return agent.Request{
		TaskID:       "tsk_1",
		TurnID:       "trn_2",
		Seq:          2,
		WorkerID:     "wrk_1",
		Instructions: "You answer briefly.",
		Input:        "what is the capital of France?",
		Budget:       agent.Budget{Name: "unlimited"},
	}
}

// run runs req on r and returns the result, the error and the emitted deltas
// joined.
func run(t *testing.T, ctx context.Context, r Runtime, req agent.Request) (agent.Result, error, string) {
	t.Helper()
	var emitted strings.Builder
	res, err := r.Run(ctx, req, func(d string) { emitted.WriteString(d) })
	return res, err, emitted.String()
}

// waitGone waits until process pid has died (a zombie counts as dead).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if err != nil {
			t.Skipf("cannot watch processes here: %v", err)
		}
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && bytes.HasPrefix(stat[i+1:], []byte(" Z")) {
			return
		}
	}
	t.Errorf("process %d still runs", pid)
}

// firstLinePID is the process id a script printed on its first line.
func firstLinePID(t *testing.T, out string) int {
	t.Helper()
	line, _, _ := strings.Cut(out, "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("output %q does not start with a pid", out)
	}
	return pid
}

func TestStdinIsTheTurn(t *testing.T) {
	t.Parallel()
	req := request()
	req.Budget = agent.Budgets["low"]

	res, err := Runtime{Command: []string{"cat"}}.Run(t.Context(), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(res.OutputText), &got); err != nil {
		t.Fatalf("stdin %q is not a JSON object: %v", res.OutputText, err)
	}
	want := map[string]any{
		"taskId":       "tsk_1",
		"turnId":       "trn_2",
		"seq":          2.0,
		"workerId":     "wrk_1",
		"instructions": "You answer briefly.",
		"history":      []any{},
		"input":        "what is the capital of France?",
		"budget":       map[string]any{"name": "low", "maxCredits": 10.0, "maxTimeMs": 60000.0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stdin =\n%v\nwant\n%v", got, want)
	}
	if strings.HasSuffix(res.OutputText, "\n") {
		t.Errorf("the trailing newline was kept")
	}
}

func TestHistoryIsPassed(t *testing.T) {
	t.Parallel()
	req := request()
	req.History = []agent.Message{
		{Role: "user", Content: "what is the capital of Spain?"},
		{Role: "assistant", Content: "Madrid."},
	}
	res, err := Runtime{Command: []string{"cat"}}.Run(t.Context(), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var got stdinTurn
	if err := json.Unmarshal([]byte(res.OutputText), &got); err != nil {
		t.Fatalf("stdin: %v", err)
	}
	if !reflect.DeepEqual(got.History, req.History) {
		t.Errorf("history = %+v, want %+v", got.History, req.History)
	}
}

func TestOutputAndAccounting(t *testing.T) {
	t.Parallel()
	req := request()
	req.History = []agent.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "hello there"}}

	res, err, emitted := run(t, t.Context(), sh(`cat >/dev/null; printf 'Paris is '; sleep 0.05; printf 'the capital.\n'`), req)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := agent.Result{
		OutputText:   "Paris is the capital.",
		InputTokens:  3 + 1 + 2 + 6,
		OutputTokens: 4,
		Credits:      agent.Credits(4),
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result = %+v, want %+v", res, want)
	}
	if emitted != res.OutputText {
		t.Errorf("emitted %q, output %q", emitted, res.OutputText)
	}
}

func TestDirAndEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := sh(`pwd; echo "$GREETING"`)
	r.Dir, r.Env = dir, []string{"GREETING=bonjour"}
	res, err := r.Run(t.Context(), request(), nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	resolved, _ := filepath.EvalSymlinks(dir)
	if want := resolved + "\nbonjour"; res.OutputText != want {
		t.Errorf("output %q, want %q", res.OutputText, want)
	}
}

func TestCommandThatIgnoresItsStdin(t *testing.T) {
	t.Parallel()
	req := request()
	req.Input = strings.Repeat("long input ", 200_000)
	res, err := sh(`echo done`).Run(t.Context(), req, nil)
	if err != nil || res.OutputText != "done" {
		t.Errorf("Run = %q, %v; want done", res.OutputText, err)
	}
}

func TestFailureMessageIsTheLastLineOfStderr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, script, want string }{
		{"stderr", `echo partial; echo 'connecting' >&2; printf 'model endpoint refused the request\n  \n' >&2; exit 3`,
			"exit status 3: model endpoint refused the request"},
		{"no newline", `printf 'first\nquota exceeded' >&2; exit 1`, "exit status 1: quota exceeded"},
		{"empty stderr", `exit 2`, "exit status 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := sh(tc.script).Run(t.Context(), request(), nil)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			var exitErr *osexec.ExitError
			if !errors.Is(err, agent.ErrFailed) || !errors.As(err, &exitErr) {
				t.Errorf("err %v does not match agent.ErrFailed and *exec.ExitError", err)
			}
		})
	}
}

func TestMaxTimeKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	req := request()
	req.Budget.MaxTime = 300 * time.Millisecond
	start := time.Now()
	res, err, emitted := run(t, t.Context(), sh(`sleep 100 & echo $!; echo so far; wait`), req)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("returned after %v, want about 300ms", took)
	}
	if res.Incomplete != agent.IncompleteBudget {
		t.Errorf("Incomplete = %q, want %q", res.Incomplete, agent.IncompleteBudget)
	}
	if !strings.HasSuffix(res.OutputText, "\nso far") || emitted != res.OutputText {
		t.Errorf("output %q (emitted %q), want the pid and 'so far'", res.OutputText, emitted)
	}
	waitGone(t, firstLinePID(t, res.OutputText))
}

func TestExitKillsWhatTheCommandLeftRunning(t *testing.T) {
	t.Parallel()
	start := time.Now()
	res, err := sh(`sleep 100 & echo $!`).Run(t.Context(), request(), nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(start); took > drainTimeout {
		t.Errorf("returned after %v: it waited for the sleeper's stdout", took)
	}
	waitGone(t, firstLinePID(t, res.OutputText))
}

func TestAProcessOutsideTheGroupDoesNotHoldTheTurn(t *testing.T) {
	t.Parallel()
	if _, err := osexec.LookPath("setsid"); err != nil {
		t.Skip("no setsid here")
	}
	start := time.Now()
	res, err := sh(`setsid sh -c 'echo $$; exec sleep 100' & sleep 0.2`).Run(t.Context(), request(), nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	_ = syscall.Kill(firstLinePID(t, res.OutputText), syscall.SIGKILL)
	if took := time.Since(start); took > drainTimeout+3*time.Second {
		t.Errorf("returned after %v, want about %v", took, drainTimeout)
	}
}

func TestContextEndKillsTheCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := time.Now()
	var emitted strings.Builder
	// The context ends on the first delta: so output is streamed, not read
	// at exit.
	res, err := sh(`sleep 100 & echo $!; wait`).Run(ctx, request(), func(d string) {
		emitted.WriteString(d)
		cancel()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("returned after %v", took)
	}
	if res.Incomplete != agent.IncompleteShutdown || res.OutputText != emitted.String() {
		t.Errorf("result %+v, emitted %q", res, emitted.String())
	}
	waitGone(t, firstLinePID(t, res.OutputText))
}

func TestCreditCapCutsTheOutputAndStopsTheCommand(t *testing.T) {
	t.Parallel()
	req := request()
	req.Budget = agent.Budgets["low"]
	start := time.Now()
	res, err, emitted := run(t, t.Context(), sh(`i=1; while [ $i -le 300 ]; do printf 'w%d  ' $i; i=$((i+1)); done; sleep 100`), req)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("returned after %v: the command was not stopped at the cap", took)
	}
	n := maxWords(10)
	var want []string
	for i := int64(1); i <= n; i++ {
		want = append(want, fmt.Sprintf("w%d", i))
	}
	if res.OutputText != strings.Join(want, "  ") {
		t.Errorf("output %q, want w1 … w%d", res.OutputText, n)
	}
	if res.Incomplete != agent.IncompleteBudget || res.OutputTokens != n || res.Credits != 10 {
		t.Errorf("result Incomplete=%q tokens=%d credits=%d, want budget, %d, 10", res.Incomplete, res.OutputTokens, res.Credits, n)
	}
	if emitted != res.OutputText {
		t.Errorf("emitted %q, output %q", emitted, res.OutputText)
	}
}

func TestCreditCapAtExit(t *testing.T) {
	t.Parallel()
	req := request()
	req.Budget = agent.Budget{Name: "tiny", MaxCredits: 2}
	res, err, emitted := run(t, t.Context(), sh(`seq 1 25`), req)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var lines []string
	for i := 1; i <= 20; i++ {
		lines = append(lines, strconv.Itoa(i))
	}
	if want := strings.Join(lines, "\n"); res.OutputText != want {
		t.Errorf("output %q, want %q", res.OutputText, want)
	}
	if res.Incomplete != agent.IncompleteBudget || res.Credits != 2 || emitted != res.OutputText {
		t.Errorf("result %+v, emitted %q", res, emitted)
	}
}

func TestOutputLimit(t *testing.T) {
	t.Parallel()
	r := sh(`yes`)
	r.MaxOutputBytes = 1000
	_, err := r.Run(t.Context(), request(), nil)
	if !errors.Is(err, agent.ErrFailed) || !strings.Contains(err.Error(), "more than 1000 bytes") {
		t.Errorf("err = %v, want a failure naming the limit", err)
	}

	r = sh(`yes | head -c 1000`)
	r.MaxOutputBytes = 1000
	if res, err := r.Run(t.Context(), request(), nil); err != nil || res.OutputTokens != 500 {
		t.Errorf("output of exactly the limit: %d tokens, %v", res.OutputTokens, err)
	}
}

func TestCommandNotFound(t *testing.T) {
	t.Parallel()
	_, err := Runtime{Command: []string{"handinger-no-such-command", "--flag"}}.Run(t.Context(), request(), nil)
	if !errors.Is(err, agent.ErrFailed) || !errors.Is(err, osexec.ErrNotFound) {
		t.Errorf("err = %v, want agent.ErrFailed and exec.ErrNotFound", err)
	}
	if err != nil && !strings.Contains(err.Error(), "handinger-no-such-command") {
		t.Errorf("message %q does not name the command", err)
	}

	_, err = Runtime{}.Run(t.Context(), request(), nil)
	if !errors.Is(err, agent.ErrFailed) {
		t.Errorf("no command: err = %v, want agent.ErrFailed", err)
	}
}

func TestMaxWords(t *testing.T) {
	t.Parallel()
	for _, max := range []int64{0, 1, 2, 10, 100, 1000} {
		n := maxWords(max)
		if max == 0 {
			if n != -1 {
				t.Errorf("maxWords(0) = %d, want -1 (no cap)", n)
			}
			continue
		}
		if agent.Credits(n) > max || agent.Credits(n+1) <= max {
			t.Errorf("maxWords(%d) = %d, not the most %d credits buy", max, n, max)
		}
	}
}
