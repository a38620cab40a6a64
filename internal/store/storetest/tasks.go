package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/store"
)

func testCreateTurn(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("NewTaskAndWorker", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		p := b.newTask(b.alice, "summarize the news", t0.In(time.FixedZone("UTC+3", 3*3600)))
		res := b.create(t, p)

		if res.Replayed {
			t.Error("Replayed = true on a first call")
		}
		w := res.Worker
		if w.ID != p.NewWorkerID || w.OrgID != "org-a" || w.CreatedByUserID != "user-alice" ||
			w.Instructions != p.Input {
			t.Errorf("Worker = %+v", w)
		}
		wantTime(t, "Worker.CreatedAt", w.CreatedAt, t0)

		task := res.Task
		if task.ID != p.TaskID || task.OrgID != "org-a" || task.WorkerID != w.ID ||
			task.CreatedByUserID != "user-alice" || task.Title != p.Title || task.TriggeredBy != "api" ||
			task.Archived || task.Position <= 0 || task.Status != store.StatusPending ||
			task.CompletedAt != nil || task.Credits != 0 || task.DurationMs != 0 || task.TurnCount != 1 {
			t.Errorf("Task = %+v", task)
		}
		wantTime(t, "Task.CreatedAt", task.CreatedAt, t0)

		turn := res.Turn
		if turn.ID != p.TurnID || turn.TaskID != task.ID || turn.OrgID != "org-a" || turn.Seq != 1 ||
			turn.Input != p.Input || turn.Budget != "standard" || turn.Status != store.StatusPending ||
			turn.Attempts != 0 || turn.CompletedAt != nil || turn.StructuredOutput != nil {
			t.Errorf("Turn = %+v", turn)
		}
		wantTime(t, "Turn.AcceptedAt", turn.AcceptedAt, t0)

		if got := b.task(t, "org-a", task.ID); !reflect.DeepEqual(got, task) {
			t.Errorf("GetTask = %+v\nwant %+v", got, task)
		}
		gotTask, gotTurns, err := b.st.GetTaskWithTurns(b.ctx, "org-a", task.ID)
		if err != nil || !reflect.DeepEqual(gotTask, task) || !reflect.DeepEqual(gotTurns, []store.Turn{turn}) {
			t.Errorf("GetTaskWithTurns = %+v, %+v, %v", gotTask, gotTurns, err)
		}
	})

	t.Run("ExistingWorker", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		first := b.create(t, b.newTask(b.alice, "one", t0))

		p := b.newTask(b.bob, "two", t0.Add(time.Second))
		p.WorkerID = first.Worker.ID
		res := b.create(t, p)
		if res.Task.WorkerID != first.Worker.ID || res.Task.CreatedByUserID != "user-bob" {
			t.Errorf("Task = %+v, want worker %s created by bob", res.Task, first.Worker.ID)
		}
		if !reflect.DeepEqual(res.Worker, first.Worker) {
			t.Errorf("Worker = %+v, want %+v", res.Worker, first.Worker)
		}
		b.workerMissing(t, "NewWorkerID when WorkerID was given", b.alice, p.NewWorkerID)
	})

	t.Run("UnknownWorker", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		other := b.create(t, b.newTask(b.carol, "carol's", t0))

		for _, workerID := range []string{"no-such-worker", other.Worker.ID} {
			p := b.newTask(b.alice, "x", t0)
			p.WorkerID = workerID
			_, err := b.st.CreateTurn(b.ctx, p)
			wantErr(t, "CreateTurn with worker "+workerID, err, store.ErrNotFound)
			_, _, err = b.st.GetTaskWithTurns(b.ctx, "org-a", p.TaskID)
			wantErr(t, "GetTaskWithTurns after the refused create", err, store.ErrNotFound)
		}
	})

	t.Run("FollowUps", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		first := b.create(t, b.newTask(b.alice, "one", t0))
		for seq := 2; seq <= 3; seq++ {
			res := b.create(t, b.followUp(b.bob, first.Task.ID, fmt.Sprint(seq), t0.Add(time.Duration(seq)*time.Second)))
			if res.Turn.Seq != seq || res.Turn.TaskID != first.Task.ID || res.Task.TurnCount != seq ||
				res.Task.Status != store.StatusPending || res.Task.Position != first.Task.Position {
				t.Errorf("follow-up %d: Task = %+v, Turn = %+v", seq, res.Task, res.Turn)
			}
			if !reflect.DeepEqual(res.Worker, first.Worker) {
				t.Errorf("follow-up %d: Worker = %+v, want %+v", seq, res.Worker, first.Worker)
			}
		}
		_, turns, err := b.st.GetTaskWithTurns(b.ctx, "org-a", first.Task.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := seqs(turns); !slices.Equal(got, []int{1, 2, 3}) {
			t.Errorf("seqs = %v, want [1 2 3]", got)
		}
	})

	t.Run("ClientChosenNewTaskID", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		res := b.create(t, b.followUp(b.alice, "my-own-task-id", "hello", t0))
		if res.Task.ID != "my-own-task-id" || res.Turn.Seq != 1 || res.Task.TurnCount != 1 ||
			res.Worker.Instructions != "hello" {
			t.Errorf("CreateTurn = %+v", res)
		}
	})

	t.Run("FollowUpRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		task1 := b.create(t, b.newTask(b.alice, "one", t0))
		task2 := b.create(t, b.newTask(b.alice, "two", t0))
		archived := b.create(t, b.newTask(b.alice, "three", t0))
		if err := b.st.ArchiveTask(b.ctx, "org-a", "user-alice", archived.Task.ID); err != nil {
			t.Fatal(err)
		}

		_, err := b.st.CreateTurn(b.ctx, b.followUp(b.alice, archived.Task.ID, "x", t0))
		wantErr(t, "follow-up to an archived task", err, store.ErrArchived)
		p := b.followUp(b.alice, task1.Task.ID, "x", t0)
		p.WorkerID = task2.Worker.ID
		_, err = b.st.CreateTurn(b.ctx, p)
		wantErr(t, "follow-up naming another worker", err, store.ErrWorkerMismatch)
		if got := b.task(t, "org-a", task1.Task.ID); got.TurnCount != 1 {
			t.Errorf("TurnCount after refused follow-ups = %d, want 1", got.TurnCount)
		}

		p.WorkerID = task1.Worker.ID
		if res := b.create(t, p); res.Turn.Seq != 2 {
			t.Errorf("follow-up naming the task's worker: seq %d, want 2", res.Turn.Seq)
		}
	})

	// A task id is its organization's own: the same id in two
	// organizations is two tasks, each invisible to the other, with their
	// own turns, claims, totals and archive state.
	t.Run("TaskIDsAreTheOrganizationsOwn", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		a1 := b.create(t, b.followUp(b.alice, "order-17", "a one", t0))
		c1 := b.create(t, b.followUp(b.carol, "order-17", "c one", t0))
		if c1.Task.OrgID != "org-b" || c1.Turn.Seq != 1 || c1.Task.TurnCount != 1 || c1.Worker.ID == a1.Worker.ID {
			t.Fatalf("org-b's create of org-a's task id = %+v, want a new task of org-b", c1)
		}
		c2 := b.create(t, b.followUp(b.carol, "order-17", "c two", t0))
		if c2.Turn.Seq != 2 || c2.Worker.ID != c1.Worker.ID {
			t.Errorf("org-b's follow-up = %+v, want seq 2 of its own task", c2)
		}
		// A server-made id of one organization is a new client-chosen id in
		// another.
		s1 := b.create(t, b.newTask(b.alice, "server-made", t0))
		if res := b.create(t, b.followUp(b.carol, s1.Task.ID, "c", t0)); res.Task.OrgID != "org-b" || res.Turn.Seq != 1 {
			t.Errorf("org-b's create of org-a's server-made id = %+v, want a new task of org-b", res)
		}

		// An id in the server's form is a follow-up or nothing.
		only := b.followUp(b.carol, s1.Task.ID+"x", "c", t0)
		only.FollowUpOnly = true
		_, err := b.st.CreateTurn(b.ctx, only)
		wantErr(t, "FollowUpOnly create of an id org-b has no task of", err, store.ErrNotFound)
		if _, _, err := b.st.GetTaskWithTurns(b.ctx, "org-b", only.TaskID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the refused FollowUpOnly create stored task %s: %v", only.TaskID, err)
		}
		only = b.followUp(b.alice, s1.Task.ID, "a", t0)
		only.FollowUpOnly = true
		if res := b.create(t, only); res.Turn.Seq != 2 || res.Task.OrgID != "org-a" {
			t.Errorf("FollowUpOnly follow-up of org-a's task = %+v, want its seq 2", res)
		}

		// Both tasks of the id run, each with its own history.
		now := t0
		var (
			ta     store.Task
			turnsA []store.Turn
		)
		for range 2 {
			claims := b.claimTurns(t, "r", now, 10)
			now = now.Add(time.Second)
			for i := range claims {
				if want := claims[i].Turn.Seq - 1; len(claims[i].History) != want {
					t.Errorf("claim of %q: %d turns of history, want %d", claims[i].Turn.Input, len(claims[i].History), want)
				}
				for _, h := range claims[i].History {
					if h.OrgID != claims[i].Turn.OrgID {
						t.Errorf("claim of %q has %q of %s in its history", claims[i].Turn.Input, h.Input, h.OrgID)
					}
				}
				b.finish(t, &claims[i], now, 1, 1000)
			}
		}
		ta, turnsA, err = b.st.GetTaskWithTurns(b.ctx, "org-a", "order-17")
		if err != nil || ta.TurnCount != 1 || len(turnsA) != 1 || turnsA[0].Input != "a one" ||
			ta.Status != store.StatusCompleted || ta.Credits != 1 {
			t.Errorf("org-a's order-17 = %+v %+v, %v; want its one completed turn", ta, turnsA, err)
		}
		tc, turnsC, err := b.st.GetTaskWithTurns(b.ctx, "org-b", "order-17")
		if err != nil || tc.TurnCount != 2 || len(turnsC) != 2 || turnsC[1].Input != "c two" ||
			tc.Status != store.StatusCompleted || tc.Credits != 2 {
			t.Errorf("org-b's order-17 = %+v %+v, %v; want its two completed turns", tc, turnsC, err)
		}

		if err := b.st.ArchiveTask(b.ctx, "org-b", "user-carol", "order-17"); err != nil {
			t.Fatal(err)
		}
		if got := b.task(t, "org-a", "order-17"); got.Archived {
			t.Error("archiving org-b's order-17 archived org-a's")
		}
		if res := b.create(t, b.followUp(b.alice, "order-17", "a two", now)); res.Turn.Seq != 2 {
			t.Errorf("org-a's follow-up after org-b archived its own: seq %d, want 2", res.Turn.Seq)
		}
	})

	t.Run("FollowUpReopensTask", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		first := b.create(t, b.newTask(b.alice, "one", t0))
		b.finish(t, b.claim(t, "r", t0), t0.Add(time.Second), 7, 1000)
		if got := b.task(t, "org-a", first.Task.ID); got.Status != store.StatusCompleted || got.CompletedAt == nil {
			t.Fatalf("task after its turn finished = %+v", got)
		}

		res := b.create(t, b.followUp(b.alice, first.Task.ID, "two", t0.Add(2*time.Second)))
		if res.Task.Status != store.StatusPending || res.Task.CompletedAt != nil ||
			res.Task.Credits != 7 || res.Task.DurationMs != 1000 || res.Task.TurnCount != 2 {
			t.Errorf("task after follow-up = %+v", res.Task)
		}
	})

	t.Run("ConcurrentFollowUps", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		first := b.create(t, b.newTask(b.alice, "one", t0))
		var wg sync.WaitGroup
		for i := range 19 {
			p := b.followUp(b.alice, first.Task.ID, fmt.Sprint(i), t0)
			wg.Go(func() {
				if _, err := b.st.CreateTurn(b.ctx, p); err != nil {
					t.Errorf("CreateTurn: %v", err)
				}
			})
		}
		wg.Wait()
		wantSeqs(t, b, first.Task.ID, 20)
	})

	t.Run("ConcurrentCreatesOfOneNewTaskID", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		results := make([]store.CreateTurnResult, 20)
		var wg sync.WaitGroup
		for i := range results {
			p := b.followUp(b.alice, "chosen-id", fmt.Sprint(i), t0)
			wg.Go(func() {
				res, err := b.st.CreateTurn(b.ctx, p)
				if err != nil {
					t.Errorf("CreateTurn: %v", err)
				}
				results[i] = res
			})
		}
		wg.Wait()
		task := wantSeqs(t, b, "chosen-id", 20)
		for _, res := range results {
			if res.Task.ID != "chosen-id" || res.Worker.ID != task.WorkerID {
				t.Errorf("result: task %s worker %s, want chosen-id and %s", res.Task.ID, res.Worker.ID, task.WorkerID)
			}
		}
	})
}

