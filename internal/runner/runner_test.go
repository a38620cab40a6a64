package runner_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/runner"
	"github.com/handinger/handinger/internal/runtimes/builtin"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/memory"
	"github.com/handinger/handinger/internal/store/storetest"
)

var who = store.Principal{KeyID: "key_1", OrgID: "org_1", UserID: "usr_1"}

// setup returns a store with a key's organization and user, and a bus.
func setup(t *testing.T) (store.Store, *notify.Local) {
	t.Helper()
	st := memory.New()
	if err := st.CreateAPIKey(context.Background(), who.KeyID, who.OrgID, who.UserID, []byte("hash"), time.Now()); err != nil {
		t.Fatal(err)
	}
	return st, notify.NewLocal()
}

func addTurn(t *testing.T, st store.Store, taskID, turnID, input string) {
	t.Helper()
	_, err := st.CreateTurn(context.Background(), store.CreateTurnParams{
		Principal: who, TaskID: taskID, TaskIDGiven: true, NewWorkerID: "wrk_" + turnID, TurnID: turnID,
		Input: input, Budget: "standard", Title: input, Now: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, cfg runner.Config) *runner.Pool {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.Owner == "" {
		cfg.Owner = "pool-under-test"
	}
	p, err := runner.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// waitStatus waits for a turn of task tsk_1 to reach status, through
// wake-ups.
func waitStatus(t *testing.T, st store.Store, bus *notify.Local, turnID string, want store.Status) store.Turn {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		done, cancel := bus.WaitTurn(turnID)
		turn, err := storetest.Turn(context.Background(), st, who.OrgID, "tsk_1", turnID)
		if err != nil {
			t.Fatal(err)
		}
		if turn.Status == want {
			cancel()
			return turn
		}
		select {
		case <-done:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("turn %s is %s, want %s", turnID, turn.Status, want)
		}
		cancel()
	}
}

func TestRunsTurnsInOrderWithHistory(t *testing.T) {
	t.Parallel()
	st, bus := setup(t)
	addTurn(t, st, "tsk_1", "trn_1", "first")
	addTurn(t, st, "tsk_1", "trn_2", "second")
	start(t, runner.Config{Store: st, Runtime: &builtin.Runtime{}, Bus: bus})
	_ = bus.Runnable(context.Background())
	one := waitStatus(t, st, bus, "trn_1", store.StatusCompleted)
	two := waitStatus(t, st, bus, "trn_2", store.StatusCompleted)
	if two.CompletedAt.Before(*one.CompletedAt) {
		t.Error("turn 2 ended before turn 1")
	}
	if two.InputTokens <= one.InputTokens {
		t.Errorf("turn 2 read %d tokens, turn 1 %d: history not passed", two.InputTokens, one.InputTokens)
	}
}

// TestReaperRescuesDeadRunnersTurn claims a turn as a runner that then
// dies; the pool's reaper requeues it once the lease ends and runs it.
func TestReaperRescuesDeadRunnersTurn(t *testing.T) {
	t.Parallel()
	st, bus := setup(t)
	addTurn(t, st, "tsk_1", "trn_1", "orphaned")
	c, err := storetest.ClaimOne(context.Background(), st, "dead-runner", time.Now(), 300*time.Millisecond)
	if err != nil || c == nil {
		t.Fatalf("claim: %v %v", c, err)
	}
	start(t, runner.Config{Store: st, Runtime: &builtin.Runtime{}, Bus: bus, ReapEvery: 50 * time.Millisecond})
	turn := waitStatus(t, st, bus, "trn_1", store.StatusCompleted)
	if turn.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (the dead claim and the rescue)", turn.Attempts)
	}
	// The dead runner's late result is refused by the fence.
	err = storetest.FinishOne(context.Background(), st, store.FinishTurnParams{
		TurnID: "trn_1", Owner: "dead-runner", Attempt: c.Attempt, Status: store.StatusCompleted, Now: time.Now(),
	})
	if err == nil {
		t.Error("a stale claim overwrote the result")
	}
}

func TestAttemptsExhausted(t *testing.T) {
	t.Parallel()
	st, bus := setup(t)
	addTurn(t, st, "tsk_1", "trn_1", "crashes every time")
	if _, err := storetest.ClaimOne(context.Background(), st, "dead-runner", time.Now(), 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start(t, runner.Config{Store: st, Runtime: &builtin.Runtime{}, Bus: bus, ReapEvery: 50 * time.Millisecond, MaxAttempts: 1})
	turn := waitStatus(t, st, bus, "trn_1", store.StatusError)
	if turn.ErrorCode != "attempts_exhausted" || turn.ErrorMessage == "" {
		t.Errorf("error %q %q", turn.ErrorCode, turn.ErrorMessage)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	for _, mode := range []runner.ShutdownMode{runner.ShutdownResume, runner.ShutdownAbort} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			st, bus := setup(t)
			addTurn(t, st, "tsk_1", "trn_1", "a long one [delay=10s]")
			p, err := runner.New(runner.Config{
				Store: st, Runtime: &builtin.Runtime{}, Bus: bus, Owner: "p", OnShutdown: mode,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			p.Start()
			waitStatus(t, st, bus, "trn_1", store.StatusRunning)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			begin := time.Now()
			if err := p.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(begin); d > 3*time.Second {
				t.Errorf("shutdown took %s", d)
			}
			turn, err := storetest.Turn(context.Background(), st, who.OrgID, "tsk_1", "trn_1")
			if err != nil {
				t.Fatal(err)
			}
			switch mode {
			case runner.ShutdownResume:
				if turn.Status != store.StatusPending {
					t.Errorf("resume: turn is %s, want pending", turn.Status)
				}
			case runner.ShutdownAbort:
				if turn.Status != store.StatusAborted || turn.IncompleteReason != "shutdown" {
					t.Errorf("abort: turn is %s (%s)", turn.Status, turn.IncompleteReason)
				}
			}
		})
	}
}

func TestPerOrgForLeavesRunnersFree(t *testing.T) {
	for _, tc := range []struct{ runners, want int }{
		{1, 1}, {2, 1}, {3, 2}, {4, 3}, {8, 6}, {64, 48},
	} {
		if got := runner.PerOrgFor(tc.runners); got != tc.want {
			t.Errorf("PerOrgFor(%d) = %d, want %d", tc.runners, got, tc.want)
		}
	}
}
