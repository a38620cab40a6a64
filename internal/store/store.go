// Package store defines the persistence boundary of the Handinger server: the
// row types, the Store interface every backend implements (SQLite embedded,
// PostgreSQL for several replicas), and the sentinel errors they return.
//
// The turns table is also the work queue: a turn becomes runnable in the same
// transaction that acknowledges its create call, runners claim turns with a
// lease they renew by heartbeat, and a reaper puts turns whose lease expired
// back in the queue (or ends them after their attempts). Completion of a turn
// is fenced by the claim's attempt number, so a runner that lost its lease
// cannot overwrite the result of the runner that took over.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends translate their driver's errors into these;
// nothing above the store inspects driver errors.
var (
	// ErrNotFound: no such row visible to the caller's organization.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the row exists in a state that forbids the change.
	ErrConflict = errors.New("conflict")
	// ErrArchived: a follow-up turn was sent to an archived task.
	ErrArchived = errors.New("task is archived")
	// ErrWorkerMismatch: the create named a worker that is not the task's.
	ErrWorkerMismatch = errors.New("worker does not match the task")
	// ErrForbidden: the caller may see the row but not change it.
	ErrForbidden = errors.New("forbidden")
	// ErrIdempotencyMismatch: an idempotency key was reused with another body.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	// ErrUnavailable: the database cannot take the write now (full, locked
	// by another process, read-only); the caller may try again later.
	ErrUnavailable = errors.New("the database cannot take writes now")
	// ErrLeaseLost: the claim on a turn is no longer held by this runner.
	ErrLeaseLost = errors.New("lease lost")
)

// Status is the status of a turn and, through its latest turn, of a task.
type Status string

// The statuses of a turn. Pending and running are live; the rest terminal.
const (
	StatusPending   Status = "pending"
	StatusRunning   Status = "running"
	StatusCompleted Status = "completed"
	StatusError     Status = "error"
	StatusAborted   Status = "aborted"
)

// Terminal reports whether a turn in status s has ended.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusError || s == StatusAborted
}

// Principal is who an API key acts for.
type Principal struct {
	KeyID  string // stable id of the key, scope of idempotency keys
	OrgID  string
	UserID string
}

// Worker is an agent template: instructions that every turn runs under.
type Worker struct {
	ID              string
	OrgID           string
	CreatedByUserID string
	Instructions    string
	CreatedAt       time.Time
}

// Task is a conversation of turns against one worker. Status, CompletedAt
// and the totals are derived from its turns and kept current by the store.
type Task struct {
	ID              string
	OrgID           string
	WorkerID        string
	CreatedByUserID string // empty when no user created it
	Title           string
	TriggeredBy     string // api, email, schedule, ui
	Archived        bool
	CreatedAt       time.Time
	Position        int64 // monotonic insertion order, the listing cursor

	Status      Status     // the latest turn's status
	CompletedAt *time.Time // the latest turn's end while Status is terminal
	Credits     int64      // sum over its turns
	DurationMs  int64      // sum over its turns
	TurnCount   int        // number of turns, also the latest seq
}

// Turn is one input of a task and what the worker made of it.
type Turn struct {
	ID               string
	TaskID           string
	OrgID            string
	Seq              int
	Role             string
	Input            string
	Budget           string
	Status           Status
	OutputText       string
	InputTokens      int64
	OutputTokens     int64
	Credits          int64
	DurationMs       int64
	StructuredOutput []byte // raw JSON object, nil when none
	ErrorCode        string // set when Status is error
	ErrorMessage     string
	IncompleteReason string // budget or shutdown, when Status is aborted
	Attempts         int    // claims so far
	AcceptedAt       time.Time
	CompletedAt      *time.Time
}

