package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/handinger/handinger/handingertest"
)

func TestRun(t *testing.T) {
	t.Parallel()
	srv := handingertest.NewServer(t, handingertest.Reply("Summarise the quarterly report.", "Revenue grew 12%."))
	var out strings.Builder
	if err := run(context.Background(), srv.Client, "Summarise the quarterly report.", &out); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "Revenue grew 12%.\n"; got != want {
		t.Errorf("run wrote %q, want %q", got, want)
	}
}

func TestRunWaits(t *testing.T) {
	t.Parallel()
	// The turn outlasts the create call: run must wait for its answer.
	srv := handingertest.NewServer(t,
		handingertest.WaitLimit(50*time.Millisecond),
		handingertest.Reply("Take your time.", "Done."),
		handingertest.Delay("Take your time.", 300*time.Millisecond),
	)
	var out strings.Builder
	if err := run(context.Background(), srv.Client, "Take your time.", &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "Done.\n" {
		t.Errorf("run wrote %q, want the answer after the wait", got)
	}
}

func TestRunFails(t *testing.T) {
	t.Parallel()
	srv := handingertest.NewServer(t, handingertest.Fail("Break.", "the model refused"))
	err := run(context.Background(), srv.Client, "Break.", &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "the model refused") {
		t.Errorf("run: %v, want the turn's failure", err)
	}
}
