package runner

import (
	"maps"
	"sync"
	"time"

	"github.com/handinger/handinger/internal/store"
)

// dispatch claims as many turns as there are free slots, in one store call,
// and starts a run for each; it sleeps until a wake-up, a freed slot, or
// the poll period. Each claim carries what the pool runs of each
// organization, so that none exceeds Config.PerOrg.
func (p *Pool) dispatch() {
	defer p.wg.Done()
	poll := time.NewTicker(p.cfg.PollEvery)
	defer poll.Stop()
	held := &holdings{byOrg: map[string]int{}}
	for {
		share, running := held.share(p.cfg.PerOrg)
		free := p.cfg.Concurrency - running
		if free > 0 {
			claims, err := p.cfg.Store.ClaimTurns(p.claimCtx, p.cfg.Owner, p.cfg.Now(), p.cfg.Lease, free, share)
			if err != nil && p.claimCtx.Err() == nil {
				p.cfg.Logger.Error("claim turns", "err", err)
			}
			// Claims that committed are run even when shutdown began
			// meanwhile: the shutdown rules then release or abort them.
			for i := range claims {
				org := claims[i].Turn.OrgID
				held.add(org, 1)
				p.runs.Add(1)
				go func(c store.Claim) {
					defer p.runs.Done()
					p.run(&c)
					held.add(org, -1)
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

// holdings counts the turns the pool runs, by organization.
type holdings struct {
	mu      sync.Mutex
	byOrg   map[string]int
	running int
}

// add counts n more (or, negative, fewer) running turns of org.
func (h *holdings) add(org string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running += n
	if h.byOrg[org] += n; h.byOrg[org] <= 0 {
		delete(h.byOrg, org)
	}
}

// share is the claim share for a cap of perOrg, with a copy of the
// holdings, and the number of turns running.
func (h *holdings) share(perOrg int) (store.Share, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return store.Share{PerOrg: perOrg, Held: maps.Clone(h.byOrg)}, h.running
}
