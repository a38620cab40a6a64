package sqlite

import (
	"context"
	"database/sql"

	"github.com/handinger/handinger/internal/store"
)

const turnColumns = `id, task_id, org_id, seq, role, input, budget, status, output_text,
	input_tokens, output_tokens, credits, duration_ms, structured_output, error_code,
	error_message, incomplete_reason, attempts, accepted_at, completed_at`

var (
	getTurnSQL = prepared(`SELECT ` + turnColumns + ` FROM turns WHERE id = ?`)

	// insertTurnSQL stores a turn; the other columns start at their
	// defaults, as store.Turn's fields at their zero values.
	insertTurnSQL = prepared(`INSERT INTO turns
		(id, task_id, org_id, seq, role, input, budget, status, accepted_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
)

func scanTurn(sc scanner) (store.Turn, error) {
	var (
		t           store.Turn
		status      string
		acceptedAt  int64
		completedAt sql.NullInt64
	)
	err := sc.Scan(&t.ID, &t.TaskID, &t.OrgID, &t.Seq, &t.Role, &t.Input, &t.Budget, &status,
		&t.OutputText, &t.InputTokens, &t.OutputTokens, &t.Credits, &t.DurationMs,
		&t.StructuredOutput, &t.ErrorCode, &t.ErrorMessage, &t.IncompleteReason, &t.Attempts,
		&acceptedAt, &completedAt)
	if err != nil {
		return store.Turn{}, err
	}
	t.Status = store.Status(status)
	if len(t.StructuredOutput) == 0 {
		t.StructuredOutput = nil
	}
	t.AcceptedAt = fromUnixNano(acceptedAt)
	t.CompletedAt = fromNullUnixNano(completedAt)
	return t, nil
}

// getTurn returns a turn by id; sql.ErrNoRows when none.
func getTurn(ctx context.Context, c conn, turnID string) (store.Turn, error) {
	return scanTurn(c.QueryRowContext(ctx, getTurnSQL, turnID))
}
