package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver of the lock the test holds

	"github.com/handinger/handinger/gen"
	"github.com/handinger/handinger/internal/testdb"
	"github.com/handinger/handinger/server"
)

func TestCreateNewTask(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	res := s.create(s.alice, gen.CreateTask{Input: "Summarise the quarterly report."})
	w := res.JSON200
	taskID := w.Metadata.TaskID
	if !strings.HasPrefix(taskID, "tsk_") || len(taskID) != 30 {
		t.Errorf("task id %q is not tsk_<ULID>", taskID)
	}
	if got := res.HTTPResponse.Header.Get("Location"); got != "/api/tasks/"+taskID {
		t.Errorf("Location = %q", got)
	}
	if w.Status != gen.WorkerStatusCompleted || w.Running || w.Error != nil || w.IncompleteDetails != nil {
		t.Errorf("worker = %+v, want completed without error", w)
	}
	if w.Metadata.Seq != 1 || !strings.HasPrefix(w.Metadata.TurnID, "trn_") || !strings.HasPrefix(w.ID, "wrk_") {
		t.Errorf("metadata = %+v, worker id %q", w.Metadata, w.ID)
	}
	if w.OutputText == "" || len(w.Output) != 1 || w.Output[0].Content[0].Text != w.OutputText {
		t.Errorf("output = %q / %+v", w.OutputText, w.Output)
	}
	if w.Usage == nil || *w.Usage.Credits < 1 {
		t.Errorf("usage = %+v", w.Usage)
	}
	if len(w.Messages) != 2 || w.Messages[0]["content"] != "Summarise the quarterly report." {
		t.Errorf("messages = %v", w.Messages)
	}

	got := s.retrieve(s.alice, taskID)
	task := got.Task
	if task.ID != taskID || task.WorkerID != w.ID || task.OrganizationID != "org_a" ||
		task.CreatedByUserID == nil || *task.CreatedByUserID != "usr_alice" || task.TriggeredBy != gen.TriggeredByApi {
		t.Errorf("task = %+v", task)
	}
	if task.Status != gen.TaskStatusCompleted || task.CompletedAt == nil {
		t.Errorf("task status %s, completedAt %v", task.Status, task.CompletedAt)
	}
	if task.Title != "Summarise the quarterly report." || task.Url != s.url+"/tasks/"+taskID {
		t.Errorf("title %q, url %q", task.Title, task.Url)
	}
	if len(got.Turns) != 1 {
		t.Fatalf("%d turns", len(got.Turns))
	}
	turn := got.Turns[0]
	if turn.ID != w.Metadata.TurnID || turn.Seq != 1 || turn.Status != "completed" || turn.OutputText != w.OutputText ||
		turn.Role != "user" || turn.InputTokens == 0 || turn.OutputTokens == 0 || turn.CompletedAt == nil {
		t.Errorf("turn = %+v", turn)
	}
	if task.Totals.TurnCount != 1 || task.Totals.Credits != turn.Credits || task.Totals.DurationMs != turn.DurationMs {
		t.Errorf("totals = %+v, turn credits %d", task.Totals, turn.Credits)
	}
}

