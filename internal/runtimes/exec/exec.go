// Package exec runs each turn as a child process: a configured command, run
// once per turn, that reads the turn on stdin and writes the answer on stdout.
// Any program that speaks this protocol can be a runtime, whatever language it
// is written in.
//
// # Protocol
//
// stdin is one JSON object followed by a newline, then end of file:
//
//	{
//	  "taskId": "tsk_…",
//	  "turnId": "trn_…",
//	  "seq": 2,
//	  "workerId": "wrk_…",
//	  "instructions": "the worker's instructions",
//	  "history": [{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}],
//	  "input": "this turn's input",
//	  "budget": {"name": "standard", "maxCredits": 100, "maxTimeMs": 300000}
//	}
//
// history holds the task's earlier turns in order, and is [] on a first turn,
// never null. maxCredits 0 means no credit cap.
//
// stdout is the output text, UTF-8, streamed to the caller as it is written;
// one trailing newline is dropped. Exit status 0 means the turn succeeded. Any
// other status fails the turn, and the last non-empty line of stderr is the
// message the caller sees (after the exit status: "exit status 1: model
// endpoint refused the request"); other stderr lines are ignored.
//
// # Limits
//
// The server counts tokens and credits itself (agent.CountTokens,
// agent.Credits). When the output reaches the word that the budget's credits
// no longer pay for, or when the budget's time has passed, the command is
// killed and the turn keeps the output before that point, marked incomplete;
// its exit status then no longer matters. Output beyond
// Runtime.MaxOutputBytes fails the turn.
//
// The command runs in a process group of its own. When the turn ends, for
// whatever reason, the whole group is killed with SIGKILL, so nothing it
// started outlives the turn — unless it left the group on purpose (setsid).
package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"strings"
	"time"

	"github.com/handinger/handinger/agent"
)

// DefaultMaxOutputBytes is the output limit of a Runtime that sets none.
const DefaultMaxOutputBytes = 1 << 20

// drainTimeout bounds the wait for the output pipes to close once the command
// has exited and its group has been killed; only a process that left the group
// can hold them open longer.
const drainTimeout = time.Second

// stderrTail is how much of the end of stderr is kept to find the message of
// a failed turn.
const stderrTail = 64 << 10

// maxMessage bounds the failure message taken from stderr.
const maxMessage = 1000

// Runtime runs Command once per turn. It keeps no state between turns, so one
// Runtime may run turns concurrently, and re-running a turn runs the command
// again.
type Runtime struct {
	// Command is the program and its arguments; Command[0] is looked up in
	// PATH when it holds no slash.
	Command []string
	// Dir is the command's working directory; empty means the server's.
	Dir string
	// Env, when not nil, is the command's whole environment, as in
	// os/exec.Cmd; nil means the server's environment.
	Env []string
	// MaxOutputBytes caps stdout; 0 means DefaultMaxOutputBytes.
	MaxOutputBytes int64
}

var _ agent.Runtime = Runtime{}

// stdinTurn is the JSON object a command reads on stdin (see the package doc).
type stdinTurn struct {
	TaskID       string          `json:"taskId"`
	TurnID       string          `json:"turnId"`
	Seq          int             `json:"seq"`
	WorkerID     string          `json:"workerId"`
	Instructions string          `json:"instructions"`
	History      []agent.Message `json:"history"`
	Input        string          `json:"input"`
	Budget       stdinBudget     `json:"budget"`
}

type stdinBudget struct {
	Name       string `json:"name"`
	MaxCredits int64  `json:"maxCredits"`
	MaxTimeMs  int64  `json:"maxTimeMs"`
}

func newStdinTurn(req agent.Request) stdinTurn {
	history := req.History
	if history == nil {
		history = []agent.Message{}
	}
	return stdinTurn{
		TaskID:       req.TaskID,
		TurnID:       req.TurnID,
		Seq:          req.Seq,
		WorkerID:     req.WorkerID,
		Instructions: req.Instructions,
		History:      history,
		Input:        req.Input,
		Budget: stdinBudget{
			Name:       req.Budget.Name,
			MaxCredits: req.Budget.MaxCredits,
			MaxTimeMs:  req.Budget.MaxTime.Milliseconds(),
		},
	}
}

