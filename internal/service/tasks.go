// Package service is the Tasks API's behaviour above the store and below
// HTTP: it assigns ids, stores create calls, wakes the runners and waits for
// turns to end. Handlers convert requests and answers; this package decides.
package service

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/store"
)

// ErrUnknownBudget is returned for a budget name the server does not know.
var ErrUnknownBudget = errors.New("unknown budget")

// ErrInvalid is wrapped by a FieldError: a parameter the service refuses
// whatever validation runs in front of it.
var ErrInvalid = errors.New("invalid parameter")

// FieldError is a parameter of a create call the service refuses.
type FieldError struct {
	// In and Pointer locate the parameter as a problem's field errors do:
	// in "body" at "/input", in "header" at "/Idempotency-Key".
	In, Pointer string
	// Reason says what is wrong, after the parameter's name.
	Reason string
}

func (e *FieldError) Error() string { return strings.TrimPrefix(e.Pointer, "/") + " " + e.Reason }

// Unwrap makes a FieldError ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// storable reports whether every backend stores s as it is: text in
// UTF-8 without U+0000, which PostgreSQL's text cannot hold. Create calls
// with other strings are refused on every backend, and ids that are not
// storable name nothing.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.Contains(s, "\x00")
}

// checkStorable refuses a create call with a string no backend stores.
func checkStorable(p CreateParams) error {
	for _, f := range []struct{ in, pointer, v string }{
		{"body", "/input", p.Input}, {"body", "/taskId", p.TaskID}, {"body", "/workerId", p.WorkerID},
		{"header", "/Idempotency-Key", p.IdempotencyKey},
	} {
		if !storable(f.v) {
			return &FieldError{In: f.in, Pointer: f.pointer,
				Reason: "is not UTF-8 text without the character U+0000, the only text the server stores"}
		}
	}
	return nil
}

// Config configures a Service. Zero values take the defaults noted.
type Config struct {
	Store store.Tasks
	Bus   notify.Bus
	// WaitLimit is how long a create call waits for its turn before
	// answering with the turn still pending or running (default 50 s).
	WaitLimit time.Duration
	// RecheckEvery re-reads a waited-for turn in case a wake-up was lost
	// (default 1 s); wake-ups, not this, normally end the wait.
	RecheckEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// NewID returns a new id with the given prefix (default prefix_ULID).
	NewID func(prefix string) string
}

// Service implements the Tasks API's operations.
type Service struct {
	cfg      Config
	stop     chan struct{}
	stopOnce sync.Once
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.WaitLimit <= 0 {
		cfg.WaitLimit = 50 * time.Second
	}
	if cfg.RecheckEvery <= 0 {
		cfg.RecheckEvery = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = NewID
	}
	return &Service{cfg: cfg, stop: make(chan struct{})}
}

// StopWaiting ends every create call's wait at once: they answer with their
// turn as it stands (pending or running), and the turn goes on. The server
// calls it when it shuts down.
func (s *Service) StopWaiting() {
	s.stopOnce.Do(func() { close(s.stop) })
}

// NewID returns prefix_ followed by a new ULID, e.g. tsk_01HZY31W2SZJ8MJ2FQTR3M1K9D.
func NewID(prefix string) string {
	return prefix + "_" + ulid.Make().String()
}

// IsServerID reports whether id has the form NewID(prefix) gives.
func IsServerID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix+"_")
	if !ok {
		return false
	}
	_, err := ulid.ParseStrict(rest)
	return err == nil
}

// CreateParams is a create call as the client sent it.
type CreateParams struct {
	Input          string
	Budget         string // empty means agent.DefaultBudget
	TaskID         string // empty: a new task with a new id
	WorkerID       string // empty: a new worker with Input as instructions
	IdempotencyKey string
}

// Created is the state of a create call's turn when the call answers.
type Created struct {
	Task   store.Task
	Worker store.Worker
	Turn   store.Turn
	// Turns holds the task's turns up to and including Turn, in seq order.
	Turns []store.Turn
}

// CreateTask stores a turn, wakes the runners and waits until the turn ends
// or the wait limit passes. The turn runs whether or not anyone waits: when
// ctx ends, CreateTask returns ctx's error and the run goes on. Errors are
// those of store.Tasks.CreateTurn, ErrUnknownBudget, or ctx's.
func (s *Service) CreateTask(ctx context.Context, who store.Principal, p CreateParams) (Created, error) {
	if err := checkStorable(p); err != nil {
		return Created{}, err
	}
	if p.Budget == "" {
		p.Budget = agent.DefaultBudget
	}
	if _, ok := agent.Budgets[p.Budget]; !ok {
		return Created{}, fmt.Errorf("%w %q", ErrUnknownBudget, p.Budget)
	}
	now := s.cfg.Now()
	params := store.CreateTurnParams{
		Principal:   who,
		TaskID:      p.TaskID,
		TaskIDGiven: p.TaskID != "",
		// A client may name a task of its own organization by any id, but
		// one in the server's form only to follow it up: the server's ids
		// stay unique across organizations.
		FollowUpOnly: IsServerID("tsk", p.TaskID),
		WorkerID:     p.WorkerID,
		NewWorkerID:  s.cfg.NewID("wrk"),
		TurnID:       s.cfg.NewID("trn"),
		Input:        p.Input,
		Budget:       p.Budget,
		Title:        Title(p.Input),
		Now:          now,
	}
	if params.TaskID == "" {
		params.TaskID = s.cfg.NewID("tsk")
	}
	if p.IdempotencyKey != "" {
		params.IdempotencyKey = p.IdempotencyKey
		params.RequestHash = requestHash(p)
	}
	// Subscribe before the turn exists, so that its end cannot slip by
	// between the commit and the wait.
	w := s.watch(params.TurnID)
	res, err := s.cfg.Store.CreateTurn(ctx, params)
	if err != nil {
		w.cancel()
		return Created{}, err
	}
	if res.Replayed {
		// Another call's turn: it may have ended long ago, so look first.
		w.cancel()
		w = s.watch(res.Turn.ID)
		w.ready = true
	} else {
		// Best effort: runners also poll, so a failed wake-up only delays.
		_ = s.cfg.Bus.Runnable(context.WithoutCancel(ctx))
	}
	return s.wait(ctx, who.OrgID, res, w)
}