func TestClientChosenTaskIDAndFollowUps(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	first := s.create(s.alice, gen.CreateTask{Input: "Plan a trip to Lisbon.", TaskID: ptr("trip-2026")}).JSON200
	if first.Metadata.TaskID != "trip-2026" || first.Metadata.Seq != 1 {
		t.Fatalf("metadata = %+v", first.Metadata)
	}
	second := s.create(s.alice, gen.CreateTask{Input: "Now make it three days.", TaskID: ptr("trip-2026"), WorkerID: ptr(first.ID)}).JSON200
	if second.Metadata.Seq != 2 || second.ID != first.ID {
		t.Fatalf("follow-up metadata = %+v worker %s", second.Metadata, second.ID)
	}
	if second.OutputText == first.OutputText {
		t.Error("the follow-up's output ignores the history")
	}
	if len(second.Messages) != 4 {
		t.Errorf("follow-up messages = %v, want the whole conversation", second.Messages)
	}
	got := s.retrieve(s.alice, "trip-2026")
	if len(got.Turns) != 2 || got.Turns[0].Seq != 1 || got.Turns[1].Seq != 2 || got.Task.Totals.TurnCount != 2 {
		t.Errorf("turns = %+v", got.Turns)
	}
	if got.Task.Totals.Credits != got.Turns[0].Credits+got.Turns[1].Credits {
		t.Errorf("totals %+v do not sum the turns", got.Task.Totals)
	}
	turns, err := s.alice.ListTurnsWithResponse(context.Background(), "trip-2026")
	if err != nil || turns.JSON200 == nil {
		t.Fatalf("list turns: %v %s", err, turns.Body)
	}
	if turns.JSON200.TaskID != "trip-2026" || len(turns.JSON200.Items) != 2 || turns.JSON200.Items[1].ID != second.Metadata.TurnID {
		t.Errorf("list turns = %+v", turns.JSON200)
	}
}

func TestConcurrentFollowUpsKeepOrder(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	first := s.create(s.alice, gen.CreateTask{Input: "Count with me. [delay=50ms]"}).JSON200
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s.create(s.alice, gen.CreateTask{Input: fmt.Sprintf("number %d [delay=10ms]", i), TaskID: &first.Metadata.TaskID})
		})
	}
	wg.Wait()
	got := s.retrieve(s.alice, first.Metadata.TaskID)
	if len(got.Turns) != n+1 {
		t.Fatalf("%d turns, want %d", len(got.Turns), n+1)
	}
	for i, turn := range got.Turns {
		if int(turn.Seq) != i+1 || turn.Status != "completed" {
			t.Errorf("turn %d: seq %d status %s", i, turn.Seq, turn.Status)
		}
		if i > 0 && turn.CompletedAt.Before(*got.Turns[i-1].CompletedAt) {
			t.Errorf("turn %d ended before turn %d: turns of a task must run one at a time in seq order", turn.Seq, got.Turns[i-1].Seq)
		}
	}
}

// TestTaskIDsAreTheOrganizationsOwn: the same client-chosen id in two
// organizations is two tasks, neither visible to the other, and neither
// create tells whether the id is in use elsewhere.
func TestTaskIDsAreTheOrganizationsOwn(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	b := s.create(s.eve, gen.CreateTask{Input: "org_b's order", TaskID: ptr("order-17")}).JSON200
	a := s.create(s.alice, gen.CreateTask{Input: "org_a's order", TaskID: ptr("order-17")}).JSON200
	if a.Metadata.Seq != 1 || b.Metadata.Seq != 1 || a.ID == b.ID {
		t.Fatalf("creates of order-17: org_a %+v (worker %s), org_b %+v (worker %s); want two new tasks",
			a.Metadata, a.ID, b.Metadata, b.ID)
	}
	if got := s.retrieve(s.alice, "order-17"); len(got.Turns) != 1 || got.Turns[0].Input != "org_a's order" {
		t.Errorf("org_a's order-17 = %+v", got.Turns)
	}
	if got := s.retrieve(s.eve, "order-17"); len(got.Turns) != 1 || got.Turns[0].Input != "org_b's order" {
		t.Errorf("org_b's order-17 = %+v", got.Turns)
	}
	if res, _ := s.do("usr_eve", "DELETE", "/api/tasks/order-17", "", ""); res.StatusCode != 200 {
		t.Fatalf("org_b archives its order-17: %d", res.StatusCode)
	}
	if got := s.create(s.alice, gen.CreateTask{Input: "more", TaskID: ptr("order-17")}).JSON200; got.Metadata.Seq != 2 {
		t.Errorf("org_a's follow-up after org_b archived its own: seq %d, want 2", got.Metadata.Seq)
	}
}

