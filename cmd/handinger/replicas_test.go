package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/store/postgres/pgtest"
	"github.com/handinger/handinger/internal/testdb"
)

// workerView is the part of a create's answer the replica tests read.
type workerView struct {
	Status   string `json:"status"`
	Running  bool   `json:"running"`
	Output   []any  `json:"output"`
	Metadata struct {
		TaskID string `json:"taskId"`
		TurnID string `json:"turnId"`
		Seq    int    `json:"seq"`
	} `json:"metadata"`
}

// create posts a create call to p, with an idempotency key when idem is
// set; a network error fails the test.
func create(t *testing.T, p *proc, key, body, idem string) (int, workerView) {
	t.Helper()
	code, w, err := postCreate(p, key, body, idem)
	if err != nil {
		t.Errorf("create on %s: %v", p.url, err)
	}
	return code, w
}

// postCreate posts a create call to p and decodes a 200 answer.
func postCreate(p *proc, key, body, idem string) (int, workerView, error) {
	req, _ := http.NewRequest("POST", p.url+"/api/tasks", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, workerView{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, workerView{}, err
	}
	var w workerView
	if res.StatusCode == 200 {
		if err := json.Unmarshal(raw, &w); err != nil {
			return res.StatusCode, w, fmt.Errorf("%w: %s", err, raw)
		}
	}
	return res.StatusCode, w, nil
}

// turnsOf reads a task's turns through p.
func turnsOf(t *testing.T, p *proc, key, taskID string) []turnView {
	t.Helper()
	var v struct {
		Task struct {
			Status string `json:"status"`
		} `json:"task"`
		Turns []turnView `json:"turns"`
	}
	if code := call(t, key, "GET", p.url+"/api/tasks/"+taskID, "", &v); code != 200 {
		t.Fatalf("retrieve %s on %s: %d", taskID, p.url, code)
	}
	return v.Turns
}

type turnView struct {
	ID          string     `json:"id"`
	Seq         int        `json:"seq"`
	Status      string     `json:"status"`
	Input       string     `json:"input"`
	OutputText  string     `json:"outputText"`
	DurationMs  int64      `json:"durationMs"`
	CompletedAt *time.Time `json:"completedAt"`
}

// replicas starts n `handinger serve` processes on one fresh PostgreSQL
// schema, each with its own extra flags, one after the other so that only
// the first creates the development key. It skips, saying why, when
// PostgreSQL is not available.
func replicas(t *testing.T, flags ...[]string) (dsn string, ps []*proc) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short mode: runs several server processes")
	}
	if pgtest.URL() == "" {
		t.Skip("HANDINGER_TEST_POSTGRES_URL is not set: the replica tests need PostgreSQL")
	}
	dsn = testdb.DSN(t, testdb.Postgres)
	key := newKey(t, dsn, "usr_dev")
	for _, f := range flags {
		p := startServe(t, freeAddr(t), append([]string{"--db", dsn}, f...)...)
		if p.key != "" {
			t.Errorf("a replica of a PostgreSQL database printed a development key")
		}
		p.key = key
		ps = append(ps, p)
	}
	return dsn, ps
}

// newKey makes an API key for user in org_dev with `handinger keys create`.
func newKey(t *testing.T, db, user string) string {
	t.Helper()
	var out, errb strings.Builder
	if code := run(t.Context(), []string{"keys", "create", "--db", db, "--org", "org_dev", "--user", user}, &out, &errb); code != 0 {
		t.Fatalf("keys create: %d %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1]
}

// TestReplicaWaitsForTurnRunElsewhere sends creates to a replica that runs
// no turns: another replica runs them, and the wake-up crosses processes
// (LISTEN/NOTIFY), so each answer comes far sooner than the one-second
// re-checks a lost wake-up would fall back to.
func TestReplicaWaitsForTurnRunElsewhere(t *testing.T) {
	t.Parallel()
	_, ps := replicas(t, []string{"--runners", "0"}, nil)
	api, key := ps[0], ps[0].key
	const n = 10
	start := time.Now()
	for i := range n {
		code, w := create(t, api, key, fmt.Sprintf(`{"input":"hello %d"}`, i), "")
		if code != 200 || w.Status != "completed" || w.Running || len(w.Output) == 0 {
			t.Fatalf("create %d through the API-only replica: %d %+v", i, code, w)
		}
	}
	mean := time.Since(start) / n
	t.Logf("mean create+complete across replicas: %s", mean)
	if mean > 400*time.Millisecond {
		t.Errorf("mean create took %s: the turn's end did not reach the waiting replica by a wake-up", mean)
	}
}

// TestTurnsOfOneTaskRunOneAtATimeAcrossReplicas sends follow-ups to one task
// through two replicas that both run turns; the turns' running intervals
// must not overlap and seq must have no gaps.
func TestTurnsOfOneTaskRunOneAtATimeAcrossReplicas(t *testing.T) {
	t.Parallel()
	_, ps := replicas(t, []string{"--builtin-delay", "100ms"}, []string{"--builtin-delay", "100ms"})
	key := ps[0].key
	if code, _ := create(t, ps[0], key, `{"input":"first","taskId":"shared"}`, ""); code != 200 {
		t.Fatalf("first turn: %d", code)
	}
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if code, _ := create(t, ps[i%2], key, fmt.Sprintf(`{"input":"follow-up %d","taskId":"shared"}`, i), ""); code != 200 {
				t.Errorf("follow-up %d: %d", i, code)
			}
		})
	}
	wg.Wait()
	var turns []turnView
	deadline := time.Now().Add(30 * time.Second)
	for {
		turns = turnsOf(t, ps[1], key, "shared")
		done := 0
		for _, tr := range turns {
			if tr.Status == "completed" {
				done++
			}
		}
		if done == n+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d turns completed", done, n+1)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i, tr := range turns {
		if tr.Seq != i+1 {
			t.Fatalf("turn %d has seq %d: gaps or disorder", i, tr.Seq)
		}
		if i == 0 {
			continue
		}
		prev := turns[i-1]
		start := tr.CompletedAt.Add(-time.Duration(tr.DurationMs) * time.Millisecond)
		if start.Before(prev.CompletedAt.Add(-2 * time.Millisecond)) {
			t.Errorf("turn %d started at %s, before turn %d ended at %s", tr.Seq, start, prev.Seq, prev.CompletedAt)
		}
	}
}

