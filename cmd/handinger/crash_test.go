package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestCrashUnderLoad is the crash test of several replicas: three servers on
// one PostgreSQL schema under continuous create load, one of them killed with
// SIGKILL every couple of seconds and restarted, at least 20 times. Turns
// take long enough that kills land mid-turn. Afterwards every acknowledged
// create is stored, every task has ended, no idempotency key made two turns
// and seq has no gaps.
//
// It takes about a minute, so it runs only when HANDINGER_TEST_CRASH is set
// (make test-crash; CI sets it).
func TestCrashUnderLoad(t *testing.T) {
	if os.Getenv("HANDINGER_TEST_CRASH") == "" {
		t.Skip("set HANDINGER_TEST_CRASH=1 to run the crash test of several replicas (make test-crash)")
	}
	const (
		kills   = 20
		clients = 8
	)
	flags := []string{"--builtin-delay", "400ms", "--lease", "2s", "--wait-limit", "3s", "--log-level", "error"}
	dsn, ps := replicas(t, flags, flags, flags)
	key := ps[0].key

	var (
		mu   sync.Mutex
		live = append([]*proc(nil), ps...)
	)
	pick := func() *proc {
		mu.Lock()
		defer mu.Unlock()
		return live[rand.IntN(len(live))]
	}

	type ack struct {
		key, taskID, turnID string
		seq                 int
	}
	var (
		acks                          sync.Map // idempotency key → []ack
		sent, acked, retried, unacked atomic.Int64
		tasks                         sync.Map // task id → true
		stop                          atomic.Bool
		wg                            sync.WaitGroup
	)
	for c := range clients {
		wg.Go(func() {
			var mine []string
			for n := 0; !stop.Load(); n++ {
				idem := fmt.Sprintf("c%d-%d", c, n)
				body := fmt.Sprintf(`{"input":"crash %s"}`, idem)
				if len(mine) > 0 && rand.IntN(2) == 0 {
					body = fmt.Sprintf(`{"input":"crash %s","taskId":%q}`, idem, mine[rand.IntN(len(mine))])
				}
				sent.Add(1)
				ok := false
				// A client retries with the same key, on any replica, as
				// the official libraries do.
				for attempt := 0; attempt < 6 && !ok; attempt++ {
					if attempt > 0 {
						retried.Add(1)
						time.Sleep(200 * time.Millisecond)
					}
					code, w, err := postCreate(pick(), key, body, idem)
					if err != nil || code != 200 {
						continue
					}
					ok = true
					acked.Add(1)
					a := ack{idem, w.Metadata.TaskID, w.Metadata.TurnID, w.Metadata.Seq}
					prev, _ := acks.LoadOrStore(idem, []ack{})
					acks.Store(idem, append(prev.([]ack), a))
					tasks.Store(a.taskID, true)
					if len(mine) < 4 {
						mine = append(mine, a.taskID)
					}
				}
				if !ok {
					unacked.Add(1)
				}
			}
		})
	}

	start := time.Now()
	for range kills {
		time.Sleep(time.Duration(1500+rand.IntN(1000)) * time.Millisecond)
		i := rand.IntN(len(ps))
		mu.Lock()
		victim := live[i]
		live = append(live[:i:i], live[i+1:]...)
		mu.Unlock()
		_ = victim.cmd.Process.Signal(syscall.SIGKILL)
		<-victim.done
		p := startServe(t, strings.TrimPrefix(victim.url, "http://"), append([]string{"--db", dsn}, flags...)...)
		p.key = key
		mu.Lock()
		live = append(live, p)
		mu.Unlock()
	}
	stop.Store(true)
	wg.Wait()
	loadTime := time.Since(start)

	// Every task must reach a terminal status: rescued turns run again.
	var ids []string
	tasks.Range(func(k, _ any) bool { ids = append(ids, k.(string)); return true })
	byInput := map[string]int{}
	var completed, failed, turnsTotal int
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range ids {
		var v struct {
			Task struct {
				Status string `json:"status"`
			} `json:"task"`
			Turns []turnView `json:"turns"`
		}
		for {
			if code := call(t, key, "GET", pick().url+"/api/tasks/"+id, "", &v); code != 200 {
				t.Fatalf("retrieve %s: %d", id, code)
			}
			if v.Task.Status == "completed" || v.Task.Status == "error" || v.Task.Status == "aborted" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s still %s a minute after the load ended", id, v.Task.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for i, tr := range v.Turns {
			turnsTotal++
			if tr.Seq != i+1 {
				t.Errorf("task %s: turn %d has seq %d", id, i, tr.Seq)
			}
			switch tr.Status {
			case "completed":
				completed++
			case "error":
				failed++
			default:
				t.Errorf("task %s turn %d ended %s", id, tr.Seq, tr.Status)
			}
			byInput[tr.Input]++
		}
		// Every acknowledged turn of this task is stored as acknowledged.
		acks.Range(func(_, v2 any) bool {
			for _, a := range v2.([]ack) {
				if a.taskID != id {
					continue
				}
				if a.seq < 1 || a.seq > len(v.Turns) || v.Turns[a.seq-1].ID != a.turnID {
					t.Errorf("acknowledged turn %s (task %s, seq %d) is not stored as such", a.turnID, id, a.seq)
				}
			}
			return true
		})
	}
	// One idempotency key, one turn: every answer for a key named the same
	// turn, and no input (each carries its key) was stored twice.
	acks.Range(func(k, v any) bool {
		list := v.([]ack)
		for _, a := range list[1:] {
			if a.turnID != list[0].turnID {
				t.Errorf("idempotency key %s answered with turns %s and %s", k, list[0].turnID, a.turnID)
			}
		}
		return true
	})
	for input, n := range byInput {
		if n > 1 {
			t.Errorf("input %q was stored as %d turns", input, n)
		}
	}
	fmt.Printf("crash test: %d kills in %s; creates sent %d, acknowledged %d, not acknowledged after retries %d, retries %d; tasks %d, turns %d (completed %d, error %d)\n",
		kills, loadTime.Round(time.Second), sent.Load(), acked.Load(), unacked.Load(), retried.Load(), len(ids), turnsTotal, completed, failed)
	if acked.Load() == 0 {
		t.Fatal("no create was acknowledged")
	}
}
