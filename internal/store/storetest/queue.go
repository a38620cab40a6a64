package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/store"
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
		if got := b.turn(t, c.Turn); got.Status != store.StatusRunning || got.Attempts != 1 {
			t.Errorf("turn after claim = %+v", got)
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
					c, err := b.claimOne(owner, t0)
					if err != nil {
						t.Errorf("claim: %v", err)
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
			return b.finishOne(store.FinishTurnParams{
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
		if got := b.turn(t, stale.Turn); got.OutputText != "by runner-b" || got.Status != store.StatusCompleted {
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
		wantErr(t, "stale finish", b.finishOne(p), store.ErrLeaseLost)
		wantErr(t, "stale heartbeat", b.st.Heartbeat(b.ctx, stale.Turn.ID, "r", 1, t0.Add(2*time.Hour)), store.ErrLeaseLost)
		wantErr(t, "stale release", b.st.ReleaseTurn(b.ctx, stale.Turn.ID, "r", 1), store.ErrLeaseLost)
		p.Attempt = 2
		if err := b.finishOne(p); err != nil {
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
		if got := b.turn(t, c.Turn); got.Status != store.StatusRunning {
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
		got := b.turn(t, expired.Turn)
		if got.Status != store.StatusPending || got.Attempts != 1 || got.CompletedAt != nil {
			t.Errorf("requeued turn = %+v", got)
		}
		if task := b.task(t, "org-a", res.Task.ID); task.Status != store.StatusPending {
			t.Errorf("task of the requeued turn: Status = %s, want pending", task.Status)
		}
		if got := b.turn(t, live.Turn); got.Status != store.StatusRunning {
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
		got := b.turn(t, res.Turn)
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
		if got := b.turn(t, c.Turn); got.Status != store.StatusPending || got.Attempts != 0 {
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

// testQueueBatch tests ClaimTurns and FinishTurns, the batch forms of
// ClaimTurn and FinishTurn.
func testQueueBatch(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("ClaimTurns", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		a1 := b.create(t, b.newTask(b.alice, "a1", t0))
		a2 := b.create(t, b.followUp(b.alice, a1.Task.ID, "a2", t0))
		b1 := b.create(t, b.newTask(b.carol, "b1", t0))
		c1 := b.create(t, b.newTask(b.bob, "c1", t0))
		d1 := b.create(t, b.newTask(b.alice, "d1", t0))

		// a2 waits for a1: the oldest three runnable turns are a1, b1, c1.
		claims := b.claimTurns(t, "runner-1", t0, 3)
		if got, want := turnIDs(claims), []string{a1.Turn.ID, b1.Turn.ID, c1.Turn.ID}; !slices.Equal(got, want) {
			t.Fatalf("ClaimTurns(3) = %v, want %v", got, want)
		}
		for i, res := range []store.CreateTurnResult{a1, b1, c1} {
			c := claims[i]
			if c.Owner != "runner-1" || c.Attempt != 1 || c.Turn.Status != store.StatusRunning ||
				c.Turn.Attempts != 1 || len(c.History) != 0 {
				t.Errorf("claim %d = %+v", i, c)
			}
			if c.Worker != res.Worker {
				t.Errorf("claim %d: Worker = %+v, want %+v", i, c.Worker, res.Worker)
			}
			if got := b.turn(t, c.Turn); got.Status != store.StatusRunning || got.Attempts != 1 {
				t.Errorf("turn %s after the claim = %+v", c.Turn.ID, got)
			}
		}
		// A task speaks for its latest turn: a's is a2, still pending.
		for _, tc := range []struct {
			org  string
			res  store.CreateTurnResult
			want store.Status
		}{
			{"org-a", a1, store.StatusPending},
			{"org-b", b1, store.StatusRunning},
			{"org-a", c1, store.StatusRunning},
			{"org-a", d1, store.StatusPending},
		} {
			if got := b.task(t, tc.org, tc.res.Task.ID); got.Status != tc.want {
				t.Errorf("task of %s: Status = %s, want %s", tc.res.Turn.Input, got.Status, tc.want)
			}
		}
		if st := b.stats(t); st != (store.QueueStats{Pending: 2, Running: 3}) {
			t.Errorf("QueueStats = %+v, want 2 pending, 3 running", st)
		}

		if got := turnIDs(b.claimTurns(t, "runner-2", t0, 10)); !slices.Equal(got, []string{d1.Turn.ID}) {
			t.Fatalf("ClaimTurns(10) while a1 runs = %v, want [d1]", got)
		}
		if got := b.claimTurns(t, "runner-2", t0, 10); len(got) != 0 {
			t.Fatalf("ClaimTurns with nothing runnable = %v, want none", turnIDs(got))
		}

		b.finish(t, &claims[0], t0.Add(time.Second), 1, 1)
		next := b.claimTurns(t, "runner-2", t0.Add(time.Second), 10)
		if len(next) != 1 || next[0].Turn.ID != a2.Turn.ID || next[0].Turn.Seq != 2 {
			t.Fatalf("ClaimTurns after a1 ended = %v, want [a2]", turnIDs(next))
		}
		if h := next[0].History; len(h) != 1 || h[0].ID != a1.Turn.ID || h[0].Status != store.StatusCompleted ||
			h[0].OutputText != "done: a1" {
			t.Errorf("History of a2 = %+v, want a1 completed", h)
		}
		if next[0].Worker != a1.Worker {
			t.Errorf("Worker of a2 = %+v, want %+v", next[0].Worker, a1.Worker)
		}
		if got := b.task(t, "org-a", a1.Task.ID); got.Status != store.StatusRunning {
			t.Errorf("task of a2 after its claim: Status = %s, want running", got.Status)
		}
	})

	// One claim never takes two turns of a task, however many it may take:
	// the rounds of a task's turns follow each other.
	t.Run("ClaimTurnsTakesOneTurnPerTask", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		x := b.create(t, b.newTask(b.alice, "x1", t0))
		y := b.create(t, b.newTask(b.carol, "y1", t0))
		b.create(t, b.followUp(b.alice, x.Task.ID, "x2", t0))
		b.create(t, b.followUp(b.carol, y.Task.ID, "y2", t0))
		b.create(t, b.followUp(b.alice, x.Task.ID, "x3", t0))
		z := b.create(t, b.newTask(b.bob, "z1", t0))
		b.create(t, b.followUp(b.bob, z.Task.ID, "z2", t0))

		want := [][]string{{"x1", "y1", "z1"}, {"x2", "y2", "z2"}, {"x3"}, {}}
		now := t0
		for round, inputs := range want {
			claims := b.claimTurns(t, "r", now, 10)
			var got []string
			for _, c := range claims {
				got = append(got, c.Turn.Input)
				if len(c.History) != c.Turn.Seq-1 {
					t.Errorf("round %d: %s has %d turns of history", round, c.Turn.Input, len(c.History))
				}
			}
			if !slices.Equal(got, inputs) {
				t.Fatalf("round %d: ClaimTurns(10) = %v, want %v", round, got, inputs)
			}
			now = now.Add(time.Second)
			for i := range claims {
				b.finish(t, &claims[i], now, 1, 1)
			}
		}
	})

	// Organizations take turns: each one's oldest runnable turn before
	// any organization's second, whatever the order of acceptance.
	t.Run("ClaimTurnsTakesOrganizationsInTurn", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		for i := range 8 {
			b.create(t, b.newTask(b.alice, fmt.Sprint("a", i), t0))
		}
		for i := range 2 {
			b.create(t, b.newTask(b.carol, fmt.Sprint("c", i), t0))
		}
		// Two organizations queue: a claim of 4 takes up to 2 of each
		// (store.RoundShare), ranked by place in their queue.
		if got, want := inputs(b.claimTurns(t, "r", t0, 4)), []string{"a0", "a1", "c0", "c1"}; !slices.Equal(got, want) {
			t.Fatalf("ClaimTurns(4) = %v, want %v", got, want)
		}
		// Only org-a queues now: a claim takes all it asks for.
		if got, want := inputs(b.claimTurns(t, "r", t0, 3)), []string{"a2", "a3", "a4"}; !slices.Equal(got, want) {
			t.Fatalf("ClaimTurns(3) with one organization queued = %v, want %v", got, want)
		}
		// Newcomers take their turn ahead of org-a's older a7: the claim
		// ranks a5 and c2 (first in their queues), then a6 and c3, and
		// keeps three, in acceptance order.
		b.create(t, b.newTask(b.carol, "c2", t0))
		b.create(t, b.newTask(b.carol, "c3", t0))
		if got, want := inputs(b.claimTurns(t, "r", t0, 3)), []string{"a5", "a6", "c2"}; !slices.Equal(got, want) {
			t.Fatalf("ClaimTurns(3) = %v, want %v", got, want)
		}
	})

	// Share.PerOrg bounds what the claimer holds of one organization,
	// counting what it held before the claim, even when no other
	// organization waits; another organization's turns still fit.
	t.Run("ClaimTurnsKeepsThePerOrganizationCap", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		for i := range 5 {
			b.create(t, b.newTask(b.alice, fmt.Sprint("a", i), t0))
		}
		share := store.Share{PerOrg: 3, Held: map[string]int{"org-a": 1}}
		if got, want := inputs(b.claimShare(t, "r", t0, 8, share)), []string{"a0", "a1"}; !slices.Equal(got, want) {
			t.Fatalf("ClaimTurns(8) holding 1 of org-a, cap 3 = %v, want %v", got, want)
		}
		share.Held["org-a"] = 3
		if got := inputs(b.claimShare(t, "r", t0, 8, share)); len(got) != 0 {
			t.Fatalf("ClaimTurns at org-a's cap = %v, want none", got)
		}
		b.create(t, b.newTask(b.carol, "c0", t0))
		if got, want := inputs(b.claimShare(t, "r", t0, 8, share)), []string{"c0"}; !slices.Equal(got, want) {
			t.Fatalf("ClaimTurns at org-a's cap with org-b queued = %v, want %v", got, want)
		}
		// Another claimer holds nothing: its own cap applies.
		if got, want := inputs(b.claimShare(t, "r2", t0, 8, store.Share{PerOrg: 2})), []string{"a2", "a3"}; !slices.Equal(got, want) {
			t.Fatalf("ClaimTurns(8) of a second claimer, cap 2 = %v, want %v", got, want)
		}
		if st := b.stats(t); st != (store.QueueStats{Pending: 1, Running: 5}) {
			t.Errorf("QueueStats = %+v, want 1 pending, 5 running", st)
		}
	})

	t.Run("ClaimTurnsMax", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		for i := range 3 {
			b.create(t, b.newTask(b.alice, fmt.Sprint(i), t0))
		}
		for _, max := range []int{0, -1} {
			claims, err := b.st.ClaimTurns(b.ctx, "r", t0, lease, max, store.Share{})
			if err != nil || len(claims) != 0 {
				t.Errorf("ClaimTurns(%d) = %v, %v; want none", max, turnIDs(claims), err)
			}
		}
		if got := b.claimTurns(t, "r", t0, 1); len(got) != 1 || got[0].Turn.Input != "0" {
			t.Errorf("ClaimTurns(1) = %v, want the first turn", turnIDs(got))
		}
		if got := b.claimTurns(t, "r", t0, 5); len(got) != 2 {
			t.Errorf("ClaimTurns(5) = %v, want the other two", turnIDs(got))
		}
		if st := b.stats(t); st != (store.QueueStats{Running: 3}) {
			t.Errorf("QueueStats = %+v, want 3 running", st)
		}
	})

	t.Run("ConcurrentClaimTurnsNeverShareATurn", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		const n = 40
		order := map[string]int{} // turn id → acceptance order
		for i := range n {
			order[b.create(t, b.newTask(b.alice, fmt.Sprint(i), t0)).Turn.ID] = i
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
					claims, err := b.st.ClaimTurns(b.ctx, owner, t0, lease, 3, store.Share{})
					if err != nil {
						t.Errorf("ClaimTurns: %v", err)
						return
					}
					if len(claims) == 0 {
						return
					}
					if len(claims) > 3 {
						t.Errorf("ClaimTurns(3) = %d claims", len(claims))
					}
					mu.Lock()
					for i, c := range claims {
						if prev, ok := claimed[c.Turn.ID]; ok {
							t.Errorf("turn %s claimed by %s and %s", c.Turn.ID, prev, owner)
						}
						claimed[c.Turn.ID] = owner
						if i > 0 && order[c.Turn.ID] < order[claims[i-1].Turn.ID] {
							t.Errorf("ClaimTurns = %v, not in acceptance order", turnIDs(claims))
						}
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(claimed) != n {
			t.Errorf("claimed %d turns, want %d", len(claimed), n)
		}
	})

	// A batch records its items that still hold their claim, as if each were
	// finished alone in its order, and refuses the others one by one.
	t.Run("FinishTurns", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		// e has a finished turn before the batch, and f a turn waiting
		// after the one the batch finishes.
		e := b.create(t, b.newTask(b.alice, "e1", t0))
		b.finish(t, b.claim(t, "r", t0), t0, 5, 50)
		e2res := b.create(t, b.followUp(b.alice, e.Task.ID, "e2", t0))
		a := b.create(t, b.newTask(b.alice, "a", t0))
		s := b.create(t, b.newTask(b.carol, "s", t0))
		f := b.create(t, b.newTask(b.bob, "f1", t0))
		o := b.create(t, b.newTask(b.alice, "o", t0))

		claims := b.claimTurns(t, "r", t0, 10)
		if got, want := turnIDs(claims), []string{e2res.Turn.ID, a.Turn.ID, s.Turn.ID, f.Turn.ID, o.Turn.ID}; !slices.Equal(got, want) {
			t.Fatalf("ClaimTurns = %v, want %v", got, want)
		}
		e2, ca, stale, f1, co := claims[0], claims[1], claims[2], claims[3], claims[4]
		f2 := b.create(t, b.followUp(b.bob, f.Task.ID, "f2", t0))

		// s's lease expires while the others are extended; another runner
		// takes s over.
		for _, c := range []store.Claim{e2, ca, f1, co} {
			if err := b.st.Heartbeat(b.ctx, c.Turn.ID, c.Owner, c.Attempt, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		reaped, err := b.st.ReapExpired(b.ctx, t0.Add(lease+time.Second), 3)
		if err != nil || !slices.Equal(reaped.Requeued, []string{s.Turn.ID}) {
			t.Fatalf("ReapExpired = %+v, %v", reaped, err)
		}
		fresh := b.claim(t, "r2", t0.Add(time.Minute))
		if fresh.Turn.ID != s.Turn.ID || fresh.Attempt != 2 {
			t.Fatalf("re-claim = %+v", fresh)
		}

		done := t0.Add(2 * time.Minute)
		item := func(c store.Claim, status store.Status, credits int64) store.FinishTurnParams {
			return store.FinishTurnParams{
				TurnID: c.Turn.ID, Owner: c.Owner, Attempt: c.Attempt, Status: status,
				OutputText: "batch: " + c.Turn.Input, Credits: credits, DurationMs: 10 * credits, Now: done,
			}
		}
		wrongOwner := item(co, store.StatusCompleted, 1)
		wrongOwner.Owner = "someone-else"
		batch := []store.FinishTurnParams{
			item(e2, store.StatusCompleted, 2),
			item(stale, store.StatusCompleted, 100),
			item(ca, store.StatusError, 3),
			wrongOwner,
			item(ca, store.StatusCompleted, 100), // a's second end: its claim ended with the first
			item(f1, store.StatusAborted, 4),
			item(co, store.StatusRunning, 100), // not an end
		}
		errs, err := b.st.FinishTurns(b.ctx, batch)
		if err != nil {
			t.Fatalf("FinishTurns: %v", err)
		}
		if len(errs) != len(batch) {
			t.Fatalf("FinishTurns returned %d errors for %d items", len(errs), len(batch))
		}
		for i, want := range []error{nil, store.ErrLeaseLost, nil, store.ErrLeaseLost, store.ErrLeaseLost, nil} {
			if !errors.Is(errs[i], want) {
				t.Errorf("errs[%d] (turn %s) = %v, want %v", i, batch[i].TurnID, errs[i], want)
			}
		}
		if errs[6] == nil || errors.Is(errs[6], store.ErrLeaseLost) {
			t.Errorf("errs[6], a finish to running, = %v, want an error other than ErrLeaseLost", errs[6])
		}

		for _, tc := range []struct {
			turn   store.Turn
			status store.Status
			output string
		}{
			{e2.Turn, store.StatusCompleted, "batch: e2"},
			{a.Turn, store.StatusError, "batch: a"},
			{f1.Turn, store.StatusAborted, "batch: f1"},
			{s.Turn, store.StatusRunning, ""},
			{o.Turn, store.StatusRunning, ""},
			{f2.Turn, store.StatusPending, ""},
		} {
			got := b.turn(t, tc.turn)
			if got.Status != tc.status || got.OutputText != tc.output {
				t.Errorf("turn %s = %s %q, want %s %q", got.Input, got.Status, got.OutputText, tc.status, tc.output)
			}
		}
		for _, tc := range []struct {
			org       string
			task      string
			status    store.Status
			completed *time.Time
			credits   int64
		}{
			{"org-a", e.Task.ID, store.StatusCompleted, &done, 7}, // 5 before, 2 now
			{"org-a", a.Task.ID, store.StatusError, &done, 3},
			{"org-b", s.Task.ID, store.StatusRunning, nil, 0},
			{"org-a", f.Task.ID, store.StatusPending, nil, 4}, // f2 is its latest turn
			{"org-a", o.Task.ID, store.StatusRunning, nil, 0},
		} {
			got := b.task(t, tc.org, tc.task)
			if got.Status != tc.status || got.Credits != tc.credits || got.DurationMs != 10*tc.credits {
				t.Errorf("task %s = %s, %d credits, %d ms; want %s, %d, %d",
					tc.task, got.Status, got.Credits, got.DurationMs, tc.status, tc.credits, 10*tc.credits)
			}
			wantCompletedAt(t, "task "+tc.task+" CompletedAt", got.CompletedAt, tc.completed)
		}
		if st := b.stats(t); st != (store.QueueStats{Pending: 1, Running: 2}) {
			t.Errorf("QueueStats = %+v, want f2 pending, s and o running", st)
		}

		// The refused claims are still held by their holders.
		errs, err = b.st.FinishTurns(b.ctx, []store.FinishTurnParams{
			item(*fresh, store.StatusCompleted, 6), item(co, store.StatusCompleted, 1),
		})
		if err != nil || len(errs) != 2 || errs[0] != nil || errs[1] != nil {
			t.Fatalf("FinishTurns of the held claims = %v, %v", errs, err)
		}
		if got := b.turn(t, s.Turn); got.OutputText != "batch: s" || got.Attempts != 2 {
			t.Errorf("turn s = %+v, want the second claim's result", got)
		}
		if got := b.task(t, "org-b", s.Task.ID); got.Status != store.StatusCompleted || got.Credits != 6 {
			t.Errorf("task s = %+v, want completed with 6 credits", got)
		}
		if got := b.claimTurns(t, "r", done, 10); len(got) != 1 || got[0].Turn.ID != f2.Turn.ID {
			t.Errorf("ClaimTurns after the batches = %v, want [f2]", turnIDs(got))
		}
	})

	t.Run("FinishTurnsEmpty", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		for _, batch := range [][]store.FinishTurnParams{nil, {}} {
			errs, err := b.st.FinishTurns(b.ctx, batch)
			if err != nil || len(errs) != 0 {
				t.Errorf("FinishTurns(%#v) = %v, %v; want no errors", batch, errs, err)
			}
		}
	})

	t.Run("FinishTurnsAllStale", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		res := b.create(t, b.newTask(b.alice, "one", t0))
		c := b.claim(t, "r", t0)
		p := store.FinishTurnParams{TurnID: c.Turn.ID, Owner: "r", Attempt: c.Attempt + 1,
			Status: store.StatusCompleted, Credits: 1, Now: t0}
		unknown := p
		unknown.TurnID = "no-such-turn"
		errs, err := b.st.FinishTurns(b.ctx, []store.FinishTurnParams{p, unknown})
		if err != nil || len(errs) != 2 {
			t.Fatalf("FinishTurns = %v, %v", errs, err)
		}
		for i, err := range errs {
			wantErr(t, fmt.Sprint("errs[", i, "]"), err, store.ErrLeaseLost)
		}
		if got := b.task(t, "org-a", res.Task.ID); got.Status != store.StatusRunning || got.Credits != 0 {
			t.Errorf("task after a refused batch = %+v", got)
		}
	})
}
