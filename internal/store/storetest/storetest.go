// Package storetest is the conformance suite of store.Store: every backend
// runs Exercise against fresh, empty stores of its own and must pass it.
//
// The suite tests behaviour of the interface only, never a backend's
// schema. Time comes from fixed values passed in, never from the clock.
package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/handinger/handinger/internal/store"
)

// Exercise runs the conformance suite. newStore must return a fresh, empty
// store for each call and arrange its Close with t.Cleanup; subtests run in
// parallel, one store each.
func Exercise(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name string
		fn   func(t *testing.T, newStore func(t *testing.T) store.Store)
	}{
		{"APIKeys", testAPIKeys},
		{"CreateTurn", testCreateTurn},
		{"Idempotency", testIdempotency},
		{"Tasks", testTasks},
		{"ListTasks", testListTasks},
		{"ArchiveTask", testArchiveTask},
		{"Queue", testQueue},
		{"QueueBatch", testQueueBatch},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.fn(t, newStore)
		})
	}
}

// t0 is the suite's clock; it has nanoseconds to catch backends that round.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

// bundle is what every subtest starts from: a fresh store and three
// principals, alice and bob in one organization and carol in another.
type bundle struct {
	st    store.Store
	ctx   context.Context
	alice store.Principal
	bob   store.Principal
	carol store.Principal
	n     atomic.Int64
}

func setup(t *testing.T, newStore func(t *testing.T) store.Store) *bundle {
	t.Helper()
	b := &bundle{st: newStore(t), ctx: t.Context()}
	b.alice = b.principal(t, "org-a", "user-alice")
	b.bob = b.principal(t, "org-a", "user-bob")
	b.carol = b.principal(t, "org-b", "user-carol")
	return b
}

// id returns a new id with prefix, unique within the bundle.
func (b *bundle) id(prefix string) string {
	return fmt.Sprintf("%s_%04d", prefix, b.n.Add(1))
}

// hash is the stored hash of an API key.
func hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// principal creates an API key for user in org and returns its principal.
func (b *bundle) principal(t *testing.T, orgID, userID string) store.Principal {
	t.Helper()
	keyID := b.id("key")
	if err := b.st.CreateAPIKey(b.ctx, keyID, orgID, userID, hash(keyID), t0); err != nil {
		t.Fatalf("CreateAPIKey(%s, %s, %s): %v", keyID, orgID, userID, err)
	}
	p, err := b.st.LookupAPIKey(b.ctx, hash(keyID))
	if err != nil {
		t.Fatalf("LookupAPIKey(%s): %v", keyID, err)
	}
	return p
}

// newTask returns the params of a call that creates a task and its worker.
func (b *bundle) newTask(p store.Principal, input string, now time.Time) store.CreateTurnParams {
	return store.CreateTurnParams{
		Principal:   p,
		TaskID:      b.id("task"),
		NewWorkerID: b.id("worker"),
		TurnID:      b.id("turn"),
		Input:       input,
		Budget:      "standard",
		Title:       "title of " + input,
		Now:         now,
	}
}

// followUp returns the params of a call that appends a turn to taskID.
func (b *bundle) followUp(p store.Principal, taskID, input string, now time.Time) store.CreateTurnParams {
	c := b.newTask(p, input, now)
	c.TaskID = taskID
	c.TaskIDGiven = true
	return c
}

func (b *bundle) create(t *testing.T, p store.CreateTurnParams) store.CreateTurnResult {
	t.Helper()
	res, err := b.st.CreateTurn(b.ctx, p)
	if err != nil {
		t.Fatalf("CreateTurn(task %s, turn %s): %v", p.TaskID, p.TurnID, err)
	}
	return res
}

// claimOne claims at most one turn: the claim, or nil when nothing is
// runnable.
func (b *bundle) claimOne(owner string, now time.Time) (*store.Claim, error) {
	return ClaimOne(b.ctx, b.st, owner, now, lease)
}

// claim claims a turn and fails the test when none is runnable.
func (b *bundle) claim(t *testing.T, owner string, now time.Time) *store.Claim {
	t.Helper()
	c, err := b.claimOne(owner, now)
	if err != nil {
		t.Fatalf("claim (%s): %v", owner, err)
	}
	if c == nil {
		t.Fatalf("claim (%s) = nil, want a claim", owner)
	}
	return c
}

// claimNone fails the test unless nothing is runnable.
func (b *bundle) claimNone(t *testing.T, now time.Time) {
	t.Helper()
	c, err := b.claimOne("runner-none", now)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if c != nil {
		t.Fatalf("claim = turn %s (task %s, seq %d), want nil", c.Turn.ID, c.Turn.TaskID, c.Turn.Seq)
	}
}