// Why the server stopped the command.
const (
	stopNone = iota
	stopTime
	stopContext
)

// Run runs the command for req. emit, when not nil, receives the output as the
// command writes it, from one goroutine at a time and never after Run returns;
// the deltas add up to Result.OutputText.
//
// A turn stopped by its budget returns the output so far, Incomplete set to
// agent.IncompleteBudget and a nil error. When ctx ends, Run kills the command
// and returns the output so far, Incomplete set to agent.IncompleteShutdown
// and ctx.Err(). A failed turn (the command could not start, exited with a
// non-zero status, or wrote too much) returns an error that matches
// agent.ErrFailed and whose message is meant for the caller.
func (r Runtime) Run(ctx context.Context, req agent.Request, emit func(delta string)) (agent.Result, error) {
	var timeout <-chan time.Time
	if req.Budget.MaxTime > 0 {
		t := time.NewTimer(req.Budget.MaxTime)
		defer t.Stop()
		timeout = t.C
	}
	inTokens := agent.InputTokens(req)
	none := agent.Result{InputTokens: inTokens, Credits: agent.Credits(0)}
	if len(r.Command) == 0 {
		return none, agent.Failure("exec runtime: no command configured", nil)
	}
	if err := ctx.Err(); err != nil {
		none.Incomplete = agent.IncompleteShutdown
		return none, err
	}
	payload, err := json.Marshal(newStdinTurn(req))
	if err != nil {
		return none, fmt.Errorf("encode turn %s for %s: %w", req.TurnID, r.Command[0], err)
	}
	payload = append(payload, '\n')
	limit := r.MaxOutputBytes
	if limit <= 0 {
		limit = DefaultMaxOutputBytes
	}

	p, err := newPipes()
	if err != nil {
		return none, fmt.Errorf("run %s: %w", r.Command[0], err)
	}
	cmd := osexec.Command(r.Command[0], r.Command[1:]...)
	cmd.Dir, cmd.Env = r.Dir, r.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.inR, p.outW, p.errW
	setProcessGroup(cmd)
	err = cmd.Start()
	p.closeChildEnds()
	if err != nil {
		p.closeParentEnds()
		return none, agent.Failure(fmt.Sprintf("start %s: %v", r.Command[0], err), err)
	}

	inDone := make(chan struct{})
	go func() {
		defer close(inDone)
		// A command may exit without reading its turn; EPIPE is no failure.
		_, _ = p.inW.Write(payload)
		_ = p.inW.Close()
	}()
	out := &stdout{s: newStream(maxWords(req.Budget.MaxCredits), emit), limit: limit}
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		out.read(p.outR)
	}()
	errTail := &tail{max: stderrTail}
	errDone := make(chan struct{})
	go func() {
		defer close(errDone)
		_, _ = io.Copy(errTail, p.errR)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	var (
		stop    = stopNone
		waitErr error
		running = true
		ctxDone = ctx.Done()
		drain   *time.Timer
		drained <-chan time.Time
	)
	for running || outDone != nil || errDone != nil {
		select {
		case waitErr = <-exited:
			running = false
			// Whatever the command left behind in its group goes with it,
			// and their exit lets the pipes reach end of file.
			killProcessGroup(cmd)
			timeout, ctxDone = nil, nil
			drain = time.NewTimer(drainTimeout)
			drained = drain.C
		case <-outDone:
			outDone = nil
			if out.overflow || out.s.capped() {
				killProcessGroup(cmd)
			}
		case <-errDone:
			errDone = nil
		case <-timeout:
			timeout, stop = nil, stopTime
			killProcessGroup(cmd)
		case <-ctxDone:
			ctxDone, stop = nil, stopContext
			killProcessGroup(cmd)
		case <-drained:
			drained = nil
			// A process outside the group still holds the pipes: stop
			// reading, which ends both readers.
			_ = p.outR.Close()
			_ = p.errR.Close()
		}
	}
	if drain != nil {
		drain.Stop()
	}
	p.closeParentEnds()
	<-inDone

	res := agent.Result{OutputText: out.s.finish(), InputTokens: inTokens}
	res.OutputTokens = agent.CountTokens(res.OutputText)
	res.Credits = agent.Credits(res.OutputTokens)
	switch {
	case stop == stopContext:
		res.Incomplete = agent.IncompleteShutdown
		return res, ctx.Err()
	case out.overflow:
		return res, agent.Failure(fmt.Sprintf("%s wrote more than %d bytes of output", r.Command[0], limit), nil)
	case stop == stopTime || out.s.capped():
		res.Incomplete = agent.IncompleteBudget
		return res, nil
	case waitErr != nil:
		return res, exitFailure(waitErr, errTail.bytes())
	}
	return res, nil
}

