package memory

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/handinger/handinger/internal/store"
)

// The queue keeps the invariant that makes claims cheap: a task's turns end
// in seq order, because only the first of them that has not ended can be
// claimed, so every turn after it is pending. That turn is runnable while it
// is pending, and then it is in its organization's Store.runnable; a
// running turn is in Store.running; no other turn is in either.

// runQueue is a min-heap of runnable turns in acceptance order, through
// container/heap.
type runQueue []*turn

func (q runQueue) Len() int           { return len(q) }
func (q runQueue) Less(i, j int) bool { return q[i].pos < q[j].pos }
func (q runQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *runQueue) Push(x any)        { *q = append(*q, x.(*turn)) }

func (q *runQueue) Pop() any {
	old := *q
	n := len(old)
	r := old[n-1]
	old[n-1] = nil
	*q = old[:n-1]
	return r
}

// queue makes r, a pending turn, runnable.
func (s *Store) queue(r *turn) {
	q := s.runnable[r.row.OrgID]
	if q == nil {
		q = &runQueue{}
		s.runnable[r.row.OrgID] = q
	}
	heap.Push(q, r)
}

// unpend counts one pending turn of org less.
func (s *Store) unpend(org string) {
	if s.pending[org]--; s.pending[org] == 0 {
		delete(s.pending, org)
	}
}

// heldBy reports whether the claim on r is still owner's at attempt: the
// fence of every change to a claimed turn. r may be nil.
func (r *turn) heldBy(owner string, attempt int) bool {
	return r != nil && r.row.Status == store.StatusRunning && r.leaseOwner == owner && r.row.Attempts == attempt
}

// setTaskStatus gives r's task its status and completion time when r is its
// latest turn; an earlier turn never speaks for the task.
func setTaskStatus(r *turn, status store.Status, completedAt *time.Time) {
	if r.row.Seq == r.task.row.TurnCount {
		r.task.row.Status = status
		r.task.row.CompletedAt = completedAt
	}
}

// release ends the lease on r, a running turn.
func (s *Store) release(r *turn) {
	delete(s.running, r)
	r.leaseOwner, r.leaseUntil = "", time.Time{}
}

// requeue puts r, a running turn, back to pending.
func (s *Store) requeue(r *turn) {
	s.release(r)
	r.row.Status = store.StatusPending
	s.pending[r.row.OrgID]++
	s.queue(r)
	setTaskStatus(r, store.StatusPending, nil)
}

// end records that r, a running turn, ended in status at, and makes the next
// turn of its task runnable.
func (s *Store) end(r *turn, status store.Status, at time.Time) {
	s.release(r)
	r.row.Status = status
	r.completedAt = at
	r.row.CompletedAt = &r.completedAt
	if next := r.row.Seq; next < len(r.task.turns) { // turns[Seq] has seq Seq+1
		s.queue(r.task.turns[next])
	}
	setTaskStatus(r, status, r.row.CompletedAt)
}

// ClaimTurns leases up to max runnable turns, at most one of any task and
// organizations in turn within share, to owner until now+lease and marks
// them running, as one transaction. The claims are in acceptance order;
// none when nothing is runnable.
func (s *Store) ClaimTurns(ctx context.Context, owner string, now time.Time, lease time.Duration, max int, share store.Share) ([]store.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	claims, err := s.claimTurns(ctx, owner, now, lease, max, share)
	if err != nil {
		return nil, fmt.Errorf("claim %d turns: %w", max, err)
	}
	return claims, nil
}

// claimTurns takes up to max turns off the organizations' run queues, as
// store.Share says. They belong to different tasks: only the first live
// turn of a task is ever runnable. The caller holds the write lock.
func (s *Store) claimTurns(ctx context.Context, owner string, now time.Time, lease time.Duration, max int, share store.Share) ([]store.Claim, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, nil
	}
	// As the SQL backends: every organization with a pending turn and room
	// counts for the round's share, runnable or not.
	var orgs []string
	for org := range s.pending {
		if share.Allowance(org, max) > 0 {
			orgs = append(orgs, org)
		}
	}
	per := store.RoundShare(max, len(orgs))
	type ranked struct {
		rank int
		r    *turn
	}
	var all []ranked
	for _, org := range orgs {
		q := s.runnable[org]
		for rank := 0; q != nil && q.Len() > 0 && rank < min(per, share.Allowance(org, max)); rank++ {
			all = append(all, ranked{rank, heap.Pop(q).(*turn)})
		}
	}
	slices.SortFunc(all, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.r.pos, b.r.pos))
	})
	for _, x := range all[min(max, len(all)):] { // chosen, then left: back in their queues
		heap.Push(s.runnable[x.r.row.OrgID], x.r)
	}
	if all = all[:min(max, len(all))]; len(all) == 0 {
		return nil, nil
	}
	slices.SortFunc(all, func(a, b ranked) int { return cmp.Compare(a.r.pos, b.r.pos) })
	claims := make([]store.Claim, len(all))
	until := utc(now.Add(lease))
	for i, x := range all {
		r := x.r
		r.row.Status = store.StatusRunning
		r.row.Attempts++
		r.leaseOwner, r.leaseUntil = owner, until
		s.unpend(r.row.OrgID)
		s.running[r] = struct{}{}
		setTaskStatus(r, store.StatusRunning, nil)
		claims[i] = store.Claim{
			Turn:    r.out(),
			Worker:  s.workers[r.task.row.WorkerID],
			History: outTurns(r.task.turns[:r.row.Seq-1]),
			Owner:   owner,
			Attempt: r.row.Attempts,
		}
	}
	return claims, nil
}

