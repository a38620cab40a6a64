package runner

import (
	"context"
	"time"

	"github.com/handinger/handinger/internal/store"
)

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