// maxWords is how many output tokens a turn may write on maxCredits; -1 when
// there is no cap.
func maxWords(maxCredits int64) int64 {
	if maxCredits <= 0 {
		return -1
	}
	if agent.Credits(0) > maxCredits {
		return 0
	}
	// The largest n with Credits(n) <= maxCredits; Credits never decreases.
	lo, hi := int64(0), int64(1)
	for agent.Credits(hi) <= maxCredits {
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if agent.Credits(mid) <= maxCredits {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// pipes are the command's stdin, stdout and stderr. They are made here rather
// than by os/exec so that Wait never waits on them: a grandchild that holds
// them open must not keep Run from returning, and output still in a pipe when
// the command exits must not be lost.
type pipes struct {
	inR, inW, outR, outW, errR, errW *os.File
}

func newPipes() (*pipes, error) {
	var p pipes
	var err error
	if p.inR, p.inW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if p.outR, p.outW, err = os.Pipe(); err != nil {
		p.inR.Close()
		p.inW.Close()
		return nil, err
	}
	if p.errR, p.errW, err = os.Pipe(); err != nil {
		p.closeChildEnds()
		p.inW.Close()
		p.outR.Close()
		return nil, err
	}
	return &p, nil
}

// closeChildEnds closes the server's copies of the ends the command uses, so
// that the command's exit (and its group's) is seen as end of file.
func (p *pipes) closeChildEnds() {
	for _, f := range []*os.File{p.inR, p.outW, p.errW} {
		if f != nil {
			_ = f.Close()
		}
	}
}

// closeParentEnds closes the server's ends. Closing unblocks any goroutine
// still reading or writing them.
func (p *pipes) closeParentEnds() {
	_ = p.inW.Close()
	_ = p.outR.Close()
	_ = p.errR.Close()
}

// stdout reads the command's output into s, up to limit bytes.
type stdout struct {
	s        *stream
	limit    int64
	n        int64
	overflow bool // the command wrote more than limit bytes
}

// read reads until end of file, an error (the pipe was closed), the budget's
// cap or the limit, whichever comes first.
func (o *stdout) read(r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if o.n+int64(n) > o.limit {
				o.overflow = true
				return
			}
			o.n += int64(n)
			o.s.write(buf[:n])
			if o.s.capped() {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *tail) bytes() []byte { return t.buf }

// exitFailure is the failure of a command that exited with waitErr: its exit
// status, then the last non-empty line of its stderr.
func exitFailure(waitErr error, stderr []byte) error {
	status := waitErr.Error()
	var exitErr *osexec.ExitError
	if errors.As(waitErr, &exitErr) {
		status = exitErr.ProcessState.String()
	}
	msg := status
	if line := lastLine(stderr); line != "" {
		msg = status + ": " + line
	}
	return agent.Failure(msg, waitErr)
}

// lastLine is the last line of b that holds more than white space, trimmed
// and cut to maxMessage bytes.
func lastLine(b []byte) string {
	b = bytes.TrimRight(b, " \t\r\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	line := strings.ToValidUTF8(strings.TrimSpace(string(b)), "\uFFFD")
	if len(line) > maxMessage {
		line = strings.ToValidUTF8(line[:maxMessage], "") + "…"
	}
	return line
}
