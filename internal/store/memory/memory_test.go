package memory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/memory"
	"github.com/handinger/handinger/internal/store/storetest"
)

func newStore(t testing.TB) *memory.Store {
	t.Helper()
	st := memory.New()
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) store.Store { return newStore(t) })
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

// withKey returns a store holding one API key, and its principal.
func withKey(t testing.TB) (*memory.Store, store.Principal) {
	t.Helper()
	st := newStore(t)
	if err := st.CreateAPIKey(context.Background(), "key", "org", "user", []byte("hash"), t0); err != nil {
		t.Fatal(err)
	}
	return st, store.Principal{KeyID: "key", OrgID: "org", UserID: "user"}
}

// newTask returns the params of a call that creates task id and its worker.
func newTask(p store.Principal, id string) store.CreateTurnParams {
	return store.CreateTurnParams{
		Principal: p, TaskID: "task-" + id, NewWorkerID: "worker-" + id, TurnID: "turn-" + id,
		Input: "hello " + id, Budget: "standard", Title: "title " + id, Now: t0,
	}
}

// Callers own what they are given: changing it must not change the store.
func TestReturnedValuesAreCopies(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, p := withKey(t)
	first := newTask(p, "1")
	first.IdempotencyKey, first.RequestHash = "idem", []byte("body")
	if _, err := st.CreateTurn(ctx, first); err != nil {
		t.Fatal(err)
	}
	c, err := storetest.ClaimOne(ctx, st, "r", t0, time.Minute)
	if err != nil || c == nil {
		t.Fatalf("ClaimTurn = %v, %v", c, err)
	}
	done := t0.Add(time.Second)
	err = storetest.FinishOne(ctx, st, store.FinishTurnParams{
		TurnID: c.Turn.ID, Owner: "r", Attempt: c.Attempt, Status: store.StatusCompleted,
		OutputText: "out", StructuredOutput: []byte(`{"a":1}`), Now: done,
	})
	if err != nil {
		t.Fatal(err)
	}

	// check compares the stored state with what was stored, not with an
	// earlier result: that could share memory with the mutated one.
	check := func(what string) {
		t.Helper()
		task, turns, err := st.GetTaskWithTurns(ctx, "org", first.TaskID)
		if err != nil {
			t.Fatal(err)
		}
		if task.Title != "title 1" || task.Status != store.StatusCompleted || task.CompletedAt == nil ||
			!task.CompletedAt.Equal(done) {
			t.Errorf("after %s: task = %+v", what, task)
		}
		if len(turns) < 1 {
			t.Fatalf("after %s: %d turns", what, len(turns))
		}
		turn := turns[0]
		if turn.ID != first.TurnID || turn.OutputText != "out" || string(turn.StructuredOutput) != `{"a":1}` ||
			turn.CompletedAt == nil || !turn.CompletedAt.Equal(done) {
			t.Errorf("after %s: turn = %+v", what, turn)
		}
		if len(turns) > 1 && turns[1].Input != "hello 2" {
			t.Errorf("after %s: turn 2 = %+v", what, turns[1])
		}
	}
	mutateTurn := func(turn *store.Turn) {
		turn.OutputText = "changed"
		if len(turn.StructuredOutput) > 0 {
			turn.StructuredOutput[0] = 'X'
			_ = append(turn.StructuredOutput[:1], "YYYYYYYY"...)
		}
		if turn.CompletedAt != nil {
			*turn.CompletedAt = time.Time{}
		}
	}
	mutateTask := func(task *store.Task) {
		task.Title = "changed"
		if task.CompletedAt != nil {
			*task.CompletedAt = time.Time{}
		}
	}
	check("finish")

	task, turns, err := st.GetTaskWithTurns(ctx, "org", first.TaskID)
	if err != nil {
		t.Fatal(err)
	}
	mutateTask(&task)
	for i := range turns {
		mutateTurn(&turns[i])
	}
	turns[0] = store.Turn{}
	check("changing GetTaskWithTurns' result")

	tasks, _, err := st.ListTasks(ctx, store.ListTasksParams{OrgID: "org", Limit: 10})
	if err != nil || len(tasks) != 1 {
		t.Fatalf("ListTasks = %v, %v", tasks, err)
	}
	mutateTask(&tasks[0])
	check("changing ListTasks' result")

	res, err := st.CreateTurn(ctx, first) // a replay
	if err != nil || !res.Replayed {
		t.Fatalf("replay = %+v, %v", res, err)
	}
	mutateTask(&res.Task)
	mutateTurn(&res.Turn)
	check("changing a replay's result")

	follow := newTask(p, "2")
	follow.TaskID, follow.TaskIDGiven = first.TaskID, true
	if _, err := st.CreateTurn(ctx, follow); err != nil {
		t.Fatal(err)
	}
	c, err = storetest.ClaimOne(ctx, st, "r", t0, time.Minute)
	if err != nil || c == nil || len(c.History) != 1 {
		t.Fatalf("ClaimTurn = %+v, %v", c, err)
	}
	mutateTurn(&c.History[0])
	mutateTurn(&c.Turn)
	c.Worker.Instructions = "changed"
	if _, turns, err = st.GetTaskWithTurns(ctx, "org", first.TaskID); err != nil {
		t.Fatal(err)
	}
	if turns[0].OutputText != "out" || string(turns[0].StructuredOutput) != `{"a":1}` ||
		!turns[0].CompletedAt.Equal(done) || turns[1].OutputText != "" || turns[1].Status != store.StatusRunning {
		t.Errorf("after changing a claim: turns = %+v", turns)
	}
	again := newTask(p, "3")
	again.WorkerID = "worker-1"
	if res, err := st.CreateTurn(ctx, again); err != nil || res.Worker.Instructions != "hello 1" {
		t.Errorf("after changing a claim: worker = %+v, %v", res.Worker, err)
	}

	// The store keeps its own copy of what it is given too.
	so := []byte(`{"b":2}`)
	err = storetest.FinishOne(ctx, st, store.FinishTurnParams{
		TurnID: c.Turn.ID, Owner: "r", Attempt: c.Attempt, Status: store.StatusCompleted,
		StructuredOutput: so, Now: done,
	})
	if err != nil {
		t.Fatal(err)
	}
	so[0] = 'X'
	if turn, err := storetest.Turn(ctx, st, "org", first.TaskID, c.Turn.ID); err != nil || string(turn.StructuredOutput) != `{"b":2}` {
		t.Errorf("after changing FinishTurn's argument: turn = %+v, %v", turn, err)
	}
}