// claimTurns claims up to max turns with ClaimTurns, without a share.
func (b *bundle) claimTurns(t *testing.T, owner string, now time.Time, max int) []store.Claim {
	t.Helper()
	return b.claimShare(t, owner, now, max, store.Share{})
}

// claimShare claims up to max turns with ClaimTurns within share.
func (b *bundle) claimShare(t *testing.T, owner string, now time.Time, max int, share store.Share) []store.Claim {
	t.Helper()
	claims, err := b.st.ClaimTurns(b.ctx, owner, now, lease, max, share)
	if err != nil {
		t.Fatalf("ClaimTurns(%s, %d, %+v): %v", owner, max, share, err)
	}
	if len(claims) > max {
		t.Fatalf("ClaimTurns(%s, %d) = %d claims", owner, max, len(claims))
	}
	return claims
}

// inputs returns the inputs of the claimed turns.
func inputs(claims []store.Claim) []string {
	out := make([]string, len(claims))
	for i, c := range claims {
		out[i] = c.Turn.Input
	}
	return out
}

// turnIDs returns the ids of the claimed turns.
func turnIDs(claims []store.Claim) []string {
	ids := make([]string, len(claims))
	for i, c := range claims {
		ids[i] = c.Turn.ID
	}
	return ids
}

// finishOne records the end of one claimed turn: the error of that turn,
// or of the call.
func (b *bundle) finishOne(p store.FinishTurnParams) error {
	return FinishOne(b.ctx, b.st, p)
}

// finish ends a claimed turn as completed.
func (b *bundle) finish(t *testing.T, c *store.Claim, now time.Time, credits, durationMs int64) {
	t.Helper()
	err := b.finishOne(store.FinishTurnParams{
		TurnID: c.Turn.ID, Owner: c.Owner, Attempt: c.Attempt, Status: store.StatusCompleted,
		OutputText: "done: " + c.Turn.Input, Credits: credits, DurationMs: durationMs, Now: now,
	})
	if err != nil {
		t.Fatalf("finish %s: %v", c.Turn.ID, err)
	}
}

// task reads a task of orgID as stored now.
func (b *bundle) task(t *testing.T, orgID, taskID string) store.Task {
	t.Helper()
	task, _, err := b.st.GetTaskWithTurns(b.ctx, orgID, taskID)
	if err != nil {
		t.Fatalf("GetTaskWithTurns(%s): %v", taskID, err)
	}
	return task
}

// turn reads turn as stored now, through its task.
func (b *bundle) turn(t *testing.T, turn store.Turn) store.Turn {
	t.Helper()
	got, err := Turn(b.ctx, b.st, turn.OrgID, turn.TaskID, turn.ID)
	if err != nil {
		t.Fatalf("turn %s: %v", turn.ID, err)
	}
	return got
}

// workerMissing fails the test unless p's organization has no worker
// workerID: a new task naming it must be refused with ErrNotFound.
func (b *bundle) workerMissing(t *testing.T, what string, p store.Principal, workerID string) {
	t.Helper()
	c := b.newTask(p, "probe", t0)
	c.WorkerID = workerID
	_, err := b.st.CreateTurn(b.ctx, c)
	wantErr(t, what, err, store.ErrNotFound)
}

func (b *bundle) stats(t *testing.T) store.QueueStats {
	t.Helper()
	st, err := b.st.QueueStats(b.ctx)
	if err != nil {
		t.Fatalf("QueueStats: %v", err)
	}
	return st
}

// wantErr fails the test unless err is target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
	// Each wrap adds what it knows and nothing its callee said: an id
	// twice in one message is a prefix repeated.
	seen := map[string]bool{}
	for _, word := range strings.FieldsFunc(err.Error(), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-'
	}) {
		if strings.Contains(word, "_") && seen[word] {
			t.Errorf("%s: %q names %s twice", what, err, word)
		}
		seen[word] = true
	}
}

// wantTime fails the test unless got is the instant want, in UTC.
func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("%s = %v, want %v in UTC", what, got, want)
	}
}

// wantCompletedAt checks a nullable completion time; want nil for none.
func wantCompletedAt(t *testing.T, what string, got, want *time.Time) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Errorf("%s = %v, want nil", what, *got)
	case want != nil && got == nil:
		t.Errorf("%s = nil, want %v", what, *want)
	case want != nil:
		wantTime(t, what, *got, *want)
	}
}

func ptr[T any](v T) *T { return &v }
