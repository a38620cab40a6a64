package memory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/sqlite"
	"github.com/handinger/handinger/internal/store/storetest"
)

// TestMatchesSQLite runs random sequences of calls against this store and
// the SQLite one and requires the same answer to every call: the
// conformance suite checks chosen cases, this the cases nobody chose.
func TestMatchesSQLite(t *testing.T) {
	t.Parallel()
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			lite, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "handinger.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { lite.Close() })
			differ(t, rand.New(rand.NewPCG(seed, seed)), newStore(t), lite, 400)
		})
	}
}

// outcome is what one call answered, comparable across backends: errors
// by their sentinel, since the texts differ.
type outcome struct {
	Value any
	Err   string
}

func classify(v any, err error) outcome {
	if err == nil {
		return outcome{Value: v}
	}
	for _, s := range []error{store.ErrNotFound, store.ErrConflict, store.ErrArchived, store.ErrWorkerMismatch,
		store.ErrForbidden, store.ErrIdempotencyMismatch, store.ErrLeaseLost} {
		if errors.Is(err, s) {
			return outcome{Err: s.Error()}
		}
	}
	return outcome{Err: "other"}
}

// differ makes n random calls on both stores and fails at the first that
// they answer differently.
func differ(t *testing.T, rnd *rand.Rand, mem, lite store.Store, n int) {
	ctx := context.Background()
	principals := []store.Principal{
		{KeyID: "key-a", OrgID: "org-a", UserID: "alice"},
		{KeyID: "key-b", OrgID: "org-a", UserID: "bob"},
		{KeyID: "key-c", OrgID: "org-b", UserID: "carol"},
		{KeyID: "key-d", OrgID: "org-a"}, // no user
	}
	for i, p := range principals {
		for _, st := range []store.Store{mem, lite} {
			if err := st.CreateAPIKey(ctx, p.KeyID, p.OrgID, p.UserID, []byte{byte(i)}, t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	var (
		now     = t0
		ids     int
		taskIDs = []string{"no-such-task"}
		workers = []string{"no-such-worker"}
		claims  []store.Claim // every claim made, stale ones too
	)
	id := func(prefix string) string { ids++; return fmt.Sprintf("%s-%d", prefix, ids) }
	pick := func(s []string) string { return s[rnd.IntN(len(s))] }
	claim := func() store.Claim {
		if len(claims) == 0 {
			return store.Claim{Turn: store.Turn{ID: "no-such-turn"}, Owner: "r1", Attempt: 1}
		}
		return claims[rnd.IntN(len(claims))]
	}
	statuses := []store.Status{"", store.StatusPending, store.StatusRunning, store.StatusCompleted,
		store.StatusError, store.StatusAborted}
	finish := func(c store.Claim, status store.Status) store.FinishTurnParams {
		p := store.FinishTurnParams{
			TurnID: c.Turn.ID, Owner: c.Owner, Attempt: c.Attempt, Status: status,
			OutputText: id("output"), InputTokens: rnd.Int64N(100), OutputTokens: rnd.Int64N(100),
			Credits: rnd.Int64N(10), DurationMs: rnd.Int64N(1000), ErrorCode: id("code"), Now: now,
		}
		if rnd.IntN(2) == 0 {
			p.StructuredOutput = []byte(fmt.Sprintf(`{"n":%d}`, rnd.IntN(100)))
		}
		return p
	}

	for step := range n {
		var (
			what string
			call func(st store.Store) outcome
		)
		switch op := rnd.IntN(16); op {
		case 0, 1, 2: // create, new task or follow-up
			p := store.CreateTurnParams{
				Principal: principals[rnd.IntN(len(principals))], TaskID: id("task"), NewWorkerID: id("worker"),
				TurnID: id("turn"), Input: id("input"), Budget: "standard", Title: id("title"), Now: now,
			}
			if op > 0 {
				p.TaskID, p.TaskIDGiven = pick(taskIDs), true
			}
			if rnd.IntN(3) == 0 {
				p.WorkerID = pick(workers)
			}
			if rnd.IntN(3) == 0 {
				p.IdempotencyKey = fmt.Sprint("idem-", rnd.IntN(4))
				p.RequestHash = []byte{byte(rnd.IntN(2))}
			}
			taskIDs, workers = append(taskIDs, p.TaskID), append(workers, p.NewWorkerID)
			what = fmt.Sprintf("CreateTurn(%+v)", p)
			call = func(st store.Store) outcome { return classify(st.CreateTurn(ctx, p)) }
		case 3, 4:
			owner := fmt.Sprint("r", rnd.IntN(2))
			lease := time.Duration(1+rnd.IntN(60)) * time.Second
			what = fmt.Sprintf("ClaimOne(%s, %v)", owner, lease)
			call = func(st store.Store) outcome {
				c, err := storetest.ClaimOne(ctx, st, owner, now, lease)
				if c != nil && st == mem {
					claims = append(claims, *c)
				}
				return classify(c, err)
			}
		case 5:
			p := finish(claim(), statuses[3+rnd.IntN(3)])
			what = fmt.Sprintf("FinishOne(%+v)", p)
			call = func(st store.Store) outcome { return classify(nil, storetest.FinishOne(ctx, st, p)) }
		case 6:
			c, until := claim(), now.Add(time.Duration(rnd.IntN(90))*time.Second)
			what = fmt.Sprintf("Heartbeat(%s, %s, %d)", c.Turn.ID, c.Owner, c.Attempt)
			call = func(st store.Store) outcome {
				return classify(nil, st.Heartbeat(ctx, c.Turn.ID, c.Owner, c.Attempt, until))
			}
		case 7:
			c := claim()
			what = fmt.Sprintf("ReleaseTurn(%s, %s, %d)", c.Turn.ID, c.Owner, c.Attempt)
			call = func(st store.Store) outcome {
				return classify(nil, st.ReleaseTurn(ctx, c.Turn.ID, c.Owner, c.Attempt))
			}
		case 8:
			now = now.Add(time.Duration(rnd.IntN(40)) * time.Second)
			what = fmt.Sprintf("ReapExpired(%v)", now)
			call = func(st store.Store) outcome {
				res, err := st.ReapExpired(ctx, now, 2)
				slices.Sort(res.Requeued) // the order of a list is not part of the contract
				slices.Sort(res.Failed)
				return classify(res, err)
			}
		case 9:
			p := principals[rnd.IntN(len(principals))]
			taskID := pick(taskIDs)
			what = fmt.Sprintf("ArchiveTask(%s, %s, %s)", p.OrgID, p.UserID, taskID)
			call = func(st store.Store) outcome { return classify(nil, st.ArchiveTask(ctx, p.OrgID, p.UserID, taskID)) }
		case 10, 11:
			org, taskID := fmt.Sprint("org-", "ab"[rnd.IntN(2):][:1]), pick(taskIDs)
			what = fmt.Sprintf("GetTaskWithTurns(%s, %s)", org, taskID)
			call = func(st store.Store) outcome {
				task, turns, err := st.GetTaskWithTurns(ctx, org, taskID)
				return classify([]any{task, turns}, err)
			}
		case 12:
			p := store.ListTasksParams{OrgID: "org-a", Status: statuses[rnd.IntN(len(statuses))], Limit: 1 + rnd.IntN(4)}
			if rnd.IntN(3) == 0 {
				p.WorkerID = pick(workers)
			}
			what = fmt.Sprintf("ListTasks(%+v), every page", p)
			call = func(st store.Store) outcome {
				var pages []any
				for p := p; ; { // a copy: each store starts on the first page
					tasks, next, err := st.ListTasks(ctx, p)
					if err != nil || next == 0 {
						return classify(append(pages, tasks), err)
					}
					pages, p.Before = append(pages, tasks), next
				}
			}
		case 13:
			before := now.Add(-time.Duration(rnd.IntN(60)) * time.Second)
			what = "QueueStats and PurgeIdempotencyKeys"
			call = func(st store.Store) outcome {
				qs, err := st.QueueStats(ctx)
				if err != nil {
					return classify(nil, err)
				}
				n, err := st.PurgeIdempotencyKeys(ctx, before)
				return classify([]any{qs, n}, err)
			}
		case 14:
			owner := fmt.Sprint("r", rnd.IntN(2))
			lease := time.Duration(1+rnd.IntN(60)) * time.Second
			max := rnd.IntN(5)
			// Now and then a cap per organization, with some of it held.
			var share store.Share
			if rnd.IntN(2) == 0 {
				share = store.Share{PerOrg: 1 + rnd.IntN(3), Held: map[string]int{
					"org-a": rnd.IntN(3), "org-b": rnd.IntN(3),
				}}
			}
			what = fmt.Sprintf("ClaimTurns(%s, %v, %d, %+v)", owner, lease, max, share)
			call = func(st store.Store) outcome {
				cs, err := st.ClaimTurns(ctx, owner, now, lease, max, share)
				if st == mem {
					claims = append(claims, cs...)
				}
				return classify(cs, err)
			}
		case 15:
			// Mostly ends, now and then a status that is not one; a claim
			// may come twice.
			batch := make([]store.FinishTurnParams, rnd.IntN(5))
			for i := range batch {
				batch[i] = finish(claim(), statuses[1+rnd.IntN(5)])
			}
			what = fmt.Sprintf("FinishTurns(%+v)", batch)
			call = func(st store.Store) outcome {
				errs, err := st.FinishTurns(ctx, batch)
				each := make([]outcome, len(errs))
				for i, err := range errs {
					each[i] = classify(nil, err)
				}
				return classify(each, err)
			}
		}
		got, want := call(mem), call(lite)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: %s\nmemory: %+v\nsqlite: %+v", step, what, got, want)
		}
	}
}
