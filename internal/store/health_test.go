package store

import (
	"errors"
	"fmt"
	"testing"
)

func TestWriteHealth(t *testing.T) {
	t.Parallel()
	var h WriteHealth
	if h.Err() != nil {
		t.Fatal("a new WriteHealth is unhealthy")
	}
	if err := h.Record(ErrNotFound); !errors.Is(err, ErrNotFound) || h.Err() != nil {
		t.Errorf("a caller's error made the store unhealthy: %v", h.Err())
	}
	full := fmt.Errorf("commit: %w", ErrUnavailable)
	h.Record(full)
	if !errors.Is(h.Err(), ErrUnavailable) {
		t.Errorf("after a failed write: %v, want it reported", h.Err())
	}
	h.Record(nil)
	if h.Err() != nil {
		t.Errorf("after a write succeeded again: %v", h.Err())
	}
	var none *WriteHealth
	if err := none.Record(full); err != full {
		t.Error("a nil WriteHealth changed the error")
	}
}
