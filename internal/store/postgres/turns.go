package postgres

import (
	"github.com/handinger/handinger/internal/store"
)

const turnColumns = `id, task_id, org_id, seq, role, input, budget, status, output_text,
	input_tokens, output_tokens, credits, duration_ms, structured_output, error_code,
	error_message, incomplete_reason, attempts, accepted_at, completed_at`

// turnRow receives the turnColumns of a row.
type turnRow struct {
	t           store.Turn
	status      string
	acceptedAt  int64
	completedAt *int64
}

// dest returns the scan destinations of turnColumns, in order.
func (r *turnRow) dest() []any {
	t := &r.t
	return []any{&t.ID, &t.TaskID, &t.OrgID, &t.Seq, &t.Role, &t.Input, &t.Budget, &r.status,
		&t.OutputText, &t.InputTokens, &t.OutputTokens, &t.Credits, &t.DurationMs,
		&t.StructuredOutput, &t.ErrorCode, &t.ErrorMessage, &t.IncompleteReason, &t.Attempts,
		&r.acceptedAt, &r.completedAt}
}

// turn returns the scanned turn.
func (r *turnRow) turn() store.Turn {
	t := r.t
	t.Status = store.Status(r.status)
	t.StructuredOutput = nullBytes(t.StructuredOutput)
	t.AcceptedAt = fromUnixNano(r.acceptedAt)
	t.CompletedAt = fromNullUnixNano(r.completedAt)
	return t
}

func scanTurn(sc scanner) (store.Turn, error) {
	var r turnRow
	if err := sc.Scan(r.dest()...); err != nil {
		return store.Turn{}, err
	}
	return r.turn(), nil
}