func TestFollowUpRules(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	w := s.create(s.alice, gen.CreateTask{Input: "hello"}).JSON200
	other := s.create(s.alice, gen.CreateTask{Input: "another worker"}).JSON200
	taskID := w.Metadata.TaskID

	// A worker that is not the task's: permanent 409.
	res, p := s.do("usr_alice", "POST", "/api/tasks", "application/json",
		fmt.Sprintf(`{"input":"again","taskId":%q,"workerId":%q}`, taskID, other.ID))
	if res.StatusCode != http.StatusConflict || res.Header.Get("X-Should-Retry") != "false" || !strings.Contains(p.Detail, taskID) {
		t.Errorf("worker mismatch: %d %q %+v", res.StatusCode, res.Header.Get("X-Should-Retry"), p)
	}
	// Ids in the server's form are the server's alone: one the
	// organization has no task of is 404, not a new task, whether another
	// organization has it or nobody does.
	for _, id := range []string{taskID, "tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D"} {
		res, p = s.do("usr_eve", "POST", "/api/tasks", "application/json", fmt.Sprintf(`{"input":"steal","taskId":%q}`, id))
		if res.StatusCode != http.StatusNotFound || !strings.Contains(p.Detail, id) {
			t.Errorf("create of server-made id %s in another organization: %d %+v", id, res.StatusCode, p)
		}
	}
	// Another organization's worker: 404.
	res, _ = s.do("usr_eve", "POST", "/api/tasks", "application/json", fmt.Sprintf(`{"input":"steal","workerId":%q}`, w.ID))
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("other org's worker: %d", res.StatusCode)
	}
	res, _ = s.do("usr_alice", "POST", "/api/tasks", "application/json", `{"input":"x","workerId":"wrk_nope"}`)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown worker: %d", res.StatusCode)
	}
	// Archived: permanent 409, but still retrievable.
	if res, _ := s.do("usr_alice", "DELETE", "/api/tasks/"+taskID, "", ""); res.StatusCode != 200 {
		t.Fatalf("archive: %d", res.StatusCode)
	}
	res, p = s.do("usr_alice", "POST", "/api/tasks", "application/json", fmt.Sprintf(`{"input":"more","taskId":%q}`, taskID))
	if res.StatusCode != http.StatusConflict || res.Header.Get("X-Should-Retry") != "false" || !strings.Contains(p.Type, "archived") {
		t.Errorf("follow-up on archived: %d %+v", res.StatusCode, p)
	}
	if got := s.retrieve(s.alice, taskID); len(got.Turns) != 1 {
		t.Errorf("refused calls changed the task: %d turns", len(got.Turns))
	}
}