// watcher is a subscription to a turn's end.
type watcher struct {
	turnID string
	done   <-chan struct{}
	cancel func()
	ready  bool // read the turn at once, without waiting for a wake-up
}

func (s *Service) watch(turnID string) *watcher {
	done, cancel := s.cfg.Bus.WaitTurn(turnID)
	return &watcher{turnID: turnID, done: done, cancel: cancel}
}

// wait reads the task when the turn's end is announced (or on a slow
// re-check, in case a wake-up was lost) and returns once the turn is
// terminal, the wait limit passed, or the server stops waiting; when ctx
// ends it returns ctx's error. Each look costs one read of the task.
func (s *Service) wait(ctx context.Context, orgID string, res store.CreateTurnResult, w *watcher) (Created, error) {
	defer func() { w.cancel() }()
	limit := time.NewTimer(s.cfg.WaitLimit)
	defer limit.Stop()
	recheck := time.NewTicker(s.cfg.RecheckEvery)
	defer recheck.Stop()
	look, last := w.ready, false
	for {
		if look || last {
			out, err := s.read(ctx, orgID, res)
			if err != nil || last || out.Turn.Status.Terminal() {
				return out, err
			}
		}
		look = false
		select {
		case <-ctx.Done():
			return Created{}, ctx.Err()
		case <-limit.C:
			last = true
		case <-s.stop:
			last = true
		case <-w.done:
			look = true
			w.cancel()
			w = s.watch(w.turnID)
		case <-recheck.C:
			look = true
		}
	}
}

// read returns the task with its turns up to the create call's turn.
func (s *Service) read(ctx context.Context, orgID string, res store.CreateTurnResult) (Created, error) {
	task, turns, err := s.cfg.Store.GetTaskWithTurns(ctx, orgID, res.Task.ID)
	if err != nil {
		return Created{}, err
	}
	for i, t := range turns {
		if t.ID == res.Turn.ID {
			return Created{Task: task, Worker: res.Worker, Turn: t, Turns: turns[:i+1]}, nil
		}
	}
	return Created{}, fmt.Errorf("turn %s missing from task %s", res.Turn.ID, task.ID)
}

// RetrieveTask returns a task of org with all its turns.
func (s *Service) RetrieveTask(ctx context.Context, orgID, taskID string) (store.Task, []store.Turn, error) {
	if !storable(taskID) {
		return store.Task{}, nil, fmt.Errorf("task %q: %w", taskID, store.ErrNotFound)
	}
	task, turns, err := s.cfg.Store.GetTaskWithTurns(ctx, orgID, taskID)
	if err != nil {
		return store.Task{}, nil, err
	}
	return task, turns, nil
}

// ListTasks returns one page of org's unarchived tasks, newest first.
func (s *Service) ListTasks(ctx context.Context, p store.ListTasksParams) ([]store.Task, int64, error) {
	if !storable(p.WorkerID) {
		return nil, 0, nil // no worker has such an id
	}
	tasks, next, err := s.cfg.Store.ListTasks(ctx, p)
	if err != nil {
		return nil, 0, err
	}
	return tasks, next, nil
}

// ArchiveTask archives a task for the user who created its worker.
func (s *Service) ArchiveTask(ctx context.Context, who store.Principal, taskID string) error {
	if !storable(taskID) {
		return fmt.Errorf("task %q: %w", taskID, store.ErrNotFound)
	}
	return s.cfg.Store.ArchiveTask(ctx, who.OrgID, who.UserID, taskID)
}

// Ready reports whether the store answers.
func (s *Service) Ready(ctx context.Context) error {
	return s.cfg.Store.Ping(ctx)
}

// Title derives a task's title from its first input: the first line, cut to
// 80 characters at a word boundary where possible.
func Title(input string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(input), "\n")
	line = strings.TrimSpace(line)
	const max = 80
	if utf8.RuneCountInString(line) <= max {
		return line
	}
	r := []rune(line)[:max]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > max/2 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut) + "…"
}

// requestHash fingerprints what a create call asks for, so that a reused
// idempotency key with another request is recognised. Lengths prefix each
// field, so no two requests share a fingerprint.
func requestHash(p CreateParams) []byte {
	h := sha256.New()
	for _, f := range []string{p.Input, p.Budget, p.TaskID, p.WorkerID} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}
