// Package runner executes turns durably: a pool of runners claims runnable
// turns from the store (the turns table is the queue), holds each claim as a
// lease renewed by heartbeat, runs the turn on an agent.Runtime and records
// the result fenced by the claim. A reaper puts turns whose lease expired
// (their runner died) back in the queue, or ends them in error after their
// attempts, so no acknowledged turn is ever lost or left running.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/store"
)

// ShutdownMode says what happens to turns still running when the pool stops.
type ShutdownMode string

// The shutdown modes.
const (
	// ShutdownResume releases unfinished turns back to the queue; they run
	// again from the start when a runner (this process restarted, or
	// another replica) claims them.
	ShutdownResume ShutdownMode = "resume"
	// ShutdownAbort ends unfinished turns aborted, with reason shutdown and
	// the output produced so far.
	ShutdownAbort ShutdownMode = "abort"
)

// Config configures a Pool. Zero values take the defaults noted.
type Config struct {
	Store   store.Queue
	Runtime agent.Runtime
	Bus     notify.Bus
	// Owner names this process in leases (e.g. host:pid:random).
	Owner string
	// Concurrency is the number of turns run at once (default 64).
	Concurrency int
	// Lease is how long a claim holds without a heartbeat (default 10 s);
	// a crashed runner's turn is rescued about Lease+ReapEvery after the
	// crash, whatever the turn's length.
	Lease time.Duration
	// HeartbeatEvery renews the lease (default Lease/3).
	HeartbeatEvery time.Duration
	// ReapEvery is the reaper's period (default 2 s).
	ReapEvery time.Duration
	// PollEvery looks for work without a wake-up, in case one was missed
	// (default 1 s).
	PollEvery time.Duration
	// MaxAttempts ends a turn in error after this many claims (default 3).
	MaxAttempts int
	// OnShutdown is what happens to turns still running at shutdown
	// (default ShutdownResume).
	OnShutdown ShutdownMode
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger logs turn outcomes and store failures (default slog.Default()).
	Logger *slog.Logger
	// OnFinish, when set, is called with the status of every finished turn.
	OnFinish func(store.Status)
	// IdempotencyTTL is how long idempotency keys are kept (default 48 h;
	// the API promises at least 24 h). The reaper purges older ones.
	IdempotencyTTL time.Duration
}

// Pool runs turns until Shutdown.
type Pool struct {
	cfg Config

	stopClaiming context.CancelFunc // ends the claim loops
	claimCtx     context.Context
	runCtx       context.Context // cancelled when the grace period is over
	cancelRuns   context.CancelFunc
	wg           sync.WaitGroup // the dispatcher and the reaper
	runs         sync.WaitGroup // running turns
	slotFree     chan struct{}  // a run ended: the dispatcher may claim again
	finishes     chan finishRequest
	finisherDone chan struct{}
	started      bool
	shutdownOnce sync.Once
	shutdownDone chan struct{}
}

// finishRequest asks the finisher to record a turn's end.
type finishRequest struct {
	params store.FinishTurnParams
	done   chan error
}

// maxFinishBatch caps how many results one FinishTurns call records.
const maxFinishBatch = 64