// Heartbeat extends a held lease to until. ErrLeaseLost when the claim is no
// longer owner's at attempt.
func (s *Store) Heartbeat(ctx context.Context, turnID, owner string, attempt int, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx); err != nil {
		return fmt.Errorf("heartbeat turn %s: %w", turnID, err)
	}
	r := s.turns[turnID]
	if !r.heldBy(owner, attempt) {
		return fmt.Errorf("heartbeat turn %s: %w", turnID, store.ErrLeaseLost)
	}
	r.leaseUntil = utc(until)
	return nil
}

// FinishTurns records the ends of several claimed turns and updates their
// tasks, as one transaction, as FinishTurn would one after another. errs[i]
// is the error of p[i] alone: ErrLeaseLost when its claim is no longer
// held. When err is set, nothing was recorded.
func (s *Store) FinishTurns(ctx context.Context, p []store.FinishTurnParams) (errs []error, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx); err != nil {
		return nil, fmt.Errorf("finish %d turns: %w", len(p), err)
	}
	errs = make([]error, len(p))
	for i := range p {
		errs[i] = s.finishTurn(p[i])
	}
	return errs, nil
}

// terminal refuses a finish to a status that is not terminal.
func terminal(p store.FinishTurnParams) error {
	if !p.Status.Terminal() {
		return fmt.Errorf("finish turn %s: status %q is not terminal", p.TurnID, p.Status)
	}
	return nil
}

// finishTurn records the end of one claimed turn. The caller holds the
// write lock.
func (s *Store) finishTurn(p store.FinishTurnParams) error {
	if err := terminal(p); err != nil {
		return err
	}
	r := s.turns[p.TurnID]
	if !r.heldBy(p.Owner, p.Attempt) {
		return fmt.Errorf("finish turn %s: %w", p.TurnID, store.ErrLeaseLost)
	}
	r.row.OutputText = p.OutputText
	r.row.InputTokens = p.InputTokens
	r.row.OutputTokens = p.OutputTokens
	r.row.Credits = p.Credits
	r.row.DurationMs = p.DurationMs
	r.row.StructuredOutput = nil // an empty object is stored as none, as in SQLite
	if len(p.StructuredOutput) > 0 {
		r.row.StructuredOutput = append([]byte(nil), p.StructuredOutput...)
	}
	r.row.ErrorCode = p.ErrorCode
	r.row.ErrorMessage = p.ErrorMessage
	r.row.IncompleteReason = p.IncompleteReason
	r.task.row.Credits += p.Credits
	r.task.row.DurationMs += p.DurationMs
	s.end(r, p.Status, utc(p.Now))
	return nil
}

// ReleaseTurn puts a claimed turn back to pending without counting the
// attempt. ErrLeaseLost when the claim is no longer owner's at attempt.
func (s *Store) ReleaseTurn(ctx context.Context, turnID, owner string, attempt int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx); err != nil {
		return fmt.Errorf("release turn %s: %w", turnID, err)
	}
	r := s.turns[turnID]
	if !r.heldBy(owner, attempt) {
		return fmt.Errorf("release turn %s: %w", turnID, store.ErrLeaseLost)
	}
	r.row.Attempts--
	s.requeue(r)
	return nil
}

// ReapExpired requeues running turns whose lease ended before now, or ends
// them in error when they used maxAttempts. Each list is in acceptance
// order.
func (s *Store) ReapExpired(ctx context.Context, now time.Time, maxAttempts int) (store.ReapResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(ctx); err != nil {
		return store.ReapResult{}, fmt.Errorf("reap expired leases: %w", err)
	}
	var expired []*turn
	for r := range s.running {
		if r.leaseUntil.Before(now) {
			expired = append(expired, r)
		}
	}
	slices.SortFunc(expired, func(a, b *turn) int { return cmp.Compare(a.pos, b.pos) })
	var res store.ReapResult
	now = utc(now)
	for _, r := range expired {
		if r.row.Attempts >= maxAttempts {
			r.row.ErrorCode = "attempts_exhausted"
			r.row.ErrorMessage = fmt.Sprintf("the runner's lease expired on each of the turn's %d attempts", r.row.Attempts)
			s.end(r, store.StatusError, now)
			res.Failed = append(res.Failed, r.row.ID)
		} else {
			s.requeue(r)
			res.Requeued = append(res.Requeued, r.row.ID)
		}
	}
	return res, nil
}

// QueueStats counts pending and running turns.
func (s *Store) QueueStats(ctx context.Context) (store.QueueStats, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx); err != nil {
		return store.QueueStats{}, fmt.Errorf("queue stats: %w", err)
	}
	pending := 0
	for _, n := range s.pending {
		pending += n
	}
	return store.QueueStats{Pending: pending, Running: len(s.running)}, nil
}
