// Command wrkbench measures the whole server from outside with wrk on
// loopback: GET /api/tasks/{taskId} rotating over stored tasks, against the
// server with validation off, requests and full, and against the bare
// baseline (package bare over the same SQLite database). Each round runs
// every variant once, in a rotated order; the report gives the medians and
// their ratios. The server is pinned to CPU 0 and wrk to CPU 1 when taskset
// is available.
//
//	go build -o /tmp/handinger ./cmd/handinger
//	go run ./internal/cmd/wrkbench --handinger /tmp/handinger --rounds 5 --duration 5s
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/handinger/handinger/internal/bare"
	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/service"
	"github.com/handinger/handinger/internal/store"
	"github.com/handinger/handinger/internal/store/sqlite"
)

const (
	org  = "org_bench"
	user = "usr_bench"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve-bare" {
		if err := serveBare(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "wrkbench serve-bare:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wrkbench:", err)
		os.Exit(1)
	}
}

// serveBare serves the baseline over the database at path on addr.
func serveBare(path, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := service.New(service.Config{Store: st, Bus: notify.NewLocal()})
	srv := &http.Server{Addr: addr, Handler: bare.Handler(svc, store.Principal{OrgID: org, UserID: user}, "http://"+addr)}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func run() error {
	bin := flag.String("handinger", "", "path of a built handinger binary (required)")
	rounds := flag.Int("rounds", 5, "rounds; each runs every variant once")
	duration := flag.Duration("duration", 5*time.Second, "length of one wrk run")
	conns := flag.Int("connections", 32, "wrk connections")
	tasks := flag.Int("tasks", 60, "stored tasks to rotate over")
	flag.Parse()
	if *bin == "" {
		return errors.New("--handinger is required")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk is not installed (apt-get install wrk)")
	}
	dir, err := os.MkdirTemp("", "wrkbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "bench.db")
	db := "sqlite:" + dbPath
	out, err := exec.Command(*bin, "keys", "create", "--db", db, "--org", org, "--user", user).Output()
	if err != nil {
		return fmt.Errorf("keys create: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := lines[len(lines)-1]

	addr, err := freeAddr()
	if err != nil {
		return err
	}
	seed, err := start(*bin, "serve", "--db", db, "--addr", addr, "--log-level", "warn")
	if err != nil {
		return err
	}
	ids, err := seedTasks("http://"+addr, key, *tasks)
	seed.stop()
	if err != nil {
		return err
	}
	script := filepath.Join(dir, "rotate.lua")
	if err := os.WriteFile(script, []byte(luaScript(ids, key)), 0o644); err != nil {
		return err
	}

	variants := []string{"bare", "off", "requests", "full"}
	results := map[string][]float64{}
	p99s := map[string][]float64{}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for round := range *rounds {
		for i := range variants {
			v := variants[(i+round)%len(variants)]
			var p *proc
			if v == "bare" {
				p, err = start(self, "serve-bare", dbPath, addr)
			} else {
				p, err = start(*bin, "serve", "--db", db, "--addr", addr, "--validate", v, "--log-level", "warn", "--runners", "1")
			}
			if err != nil {
				return err
			}
			rps, p99, err := runWrk("http://"+addr, script, *conns, *duration)
			p.stop()
			if err != nil {
				return fmt.Errorf("%s: %w", v, err)
			}
			fmt.Fprintf(os.Stderr, "round %d %-8s %8.0f req/s  p99 %.2f ms\n", round+1, v, rps, p99)
			results[v] = append(results[v], rps)
			p99s[v] = append(p99s[v], p99)
		}
	}
	fmt.Printf("GET /api/tasks/{taskId} over %d tasks, wrk -c%d, %d rounds of %s, medians\n\n", len(ids), *conns, *rounds, *duration)
	fmt.Println("| variant | req/s | × bare | × off | p99 ms |\n|---|---|---|---|---|")
	for _, v := range variants {
		m := median(results[v])
		fmt.Printf("| %s | %.0f | %.2f | %.2f | %.2f |\n", v, m, m/median(results["bare"]), m/median(results["off"]), median(p99s[v]))
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// proc is a started server.
type proc struct{ cmd *exec.Cmd }

// start runs a server pinned to CPU 0 and waits until it answers.
func start(bin string, args ...string) (*proc, error) {
	name, argv := bin, args
	if path, err := exec.LookPath("taskset"); err == nil {
		name, argv = path, append([]string{"-c", "0", bin}, args...)
	}
	cmd := exec.Command(name, argv...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd}
	addr := args[len(args)-1]
	for i, a := range args {
		if a == "--addr" {
			addr = args[i+1]
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not start", bin)
		}
	}
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func seedTasks(base, key string, n int) ([]string, error) {
	var ids []string
	for i := range n {
		body := fmt.Sprintf(`{"input":"Summarise report %d in five bullet points."}`, i)
		req, _ := http.NewRequest("POST", base+"/api/tasks", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		var w struct {
			Metadata struct {
				TaskID string `json:"taskId"`
			} `json:"metadata"`
		}
		err = json.NewDecoder(res.Body).Decode(&w)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			return nil, fmt.Errorf("seed task %d: status %d: %v", i, res.StatusCode, err)
		}
		// A follow-up, so that every task has two turns.
		body = fmt.Sprintf(`{"input":"Now in Spanish.","taskId":%q}`, w.Metadata.TaskID)
		req, _ = http.NewRequest("POST", base+"/api/tasks", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		if res, err = http.DefaultClient.Do(req); err != nil {
			return nil, err
		}
		res.Body.Close()
		ids = append(ids, w.Metadata.TaskID)
	}
	return ids, nil
}

func luaScript(ids []string, key string) string {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = strconv.Quote(id)
	}
	return fmt.Sprintf(`local ids = {%s}
local n = 0
wrk.headers["Authorization"] = "Bearer %s"
request = function()
  n = n + 1
  return wrk.format("GET", "/api/tasks/" .. ids[(n %% #ids) + 1])
end
`, strings.Join(quoted, ","), key)
}

var (
	rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99Line = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
	nonOK   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

func runWrk(url, script string, conns int, d time.Duration) (rps, p99ms float64, err error) {
	args := []string{"-t1", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency", "-s", script, url}
	name := "wrk"
	if path, lerr := exec.LookPath("taskset"); lerr == nil {
		name, args = path, append([]string{"-c", "1", "wrk"}, args...)
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk: %v: %s", err, out)
	}
	if m := nonOK.FindSubmatch(out); m != nil {
		return 0, 0, fmt.Errorf("wrk saw %s failed responses", m[1])
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("no Requests/sec in wrk output: %s", out)
	}
	rps, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := p99Line.FindSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		switch string(m[2]) {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		p99ms = v
	}
	return rps, p99ms, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
