package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/handinger/handinger/store"
)

const lease = 30 * time.Second

func testQueue(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("ClaimNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.claimNone(t, t0)
	})

	t.Run("Claim", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		res := b.create(t, b.newTask(b.alice, "one", t0))
		c := b.claim(t, "runner-1", t0)
		if c.Owner != "runner-1" || c.Attempt != 1 || len(c.History) != 0 {
			t.Errorf("claim = %+v", c)
		}
		if c.Turn.ID != res.Turn.ID || c.Turn.Status != store.StatusRunning || c.Turn.Attempts != 1 {
			t.Errorf("claimed turn = %+v", c.Turn)
		}
		if c.Worker != res.Worker {
			t.Errorf("claim.Worker = %+v, want %+v", c.Worker, res.Worker)
		}
		if got := b.turn(t, c.Turn.ID); got.Status != store.StatusRunning || got.Attempts != 1 {
			t.Errorf("GetTurn after claim = %+v", got)
		}
		if got := b.task(t, "org-a", res.Task.ID); got.Status != store.StatusRunning {
			t.Errorf("task status after claim = %s, want running", got.Status)
		}
		b.claimNone(t, t0)
	})

	t.Run("ClaimsOldestFirstAcrossOrgs", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		want := []string{
			b.create(t, b.newTask(b.alice, "1", t0)).Turn.ID,
			b.create(t, b.newTask(b.carol, "2", t0)).Turn.ID,
			b.create(t, b.newTask(b.bob, "3", t0)).Turn.ID,
		}
		var got []string
		for range want {
			got = append(got, b.claim(t, "r", t0).Turn.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("claimed %v, want %v", got, want)
		}
		b.claimNone(t, t0)
	})

	t.Run("TurnsOfATaskRunInOrder", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		a1 := b.create(t, b.newTask(b.alice, "a1", t0))
		a2 := b.create(t, b.followUp(b.alice, a1.Task.ID, "a2", t0))
		other := b.create(t, b.newTask(b.alice, "b1", t0))

		c := b.claim(t, "r", t0)
		if c.Turn.ID != a1.Turn.ID {
			t.Fatalf("first claim = %s, want a1", c.Turn.Input)
		}
		// a1 pending again: still a1 first, a2 still waits.
		if err := b.st.ReleaseTurn(b.ctx, c.Turn.ID, c.Owner, c.Attempt); err != nil {
			t.Fatal(err)
		}
		if c = b.claim(t, "r", t0); c.Turn.ID != a1.Turn.ID {
			t.Fatalf("claim after release = %s, want a1", c.Turn.Input)
		}
		// a1 running: a2 waits, b1 goes ahead.
		if got := b.claim(t, "r", t0); got.Turn.ID != other.Turn.ID {
			t.Fatalf("claim while a1 runs = %s, want b1", got.Turn.Input)
		}
		b.claimNone(t, t0)

		b.finish(t, c, t0.Add(time.Second), 1, 1)
		c2 := b.claim(t, "r", t0.Add(time.Second))
		if c2.Turn.ID != a2.Turn.ID || c2.Turn.Seq != 2 {
			t.Fatalf("claim after a1 ended = %+v, want a2", c2.Turn)
		}
		if len(c2.History) != 1 || c2.History[0].ID != a1.Turn.ID ||
			c2.History[0].Status != store.StatusCompleted || c2.History[0].OutputText != "done: a1" {
			t.Errorf("History = %+v, want a1 completed", c2.History)
		}
	})

	t.Run("ConcurrentClaimersNeverShareATurn", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		const n = 20
		for i := range n {
			b.create(t, b.newTask(b.alice, fmt.Sprint(i), t0))
		}
		var (
			mu      sync.Mutex
			claimed = map[string]string{}
			wg      sync.WaitGroup
		)
		for r := range 8 {
			owner := fmt.Sprintf("runner-%d", r)
			wg.Go(func() {
				for {
					c, err := b.st.ClaimTurn(b.ctx, owner, t0, lease)
					if err != nil {
						t.Errorf("ClaimTurn: %v", err)
						return
					}
					if c == nil {
						return
					}
					mu.Lock()
					if prev, ok := claimed[c.Turn.ID]; ok {
						t.Errorf("turn %s claimed by %s and %s", c.Turn.ID, prev, owner)
					}
					claimed[c.Turn.ID] = owner
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(claimed) != n {
			t.Errorf("claimed %d turns, want %d", len(claimed), n)
		}
	})

	t.Run("Fencing", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.create(t, b.newTask(b.alice, "one", t0))
		stale := b.claim(t, "runner-a", t0)

		reaped, err := b.st.ReapExpired(b.ctx, t0.Add(lease+time.Second), 3)
		if err != nil || !slices.Equal(reaped.Requeued, []string{stale.Turn.ID}) || len(reaped.Failed) != 0 {
			t.Fatalf("ReapExpired = %+v, %v", reaped, err)
		}
		fresh := b.claim(t, "runner-b", t0.Add(lease+2*time.Second))
		if fresh.Turn.ID != stale.Turn.ID || fresh.Attempt != 2 {
			t.Fatalf("re-claim = %+v", fresh)
		}

		finish := func(owner string, attempt int) error {
			return b.st.FinishTurn(b.ctx, store.FinishTurnParams{
				TurnID: stale.Turn.ID, Owner: owner, Attempt: attempt, Status: store.StatusCompleted,
				OutputText: "by " + owner, Now: t0.Add(time.Minute),
			})
		}
		wantErr(t, "stale finish", finish("runner-a", 1), store.ErrLeaseLost)
		wantErr(t, "finish by another owner at the current attempt", finish("runner-a", 2), store.ErrLeaseLost)
		wantErr(t, "stale heartbeat", b.st.Heartbeat(b.ctx, stale.Turn.ID, "runner-a", 1, t0.Add(time.Hour)), store.ErrLeaseLost)
		wantErr(t, "stale release", b.st.ReleaseTurn(b.ctx, stale.Turn.ID, "runner-a", 1), store.ErrLeaseLost)
		wantErr(t, "heartbeat of an unknown turn", b.st.Heartbeat(b.ctx, "no-such-turn", "runner-a", 1, t0), store.ErrLeaseLost)

		if err := finish("runner-b", 2); err != nil {
			t.Fatalf("finish by the holder: %v", err)
		}
		wantErr(t, "second finish", finish("runner-b", 2), store.ErrLeaseLost)
		wantErr(t, "heartbeat after finish", b.st.Heartbeat(b.ctx, stale.Turn.ID, "runner-b", 2, t0.Add(time.Hour)), store.ErrLeaseLost)
		if got := b.turn(t, stale.Turn.ID); got.OutputText != "by runner-b" || got.Status != store.StatusCompleted {
			t.Errorf("turn = %+v, want runner-b's result", got)
		}
	})

	t.Run("FencingBySameOwner", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.create(t, b.newTask(b.alice, "one", t0))
		stale := b.claim(t, "r", t0)
		if _, err := b.st.ReapExpired(b.ctx, t0.Add(time.Hour), 3); err != nil {
			t.Fatal(err)
		}
		// The same runner name claims again, as after a restart: only the
		// attempt tells the claims apart.
		fresh := b.claim(t, "r", t0.Add(time.Hour))
		if fresh.Turn.ID != stale.Turn.ID || fresh.Attempt != 2 {
			t.Fatalf("re-claim = %+v", fresh)
		}
		p := store.FinishTurnParams{TurnID: stale.Turn.ID, Owner: "r", Attempt: 1,
			Status: store.StatusCompleted, Now: t0.Add(time.Hour)}
		wantErr(t, "stale finish", b.st.FinishTurn(b.ctx, p), store.ErrLeaseLost)
		wantErr(t, "stale heartbeat", b.st.Heartbeat(b.ctx, stale.Turn.ID, "r", 1, t0.Add(2*time.Hour)), store.ErrLeaseLost)
		wantErr(t, "stale release", b.st.ReleaseTurn(b.ctx, stale.Turn.ID, "r", 1), store.ErrLeaseLost)
		p.Attempt = 2
		if err := b.st.FinishTurn(b.ctx, p); err != nil {
			t.Fatalf("finish at the current attempt: %v", err)
		}
	})

	t.Run("HeartbeatExtendsTheLease", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.create(t, b.newTask(b.alice, "one", t0))
		c := b.claim(t, "r", t0) // lease until t0+30s
		if err := b.st.Heartbeat(b.ctx, c.Turn.ID, "r", c.Attempt, t0.Add(90*time.Second)); err != nil {
			t.Fatal(err)
		}
		reaped, err := b.st.ReapExpired(b.ctx, t0.Add(60*time.Second), 3)
		if err != nil || len(reaped.Requeued)+len(reaped.Failed) != 0 {
			t.Fatalf("ReapExpired within the extended lease = %+v, %v", reaped, err)
		}
		if got := b.turn(t, c.Turn.ID); got.Status != store.StatusRunning {
			t.Errorf("status = %s, want running", got.Status)
		}
		// A lease ending exactly now has not ended before now.
		reaped, err = b.st.ReapExpired(b.ctx, t0.Add(90*time.Second), 3)
		if err != nil || len(reaped.Requeued) != 0 {
			t.Fatalf("ReapExpired at the lease's end = %+v, %v", reaped, err)
		}
		reaped, err = b.st.ReapExpired(b.ctx, t0.Add(91*time.Second), 3)
		if err != nil || !slices.Equal(reaped.Requeued, []string{c.Turn.ID}) {
			t.Fatalf("ReapExpired after the extended lease = %+v, %v", reaped, err)
		}
	})

	t.Run("ReapRequeues", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		res := b.create(t, b.newTask(b.alice, "one", t0))
		b.create(t, b.newTask(b.alice, "two", t0))
		expired := b.claim(t, "r", t0)
		live := b.claim(t, "r", t0.Add(20*time.Second))

		reaped, err := b.st.ReapExpired(b.ctx, t0.Add(lease+time.Second), 3)
		if err != nil || !slices.Equal(reaped.Requeued, []string{expired.Turn.ID}) || len(reaped.Failed) != 0 {
			t.Fatalf("ReapExpired = %+v, %v", reaped, err)
		}
		got := b.turn(t, expired.Turn.ID)
		if got.Status != store.StatusPending || got.Attempts != 1 || got.CompletedAt != nil {
			t.Errorf("requeued turn = %+v", got)
		}
		if task := b.task(t, "org-a", res.Task.ID); task.Status != store.StatusPending {
			t.Errorf("task of the requeued turn: Status = %s, want pending", task.Status)
		}
		if got := b.turn(t, live.Turn.ID); got.Status != store.StatusRunning {
			t.Errorf("turn with a live lease: Status = %s, want running", got.Status)
		}
		if c := b.claim(t, "r2", t0.Add(time.Minute)); c.Turn.ID != expired.Turn.ID || c.Attempt != 2 {
			t.Errorf("re-claim = %+v", c)
		}
	})

	t.Run("ReapEndsExhaustedTurns", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		res := b.create(t, b.newTask(b.alice, "one", t0))
		now := t0
		for attempt := 1; attempt <= 2; attempt++ {
			c := b.claim(t, "r", now)
			if c.Attempt != attempt {
				t.Fatalf("claim %d: Attempt = %d", attempt, c.Attempt)
			}
			// A lease ending exactly now has not ended before now.
			reaped, err := b.st.ReapExpired(b.ctx, now.Add(lease), 2)
			if err != nil || len(reaped.Requeued)+len(reaped.Failed) != 0 {
				t.Fatalf("reap at the lease's end = %+v, %v", reaped, err)
			}
			now = now.Add(time.Minute)
			reaped, err = b.st.ReapExpired(b.ctx, now, 2)
			if err != nil {
				t.Fatal(err)
			}
			requeued, failed := reaped.Requeued, reaped.Failed
			if attempt == 2 {
				requeued, failed = failed, requeued
			}
			if !slices.Equal(requeued, []string{res.Turn.ID}) || len(failed) != 0 {
				t.Fatalf("reap after attempt %d = %+v", attempt, reaped)
			}
		}
		got := b.turn(t, res.Turn.ID)
		if got.Status != store.StatusError || got.ErrorCode != "attempts_exhausted" || got.ErrorMessage == "" ||
			got.Attempts != 2 {
			t.Errorf("exhausted turn = %+v", got)
		}
		wantCompletedAt(t, "turn CompletedAt", got.CompletedAt, &now)
		task := b.task(t, "org-a", res.Task.ID)
		if task.Status != store.StatusError {
			t.Errorf("task Status = %s, want error", task.Status)
		}
		wantCompletedAt(t, "task CompletedAt", task.CompletedAt, &now)
		if st := b.stats(t); st != (store.QueueStats{}) {
			t.Errorf("QueueStats = %+v, want zero", st)
		}
		b.claimNone(t, now)
	})

	t.Run("Release", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		res := b.create(t, b.newTask(b.alice, "one", t0))
		c := b.claim(t, "r", t0)
		if err := b.st.ReleaseTurn(b.ctx, c.Turn.ID, "r", c.Attempt); err != nil {
			t.Fatal(err)
		}
		if got := b.turn(t, c.Turn.ID); got.Status != store.StatusPending || got.Attempts != 0 {
			t.Errorf("released turn = %+v", got)
		}
		if task := b.task(t, "org-a", res.Task.ID); task.Status != store.StatusPending {
			t.Errorf("task Status = %s, want pending", task.Status)
		}
		wantErr(t, "second release", b.st.ReleaseTurn(b.ctx, c.Turn.ID, "r", c.Attempt), store.ErrLeaseLost)
		if c = b.claim(t, "r", t0); c.Attempt != 1 {
			t.Errorf("claim after release: Attempt = %d, want 1", c.Attempt)
		}
	})

	t.Run("QueueStats", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		if st := b.stats(t); st != (store.QueueStats{}) {
			t.Errorf("empty QueueStats = %+v", st)
		}
		b.create(t, b.newTask(b.alice, "one", t0))
		b.create(t, b.newTask(b.carol, "two", t0))
		b.create(t, b.newTask(b.alice, "three", t0))
		c := b.claim(t, "r", t0)
		if st := b.stats(t); st != (store.QueueStats{Pending: 2, Running: 1}) {
			t.Errorf("QueueStats = %+v, want 2 pending, 1 running", st)
		}
		b.finish(t, c, t0, 0, 0)
		if st := b.stats(t); st != (store.QueueStats{Pending: 2}) {
			t.Errorf("QueueStats = %+v, want 2 pending", st)
		}
	})
}