// CreateTurnParams is one create call. The caller supplies every new id, so
// the store never generates ids itself.
type CreateTurnParams struct {
	Principal Principal
	// TaskID is the task to append to, or the id of the new task.
	TaskID string
	// TaskIDGiven is true when the client chose TaskID; then an existing task
	// with that id gets a follow-up turn. Otherwise a new task is created.
	TaskIDGiven bool
	// FollowUpOnly, with TaskIDGiven, makes the call a follow-up or
	// nothing: ErrNotFound when the organization has no task TaskID. The
	// service sets it for ids in the form the server makes, which stay the
	// server's alone, unique across organizations.
	FollowUpOnly bool
	// WorkerID names an existing worker; empty creates NewWorkerID on the fly
	// with the input as its instructions.
	WorkerID    string
	NewWorkerID string
	TurnID      string
	Input       string
	Budget      string
	Title       string
	Now         time.Time
	// IdempotencyKey, when set, makes the call replay-safe: a second call
	// with the same key and RequestHash returns the first call's turn.
	IdempotencyKey string
	RequestHash    []byte
}

// CreateTurnResult is what a create call stored, or found stored.
type CreateTurnResult struct {
	Task   Task
	Turn   Turn
	Worker Worker
	// Replayed is true when an idempotency key matched an earlier call and
	// nothing new was stored.
	Replayed bool
}

// ListTasksParams selects one page of an organization's unarchived tasks,
// newest first.
type ListTasksParams struct {
	OrgID    string
	WorkerID string // optional filter
	Status   Status // optional filter
	Limit    int
	// Before is the Position of the last task of the previous page; 0 for
	// the first page.
	Before int64
}

// Share is how one claim divides a claimer's free runners between
// organizations, so that none starves the others:
//
//   - An organization takes at most Allowance turns: PerOrg less what the
//     claimer already holds of it.
//   - Organizations take turns: every organization with a runnable turn
//     gets its oldest one before any gets a second, and so on (the claims
//     are ranked by their place in their organization's queue, then by
//     acceptance).
//   - When several organizations have pending turns and room, one claim
//     takes at most RoundShare(max, n) of each of the n (an organization
//     whose pending turns all wait for an earlier turn of their task counts
//     too), which bounds what a claim reads and locks; the next claim, when
//     a runner frees or a turn is queued, takes the rest.
//
// Every backend applies the same rule, so the same queue gives the same
// claims on each.
type Share struct {
	// PerOrg is the most turns of one organization the claimer may hold at
	// once; 0 bounds them by the claim's max only.
	PerOrg int
	// Held counts the turns the claimer holds now, by organization.
	Held map[string]int
}

// Allowance is how many turns of org a claim of up to max may take.
func (s Share) Allowance(org string, max int) int {
	if s.PerOrg <= 0 {
		return max
	}
	return min(max, s.PerOrg-s.Held[org])
}

// HeldAllowances is the Allowance, for a claim of up to max, of each
// organization the claimer holds turns of (≤ 0: no room); every other
// organization's is Allowance("", max). The SQL backends pass these to
// their claim statements.
func (s Share) HeldAllowances(max int) map[string]int {
	out := make(map[string]int, len(s.Held))
	for org := range s.Held {
		out[org] = s.Allowance(org, max)
	}
	return out
}

// RoundShare is the most turns of one organization a claim of up to max
// takes when n organizations have pending turns and a positive allowance:
// all max for one, else max/n rounded up.
func RoundShare(max, n int) int {
	if n <= 1 {
		return max
	}
	return (max + n - 1) / n
}

// Claim is a turn a runner holds a lease on, with what it needs to run it.
type Claim struct {
	Turn    Turn
	Worker  Worker
	History []Turn // the task's earlier turns, in seq order
	Owner   string
	Attempt int // fencing token: the turn's Attempts after this claim
}

// FinishTurnParams records the end of a claimed turn.
type FinishTurnParams struct {
	TurnID           string
	Owner            string
	Attempt          int
	Status           Status // completed, error or aborted
	OutputText       string
	InputTokens      int64
	OutputTokens     int64
	Credits          int64
	DurationMs       int64
	StructuredOutput []byte
	ErrorCode        string
	ErrorMessage     string
	IncompleteReason string
	Now              time.Time
}

// ReapResult says what a reaper pass did with expired leases.
type ReapResult struct {
	Requeued []string // turn ids put back to pending
	Failed   []string // turn ids ended in error after their last attempt
}

// QueueStats counts live turns.
type QueueStats struct {
	Pending int
	Running int
}

