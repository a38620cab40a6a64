package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/store"
)

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
		History: store.Conversation(c.History),
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
		fin.Status, fin.ErrorCode, fin.ErrorMessage = store.StatusError, agent.ErrorCode(runErr), runErr.Error()
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