func TestArchive(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	w := s.create(s.alice, gen.CreateTask{Input: "to archive"}).JSON200
	id := w.Metadata.TaskID
	for _, who := range []struct {
		user   string
		status int
	}{{"usr_bob", 403}, {"usr_eve", 404}, {"usr_alice", 200}, {"usr_alice", 200}} {
		res, err := s.clientOf(who.user).ArchiveTaskWithResponse(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode() != who.status {
			t.Errorf("archive by %s: %d, want %d: %s", who.user, res.StatusCode(), who.status, res.Body)
		}
		if who.status == 200 && (res.JSON200 == nil || !res.JSON200.Archived) {
			t.Errorf("archive answer = %s", res.Body)
		}
	}
	list, err := s.alice.ListTasksWithResponse(context.Background(), nil)
	if err != nil || list.JSON200 == nil {
		t.Fatal(err)
	}
	if len(list.JSON200.Items) != 0 {
		t.Errorf("archived task still listed: %+v", list.JSON200.Items)
	}
	if got := s.retrieve(s.alice, id); got.Task.ID != id {
		t.Error("archived task not retrievable")
	}
	if res, _ := s.do("usr_alice", "DELETE", "/api/tasks/tsk_missing", "", ""); res.StatusCode != 404 {
		t.Errorf("archive missing: %d", res.StatusCode)
	}
}

func (s *stack) clientOf(user string) *gen.ClientWithResponses {
	switch user {
	case "usr_alice":
		return s.alice
	case "usr_bob":
		return s.bob
	}
	return s.eve
}

func TestListTasks(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	var ids []string
	w0 := s.create(s.alice, gen.CreateTask{Input: "task 0"}).JSON200
	ids = append(ids, w0.Metadata.TaskID)
	for i := 1; i < 5; i++ {
		ids = append(ids, s.create(s.alice, gen.CreateTask{Input: fmt.Sprintf("task %d", i), WorkerID: &w0.ID}).JSON200.Metadata.TaskID)
	}
	failed := s.create(s.bob, gen.CreateTask{Input: "broken [fail]"}).JSON200
	ids = append(ids, failed.Metadata.TaskID)
	s.create(s.eve, gen.CreateTask{Input: "other org"})
	slices.Reverse(ids) // newest first

	var seen []string
	var cursor *string
	pages := 0
	for {
		res, err := s.alice.ListTasksWithResponse(context.Background(), &gen.ListTasksParams{Limit: ptr(2), Cursor: cursor})
		if err != nil || res.JSON200 == nil {
			t.Fatalf("list: %v %s", err, res.Body)
		}
		pages++
		for _, task := range res.JSON200.Items {
			seen = append(seen, task.ID)
		}
		if res.JSON200.NextCursor == nil {
			break
		}
		cursor = res.JSON200.NextCursor
	}
	if !slices.Equal(seen, ids) || pages != 3 {
		t.Errorf("pages %d, listed %v, want %v", pages, seen, ids)
	}

	res, _ := s.alice.ListTasksWithResponse(context.Background(), &gen.ListTasksParams{WorkerID: &w0.ID})
	if len(res.JSON200.Items) != 5 {
		t.Errorf("by worker: %d tasks", len(res.JSON200.Items))
	}
	res, _ = s.alice.ListTasksWithResponse(context.Background(), &gen.ListTasksParams{Status: ptr(gen.TaskStatusError)})
	if len(res.JSON200.Items) != 1 || res.JSON200.Items[0].ID != failed.Metadata.TaskID {
		t.Errorf("by status error: %+v", res.JSON200.Items)
	}
	res, _ = s.eve.ListTasksWithResponse(context.Background(), nil)
	if len(res.JSON200.Items) != 1 || res.JSON200.NextCursor != nil {
		t.Errorf("other org sees %d tasks", len(res.JSON200.Items))
	}
	if r, p := s.do("usr_alice", "GET", "/api/tasks?cursor=bm9wZQ", "", ""); r.StatusCode != 400 || !strings.Contains(p.Detail, "cursor") ||
		!slices.Contains(p.pointers(), "query:/cursor") {
		t.Errorf("forged cursor: %d %+v", r.StatusCode, p)
	}
}

func TestIsolation(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	id := s.create(s.alice, gen.CreateTask{Input: "secret plans"}).JSON200.Metadata.TaskID
	for _, path := range []string{"/api/tasks/" + id, "/api/tasks/" + id + "/turns"} {
		if res, p := s.do("usr_eve", "GET", path, "", ""); res.StatusCode != 404 || strings.Contains(p.raw, "secret") {
			t.Errorf("eve GET %s: %d %s", path, res.StatusCode, p.raw)
		}
	}
	if got := s.retrieve(s.bob, id); got.Task.ID != id {
		t.Error("a user of the same organization cannot read the task")
	}
}

func TestFailedTurn(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	w := s.create(s.alice, gen.CreateTask{Input: "please [fail]"}).JSON200
	if w.Status != gen.WorkerStatusCompleted || w.Running || w.Error == nil || w.Error.Code == "" || w.Error.Message == "" {
		t.Fatalf("worker = %+v", w)
	}
	got := s.retrieve(s.alice, w.Metadata.TaskID)
	if got.Task.Status != gen.TaskStatusError || got.Turns[0].Status != "error" || got.Task.CompletedAt == nil {
		t.Errorf("task %s turn %s", got.Task.Status, got.Turns[0].Status)
	}
}

func TestBudgetStop(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	long := strings.Repeat("word ", 400)
	w := s.create(s.alice, gen.CreateTask{Input: long, Budget: ptr(gen.BudgetLow)}).JSON200
	if w.IncompleteDetails == nil || w.IncompleteDetails.Reason != gen.IncompleteDetailsReasonBudget || w.Error != nil {
		t.Fatalf("worker = %+v", w)
	}
	if w.OutputText == "" || *w.Usage.Credits > 10 {
		t.Errorf("partial output %d chars, credits %d (cap 10)", len(w.OutputText), *w.Usage.Credits)
	}
	got := s.retrieve(s.alice, w.Metadata.TaskID)
	if got.Task.Status != gen.TaskStatusAborted || got.Turns[0].Status != "aborted" {
		t.Errorf("task %s turn %s", got.Task.Status, got.Turns[0].Status)
	}
	// The same input on a larger budget runs to its end.
	full := s.create(s.alice, gen.CreateTask{Input: long, Budget: ptr(gen.BudgetHigh)}).JSON200
	if full.IncompleteDetails != nil || len(full.OutputText) <= len(w.OutputText) {
		t.Errorf("high budget: %+v", full.IncompleteDetails)
	}
}

func TestWaitLimitAnswersRunning(t *testing.T) {
	t.Parallel()
	s := setup(t, options{waitLimit: 200 * time.Millisecond})
	w := s.create(s.alice, gen.CreateTask{Input: "slow one [delay=1500ms]"}).JSON200
	if !w.Running || (w.Status != gen.WorkerStatusRunning && w.Status != gen.WorkerStatusPending) || w.Usage != nil {
		t.Fatalf("worker = %+v, want still running", w)
	}
	got := s.retrieve(s.alice, w.Metadata.TaskID)
	if got.Task.CompletedAt != nil || got.Task.Status == gen.TaskStatusCompleted {
		t.Errorf("task %s completedAt %v while running", got.Task.Status, got.Task.CompletedAt)
	}
	eventually(t, 10*time.Second, "the turn completes after the answer", func() bool {
		return s.retrieve(s.alice, w.Metadata.TaskID).Task.Status == gen.TaskStatusCompleted
	})
}

func TestCallerHangsUp(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := s.alice.CreateTaskWithResponse(ctx, nil, gen.CreateTask{Input: "keep going [delay=1s]", TaskID: ptr("hangup")})
	if err == nil {
		t.Fatal("the call should have been cut by its context")
	}
	eventually(t, 10*time.Second, "the turn completes without its caller", func() bool {
		res, err := s.alice.RetrieveTaskWithResponse(context.Background(), "hangup")
		return err == nil && res.JSON200 != nil && res.JSON200.Task.Status == gen.TaskStatusCompleted
	})
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	key := func(k string) *gen.CreateTaskParams { return &gen.CreateTaskParams{IdempotencyKey: &k} }
	body := gen.CreateTask{Input: "charge the card once [delay=300ms]"}

	// Concurrent retries with one key: one turn, the same answer for all.
	var wg sync.WaitGroup
	answers := make([]*gen.CreateTaskResponse, 5)
	for i := range answers {
		wg.Go(func() {
			res, err := s.alice.CreateTaskWithResponse(context.Background(), key("pay-1"), body)
			if err != nil {
				t.Error(err)
				return
			}
			answers[i] = res
		})
	}
	wg.Wait()
	for _, a := range answers {
		if a == nil || a.JSON200 == nil {
			t.Fatalf("a retry failed: %+v", a)
		}
		if a.JSON200.Metadata.TurnID != answers[0].JSON200.Metadata.TurnID || a.JSON200.Status != gen.WorkerStatusCompleted ||
			a.JSON200.OutputText != answers[0].JSON200.OutputText {
			t.Errorf("retry answered %+v, first %+v", a.JSON200.Metadata, answers[0].JSON200.Metadata)
		}
	}
	got := s.retrieve(s.alice, answers[0].JSON200.Metadata.TaskID)
	if len(got.Turns) != 1 {
		t.Errorf("%d turns ran for one idempotency key", len(got.Turns))
	}
	list, _ := s.alice.ListTasksWithResponse(context.Background(), nil)
	if len(list.JSON200.Items) != 1 {
		t.Errorf("%d tasks for one idempotency key", len(list.JSON200.Items))
	}

	// The same key with another body: 422, permanent.
	res, err := s.alice.CreateTaskWithResponse(context.Background(), key("pay-1"), gen.CreateTask{Input: "something else"})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != 422 || res.HTTPResponse.Header.Get("X-Should-Retry") != "false" {
		t.Errorf("reused key: %d %s", res.StatusCode(), res.Body)
	}
	// Keys are per API key: bob's "pay-1" is his own.
	res, _ = s.bob.CreateTaskWithResponse(context.Background(), key("pay-1"), gen.CreateTask{Input: "something else"})
	if res.JSON200 == nil || res.JSON200.Metadata.TaskID == answers[0].JSON200.Metadata.TaskID {
		t.Errorf("another key's idempotency key collided: %d %s", res.StatusCode(), res.Body)
	}
}

func TestStoreDownAnswers500And503(t *testing.T) {
	t.Parallel()
	s := setup(t, options{})
	id := s.create(s.alice, gen.CreateTask{Input: "before the outage"}).JSON200.Metadata.TaskID
	_ = server.CloseDatabase(s.server)
	res, p := s.do("usr_alice", "GET", "/api/tasks/"+id, "", "")
	if res.StatusCode != 500 || strings.Contains(p.Detail, "sql") || p.RequestID == "" {
		t.Errorf("retrieve with the database gone: %d %+v", res.StatusCode, p)
	}
	if res, _ := s.do("", "GET", "/readyz", "", ""); res.StatusCode != 503 {
		t.Errorf("readyz with the database gone: %d", res.StatusCode)
	}
	if res, _ := s.do("", "GET", "/healthz", "", ""); res.StatusCode != 200 {
		t.Errorf("healthz: %d", res.StatusCode)
	}
}

// TestNULNeverReachesTheDatabase checks that U+0000, which PostgreSQL's text
// cannot hold, gets the same answer on every backend, with and without
// validation, and never a 500.
func TestNULNeverReachesTheDatabase(t *testing.T) {
	t.Parallel()
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("validation off %v", off), func(t *testing.T) {
			t.Parallel()
			s := setup(t, options{noValidation: off})
			id := s.create(s.alice, gen.CreateTask{Input: "a task"}).JSON200.Metadata.TaskID
			res, p := s.do("usr_alice", "POST", "/api/tasks", "application/json", `{"input":"a\u0000b"}`)
			if res.StatusCode != 400 || !slices.Contains(p.pointers(), "body:/input") {
				t.Errorf("input with U+0000: %d %+v", res.StatusCode, p)
			}
			res, p = s.do("usr_alice", "POST", "/api/tasks", "application/json", `{"input":"x","taskId":"`+id+`\u0000"}`)
			if res.StatusCode != 400 || !slices.Contains(p.pointers(), "body:/taskId") {
				t.Errorf("taskId with U+0000: %d %+v", res.StatusCode, p)
			}
			for _, target := range []struct {
				method, path string
				want         int // with validation on; off answers as if nothing matched
			}{
				{"GET", "/api/tasks/a%00b", 400},
				{"DELETE", "/api/tasks/a%00b", 400},
				{"GET", "/api/tasks/a%00b/turns", 400},
				{"HEAD", "/api/tasks/%C0%AE", 400},
			} {
				want := target.want
				if off {
					want = 404
				}
				if res, _ := s.do("usr_alice", target.method, target.path, "", ""); res.StatusCode != want {
					t.Errorf("%s %s: %d, want %d", target.method, target.path, res.StatusCode, want)
				}
			}
			for _, method := range []string{"GET", "HEAD"} {
				want := 400
				if off {
					want = 200 // no worker's id holds U+0000: an empty page
				}
				if res, _ := s.do("usr_alice", method, "/api/tasks?workerId=%00", "", ""); res.StatusCode != want {
					t.Errorf("%s /api/tasks?workerId=%%00: %d, want %d", method, res.StatusCode, want)
				}
			}
			if got := s.retrieve(s.alice, id); len(got.Turns) != 1 {
				t.Errorf("the refused calls changed the task: %d turns", len(got.Turns))
			}
		})
	}
}