// New validates cfg and returns a pool; Start runs it.
func New(cfg Config) (*Pool, error) {
	if cfg.Store == nil || cfg.Runtime == nil || cfg.Bus == nil {
		return nil, errors.New("runner: Store, Runtime and Bus are required")
	}
	if cfg.Owner == "" {
		return nil, errors.New("runner: Owner is required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Second
	}
	if cfg.HeartbeatEvery <= 0 {
		cfg.HeartbeatEvery = cfg.Lease / 3
	}
	if cfg.ReapEvery <= 0 {
		cfg.ReapEvery = 2 * time.Second
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	switch cfg.OnShutdown {
	case "":
		cfg.OnShutdown = ShutdownResume
	case ShutdownResume, ShutdownAbort:
	default:
		return nil, fmt.Errorf("runner: unknown shutdown mode %q", cfg.OnShutdown)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = 48 * time.Hour
	}
	return &Pool{cfg: cfg}, nil
}

// Start launches the runners and the reaper. It reaps once first, so turns
// left running by a crashed process are requeued as soon as their lease ends.
func (p *Pool) Start() {
	if p.started {
		return
	}
	p.started = true
	p.claimCtx, p.stopClaiming = context.WithCancel(context.Background())
	p.runCtx, p.cancelRuns = context.WithCancel(context.Background())
	p.slotFree = make(chan struct{}, 1)
	p.finishes = make(chan finishRequest, p.cfg.Concurrency)
	p.finisherDone = make(chan struct{})
	go p.finisher()
	p.wg.Add(2)
	go p.reapLoop()
	go p.dispatch()
}

// Shutdown stops claiming, lets running turns finish until ctx ends, then
// stops them as OnShutdown says, and waits for every runner to return.
func (p *Pool) Shutdown(ctx context.Context) error {
	if !p.started {
		return nil
	}
	p.shutdownOnce.Do(func() {
		p.stopClaiming()
		p.shutdownDone = make(chan struct{})
		go func() {
			p.wg.Wait()
			p.runs.Wait()
			close(p.finishes)
			<-p.finisherDone
			close(p.shutdownDone)
		}()
	})
	select {
	case <-p.shutdownDone:
		return nil
	case <-ctx.Done():
		p.cancelRuns()
		<-p.shutdownDone
		return nil
	}
}

func (p *Pool) reapLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.ReapEvery)
	defer t.Stop()
	var lastPurge time.Time
	for {
		p.reap()
		if now := p.cfg.Now(); now.Sub(lastPurge) >= purgeEvery {
			lastPurge = now
			p.purge(now)
		}
		select {
		case <-p.claimCtx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Pool) reap() {
	ctx, cancel := context.WithTimeout(p.claimCtx, 10*time.Second)
	defer cancel()
	res, err := p.cfg.Store.ReapExpired(ctx, p.cfg.Now(), p.cfg.MaxAttempts)
	if err != nil {
		if ctx.Err() == nil {
			p.cfg.Logger.Error("reap expired leases", "err", err)
		}
		return
	}
	for _, id := range res.Failed {
		p.cfg.Logger.Warn("turn failed after its last attempt", "turn_id", id, "attempts", p.cfg.MaxAttempts)
		p.finished(id, store.StatusError)
	}
	if len(res.Requeued) > 0 {
		p.cfg.Logger.Info("requeued turns whose runner stopped", "turns", len(res.Requeued))
		_ = p.cfg.Bus.Runnable(ctx)
	}
}

// purgeEvery is how often expired idempotency keys are deleted.
const purgeEvery = 10 * time.Minute

func (p *Pool) purge(now time.Time) {
	ctx, cancel := context.WithTimeout(p.claimCtx, time.Minute)
	defer cancel()
	n, err := p.cfg.Store.PurgeIdempotencyKeys(ctx, now.Add(-p.cfg.IdempotencyTTL))
	if err != nil {
		if ctx.Err() == nil {
			p.cfg.Logger.Error("purge idempotency keys", "err", err)
		}
		return
	}
	if n > 0 {
		p.cfg.Logger.Info("purged expired idempotency keys", "keys", n)
	}
}

// finished announces a turn's end to its waiters and to the runners (the
// task's next turn may now be runnable).
func (p *Pool) finished(turnID string, status store.Status) {
	p.wake(turnID)
	if p.cfg.OnFinish != nil {
		p.cfg.OnFinish(status)
	}
}

// wake tells the waiters of turnID to look again, and the runners that the
// task's next turn may be runnable.
func (p *Pool) wake(turnID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.cfg.Bus.TurnDone(ctx, turnID); err != nil {
		p.cfg.Logger.Warn("announce turn end", "turn_id", turnID, "err", err)
	}
	_ = p.cfg.Bus.Runnable(ctx)
}

// dispatch claims as many turns as there are free slots, in one store call,
// and starts a run for each; it sleeps until a wake-up, a freed slot, or
// the poll period.
func (p *Pool) dispatch() {
	defer p.wg.Done()
	poll := time.NewTicker(p.cfg.PollEvery)
	defer poll.Stop()
	var running atomic.Int64
	for {
		free := p.cfg.Concurrency - int(running.Load())
		if free > 0 {
			claims, err := p.cfg.Store.ClaimTurns(p.claimCtx, p.cfg.Owner, p.cfg.Now(), p.cfg.Lease, free)
			if err != nil && p.claimCtx.Err() == nil {
				p.cfg.Logger.Error("claim turns", "err", err)
			}
			// Claims that committed are run even when shutdown began
			// meanwhile: the shutdown rules then release or abort them.
			for i := range claims {
				running.Add(1)
				p.runs.Add(1)
				go func(c store.Claim) {
					defer p.runs.Done()
					p.run(&c)
					running.Add(-1)
					select {
					case p.slotFree <- struct{}{}:
					default:
					}
				}(claims[i])
			}
			if p.claimCtx.Err() != nil {
				return
			}
			if len(claims) == free {
				continue // there may be more: claim again as soon as a slot frees
			}
		}
		select {
		case <-p.claimCtx.Done():
			return
		case <-p.cfg.Bus.RunnableC():
		case <-p.slotFree:
		case <-poll.C:
		}
	}
}

// finisher records the ends of turns, batching those that finish together
// into one store call, and announces them.
func (p *Pool) finisher() {
	defer close(p.finisherDone)
	batch := make([]finishRequest, 0, maxFinishBatch)
	params := make([]store.FinishTurnParams, 0, maxFinishBatch)
	for first := range p.finishes {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxFinishBatch {
			select {
			case r, ok := <-p.finishes:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		params = params[:0]
		for _, r := range batch {
			params = append(params, r.params)
		}
		errs, retried, err := p.finishWithRetry(params)
		for i, r := range batch {
			e := err
			if e == nil && i < len(errs) {
				e = errs[i]
			}
			switch {
			case e == nil:
				p.finished(r.params.TurnID, r.params.Status)
			case retried && errors.Is(e, store.ErrLeaseLost):
				// An earlier attempt may have committed before its answer
				// was lost; the waiters look again either way.
				p.wake(r.params.TurnID)
			}
			r.done <- e
		}
	}
}

// finishWithRetry records a batch of results, retrying a failure of the
// whole call (not a lost lease) a few times: giving up means the reaper
// re-runs turns that did finish. retried reports that the answer came from
// a retry, after a call whose outcome is unknown.
func (p *Pool) finishWithRetry(params []store.FinishTurnParams) (errs []error, retried bool, err error) {
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs, err := p.cfg.Store.FinishTurns(ctx, params)
		cancel()
		if err == nil || attempt == 4 {
			return errs, attempt > 1, err
		}
		p.cfg.Logger.Warn("record turn results; retrying", "turns", len(params), "attempt", attempt, "err", err)
		time.Sleep(wait)
		wait *= 4
	}
}

// run executes one claimed turn and records its outcome.
func (p *Pool) run(c *store.Claim) {
	log := p.cfg.Logger.With("turn_id", c.Turn.ID, "task_id", c.Turn.TaskID, "seq", c.Turn.Seq, "attempt", c.Attempt)
	ctx, cancel := context.WithCancel(p.runCtx)
	defer cancel()

	// The heartbeat goes on until the result is recorded, not only while
	// the runtime runs: a slow write must not let the lease lapse and the
	// reaper re-run a turn that finished.
	hbCtx, stopHeartbeat := context.WithCancel(context.Background())
	var lost sync.Once
	leaseLost := make(chan struct{})
	hbDone := make(chan struct{})
	defer func() { stopHeartbeat(); <-hbDone }()
	go func() {
		defer close(hbDone)
		t := time.NewTicker(p.cfg.HeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
			}
			hctx, hcancel := context.WithTimeout(context.Background(), p.cfg.HeartbeatEvery)
			err := p.cfg.Store.Heartbeat(hctx, c.Turn.ID, c.Owner, c.Attempt, p.cfg.Now().Add(p.cfg.Lease))
			hcancel()
			if errors.Is(err, store.ErrLeaseLost) {
				log.Warn("lease lost; stopping the turn")
				lost.Do(func() { close(leaseLost) })
				cancel()
				return
			}
			if err != nil {
				log.Warn("heartbeat", "err", err)
			}
		}
	}()

	budget, ok := agent.Budgets[c.Turn.Budget]
	if !ok {
		budget = agent.Budgets[agent.DefaultBudget]
	}
	req := agent.Request{
		TaskID: c.Turn.TaskID, TurnID: c.Turn.ID, Seq: c.Turn.Seq, WorkerID: c.Worker.ID,
		Instructions: c.Worker.Instructions, Input: c.Turn.Input, Budget: budget,
		History: make([]agent.Message, 0, 2*len(c.History)),
	}
	for _, h := range c.History {
		req.History = append(req.History, agent.Message{Role: "user", Content: h.Input})
		if h.OutputText != "" {
			req.History = append(req.History, agent.Message{Role: "assistant", Content: h.OutputText})
		}
	}

	start := time.Now()
	res, runErr := p.runSafely(ctx, req)
	elapsed := time.Since(start)
	cancel()

	select {
	case <-leaseLost:
		return // another runner owns the turn now
	default:
	}

	fin := store.FinishTurnParams{
		TurnID: c.Turn.ID, Owner: c.Owner, Attempt: c.Attempt,
		OutputText: res.OutputText, InputTokens: res.InputTokens, OutputTokens: res.OutputTokens,
		Credits: res.Credits, DurationMs: elapsed.Milliseconds(), Now: p.cfg.Now(),
	}
	if res.StructuredOutput != nil {
		if b, err := json.Marshal(res.StructuredOutput); err == nil {
			fin.StructuredOutput = b
		}
	}
	// Stopped by the shutdown only if the run returned because of it: a turn
	// that finished just before the grace ran out keeps its result.
	stopped := p.runCtx.Err() != nil && (errors.Is(runErr, context.Canceled) || res.Incomplete == agent.IncompleteShutdown)
	switch {
	case stopped && p.cfg.OnShutdown == ShutdownResume:
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer rcancel()
		if err := p.cfg.Store.ReleaseTurn(rctx, c.Turn.ID, c.Owner, c.Attempt); err != nil {
			log.Warn("release turn at shutdown", "err", err)
		}
		log.Info("turn released at shutdown; it will run again")
		return
	case stopped:
		fin.Status, fin.IncompleteReason = store.StatusAborted, agent.IncompleteShutdown
	case runErr != nil:
		fin.Status, fin.ErrorCode, fin.ErrorMessage = store.StatusError, "runtime_error", runErr.Error()
	case res.Incomplete != "":
		fin.Status, fin.IncompleteReason = store.StatusAborted, res.Incomplete
	default:
		fin.Status = store.StatusCompleted
	}
	done := make(chan error, 1)
	p.finishes <- finishRequest{params: fin, done: done}
	if err := <-done; err != nil {
		// The lease ran out or the store failed: the reaper re-runs the turn.
		log.Error("record turn result", "err", err)
		return
	}
	log.Debug("turn finished", "status", fin.Status, "duration_ms", fin.DurationMs)
}

// runSafely runs the runtime, turning a panic into a failed turn.
func (p *Pool) runSafely(ctx context.Context, req agent.Request) (res agent.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("runtime panicked: %v", r)
		}
	}()
	return p.cfg.Runtime.Run(ctx, req, nil)
}
