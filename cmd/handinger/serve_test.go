package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/testdb"
)

// binary is the handinger command built once for the tests that need a real
// process (crash and signal tests).
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func handingerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "handinger-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "handinger")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// forEachBackend runs test in parallel subtests, one per available storage
// backend, each with the --db value of a fresh database.
func forEachBackend(t *testing.T, test func(t *testing.T, db string)) {
	for _, backend := range testdb.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			test(t, testdb.DSN(t, backend))
		})
	}
}

// withKey gives p an API key: the development key it printed on SQLite, or
// a key made with `keys create` on PostgreSQL, where serve prints none.
func withKey(t *testing.T, p *proc, db string) {
	t.Helper()
	switch {
	case strings.HasPrefix(db, "sqlite:") && p.key == "":
		t.Fatalf("the first start on SQLite printed no API key:\n%s", p.stderr)
	case !strings.HasPrefix(db, "sqlite:"):
		if p.key != "" {
			t.Errorf("serve printed a development key for a PostgreSQL database")
		}
		p.key = newKey(t, db, "usr_dev")
	}
}

// proc is a running `handinger serve`.
type proc struct {
	cmd    *exec.Cmd
	url    string
	key    string // the development key it printed, if any
	stderr *bytes.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit error, once done is closed
}

// startServe runs the binary with args and waits until it answers /healthz.
func startServe(t *testing.T, addr string, args ...string) *proc {
	t.Helper()
	return startServeOf(t, handingerBinary(t), addr, args...)
}

// startServeOf is startServe with another program standing for the binary
// (a script that limits it, for instance).
func startServeOf(t *testing.T, bin, addr string, args ...string) *proc {
	t.Helper()
	return startServeVia(t, []string{bin}, addr, args...)
}

// startServeVia is startServeOf with a command line in front of the serve
// arguments: the binary, or a wrapper and its arguments.
func startServeVia(t *testing.T, command []string, addr string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(command[0], slices.Concat(command[1:], []string{"serve", "--addr", addr}, args)...)
	cmd.Env = append(os.Environ(), "HANDINGER_LOG_LEVEL=warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, url: "http://" + addr, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	keyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if k, ok := strings.CutPrefix(sc.Text(), "API key: "); ok {
				keyc <- k
			}
		}
		close(keyc)
	}()
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(p.url + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %v\n%s", err, p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case p.key = <-keyc:
	case <-time.After(200 * time.Millisecond): // stdout stays open; the key line came first if at all
	}
	return p
}

// call sends a request with key and decodes the JSON answer into out.
func call(t *testing.T, key, method, url, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode == 200 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, raw)
		}
	}
	return res.StatusCode
}

type taskView struct {
	Task struct {
		Status string `json:"status"`
	} `json:"task"`
	Turns []struct {
		Status     string `json:"status"`
		OutputText string `json:"outputText"`
	} `json:"turns"`
}

func taskStatus(t *testing.T, p *proc, key, id string) taskView {
	t.Helper()
	var v taskView
	if code := call(t, key, "GET", p.url+"/api/tasks/"+id, "", &v); code != 200 {
		t.Fatalf("retrieve %s: %d", id, code)
	}
	return v
}

// waitRunning polls task id through p until it is running; the task may not
// exist yet when it starts.
func waitRunning(t *testing.T, p *proc, key, id string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var v taskView
		if call(t, key, "GET", p.url+"/api/tasks/"+id, "", &v) == 200 && v.Task.Status == "running" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s did not start running within %s", id, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCrashRecovery kills the server with SIGKILL in the middle of a turn,
// starts it again on the same database, and expects the turn to be run again
// to completion within 30 s of the crash.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds and kills server processes")
	}
	t.Parallel()
	forEachBackend(t, testCrashRecovery)
}