// TestLockedDatabaseAnswers503 holds the SQLite database's write lock from
// another connection, as another process would: creates answer 503 with
// Retry-After and store nothing, /readyz says so, and both recover when the
// lock goes.
func TestLockedDatabaseAnswers503(t *testing.T) {
	t.Parallel()
	if testdb.Current() != testdb.SQLite {
		t.Skip("skipping: the lock held by another process is SQLite's case; PostgreSQL has no file lock")
	}
	s := setup(t, options{})
	s.create(s.alice, gen.CreateTask{Input: "before the lock"})
	other, err := sql.Open("sqlite", strings.TrimPrefix(s.db, "sqlite:")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	lock, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	res, p := s.do("usr_alice", "POST", "/api/tasks", "application/json", `{"input":"while locked"}`)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || strings.Contains(p.Detail, "sqlite") {
		t.Errorf("create with the database locked: %d Retry-After %q %+v", res.StatusCode, res.Header.Get("Retry-After"), p)
	}
	if res, _ := s.do("", "GET", "/readyz", "", ""); res.StatusCode != 503 {
		t.Errorf("readyz after a failed write: %d, want 503", res.StatusCode)
	}
	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	lock.Close()
	s.create(s.alice, gen.CreateTask{Input: "after the lock"})
	if res, _ := s.do("", "GET", "/readyz", "", ""); res.StatusCode != 200 {
		t.Errorf("readyz after a write succeeded again: %d, want 200", res.StatusCode)
	}
	list, err := s.alice.ListTasksWithResponse(ctx, nil)
	if err != nil || len(list.JSON200.Items) != 2 {
		t.Errorf("tasks after the outage: %v %s, want the two created outside it", err, list.Body)
	}
}

// TestNoOrganizationStarvesAnother fills a server's runners with one
// organization's slow turns and checks that another organization's trivial
// create still completes within the wait limit: no organization runs more
// than all but a quarter of the runners (6 of 8), however many of its turns
// queue.
func TestNoOrganizationStarvesAnother(t *testing.T) {
	t.Parallel()
	const waitLimit = 3 * time.Second
	s := setup(t, options{waitLimit: waitLimit})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			res, err := s.alice.CreateTaskWithResponse(context.Background(), nil,
				gen.CreateTask{Input: fmt.Sprintf("slow %d [delay=1m]", i)})
			if err != nil || res.JSON200 == nil {
				t.Errorf("org_a create %d: %v %v", i, err, res)
			}
		})
	}
	wg.Wait() // each answered after the wait limit: all 40 are queued or running

	running := gen.TaskStatusRunning
	limit := 100
	list, err := s.alice.ListTasksWithResponse(context.Background(), &gen.ListTasksParams{Status: &running, Limit: &limit})
	if err != nil || list.JSON200 == nil {
		t.Fatalf("list org_a's running tasks: %v %v", err, list)
	}
	if n := len(list.JSON200.Items); n != 6 {
		t.Errorf("org_a has %d tasks running on 8 runners, want 6 (all but a quarter)", n)
	}

	start := time.Now()
	w := s.create(s.eve, gen.CreateTask{Input: "quick question"}).JSON200
	if w.Running || w.Status != gen.WorkerStatusCompleted {
		t.Fatalf("org_b's create behind 40 slow turns of org_a: status %s, running %v after %s; want completed within the wait limit (%s)",
			w.Status, w.Running, time.Since(start).Round(time.Millisecond), waitLimit)
	}
}
