package runner

import (
	"sync/atomic"
	"time"

	"github.com/handinger/handinger/internal/store"
)

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