func TestTimesAreUTC(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, p := withKey(t)
	zone := time.FixedZone("UTC-5", -5*3600)
	c := newTask(p, "1")
	c.Now = time.Now().In(zone) // with a monotonic reading, in another zone
	res, err := st.CreateTurn(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for what, got := range map[string]time.Time{
		"Task.CreatedAt": res.Task.CreatedAt, "Turn.AcceptedAt": res.Turn.AcceptedAt, "Worker.CreatedAt": res.Worker.CreatedAt,
	} {
		if got.Location() != time.UTC || !got.Equal(c.Now) || got != c.Now.Round(0).UTC() {
			t.Errorf("%s = %v, want %v in UTC without a monotonic reading", what, got, c.Now)
		}
	}
}

// The SQLite backend refuses what its unique and foreign keys refuse; so
// does this one, and a refused call stores nothing.
func TestConstraints(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, p := withKey(t)
	if _, err := st.CreateTurn(ctx, newTask(p, "1")); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		change func(c *store.CreateTurnParams)
		want   error
	}{
		{"task id taken", func(c *store.CreateTurnParams) { c.TaskID = "task-1" }, store.ErrConflict},
		{"worker id taken", func(c *store.CreateTurnParams) { c.NewWorkerID = "worker-1" }, store.ErrConflict},
		{"turn id taken", func(c *store.CreateTurnParams) { c.TurnID = "turn-1" }, store.ErrConflict},
		{"follow-up turn id taken", func(c *store.CreateTurnParams) {
			c.TaskID, c.TaskIDGiven, c.TurnID = "task-1", true, "turn-1"
		}, store.ErrConflict},
		{"unknown organization", func(c *store.CreateTurnParams) { c.Principal.OrgID = "no-such-org" }, nil},
		{"unknown user", func(c *store.CreateTurnParams) { c.Principal.UserID = "no-such-user" }, nil},
	} {
		c := newTask(p, "2")
		tc.change(&c)
		_, err := st.CreateTurn(ctx, c)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, _, err := st.GetTaskWithTurns(ctx, "org", "task-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("task-2 after refused creates: %v, want ErrNotFound", err)
	}
	if task, turns, err := st.GetTaskWithTurns(ctx, "org", "task-1"); err != nil || task.TurnCount != 1 || len(turns) != 1 {
		t.Errorf("task-1 after refused creates = %+v, %d turns, %v", task, len(turns), err)
	}
	if st, err := st.QueueStats(ctx); err != nil || st != (store.QueueStats{Pending: 1}) {
		t.Errorf("QueueStats after refused creates = %+v, %v", st, err)
	}

	// A key without a user: its worker has no creator, so nobody may
	// archive its tasks.
	if err := st.CreateAPIKey(ctx, "key-nouser", "org", "", []byte("hash-nouser"), t0); err != nil {
		t.Fatal(err)
	}
	res, err := st.CreateTurn(ctx, newTask(store.Principal{KeyID: "key-nouser", OrgID: "org"}, "3"))
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"", "user"} {
		if err := st.ArchiveTask(ctx, "org", user, res.Task.ID); !errors.Is(err, store.ErrForbidden) {
			t.Errorf("ArchiveTask by %q of a task whose worker has no creator: %v, want ErrForbidden", user, err)
		}
	}

	for _, tc := range []struct{ name, keyID, hash string }{
		{"key id taken", "key", "other hash"},
		{"hash taken", "other key", "hash"},
	} {
		err := st.CreateAPIKey(ctx, tc.keyID, "org-2", "user-2", []byte(tc.hash), t0)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateAPIKey, %s: %v, want ErrConflict", tc.name, err)
		}
	}
	// The refused keys created neither their organization nor their user.
	if err := st.CreateAPIKey(ctx, "key-3", "org-3", "user-2", []byte("hash-3"), t0); err != nil {
		t.Errorf("user-2 in another organization after its refused keys: %v", err)
	}
	if n, err := st.CountAPIKeys(ctx); err != nil || n != 3 {
		t.Errorf("CountAPIKeys = %d, %v; want 3", n, err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, p := withKey(t)
	if _, err := st.CreateTurn(ctx, newTask(p, "1")); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := st.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	calls := map[string]func() error{
		"Ping":         func() error { return st.Ping(ctx) },
		"CreateAPIKey": func() error { return st.CreateAPIKey(ctx, "k2", "org", "user", []byte("h2"), t0) },
		"LookupAPIKey": func() error { _, err := st.LookupAPIKey(ctx, []byte("hash")); return err },
		"CountAPIKeys": func() error { _, err := st.CountAPIKeys(ctx); return err },
		"CreateTurn":   func() error { _, err := st.CreateTurn(ctx, newTask(p, "2")); return err },
		"GetTaskWithTurns": func() error {
			_, _, err := st.GetTaskWithTurns(ctx, "org", "task-1")
			return err
		},
		"ListTasks": func() error {
			_, _, err := st.ListTasks(ctx, store.ListTasksParams{OrgID: "org", Limit: 1})
			return err
		},
		"ArchiveTask": func() error { return st.ArchiveTask(ctx, "org", "user", "task-1") },
		"ClaimTurns": func() error {
			_, err := st.ClaimTurns(ctx, "r", t0, time.Minute, 4, store.Share{})
			return err
		},
		"Heartbeat":   func() error { return st.Heartbeat(ctx, "turn-1", "r", 1, t0) },
		"ReleaseTurn": func() error { return st.ReleaseTurn(ctx, "turn-1", "r", 1) },
		"ReapExpired": func() error { _, err := st.ReapExpired(ctx, t0, 3); return err },
		"QueueStats":  func() error { _, err := st.QueueStats(ctx); return err },
		"PurgeIdempotencyKeys": func() error {
			_, err := st.PurgeIdempotencyKeys(ctx, t0)
			return err
		},
		"FinishTurns": func() error {
			_, err := st.FinishTurns(ctx, []store.FinishTurnParams{{TurnID: "turn-1", Owner: "r", Attempt: 1,
				Status: store.StatusCompleted, Now: t0}})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, memory.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	st, _ := withKey(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := st.LookupAPIKey(ctx, []byte("hash")); !errors.Is(err, context.Canceled) {
		t.Errorf("LookupAPIKey with a canceled context: %v", err)
	}
	if _, err := st.ClaimTurns(ctx, "r", t0, time.Minute, 4, store.Share{}); !errors.Is(err, context.Canceled) {
		t.Errorf("ClaimTurns with a canceled context: %v", err)
	}
	if _, err := st.FinishTurns(ctx, []store.FinishTurnParams{{TurnID: "turn-1", Owner: "r", Attempt: 1,
		Status: store.StatusCompleted, Now: t0}}); !errors.Is(err, context.Canceled) {
		t.Errorf("FinishTurns with a canceled context: %v", err)
	}
}

// BenchmarkClaimFinish measures the queue's round trip: create a task, claim
// its turn, finish it.
func BenchmarkClaimFinish(b *testing.B) {
	ctx := b.Context()
	st, p := withKey(b)
	now := time.Now()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		id := fmt.Sprint(n)
		_, err := st.CreateTurn(ctx, store.CreateTurnParams{
			Principal: p, TaskID: "task-" + id, NewWorkerID: "worker-" + id, TurnID: "turn-" + id,
			Input: "hello", Budget: "standard", Now: now,
		})
		if err != nil {
			b.Fatal(err)
		}
		c, err := storetest.ClaimOne(ctx, st, "runner", now, time.Minute)
		if err != nil || c == nil {
			b.Fatalf("ClaimTurn = %v, %v", c, err)
		}
		err = storetest.FinishOne(ctx, st, store.FinishTurnParams{
			TurnID: c.Turn.ID, Owner: "runner", Attempt: c.Attempt, Status: store.StatusCompleted,
			OutputText: "hi", Credits: 1, DurationMs: 1, Now: now,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "turns/s")
}

// BenchmarkGetTaskWithTurns reads a task of 10 finished turns, each with a
// structured output, as a status poll does; in parallel, since reads share
// the lock.
func BenchmarkGetTaskWithTurns(b *testing.B) {
	ctx := b.Context()
	st, p := withKey(b)
	const turns = 10
	for i := range turns {
		c := newTask(p, fmt.Sprint(i))
		c.TaskID, c.TaskIDGiven = "task", true
		if _, err := st.CreateTurn(ctx, c); err != nil {
			b.Fatal(err)
		}
		claim, err := storetest.ClaimOne(ctx, st, "r", t0, time.Minute)
		if err != nil || claim == nil {
			b.Fatalf("ClaimTurn = %v, %v", claim, err)
		}
		err = storetest.FinishOne(ctx, st, store.FinishTurnParams{
			TurnID: claim.Turn.ID, Owner: "r", Attempt: claim.Attempt, Status: store.StatusCompleted,
			OutputText: "an answer", StructuredOutput: []byte(`{"answer":42}`), Now: t0,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, got, err := st.GetTaskWithTurns(ctx, "org", "task")
			if err != nil || len(got) != turns {
				b.Fatalf("GetTaskWithTurns = %d turns, %v", len(got), err)
			}
		}
	})
}
