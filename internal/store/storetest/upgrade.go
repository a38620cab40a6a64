package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/store"
)

// Version1Rows returns the rows of a database at schema version 1, the
// first release's, in SQL that SQLite and PostgreSQL both take, but for
// byte strings, which blob writes as a literal of the backend: two organizations,
// org-a's task order-17 with a completed turn and a pending follow-up (whose
// create had an idempotency key), and org-b's task t-b with a completed
// turn. A backend's upgrade test applies its version-1 migration, these
// rows, then opens the store, which migrates the rest, and runs
// CheckVersion1Rows.
func Version1Rows(blob func([]byte) string) string {
	return strings.NewReplacer("'h-a'", blob([]byte("h-a")), "'h-c'", blob([]byte("h-c")),
		"'rh'", blob([]byte("rh"))).Replace(version1Rows)
}

const version1Rows = `
INSERT INTO orgs (id, created_at) VALUES ('org-a', 1), ('org-b', 1);
INSERT INTO users (id, org_id, created_at) VALUES ('alice', 'org-a', 1), ('carol', 'org-b', 1);
INSERT INTO api_keys (hash, key_id, org_id, user_id, created_at) VALUES
	('h-a', 'key-a', 'org-a', 'alice', 1), ('h-c', 'key-c', 'org-b', 'carol', 1);
INSERT INTO workers (id, org_id, created_by_user_id, instructions, created_at) VALUES
	('w-a', 'org-a', 'alice', 'be brief', 1), ('w-b', 'org-b', 'carol', 'be kind', 1);
INSERT INTO tasks (id, org_id, worker_id, created_by_user_id, title, triggered_by, archived,
	created_at, status, completed_at, credits, duration_ms, turn_count) VALUES
	('order-17', 'org-a', 'w-a', 'alice', 'Order 17', 'api', false, 1, 'pending', NULL, 3, 40, 2),
	('t-b', 'org-b', 'w-b', 'carol', 'B', 'api', false, 1, 'completed', 9, 5, 50, 1);
INSERT INTO turns (id, task_id, org_id, seq, role, input, budget, status, output_text,
	credits, duration_ms, attempts, accepted_at, completed_at) VALUES
	('u-a1', 'order-17', 'org-a', 1, 'user', 'first', 'standard', 'completed', 'one', 3, 40, 1, 1, 5),
	('u-b1', 't-b', 'org-b', 1, 'user', 'hello', 'standard', 'completed', 'hi', 5, 50, 1, 1, 9),
	('u-a2', 'order-17', 'org-a', 2, 'user', 'second', 'standard', 'pending', '', 0, 0, 0, 6, NULL);
INSERT INTO idempotency_keys (key_id, key, request_hash, turn_id, created_at) VALUES
	('key-a', 'idem-2', 'rh', 'u-a2', 6);
`

// CheckVersion1Rows checks a store opened on Version1Rows: every row is
// there and works (reads, the pending turn's claim with its history, the
// idempotency key's replay), and task ids are their organization's own.
func CheckVersion1Rows(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	alice := store.Principal{KeyID: "key-a", OrgID: "org-a", UserID: "alice"}
	carol := store.Principal{KeyID: "key-c", OrgID: "org-b", UserID: "carol"}

	if p, err := st.LookupAPIKey(ctx, []byte("h-c")); err != nil || p != carol {
		t.Errorf("LookupAPIKey(h-c) = %+v, %v; want %+v", p, err, carol)
	}
	task, turns, err := st.GetTaskWithTurns(ctx, "org-a", "order-17")
	if err != nil || task.TurnCount != 2 || task.Credits != 3 || len(turns) != 2 ||
		turns[0].OutputText != "one" || turns[1].Status != store.StatusPending {
		t.Fatalf("org-a's order-17 after the upgrade = %+v %+v, %v", task, turns, err)
	}
	if _, _, err := st.GetTaskWithTurns(ctx, "org-b", "order-17"); err == nil {
		t.Error("org-b reads org-a's order-17 after the upgrade")
	}

	replay, err := st.CreateTurn(ctx, store.CreateTurnParams{
		Principal: alice, TaskID: "order-17", TaskIDGiven: true, NewWorkerID: "w-new", TurnID: "u-new",
		Input: "second", Budget: "standard", Title: "Order 17", Now: time.Unix(0, 7),
		IdempotencyKey: "idem-2", RequestHash: []byte("rh"),
	})
	if err != nil || !replay.Replayed || replay.Turn.ID != "u-a2" {
		t.Errorf("replay of idem-2 after the upgrade = %+v, %v; want turn u-a2", replay, err)
	}

	claims, err := st.ClaimTurns(ctx, "r", time.Unix(0, 8), time.Minute, 10, store.Share{})
	if err != nil || len(claims) != 1 || claims[0].Turn.ID != "u-a2" || len(claims[0].History) != 1 ||
		claims[0].History[0].ID != "u-a1" || claims[0].Worker.ID != "w-a" {
		t.Fatalf("claims after the upgrade = %+v, %v; want u-a2 with u-a1 as its history", claims, err)
	}
	errs, err := st.FinishTurns(ctx, []store.FinishTurnParams{{
		TurnID: "u-a2", Owner: "r", Attempt: claims[0].Attempt, Status: store.StatusCompleted,
		OutputText: "two", Credits: 2, DurationMs: 10, Now: time.Unix(0, 9),
	}})
	if err != nil || errs[0] != nil {
		t.Fatalf("FinishTurns after the upgrade: %v %v", err, errs)
	}
	if task, _, err := st.GetTaskWithTurns(ctx, "org-a", "order-17"); err != nil ||
		task.Status != store.StatusCompleted || task.Credits != 5 {
		t.Errorf("org-a's order-17 after its follow-up ran = %+v, %v; want completed, 5 credits", task, err)
	}

	// The same id in org-b is a new task of org-b now.
	res, err := st.CreateTurn(ctx, store.CreateTurnParams{
		Principal: carol, TaskID: "order-17", TaskIDGiven: true, NewWorkerID: "w-c", TurnID: "u-c1",
		Input: "mine", Budget: "standard", Title: "Mine", Now: time.Unix(0, 10),
	})
	if err != nil || res.Task.OrgID != "org-b" || res.Turn.Seq != 1 {
		t.Errorf("org-b's create of order-17 after the upgrade = %+v, %v; want a new task of org-b", res, err)
	}
}
