package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/postgres"
	"github.com/handinger/handinger/internal/store/postgres/pgtest"
)

// benchStores opens n stores on one fresh schema, with an API key.
func benchStores(b *testing.B, n int) ([]*postgres.Store, store.Principal) {
	dsn := pgtest.DSN(b)
	stores := make([]*postgres.Store, n)
	for i := range stores {
		stores[i] = open(b, dsn)
	}
	if err := stores[0].CreateAPIKey(b.Context(), "key", "org", "user", []byte("hash"), time.Now()); err != nil {
		b.Fatal(err)
	}
	return stores, store.Principal{KeyID: "key", OrgID: "org", UserID: "user"}
}

func newTaskParams(p store.Principal, id string, now time.Time) store.CreateTurnParams {
	return store.CreateTurnParams{
		Principal: p, TaskID: "task-" + id, NewWorkerID: "worker-" + id, TurnID: "turn-" + id,
		Input: "hello", Budget: "standard", Now: now,
	}
}

// BenchmarkCreateTurn measures the create call alone, from parallel
// clients: a new task, its worker and its turn, as a client's POST does.
func BenchmarkCreateTurn(b *testing.B) {
	stores, p := benchStores(b, 1)
	var n atomic.Int64
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := stores[0].CreateTurn(b.Context(), newTaskParams(p, fmt.Sprint(n.Add(1)), now)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGetTaskWithTurns measures the retrieve of a task of three turns
// from parallel clients.
func BenchmarkGetTaskWithTurns(b *testing.B) {
	stores, p := benchStores(b, 1)
	ctx, now := b.Context(), time.Now()
	for i := range 3 {
		cp := newTaskParams(p, fmt.Sprint(i), now)
		cp.TaskID, cp.TaskIDGiven = "task", true
		if _, err := stores[0].CreateTurn(ctx, cp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, turns, err := stores[0].GetTaskWithTurns(ctx, "org", "task"); err != nil || len(turns) != 3 {
				b.Errorf("GetTaskWithTurns = %d turns, %v", len(turns), err)
				return
			}
		}
	})
}

// BenchmarkTwoReplicas is the whole life of b.N tasks on two replicas of one
// schema: 32 clients per replica create tasks while 2 runner pools per
// replica claim up to 16 turns at once and finish them in one call.
func BenchmarkTwoReplicas(b *testing.B) {
	stores, p := benchStores(b, 2)
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	now := time.Now()
	var (
		created, finished atomic.Int64
		wg                sync.WaitGroup
		total             = int64(b.N)
	)
	b.ResetTimer()
	for r, st := range stores {
		for range 32 {
			wg.Go(func() {
				for {
					n := created.Add(1)
					if n > total {
						return
					}
					if _, err := st.CreateTurn(ctx, newTaskParams(p, fmt.Sprint(n), now)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		for k := range 2 {
			owner := fmt.Sprintf("runner-%d-%d", r, k)
			wg.Go(func() {
				for finished.Load() < total && ctx.Err() == nil {
					claims, err := st.ClaimTurns(ctx, owner, now, time.Minute, 16, store.Share{})
					if err != nil {
						b.Error(err)
						return
					}
					if len(claims) == 0 {
						time.Sleep(time.Millisecond)
						continue
					}
					ps := make([]store.FinishTurnParams, len(claims))
					for i, c := range claims {
						ps[i] = store.FinishTurnParams{TurnID: c.Turn.ID, Owner: owner, Attempt: c.Attempt,
							Status: store.StatusCompleted, OutputText: "hi", Credits: 1, DurationMs: 1, Now: now}
					}
					errs, err := st.FinishTurns(ctx, ps)
					if err == nil {
						err = errors.Join(errs...)
					}
					if err != nil {
						b.Error(err)
						return
					}
					finished.Add(int64(len(claims)))
				}
			})
		}
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}
