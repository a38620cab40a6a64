// Command loadgen drives a Handinger Tasks API server with concurrent clients
// for a fixed time and reports throughput, latency percentiles per operation
// and errors. It only talks to loopback addresses.
//
// With --spawn it starts the server itself (a `handinger` binary on a fresh
// SQLite database in a temporary directory), creates an API key with
// `handinger keys create`, and reports the server's memory (RSS) after the
// warm-up and at the end.
//
//	go build -o /tmp/handinger ./cmd/handinger
//	go run ./internal/cmd/loadgen --spawn /tmp/handinger --clients 32 --duration 20s --mix create=1
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type config struct {
	target   string
	key      string
	spawn    string
	args     string
	clients  int
	duration time.Duration
	warmup   time.Duration
	mix      map[string]int
}

func run() error {
	var c config
	var mix string
	flag.StringVar(&c.target, "url", "", "base URL of a running server (loopback only)")
	flag.StringVar(&c.key, "key", os.Getenv("HANDINGER_API_KEY"), "API key for --url")
	flag.StringVar(&c.spawn, "spawn", "", "path of a handinger binary to start on a fresh SQLite database")
	flag.StringVar(&c.args, "serve-args", "--log-level warn", "extra flags for the spawned `handinger serve`")
	flag.IntVar(&c.clients, "clients", 32, "concurrent clients")
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "measured time")
	flag.DurationVar(&c.warmup, "warmup", 3*time.Second, "unmeasured time before it")
	flag.StringVar(&mix, "mix", "create=4,retrieve=4,list=1,archive=1", "weights of create, retrieve, list and archive")
	flag.Parse()
	var err error
	if c.mix, err = parseMix(mix); err != nil {
		return err
	}
	var srv *server
	if c.spawn != "" {
		if srv, err = spawn(c.spawn, strings.Fields(c.args)); err != nil {
			return err
		}
		defer srv.stop()
		c.target, c.key = srv.url, srv.key
	}
	u, err := url.Parse(c.target)
	if err != nil || !isLoopback(u.Hostname()) {
		return fmt.Errorf("--url %q: want a loopback address", c.target)
	}
	return drive(c, srv)
}

func parseMix(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 || !slices.Contains([]string{"create", "retrieve", "list", "archive"}, name) {
			return nil, fmt.Errorf("--mix %q: want op=weight,… with ops create, retrieve, list, archive", s)
		}
		out[name] = n
	}
	return out, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// server is a spawned `handinger serve`.
type server struct {
	cmd *exec.Cmd
	url string
	key string
	dir string
}

func spawn(bin string, extra []string) (*server, error) {
	dir, err := os.MkdirTemp("", "handinger-load")
	if err != nil {
		return nil, err
	}
	db := "sqlite:" + filepath.Join(dir, "load.db")
	out, err := exec.Command(bin, "keys", "create", "--db", db, "--org", "org_load", "--user", "usr_load").Output()
	if err != nil {
		return nil, fmt.Errorf("keys create: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append([]string{"serve", "--db", db, "--addr", addr}, extra...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, url: "http://" + addr, key: lines[len(lines)-1], dir: dir}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(s.url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("the spawned server did not become ready")
		}
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	_ = os.RemoveAll(s.dir)
}

// rss returns the resident memory of the spawned server in MiB.
func (s *server) rss() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// stats collects latencies and errors of one operation.
type stats struct {
	mu     sync.Mutex
	lat    []time.Duration
	errors int
	sample string
}

func (s *stats) add(d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errors++
		if s.sample == "" {
			s.sample = err.Error()
		}
		return
	}
	s.lat = append(s.lat, d)
}

