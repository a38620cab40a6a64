package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/postgres"
	"github.com/handinger/handinger/internal/store/postgres/pgtest"
)

// TestTwoReplicas drives one schema through two Stores, as two `handinger
// serve` processes would: every turn is created twice at once, once on each
// replica with the same idempotency key, every task's turns are created
// concurrently with a client-chosen task id, and claimers on both replicas
// claim, release and finish while the creates go on. No turn may be held
// twice at once, no task may run two turns at once, every turn must end
// exactly once, and every task's seqs must run 1..n.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	replicas := []*postgres.Store{open(t, dsn), open(t, dsn)}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := replicas[0].CreateAPIKey(ctx, "key", "org", "user", []byte("hash"), time.Now()); err != nil {
		t.Fatal(err)
	}
	p := store.Principal{KeyID: "key", OrgID: "org", UserID: "user"}
	const (
		tasks        = 24
		turnsPerTask = 5
		total        = tasks * turnsPerTask
	)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

	var (
		mu          sync.Mutex
		holder      = map[string]string{} // turn id → owner, while claimed
		taskRunning = map[string]string{} // task id → its claimed turn
		finished    = map[string]int{}    // turn id → finishes
		done        atomic.Int64
	)
	// claimed records claims as they come back, checking the invariants.
	claimed := func(owner string, claims []store.Claim) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range claims {
			if prev, ok := holder[c.Turn.ID]; ok {
				t.Errorf("turn %s claimed by %s while %s holds it", c.Turn.ID, owner, prev)
			}
			if other, ok := taskRunning[c.Turn.TaskID]; ok {
				t.Errorf("task %s: turn %s claimed while turn %s runs", c.Turn.TaskID, c.Turn.ID, other)
			}
			if finished[c.Turn.ID] > 0 {
				t.Errorf("turn %s claimed after it ended", c.Turn.ID)
			}
			if len(c.History) != c.Turn.Seq-1 {
				t.Errorf("turn %s (seq %d) has %d turns of history", c.Turn.ID, c.Turn.Seq, len(c.History))
			}
			for _, h := range c.History {
				// finished may not count h yet: its finisher records it once
				// FinishTurns returns, after the commit this claim followed.
				if h.Status != store.StatusCompleted {
					t.Errorf("turn %s claimed before the end of its earlier turn %s (%s)", c.Turn.ID, h.ID, h.Status)
				}
			}
			holder[c.Turn.ID] = owner
			taskRunning[c.Turn.TaskID] = c.Turn.ID
		}
	}
	// ending forgets claims before the store ends them: from the end's
	// commit on, another claimer may take the turn or the task's next one.
	ending := func(claims []store.Claim) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range claims {
			delete(holder, c.Turn.ID)
			delete(taskRunning, c.Turn.TaskID)
		}
	}

	var wg sync.WaitGroup
	for r, st := range replicas {
		for k := range 3 {
			owner := fmt.Sprintf("replica-%d-runner-%d", r, k)
			wg.Go(func() {
				for n := 0; done.Load() < total && ctx.Err() == nil; n++ {
					claims, err := st.ClaimTurns(ctx, owner, now, time.Hour, 4, store.Share{})
					if err != nil {
						t.Errorf("ClaimTurns: %v", err)
						return
					}
					if len(claims) == 0 {
						time.Sleep(time.Millisecond) // the creates are still coming
						continue
					}
					claimed(owner, claims)
					if n%5 == 4 { // put them back, as a runner shutting down
						ending(claims)
						for _, c := range claims {
							if err := st.ReleaseTurn(ctx, c.Turn.ID, c.Owner, c.Attempt); err != nil {
								t.Errorf("ReleaseTurn(%s): %v", c.Turn.ID, err)
							}
						}
						continue
					}
					ps := make([]store.FinishTurnParams, len(claims))
					for i, c := range claims {
						ps[i] = store.FinishTurnParams{
							TurnID: c.Turn.ID, Owner: c.Owner, Attempt: c.Attempt, Status: store.StatusCompleted,
							OutputText: "done by " + owner, Credits: 1, DurationMs: 2, Now: now,
						}
					}
					ending(claims)
					errs, err := st.FinishTurns(ctx, ps)
					if err != nil {
						t.Errorf("FinishTurns: %v", err)
						return
					}
					mu.Lock()
					for i, err := range errs {
						if err != nil {
							t.Errorf("FinishTurns: turn %s: %v", ps[i].TurnID, err)
							continue
						}
						finished[ps[i].TurnID]++
						done.Add(1)
					}
					mu.Unlock()
				}
			})
		}
	}

	// Each create goes to both replicas at once, with one idempotency key:
	// one of the two stores the turn, the other replays it.
	results := make([][2]store.CreateTurnResult, total)
	var creates sync.WaitGroup
	for i := range total {
		task := fmt.Sprintf("task-%02d", i%tasks)
		for r, st := range replicas {
			cp := store.CreateTurnParams{
				Principal: p, TaskID: task, TaskIDGiven: true,
				NewWorkerID: fmt.Sprintf("worker-%d-%d", i, r), TurnID: fmt.Sprintf("turn-%d-%d", i, r),
				Input: fmt.Sprintf("input %d", i), Budget: "standard", Title: task, Now: now,
				IdempotencyKey: fmt.Sprint("create-", i), RequestHash: []byte(fmt.Sprint("body-", i)),
			}
			creates.Go(func() {
				res, err := st.CreateTurn(ctx, cp)
				if err != nil {
					t.Errorf("CreateTurn(%s) on replica %d: %v", cp.TurnID, r, err)
				}
				results[i][r] = res
			})
		}
	}
	creates.Wait()
	wg.Wait()
	if t.Failed() {
		return
	}

	for i, pair := range results {
		a, b := pair[0], pair[1]
		if a.Replayed == b.Replayed || a.Turn.ID != b.Turn.ID || a.Task.ID != b.Task.ID || a.Worker.ID != b.Worker.ID {
			t.Errorf("create %d: the two calls returned %+v and %+v; want one stored, one replayed", i, a, b)
		}
	}
	if len(finished) != total {
		t.Errorf("%d turns ended, want %d", len(finished), total)
	}
	for id, n := range finished {
		if n != 1 {
			t.Errorf("turn %s ended %d times", id, n)
		}
	}
	for i := range tasks {
		id := fmt.Sprintf("task-%02d", i)
		task, turns, err := replicas[i%2].GetTaskWithTurns(ctx, "org", id)
		if err != nil {
			t.Fatalf("GetTaskWithTurns(%s): %v", id, err)
		}
		var seqs []int
		for _, turn := range turns {
			seqs = append(seqs, turn.Seq)
			if turn.Status != store.StatusCompleted || turn.Attempts != 1 {
				t.Errorf("task %s turn %d: %s after %d attempts", id, turn.Seq, turn.Status, turn.Attempts)
			}
		}
		if want := []int{1, 2, 3, 4, 5}; !slices.Equal(seqs, want) {
			t.Errorf("task %s: seqs %v, want %v", id, seqs, want)
		}
		if task.Status != store.StatusCompleted || task.TurnCount != turnsPerTask ||
			task.Credits != turnsPerTask || task.DurationMs != 2*turnsPerTask {
			t.Errorf("task %s = %+v", id, task)
		}
	}
	if st, err := replicas[1].QueueStats(ctx); err != nil || st != (store.QueueStats{}) {
		t.Errorf("QueueStats = %+v, %v; want an empty queue", st, err)
	}
}
