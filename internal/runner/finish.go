package runner

import (
	"context"
	"errors"
	"time"

	"github.com/handinger/handinger/internal/store"
)

// finishRequest asks the finisher to record a turn's end.
type finishRequest struct {
	params store.FinishTurnParams
	done   chan error
}

// maxFinishBatch caps how many results one FinishTurns call records.
const maxFinishBatch = 64

// finished announces a turn's end to its waiters and to the runners (the
// task's next turn may now be runnable).
func (p *Pool) finished(turnID string, status store.Status) {
	p.wake(turnID)
	p.cfg.Metrics.finished(status)
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