func testCrashRecovery(t *testing.T, db string) {
	addr := freeAddr(t)
	flags := []string{"--db", db, "--builtin-delay", "3s", "--lease", "2s", "--wait-limit", "300ms"}
	a := startServe(t, addr, flags...)
	withKey(t, a, db)
	var w struct {
		Running  bool `json:"running"`
		Metadata struct {
			TaskID string `json:"taskId"`
		} `json:"metadata"`
	}
	if code := call(t, a.key, "POST", a.url+"/api/tasks", `{"input":"survive a crash"}`, &w); code != 200 || !w.Running {
		t.Fatalf("create: %d running=%v", code, w.Running)
	}
	waitRunning(t, a, a.key, w.Metadata.TaskID, 5*time.Second)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	crashed := time.Now()

	b := startServe(t, addr, flags...)
	if b.key != "" {
		t.Error("the restart printed a new development key though the database has one")
	}
	for {
		v := taskStatus(t, b, a.key, w.Metadata.TaskID)
		if v.Task.Status == "completed" {
			if len(v.Turns) != 1 || v.Turns[0].OutputText == "" {
				t.Errorf("turns after recovery: %+v", v.Turns)
			}
			t.Logf("turn recovered %s after the crash", time.Since(crashed).Round(time.Millisecond))
			break
		}
		if v.Task.Status == "error" || time.Since(crashed) > 30*time.Second {
			t.Fatalf("turn not recovered within 30 s: %+v\n%s", v, b.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestGracefulShutdown sends SIGTERM while a turn runs: the process drains
// (/readyz 503, still answering), stops within its grace period, and the
// turn resumes when the server restarts.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds and signals server processes")
	}
	t.Parallel()
	forEachBackend(t, testGracefulShutdown)
}

func testGracefulShutdown(t *testing.T, db string) {
	addr := freeAddr(t)
	flags := []string{"--db", db, "--builtin-delay", "5s", "--wait-limit", "20s", "--drain", "1s", "--shutdown-grace", "500ms"}
	a := startServe(t, addr, flags...)
	withKey(t, a, db)

	answer := make(chan int, 1)
	var w struct {
		Running  bool `json:"running"`
		Metadata struct {
			TaskID string `json:"taskId"`
		} `json:"metadata"`
	}
	go func() {
		answer <- call(t, a.key, "POST", a.url+"/api/tasks", `{"input":"interrupted","taskId":"graceful"}`, &w)
	}()
	waitRunning(t, a, a.key, "graceful", 5*time.Second)
	start := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// During the drain the server answers, and says it is leaving.
	time.Sleep(200 * time.Millisecond)
	if res, err := http.Get(a.url + "/readyz"); err != nil || res.StatusCode != 503 {
		t.Errorf("/readyz during the drain: %v %v, want 503", res, err)
	} else {
		res.Body.Close()
	}
	if res, err := http.Get(a.url + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Errorf("/healthz during the drain: %v %v, want 200", res, err)
	} else {
		res.Body.Close()
	}
	if code := <-answer; code != 200 || !w.Running {
		t.Errorf("the waiting create answered %d running=%v, want 200 with the turn still running", code, w.Running)
	}
	<-a.done
	if a.err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", a.err, a.stderr)
	}
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Errorf("shutdown took %s with a 1s drain and a 500ms grace", d)
	}
	b := startServe(t, addr, flags...)
	deadline := time.Now().Add(20 * time.Second)
	for taskStatus(t, b, a.key, "graceful").Task.Status != "completed" {
		if time.Now().After(deadline) {
			t.Fatalf("the released turn did not resume:\n%s", b.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestKeysCreateAndServeHelp(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "keys.db")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"keys", "create", "--db", db, "--org", "org_x", "--user", "usr_y"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("keys create: %d %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "hnd_") || len(key) < 40 {
		t.Errorf("last line %q is not a key", key)
	}
	code = run(context.Background(), []string{"keys", "create", "--db", db, "--org", "bad org", "--user", "u"}, &out, &errb)
	if code != exitUsage {
		t.Errorf("bad org id: exit %d, want %d", code, exitUsage)
	}
	code = run(context.Background(), []string{"serve", "--no-such-flag"}, &out, &errb)
	if code != exitUsage {
		t.Errorf("unknown flag: exit %d", code)
	}

	out.Reset()
	if code := run(context.Background(), []string{"serve", "--help"}, &out, &errb); code != exitOK {
		t.Fatalf("serve --help: %d", code)
	}
	help := out.String()
	for _, want := range []string{"--addr", "HANDINGER_ADDR", "--db", "HANDINGER_DB", "--validate", "--wait-limit",
		"--runtime", "--builtin-delay", "--exec-command", "--max-body", "--public-url", "stand-in"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve --help does not mention %s", want)
		}
	}
}

// TestFlagsFromEnvironment checks that each flag's environment variable
// sets it, and that a bad value there is a usage error like on the line.
func TestFlagsFromEnvironment(t *testing.T) {
	t.Setenv("HANDINGER_VALIDATE", "sometimes")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, &out, &errb); code != exitUsage {
		t.Errorf("HANDINGER_VALIDATE=sometimes: exit %d, want %d: %s", code, exitUsage, errb.String())
	}
	if !strings.Contains(errb.String(), "sometimes") {
		t.Errorf("the error does not name the bad value: %s", errb.String())
	}
	t.Setenv("HANDINGER_VALIDATE", "full")
	t.Setenv("HANDINGER_DB", "mysql://nope")
	errb.Reset()
	if code := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, &out, &errb); code != exitUsage ||
		!strings.Contains(errb.String(), "mysql://nope") {
		t.Errorf("HANDINGER_DB: exit %d: %s", code, errb.String())
	}
}