func drive(c config, srv *server) error {
	ops := []string{"create", "retrieve", "list", "archive"}
	var wheel []string
	for _, op := range ops {
		for range c.mix[op] {
			wheel = append(wheel, op)
		}
	}
	if len(wheel) == 0 {
		return errors.New("--mix has no weight")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: c.clients, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 70 * time.Second}
	cl := &caller{base: c.target, key: c.key, http: client}

	// Seed tasks so that retrieve and archive have something to work on.
	var ids idPool
	for i := range 50 {
		id, err := cl.create(fmt.Sprintf("seed task %d", i))
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		ids.add(id)
	}

	all := map[string]*stats{}
	for _, op := range ops {
		all[op] = &stats{}
	}
	var measuring atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), c.warmup+c.duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range c.clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 42))
			for n := 0; ctx.Err() == nil; n++ {
				op := wheel[r.IntN(len(wheel))]
				start := time.Now()
				var err error
				switch op {
				case "create":
					var id string
					id, err = cl.create(fmt.Sprintf("client %d request %d: summarise the report", i, n))
					if err == nil {
						ids.add(id)
					}
				case "retrieve":
					err = cl.get("/api/tasks/" + ids.pick(r))
				case "list":
					err = cl.get("/api/tasks?limit=20")
				case "archive":
					err = cl.do("DELETE", "/api/tasks/"+ids.pick(r), nil, nil)
				}
				if ctx.Err() != nil && err != nil {
					return // cut by the end of the run
				}
				if measuring.Load() {
					all[op].add(time.Since(start), err)
				}
			}
		})
	}
	time.Sleep(c.warmup)
	var rssBefore float64
	if srv != nil {
		rssBefore = srv.rss()
	}
	measuring.Store(true)
	began := time.Now()
	wg.Wait()
	elapsed := time.Since(began)

	fmt.Printf("%d clients, %s measured after %s warm-up, mix %v\n\n", c.clients, c.duration, c.warmup, c.mix)
	fmt.Printf("| operation | requests | per second | p50 | p99 | max | errors |\n|---|---|---|---|---|---|---|\n")
	total := 0
	for _, op := range ops {
		s := all[op]
		if len(s.lat)+s.errors == 0 {
			continue
		}
		slices.Sort(s.lat)
		total += s.errors
		fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %d |\n", op, len(s.lat), float64(len(s.lat))/elapsed.Seconds(),
			pct(s.lat, 0.50), pct(s.lat, 0.99), pct(s.lat, 1), s.errors)
		if s.sample != "" {
			fmt.Printf("  first %s error: %s\n", op, s.sample)
		}
	}
	if srv != nil {
		after := srv.rss()
		fmt.Printf("\nserver RSS: %.1f MiB after warm-up, %.1f MiB at the end (%+.1f%%)\n", rssBefore, after, 100*(after-rssBefore)/rssBefore)
	}
	if total > 0 {
		return fmt.Errorf("%d requests failed", total)
	}
	return nil
}

func pct(d []time.Duration, p float64) string {
	if len(d) == 0 {
		return "-"
	}
	i := min(len(d)-1, int(p*float64(len(d))))
	return d[i].Round(10 * time.Microsecond).String()
}

// idPool holds task ids to retrieve and archive.
type idPool struct {
	mu  sync.Mutex
	ids []string
}

func (p *idPool) add(id string) {
	p.mu.Lock()
	p.ids = append(p.ids, id)
	p.mu.Unlock()
}

func (p *idPool) pick(r *rand.Rand) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids[r.IntN(len(p.ids))]
}

// caller sends API requests.
type caller struct {
	base, key string
	http      *http.Client
}

func (c *caller) create(input string) (string, error) {
	body, _ := json.Marshal(map[string]string{"input": input})
	var w struct {
		Status   string `json:"status"`
		Metadata struct {
			TaskID string `json:"taskId"`
		} `json:"metadata"`
	}
	if err := c.do("POST", "/api/tasks", body, &w); err != nil {
		return "", err
	}
	if w.Status != "completed" {
		return "", fmt.Errorf("create answered status %q", w.Status)
	}
	return w.Metadata.TaskID, nil
}

func (c *caller) get(path string) error { return c.do("GET", path, nil, nil) }

func (c *caller) do(method, path string, body []byte, out any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
