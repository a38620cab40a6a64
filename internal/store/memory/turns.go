package memory

import (
	"time"

	"github.com/handinger/handinger/internal/store"
)

// turn is a stored turn with its place in the queue and its claim. Its
// StructuredOutput is never changed in place, only replaced; its
// CompletedAt points to completedAt, set once when the turn ends. Neither
// is handed out: out copies them.
type turn struct {
	row         store.Turn
	pos         int64 // acceptance order, the order of claims
	task        *task
	leaseOwner  string // set while running
	leaseUntil  time.Time
	completedAt time.Time
}

// out returns a copy of the turn that shares nothing with it.
func (r *turn) out() store.Turn {
	t := r.row
	if t.CompletedAt != nil {
		t.CompletedAt = ptr(*t.CompletedAt)
	}
	if t.StructuredOutput != nil {
		t.StructuredOutput = append([]byte(nil), t.StructuredOutput...)
	}
	return t
}

// outTurns copies turns out, as a non-nil slice, with three allocations at
// most whatever their number: the completion times and the structured
// outputs of all of them share one array each.
func outTurns(rows []*turn) []store.Turn {
	var nTimes, nBytes int
	for _, r := range rows {
		if r.row.CompletedAt != nil {
			nTimes++
		}
		nBytes += len(r.row.StructuredOutput)
	}
	out := make([]store.Turn, len(rows))
	times := make([]time.Time, 0, nTimes)
	buf := make([]byte, 0, nBytes)
	for i, r := range rows {
		out[i] = r.row
		if c := r.row.CompletedAt; c != nil {
			times = append(times, *c) // within capacity: earlier pointers stay valid
			out[i].CompletedAt = &times[len(times)-1]
		}
		if so := r.row.StructuredOutput; so != nil {
			n := len(buf)
			buf = append(buf, so...)
			// The capacity ends with the turn's bytes, so that an append
			// by the caller cannot overwrite the next turn's.
			out[i].StructuredOutput = buf[n:len(buf):len(buf)]
		}
	}
	return out
}
