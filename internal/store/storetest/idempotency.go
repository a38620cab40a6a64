package storetest

import (
	"testing"
	"time"

	"github.com/handinger/handinger/internal/store"
)

func testIdempotency(t *testing.T, newStore func(t *testing.T) store.Store) {
	// keyed returns p with an idempotency key and request hash.
	keyed := func(p store.CreateTurnParams, key, body string) store.CreateTurnParams {
		p.IdempotencyKey, p.RequestHash = key, hash(body)
		return p
	}

	t.Run("ReplayReturnsTheFirstTurn", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		first := b.create(t, keyed(b.newTask(b.alice, "one", t0), "k1", "body"))

		// A retry carries new ids; none of them may be used.
		retry := keyed(b.newTask(b.alice, "one", t0.Add(time.Second)), "k1", "body")
		res := b.create(t, retry)
		if !res.Replayed || res.Task.ID != first.Task.ID || res.Turn.ID != first.Turn.ID ||
			res.Worker.ID != first.Worker.ID || res.Turn.Seq != 1 || res.Task.TurnCount != 1 {
			t.Errorf("replay = %+v\nfirst = %+v", res, first)
		}
		_, _, err := b.st.GetTaskWithTurns(b.ctx, "org-a", retry.TaskID)
		wantErr(t, "GetTaskWithTurns of the retry's task id", err, store.ErrNotFound)
		b.workerMissing(t, "the retry's worker id", b.alice, retry.NewWorkerID)

		// The replay shows the turn as it is now.
		b.claim(t, "r", t0)
		res = b.create(t, retry)
		if !res.Replayed || res.Turn.Status != store.StatusRunning || res.Turn.Attempts != 1 ||
			res.Task.Status != store.StatusRunning {
			t.Errorf("replay after claim = %+v", res)
		}
	})

	t.Run("ReplayOfAFollowUp", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		first := b.create(t, b.newTask(b.alice, "one", t0))
		p := keyed(b.followUp(b.alice, first.Task.ID, "two", t0), "k", "body")
		b.create(t, p)
		p.TurnID = b.id("turn")
		if res := b.create(t, p); !res.Replayed || res.Turn.Seq != 2 || res.Task.TurnCount != 2 {
			t.Errorf("replayed follow-up = %+v", res)
		}
	})

	t.Run("Mismatch", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		first := b.create(t, keyed(b.newTask(b.alice, "one", t0), "k1", "body"))
		_, err := b.st.CreateTurn(b.ctx, keyed(b.newTask(b.alice, "other", t0), "k1", "other body"))
		wantErr(t, "same key, other body", err, store.ErrIdempotencyMismatch)
		// Mismatch wins over everything else the call might be refused for.
		_, err = b.st.CreateTurn(b.ctx, keyed(b.followUp(b.alice, first.Task.ID, "x", t0), "k1", "other body"))
		wantErr(t, "same key, other body, follow-up", err, store.ErrIdempotencyMismatch)
	})

	t.Run("ScopedToTheAPIKey", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		first := b.create(t, keyed(b.newTask(b.alice, "one", t0), "k1", "body"))
		res := b.create(t, keyed(b.newTask(b.bob, "one", t0), "k1", "body"))
		if res.Replayed || res.Task.ID == first.Task.ID {
			t.Errorf("another key's call replayed: %+v", res)
		}
	})

	t.Run("RefusedCallKeepsNoKey", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		p := keyed(b.newTask(b.alice, "one", t0), "k1", "body")
		p.WorkerID = "no-such-worker"
		_, err := b.st.CreateTurn(b.ctx, p)
		wantErr(t, "CreateTurn with an unknown worker", err, store.ErrNotFound)
		res := b.create(t, keyed(b.newTask(b.alice, "one", t0), "k1", "fixed body"))
		if res.Replayed {
			t.Error("the refused call's key was kept")
		}
	})

	t.Run("Purge", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.create(t, keyed(b.newTask(b.alice, "old", t0), "old", "body"))
		recent := b.create(t, keyed(b.newTask(b.alice, "recent", t0.Add(2*time.Hour)), "recent", "body"))

		n, err := b.st.PurgeIdempotencyKeys(b.ctx, t0.Add(time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("PurgeIdempotencyKeys = %d, %v; want 1", n, err)
		}
		if res := b.create(t, keyed(b.newTask(b.alice, "old", t0), "old", "new body")); res.Replayed {
			t.Error("a purged key still replays")
		}
		res := b.create(t, keyed(b.newTask(b.alice, "recent", t0), "recent", "body"))
		if !res.Replayed || res.Turn.ID != recent.Turn.ID {
			t.Errorf("a kept key does not replay: %+v", res)
		}
	})
}
