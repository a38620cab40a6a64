package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/sqlite"
	"github.com/handinger/handinger/internal/store/storetest"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return st
}

func newStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st := open(t, filepath.Join(t.TempDir(), "handinger.db"))
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "handinger.db")
	st := open(t, path)
	if err := st.CreateAPIKey(ctx, "key-1", "org-1", "user-1", []byte("hash"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	for range 2 { // migrations run once; reopening applies nothing twice
		st = open(t, path)
		p, err := st.LookupAPIKey(ctx, []byte("hash"))
		if err != nil || p != (store.Principal{KeyID: "key-1", OrgID: "org-1", UserID: "user-1"}) {
			t.Errorf("LookupAPIKey after reopen = %+v, %v", p, err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}

	db := rawDB(t, path)
	var n, latest int
	if err := db.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &latest); err != nil {
		t.Fatal(err)
	}
	if n != latest {
		t.Errorf("schema_migrations has %d rows up to version %d", n, latest)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "handinger.db")
	if err := open(t, path).Close(); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at)
		SELECT max(version) + 1, 0 FROM schema_migrations`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := sqlite.Open(t.Context(), path)
	if !errors.Is(err, sqlite.ErrSchemaTooNew) {
		if st != nil {
			st.Close()
		}
		t.Fatalf("Open of a newer schema: err = %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenRefusesMemory(t *testing.T) {
	t.Parallel()
	if _, err := sqlite.Open(t.Context(), ":memory:"); err == nil {
		t.Fatal("Open(:memory:) succeeded; reads and writes would see different databases")
	}
}

// Two stores on one file stand for two processes: BEGIN IMMEDIATE and the
// busy timeout must serialize their writers without SQLITE_BUSY.
func TestTwoStoresOnOneFile(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "handinger.db")
	a, b := open(t, path), open(t, path)
	t.Cleanup(func() { a.Close(); b.Close() })
	if err := a.CreateAPIKey(ctx, "key", "org", "user", []byte("hash"), time.Now()); err != nil {
		t.Fatal(err)
	}
	p := store.Principal{KeyID: "key", OrgID: "org", UserID: "user"}

	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			_, err := st.CreateTurn(ctx, store.CreateTurnParams{
				Principal: p, TaskID: "task", TaskIDGiven: true, NewWorkerID: fmt.Sprint("worker-", i),
				TurnID: fmt.Sprint("turn-", i), Input: "hello", Now: time.Now(),
			})
			if err != nil {
				t.Errorf("CreateTurn: %v", err)
			}
		})
	}
	wg.Wait()
	_, turns, err := b.GetTaskWithTurns(ctx, "org", "task")
	if err != nil {
		t.Fatal(err)
	}
	for i, turn := range turns {
		if turn.Seq != i+1 {
			t.Errorf("turn %d has seq %d", i, turn.Seq)
		}
	}
	if len(turns) != n {
		t.Errorf("%d turns, want %d", len(turns), n)
	}
}

// rawDB opens path without the store, to look at or tamper with the schema.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkCreateTurn measures the create call alone: a new task, its
// worker and its turn, as a client's POST does.
func BenchmarkCreateTurn(b *testing.B) {
	ctx := b.Context()
	st := newStore(b)
	if err := st.CreateAPIKey(ctx, "key", "org", "user", []byte("hash"), time.Now()); err != nil {
		b.Fatal(err)
	}
	p := store.Principal{KeyID: "key", OrgID: "org", UserID: "user"}
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
	}
}

// BenchmarkClaimFinish measures the queue's round trip: create a task, claim
// its turn, finish it.
func BenchmarkClaimFinish(b *testing.B) {
	q := newQueueBench(b)
	for b.Loop() {
		q.createTasks(b, 1)
		start := time.Now()
		c, err := storetest.ClaimOne(q.ctx, q.st, "runner", q.now, time.Minute)
		if err != nil || c == nil {
			b.Fatalf("ClaimTurn = %v, %v", c, err)
		}
		q.claim += time.Since(start)
		start = time.Now()
		if err := storetest.FinishOne(q.ctx, q.st, q.finished(*c)); err != nil {
			b.Fatal(err)
		}
		q.finish += time.Since(start)
	}
	q.report(b)
}

// BenchmarkClaimFinishBatch is BenchmarkClaimFinish as a busy runner pool
// drives the queue: each create is its own call, as from its own client, but
// the pool claims 16 turns at once and finishes them in one call.
func BenchmarkClaimFinishBatch(b *testing.B) {
	const batch = 16
	q := newQueueBench(b)
	ps := make([]store.FinishTurnParams, 0, batch)
	for b.Loop() {
		q.createTasks(b, batch)
		start := time.Now()
		claims, err := q.st.ClaimTurns(q.ctx, "runner", q.now, time.Minute, batch, store.Share{})
		if err != nil || len(claims) != batch {
			b.Fatalf("ClaimTurns = %d claims, %v", len(claims), err)
		}
		q.claim += time.Since(start)
		ps = ps[:0]
		for _, c := range claims {
			ps = append(ps, q.finished(c))
		}
		start = time.Now()
		errs, err := q.st.FinishTurns(q.ctx, ps)
		if err == nil {
			err = errors.Join(errs...)
		}
		if err != nil {
			b.Fatal(err)
		}
		q.finish += time.Since(start)
	}
	q.report(b)
}

// queueBench is the state of a queue benchmark: a store with an API key,
// and the time each phase took.
type queueBench struct {
	st                    *sqlite.Store
	ctx                   context.Context
	p                     store.Principal
	now                   time.Time
	turns                 int
	create, claim, finish time.Duration
}

func newQueueBench(b *testing.B) *queueBench {
	q := &queueBench{st: newStore(b), ctx: b.Context(), now: time.Now(),
		p: store.Principal{KeyID: "key", OrgID: "org", UserID: "user"}}
	if err := q.st.CreateAPIKey(q.ctx, "key", "org", "user", []byte("hash"), q.now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	return q
}

// createTasks creates n tasks, one call each.
func (q *queueBench) createTasks(b *testing.B, n int) {
	start := time.Now()
	for range n {
		q.turns++
		id := fmt.Sprint(q.turns)
		_, err := q.st.CreateTurn(q.ctx, store.CreateTurnParams{
			Principal: q.p, TaskID: "task-" + id, NewWorkerID: "worker-" + id, TurnID: "turn-" + id,
			Input: "hello", Budget: "standard", Now: q.now,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	q.create += time.Since(start)
}

// finished is the end of a claimed turn.
func (q *queueBench) finished(c store.Claim) store.FinishTurnParams {
	return store.FinishTurnParams{
		TurnID: c.Turn.ID, Owner: c.Owner, Attempt: c.Attempt, Status: store.StatusCompleted,
		OutputText: "hi", Credits: 1, DurationMs: 1, Now: q.now,
	}
}

// report reports turns/s for the whole round trip, and the time per turn of
// each phase.
func (q *queueBench) report(b *testing.B) {
	n := float64(q.turns)
	b.ReportMetric(n/b.Elapsed().Seconds(), "turns/s")
	b.ReportMetric(float64(q.create.Microseconds())/n, "create-us/turn")
	b.ReportMetric(float64(q.claim.Microseconds())/n, "claim-us/turn")
	b.ReportMetric(float64(q.finish.Microseconds())/n, "finish-us/turn")
}

// TestGroupCommitSurvivesCallersLeaving sends concurrent creates, half of
// them with contexts cancelled at random moments: the callers that stay
// must all succeed and find their turn stored, whatever the others do to
// the transaction they share.
func TestGroupCommitSurvivesCallersLeaving(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := open(t, filepath.Join(t.TempDir(), "handinger.db"))
	t.Cleanup(func() { st.Close() })
	if err := st.CreateAPIKey(ctx, "key", "org", "user", []byte("hash"), time.Now()); err != nil {
		t.Fatal(err)
	}
	p := store.Principal{KeyID: "key", OrgID: "org", UserID: "user"}
	for round := range 20 {
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Go(func() {
				cctx, cancel := context.WithCancel(ctx)
				defer cancel()
				leaves := i%2 == 0
				if leaves {
					time.AfterFunc(time.Duration(i*37%2000)*time.Microsecond, cancel)
				}
				id := fmt.Sprintf("r%d-%d", round, i)
				_, err := st.CreateTurn(cctx, store.CreateTurnParams{
					Principal: p, TaskID: "task-" + id, TaskIDGiven: true, NewWorkerID: "worker-" + id,
					TurnID: "turn-" + id, Input: "hello", Now: time.Now(),
				})
				if leaves {
					return // either outcome is fine for a caller that left
				}
				if err != nil {
					t.Errorf("a caller that stayed failed: %v", err)
					return
				}
				if _, err := storetest.Turn(ctx, st, p.OrgID, "task-"+id, "turn-"+id); err != nil {
					t.Errorf("acknowledged turn %s not stored: %v", id, err)
				}
			})
		}
		wg.Wait()
	}
}

// TestUpgradeFromVersion1 opens a database of the first schema, with rows,
// and checks that the migrations keep every row working.
func TestUpgradeFromVersion1(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "v1.db")
	db := rawDB(t, path)
	v1, err := os.ReadFile(filepath.Join("migrations", "0001_init.sql"))
	if err != nil {
		t.Fatal(err)
	}
	rows := storetest.Version1Rows(func(b []byte) string { return fmt.Sprintf("X'%x'", b) })
	for _, q := range []string{
		string(v1),
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`,
		`INSERT INTO schema_migrations VALUES (1, 0)`,
		rows,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s…: %v", q, err)
		}
	}
	db.Close()
	storetest.CheckVersion1Rows(t, open(t, path))
}
