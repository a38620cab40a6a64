package notify

import (
	"context"
	"testing"
)

func TestLocalTurnDone(t *testing.T) {
	t.Parallel()
	l := NewLocal()
	a, cancelA := l.WaitTurn("trn_1")
	defer cancelA()
	b, cancelB := l.WaitTurn("trn_1")
	other, cancelOther := l.WaitTurn("trn_2")
	defer cancelOther()
	cancelB()
	if err := l.TurnDone(context.Background(), "trn_1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a:
	default:
		t.Fatal("waiter of trn_1 was not woken")
	}
	select {
	case <-b:
		t.Fatal("a cancelled waiter was woken")
	case <-other:
		t.Fatal("waiter of trn_2 was woken by trn_1")
	default:
	}
	if n := len(l.waiters); n != 1 {
		t.Errorf("%d turns still have waiters, want 1 (trn_2)", n)
	}
}

func TestLocalRunnableCoalesces(t *testing.T) {
	t.Parallel()
	l := NewLocal()
	for range 5 {
		_ = l.Runnable(context.Background())
	}
	<-l.RunnableC()
	select {
	case <-l.RunnableC():
		t.Fatal("signals did not coalesce")
	default:
	}
}
