package storetest

import (
	"context"
	"fmt"
	"time"

	"github.com/handinger/handinger/internal/store"
)

// The helpers below do, over the role interfaces, what backends' own tests
// and the runner's tests need one item at a time.

// ClaimOne claims at most one turn with ClaimTurns: the claim, or nil, nil
// when nothing is runnable.
func ClaimOne(ctx context.Context, q store.Queue, owner string, now time.Time, lease time.Duration) (*store.Claim, error) {
	claims, err := q.ClaimTurns(ctx, owner, now, lease, 1, store.Share{})
	if err != nil || len(claims) == 0 {
		return nil, err
	}
	return &claims[0], nil
}

// FinishOne records the end of one claimed turn with FinishTurns: the error
// of that turn, or of the call.
func FinishOne(ctx context.Context, q store.Queue, p store.FinishTurnParams) error {
	errs, err := q.FinishTurns(ctx, []store.FinishTurnParams{p})
	if err != nil {
		return err
	}
	if len(errs) != 1 {
		return fmt.Errorf("FinishTurns of one turn answered %d errors", len(errs))
	}
	return errs[0]
}

// Turn reads a turn of orgID's task taskID as stored now. ErrNotFound when
// the task or the turn does not exist.
func Turn(ctx context.Context, st store.Tasks, orgID, taskID, turnID string) (store.Turn, error) {
	_, turns, err := st.GetTaskWithTurns(ctx, orgID, taskID)
	if err != nil {
		return store.Turn{}, err
	}
	for _, t := range turns {
		if t.ID == turnID {
			return t, nil
		}
	}
	return store.Turn{}, fmt.Errorf("turn %s of task %s: %w", turnID, taskID, store.ErrNotFound)
}
