package service

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/memory"
)

func TestTitle(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 40)
	for in, want := range map[string]string{
		"Summarise the report.":     "Summarise the report.",
		"  First line\nsecond line": "First line",
		"":                          "",
		strings.Repeat("é", 100):    strings.Repeat("é", 80) + "…",
		long:                        strings.TrimSpace(long[:79]) + "…",
	} {
		got := Title(in)
		if got != want {
			t.Errorf("Title(%.20q…) = %q, want %q", in, got, want)
		}
		if utf8.RuneCountInString(got) > 81 || !utf8.ValidString(got) {
			t.Errorf("Title(%.20q…) = %q: too long or not UTF-8", in, got)
		}
	}
}

func TestRequestHashTellsRequestsApart(t *testing.T) {
	t.Parallel()
	a := requestHash(CreateParams{Input: "ab", Budget: "c"})
	b := requestHash(CreateParams{Input: "a", Budget: "bc"})
	c := requestHash(CreateParams{Input: "ab", Budget: "c", IdempotencyKey: "other"})
	if bytes.Equal(a, b) {
		t.Error("moving a byte between fields kept the fingerprint")
	}
	if !bytes.Equal(a, c) {
		t.Error("the idempotency key itself changed the fingerprint")
	}
}

// TestErrorsNameTheirContextOnce checks that the errors CreateTask returns
// keep the store's words and add no second copy of them.
func TestErrorsNameTheirContextOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memory.New()
	if err := st.CreateAPIKey(ctx, "key_1", "org_1", "usr_1", []byte("hash"), time.Now()); err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Store: st, Bus: notify.NewLocal(), WaitLimit: time.Millisecond})
	who := store.Principal{KeyID: "key_1", OrgID: "org_1", UserID: "usr_1"}
	first, err := svc.CreateTask(ctx, who, CreateParams{Input: "one"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ArchiveTask(ctx, who, first.Task.ID); err != nil {
		t.Fatal(err)
	}
	_, err = svc.CreateTask(ctx, who, CreateParams{Input: "two", TaskID: first.Task.ID})
	if !errors.Is(err, store.ErrArchived) {
		t.Fatalf("follow-up to an archived task: %v, want ErrArchived", err)
	}
	if msg := err.Error(); strings.Count(msg, "create turn") != 1 || strings.Count(msg, first.Task.ID) != 1 {
		t.Errorf("follow-up to an archived task: %q repeats itself", msg)
	}
}

func TestIsServerID(t *testing.T) {
	if id := NewID("tsk"); !IsServerID("tsk", id) {
		t.Errorf("IsServerID(tsk, %s) = false for an id NewID made", id)
	}
	for _, id := range []string{
		"order-17", "tsk_", "tsk_mine", "tsk_01HZY31W2SZJ8MJ2FQTR3M1K9", "tsk_01HZY31W2SZJ8MJ2FQTR3M1K9DX",
		"wrk_01HZY31W2SZJ8MJ2FQTR3M1K9D", "tsk-01HZY31W2SZJ8MJ2FQTR3M1K9D", "tsk_01hzy31w2szj8mj2fqtr3m1k9U",
	} {
		if IsServerID("tsk", id) {
			t.Errorf("IsServerID(tsk, %s) = true", id)
		}
	}
}