// TestKilledReplicaTurnIsRescued kills -9 the only replica running a slow
// turn; a replica started afterwards rescues it, and the caller waiting on
// the API-only replica gets the completed answer within its wait limit.
func TestKilledReplicaTurnIsRescued(t *testing.T) {
	t.Parallel()
	slow := []string{"--builtin-delay", "2s", "--lease", "2s"}
	dsn, ps := replicas(t, []string{"--runners", "0", "--wait-limit", "25s"}, slow)
	api, runner, key := ps[0], ps[1], ps[0].key

	type answer struct {
		code int
		w    workerView
		at   time.Time
	}
	answered := make(chan answer, 1)
	go func() {
		code, w := create(t, api, key, `{"input":"survive a replica","taskId":"rescued"}`, "")
		answered <- answer{code, w, time.Now()}
	}()
	waitRunning(t, api, key, "rescued", 10*time.Second)
	if err := runner.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-runner.done
	killed := time.Now()
	startServe(t, freeAddr(t), append([]string{"--db", dsn}, slow...)...)

	a := <-answered
	if a.code != 200 || a.w.Status != "completed" || a.w.Running {
		t.Fatalf("the waiting caller got %d %+v", a.code, a.w)
	}
	t.Logf("the caller got the rescued turn's answer %s after the kill", a.at.Sub(killed).Round(time.Millisecond))
	if d := a.at.Sub(killed); d > 30*time.Second {
		t.Errorf("rescue took %s", d)
	}
	turns := turnsOf(t, api, key, "rescued")
	if len(turns) != 1 || turns[0].Status != "completed" || turns[0].OutputText == "" {
		t.Errorf("turns after the rescue: %+v", turns)
	}
}

// TestRulesHoldAcrossReplicas: keys made by `keys create` work on every
// replica, an idempotency key sent to two replicas at once runs one turn,
// and an archive on one replica is seen by the others.
func TestRulesHoldAcrossReplicas(t *testing.T) {
	t.Parallel()
	dsn, ps := replicas(t, nil, nil)
	a, b := ps[0], ps[1]

	// A key created by the command works on both replicas.
	other := newKey(t, dsn, "usr_other")
	for _, p := range ps {
		if code := call(t, other, "GET", p.url+"/api/tasks", "", nil); code != 200 {
			t.Errorf("a new key on %s: %d", p.url, code)
		}
	}

	// One idempotency key, two replicas at once: one turn.
	var wg sync.WaitGroup
	ids := make([]string, 6)
	for i := range ids {
		wg.Go(func() {
			code, w := create(t, ps[i%2], a.key, `{"input":"charge once","taskId":"idem"}`, "pay-42")
			if code != 200 {
				t.Errorf("idempotent create %d: %d", i, code)
			}
			ids[i] = w.Metadata.TurnID
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("one idempotency key gave turns %v", ids)
			break
		}
	}
	if turns := turnsOf(t, b, a.key, "idem"); len(turns) != 1 {
		t.Errorf("task idem has %d turns, want 1", len(turns))
	}

	// Archive on A; B refuses a follow-up and hides it from the list;
	// only the worker's creator may archive, on any replica.
	if code := call(t, other, "DELETE", b.url+"/api/tasks/idem", "", nil); code != 403 {
		t.Errorf("archive by another user of the org on B: %d, want 403", code)
	}
	if code := call(t, a.key, "DELETE", a.url+"/api/tasks/idem", "", nil); code != 200 {
		t.Fatalf("archive on A: %d", code)
	}
	if code, _ := create(t, b, a.key, `{"input":"too late","taskId":"idem"}`, ""); code != 409 {
		t.Errorf("follow-up on B to a task archived on A: %d, want 409", code)
	}
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if code := call(t, a.key, "GET", b.url+"/api/tasks", "", &list); code != 200 {
		t.Fatalf("list on B: %d", code)
	}
	for _, task := range list.Items {
		if task.ID == "idem" {
			t.Error("B lists a task archived on A")
		}
	}
}
