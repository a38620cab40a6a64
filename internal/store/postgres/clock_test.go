package postgres_test

import (
	"testing"
	"time"

	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/postgres"
	"github.com/handinger/handinger/internal/store/postgres/pgtest"
)

// TestLeasesFollowTheDatabaseClock: replica A's clock runs 5 s behind the
// database's, replica B's is right. A lease A takes for 3 s must not look
// expired to B's reaper one second later — as it would if each compared
// with its own clock — and must look expired once 3 s have passed.
func TestLeasesFollowTheDatabaseClock(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	postgres.SetClockSkew(a, -5*time.Second)
	ctx := t.Context()
	if err := a.CreateAPIKey(ctx, "key", "org", "user", []byte("hash"), time.Now()); err != nil {
		t.Fatal(err)
	}
	who := store.Principal{KeyID: "key", OrgID: "org", UserID: "user"}
	now := time.Now()
	if _, err := b.CreateTurn(ctx, store.CreateTurnParams{
		Principal: who, TaskID: "tsk_clock", NewWorkerID: "wrk_clock", TurnID: "trn_clock",
		Input: "x", Budget: "standard", Title: "x", Now: now,
	}); err != nil {
		t.Fatal(err)
	}
	aNow := now.Add(-5 * time.Second) // what A's clock reads
	claims, err := a.ClaimTurns(ctx, "replica-a", aNow, 3*time.Second, 1, store.Share{})
	if err != nil || len(claims) != 1 {
		t.Fatalf("claim on A: %v, %d claims", err, len(claims))
	}
	res, err := b.ReapExpired(ctx, now.Add(time.Second), 3)
	if err != nil || len(res.Requeued)+len(res.Failed) != 0 {
		t.Fatalf("B's reaper 1 s into a 3 s lease taken by A: %+v, %v", res, err)
	}
	res, err = b.ReapExpired(ctx, now.Add(4*time.Second), 3)
	if err != nil || len(res.Requeued) != 1 {
		t.Fatalf("B's reaper 4 s after A's 3 s lease began: %+v, %v", res, err)
	}
	// Heartbeats are on the database's clock too.
	claims, err = b.ClaimTurns(ctx, "replica-b", now.Add(4*time.Second), 3*time.Second, 1, store.Share{})
	if err != nil || len(claims) != 1 {
		t.Fatalf("claim on B: %v, %d claims", err, len(claims))
	}
	if err := b.Heartbeat(ctx, "trn_clock", "replica-b", claims[0].Attempt, now.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if res, err := a.ReapExpired(ctx, now.Add(9*time.Second-5*time.Second), 3); err != nil || len(res.Requeued) != 0 {
		t.Fatalf("A's reaper before the heartbeaten lease ends (A's clock): %+v, %v", res, err)
	}
}