// The store is split by role: each consumer takes the smallest interface
// that serves it, and a backend implements them all (Store).

// Keys is what authentication and key management need.
type Keys interface {
	// CreateAPIKey stores the SHA-256 hash of a new key for user in org,
	// creating the organization and the user on first use. ErrConflict when
	// the user already belongs to another organization.
	CreateAPIKey(ctx context.Context, keyID, orgID, userID string, hash []byte, now time.Time) error
	// LookupAPIKey finds the principal of a key hash. ErrNotFound when none.
	LookupAPIKey(ctx context.Context, hash []byte) (Principal, error)
	// CountAPIKeys counts stored keys.
	CountAPIKeys(ctx context.Context) (int, error)
}

// Tasks is what the Tasks API's operations need (package service).
type Tasks interface {
	// CreateTurn stores a create call in one transaction: the task (new or
	// existing), the worker when created on the fly, the turn (runnable at
	// once), and the idempotency key. A task id is the organization's own:
	// another organization's task of the same id is another task, which the
	// call never sees. Errors: ErrNotFound (the worker is another
	// organization's or does not exist), ErrArchived, ErrWorkerMismatch,
	// ErrIdempotencyMismatch, ErrConflict (a server-made id is taken).
	CreateTurn(ctx context.Context, p CreateTurnParams) (CreateTurnResult, error)
	// GetTaskWithTurns returns a task of org and all its turns in seq order.
	// ErrNotFound when none.
	GetTaskWithTurns(ctx context.Context, orgID, taskID string) (Task, []Turn, error)
	// ListTasks returns one page of tasks and the Position to pass as Before
	// for the next page (0 on the last page).
	ListTasks(ctx context.Context, p ListTasksParams) ([]Task, int64, error)
	// ArchiveTask archives a task of org; idempotent. ErrNotFound when the
	// task is not the org's, ErrForbidden when userID did not create its worker.
	ArchiveTask(ctx context.Context, orgID, userID, taskID string) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
}

// Queue is what the runner pool needs: the turns table as a work queue.
type Queue interface {
	// ClaimTurns leases up to max runnable turns (pending, with every earlier
	// turn of their task terminal) to owner until now+lease and marks them
	// running, in one transaction: at most one turn of any task (the others
	// wait for it), organizations in turn (see Share), each organization's
	// oldest first. The claims are in acceptance order; none when nothing
	// is runnable.
	ClaimTurns(ctx context.Context, owner string, now time.Time, lease time.Duration, max int, share Share) ([]Claim, error)
	// Heartbeat extends a held lease to until. ErrLeaseLost when the claim
	// is no longer owner's at attempt.
	Heartbeat(ctx context.Context, turnID, owner string, attempt int, until time.Time) error
	// FinishTurns records the ends of claimed turns and updates their tasks,
	// in one transaction, so that a busy pool commits once for many results.
	// errs[i] is the error of p[i] alone (ErrLeaseLost when its claim is no
	// longer held); err is set when the call as a whole failed. Then nothing
	// was recorded, unless the database committed and its answer was lost on
	// the way (a network store): a retry then finds the claims ended,
	// ErrLeaseLost.
	FinishTurns(ctx context.Context, p []FinishTurnParams) (errs []error, err error)
	// ReleaseTurn puts a claimed turn back to pending without counting the
	// attempt (graceful shutdown). ErrLeaseLost as for FinishTurns.
	ReleaseTurn(ctx context.Context, turnID, owner string, attempt int) error
	// ReapExpired requeues running turns whose lease ended before now, or
	// ends them in error when they used maxAttempts.
	ReapExpired(ctx context.Context, now time.Time, maxAttempts int) (ReapResult, error)
	// QueueStats counts pending and running turns.
	QueueStats(ctx context.Context) (QueueStats, error)
	// PurgeIdempotencyKeys deletes idempotency keys created before t.
	PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int, error)
}

// Store is a whole backend: every role and its lifecycle. The backend seam
// (package backend) opens one; storetest.Exercise is the conformance suite
// every backend passes.
type Store interface {
	Keys
	Tasks
	Queue
	// Close releases the database.
	Close() error
}