// wantSeqs checks that task has exactly the turns 1..n and returns it.
func wantSeqs(t *testing.T, b *bundle, taskID string, n int) store.Task {
	t.Helper()
	task, turns, err := b.st.GetTaskWithTurns(b.ctx, "org-a", taskID)
	if err != nil {
		t.Fatalf("GetTaskWithTurns: %v", err)
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if got := seqs(turns); !slices.Equal(got, want) {
		t.Errorf("seqs = %v, want %v", got, want)
	}
	if task.TurnCount != n {
		t.Errorf("TurnCount = %d, want %d", task.TurnCount, n)
	}
	return task
}

func seqs(turns []store.Turn) []int {
	var s []int
	for _, t := range turns {
		s = append(s, t.Seq)
	}
	return s
}

func testTasks(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		res := b.create(t, b.newTask(b.alice, "one", t0))

		_, _, err := b.st.GetTaskWithTurns(b.ctx, "org-a", "no-such-task")
		wantErr(t, "GetTaskWithTurns(unknown)", err, store.ErrNotFound)
		_, _, err = b.st.GetTaskWithTurns(b.ctx, "org-b", res.Task.ID)
		wantErr(t, "GetTaskWithTurns from another org", err, store.ErrNotFound)
		b.workerMissing(t, "a create naming an unknown worker", b.alice, "no-such-worker")
		b.workerMissing(t, "a create naming another org's worker", b.carol, res.Worker.ID)
	})

	t.Run("StatusAndTotalsFollowTheLatestTurn", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		first := b.create(t, b.newTask(b.alice, "one", t0))
		b.create(t, b.followUp(b.alice, first.Task.ID, "two", t0))
		id := first.Task.ID

		// Turn 1 runs and ends while turn 2 waits: the task stays pending.
		c1 := b.claim(t, "r", t0)
		if got := b.task(t, "org-a", id); got.Status != store.StatusPending {
			t.Errorf("while turn 1 runs: Status = %s, want pending", got.Status)
		}
		b.finish(t, c1, t0.Add(time.Second), 3, 100)
		got := b.task(t, "org-a", id)
		if got.Status != store.StatusPending || got.CompletedAt != nil || got.Credits != 3 || got.DurationMs != 100 {
			t.Errorf("after turn 1: %+v", got)
		}

		c2 := b.claim(t, "r", t0.Add(time.Second))
		if got := b.task(t, "org-a", id); got.Status != store.StatusRunning || got.CompletedAt != nil {
			t.Errorf("while turn 2 runs: %+v", got)
		}
		err := b.finishOne(store.FinishTurnParams{
			TurnID: c2.Turn.ID, Owner: c2.Owner, Attempt: c2.Attempt, Status: store.StatusError,
			ErrorCode: "tool_failed", ErrorMessage: "the tool failed", Credits: 2, DurationMs: 50,
			Now: t0.Add(2 * time.Second),
		})
		if err != nil {
			t.Fatal(err)
		}
		got = b.task(t, "org-a", id)
		if got.Status != store.StatusError || got.Credits != 5 || got.DurationMs != 150 || got.TurnCount != 2 {
			t.Errorf("after turn 2: %+v", got)
		}
		wantCompletedAt(t, "CompletedAt", got.CompletedAt, ptr(t0.Add(2*time.Second)))
	})

	t.Run("FinishStoresTheResult", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		b.create(t, b.newTask(b.alice, "one", t0))
		b.create(t, b.newTask(b.alice, "two", t0))

		c := b.claim(t, "r", t0)
		err := b.finishOne(store.FinishTurnParams{
			TurnID: c.Turn.ID, Owner: "r", Attempt: c.Attempt, Status: store.StatusCompleted,
			OutputText: "the answer", InputTokens: 11, OutputTokens: 22, Credits: 3, DurationMs: 444,
			StructuredOutput: []byte(`{"answer":42}`), Now: t0.Add(time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		got := b.turn(t, c.Turn)
		if got.Status != store.StatusCompleted || got.OutputText != "the answer" || got.InputTokens != 11 ||
			got.OutputTokens != 22 || got.Credits != 3 || got.DurationMs != 444 ||
			string(got.StructuredOutput) != `{"answer":42}` || got.Attempts != 1 || got.ErrorCode != "" {
			t.Errorf("finished turn = %+v", got)
		}
		wantCompletedAt(t, "CompletedAt", got.CompletedAt, ptr(t0.Add(time.Minute)))

		c = b.claim(t, "r", t0)
		err = b.finishOne(store.FinishTurnParams{
			TurnID: c.Turn.ID, Owner: "r", Attempt: c.Attempt, Status: store.StatusAborted,
			OutputText: "partial", IncompleteReason: "budget", Now: t0.Add(time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		got = b.turn(t, c.Turn)
		if got.Status != store.StatusAborted || got.IncompleteReason != "budget" || got.StructuredOutput != nil {
			t.Errorf("aborted turn = %+v", got)
		}
		if task := b.task(t, "org-a", c.Turn.TaskID); task.Status != store.StatusAborted {
			t.Errorf("task of the aborted turn: Status = %s", task.Status)
		}
	})
}

func testListTasks(t *testing.T, newStore func(t *testing.T) store.Store) {
	// list returns every page of p, checking the cursors on the way.
	list := func(t *testing.T, b *bundle, p store.ListTasksParams) (pages [][]string) {
		t.Helper()
		for range 100 {
			tasks, next, err := b.st.ListTasks(b.ctx, p)
			if err != nil {
				t.Fatalf("ListTasks(%+v): %v", p, err)
			}
			var ids []string
			for i, task := range tasks {
				ids = append(ids, task.ID)
				if i > 0 && task.Position >= tasks[i-1].Position {
					t.Errorf("page not newest first: %v", ids)
				}
			}
			pages = append(pages, ids)
			if next == 0 {
				return pages
			}
			if len(tasks) == 0 || next != tasks[len(tasks)-1].Position {
				t.Fatalf("next = %d, want the last row's position", next)
			}
			p.Before = next
		}
		t.Fatal("ListTasks never returned a last page")
		return nil
	}

	t.Run("PagesNewestFirst", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		var ids []string
		for i := range 5 {
			ids = append(ids, b.create(t, b.newTask(b.alice, fmt.Sprint(i), t0)).Task.ID)
		}
		slices.Reverse(ids)
		for _, tc := range []struct {
			limit int
			want  [][]string
		}{
			{2, [][]string{ids[0:2], ids[2:4], ids[4:5]}},
			{4, [][]string{ids[0:4], ids[4:5]}},
			{5, [][]string{ids}},
			{50, [][]string{ids}},
		} {
			got := list(t, b, store.ListTasksParams{OrgID: "org-a", Limit: tc.limit})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("limit %d: pages %v, want %v", tc.limit, got, tc.want)
			}
		}
		// A follow-up does not move a task up the list.
		b.create(t, b.followUp(b.alice, ids[4], "again", t0))
		if got := list(t, b, store.ListTasksParams{OrgID: "org-a", Limit: 50}); !reflect.DeepEqual(got[0], ids) {
			t.Errorf("after a follow-up: %v, want %v", got[0], ids)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		w1 := b.create(t, b.newTask(b.alice, "w1 a", t0))
		p := b.newTask(b.bob, "w1 b", t0)
		p.WorkerID = w1.Worker.ID
		w1b := b.create(t, p)
		w2 := b.create(t, b.newTask(b.alice, "w2", t0))
		b.create(t, b.newTask(b.alice, "pending", t0))

		b.finish(t, b.claim(t, "r", t0), t0, 1, 1) // w1 a: completed
		b.claim(t, "r", t0)                        // w1 b: running

		for _, tc := range []struct {
			p    store.ListTasksParams
			want []string
		}{
			{store.ListTasksParams{WorkerID: w1.Worker.ID}, []string{w1b.Task.ID, w1.Task.ID}},
			{store.ListTasksParams{WorkerID: w2.Worker.ID}, []string{w2.Task.ID}},
			{store.ListTasksParams{WorkerID: "no-such-worker"}, nil},
			{store.ListTasksParams{Status: store.StatusCompleted}, []string{w1.Task.ID}},
			{store.ListTasksParams{Status: store.StatusRunning}, []string{w1b.Task.ID}},
			{store.ListTasksParams{Status: store.StatusRunning, WorkerID: w2.Worker.ID}, nil},
			{store.ListTasksParams{Status: store.StatusPending, WorkerID: w2.Worker.ID}, []string{w2.Task.ID}},
		} {
			tc.p.OrgID, tc.p.Limit = "org-a", 1
			got := slices.Concat(list(t, b, tc.p)...)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ListTasks(%+v) = %v, want %v", tc.p, got, tc.want)
			}
		}
	})

	t.Run("ArchivedAndOtherOrgsExcluded", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		kept := b.create(t, b.newTask(b.alice, "kept", t0))
		archived := b.create(t, b.newTask(b.alice, "archived", t0))
		bobs := b.create(t, b.newTask(b.bob, "bob's", t0))
		carols := b.create(t, b.newTask(b.carol, "carol's", t0))
		if err := b.st.ArchiveTask(b.ctx, "org-a", "user-alice", archived.Task.ID); err != nil {
			t.Fatal(err)
		}

		got := slices.Concat(list(t, b, store.ListTasksParams{OrgID: "org-a", Limit: 10})...)
		if want := []string{bobs.Task.ID, kept.Task.ID}; !slices.Equal(got, want) {
			t.Errorf("org-a lists %v, want %v", got, want)
		}
		got = slices.Concat(list(t, b, store.ListTasksParams{OrgID: "org-b", Limit: 10})...)
		if want := []string{carols.Task.ID}; !slices.Equal(got, want) {
			t.Errorf("org-b lists %v, want %v", got, want)
		}
		got = slices.Concat(list(t, b, store.ListTasksParams{OrgID: "org-none", Limit: 10})...)
		if len(got) != 0 {
			t.Errorf("an org without tasks lists %v", got)
		}
	})
}

func testArchiveTask(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Rules", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		alices := b.create(t, b.newTask(b.alice, "alice's", t0))
		p := b.newTask(b.bob, "bob's task on alice's worker", t0)
		p.WorkerID = alices.Worker.ID
		bobs := b.create(t, p)

		wantErr(t, "archive unknown", b.st.ArchiveTask(b.ctx, "org-a", "user-alice", "no-such-task"), store.ErrNotFound)
		wantErr(t, "archive from another org", b.st.ArchiveTask(b.ctx, "org-b", "user-carol", alices.Task.ID), store.ErrNotFound)
		// What counts is who created the worker, not the task.
		wantErr(t, "archive by bob", b.st.ArchiveTask(b.ctx, "org-a", "user-bob", bobs.Task.ID), store.ErrForbidden)
		if b.task(t, "org-a", bobs.Task.ID).Archived {
			t.Error("refused archive archived the task")
		}
		for range 2 { // idempotent
			if err := b.st.ArchiveTask(b.ctx, "org-a", "user-alice", bobs.Task.ID); err != nil {
				t.Fatalf("archive by the worker's creator: %v", err)
			}
		}
		if !b.task(t, "org-a", bobs.Task.ID).Archived {
			t.Error("Archived = false after ArchiveTask")
		}
		if b.task(t, "org-a", alices.Task.ID).Archived {
			t.Error("archiving one task archived another")
		}
	})
}
