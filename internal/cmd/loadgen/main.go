// Command loadgen drives a Handinger Tasks API server with concurrent clients
// for a fixed time and reports throughput, latency percentiles per operation
// and errors. It only talks to loopback addresses.
//
// With --spawn it starts the server itself (a `handinger` binary on a fresh
// SQLite database in a temporary directory, or --replicas servers on a fresh
// schema of the PostgreSQL database --db names), creates an API key with
// `handinger keys create`, spreads the clients over the replicas, and
// reports the servers' memory (RSS) after the warm-up and at the end.
//
//	go build -o /tmp/handinger ./cmd/handinger
//	go run ./internal/cmd/loadgen --spawn /tmp/handinger --clients 32 --duration 20s --mix create=1
//	go run ./internal/cmd/loadgen --spawn /tmp/handinger --db postgres://postgres@127.0.0.1/test --replicas 2
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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
	db       string
	replicas int
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
	flag.StringVar(&c.db, "db", "sqlite", "database of the spawned servers: sqlite (a fresh file) or a postgres:// URL (a fresh schema in it)")
	flag.IntVar(&c.replicas, "replicas", 1, "spawned servers sharing the database (more than one needs PostgreSQL)")
	flag.IntVar(&c.clients, "clients", 32, "concurrent clients")
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "measured time")
	flag.DurationVar(&c.warmup, "warmup", 3*time.Second, "unmeasured time before it")
	flag.StringVar(&mix, "mix", "create=4,retrieve=4,list=1,archive=1", "weights of create, retrieve, list and archive")
	flag.Parse()
	var err error
	if c.mix, err = parseMix(mix); err != nil {
		return err
	}
	var srv *cluster
	if c.spawn != "" {
		if srv, err = spawn(c.spawn, c.db, c.replicas, strings.Fields(c.args)); err != nil {
			return err
		}
		defer srv.stop()
		c.key = srv.key
	} else {
		u, err := url.Parse(c.target)
		if err != nil || !isLoopback(u.Hostname()) {
			return fmt.Errorf("--url %q: want a loopback address", c.target)
		}
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

// cluster is the spawned `handinger serve` processes on one database.
type cluster struct {
	procs  []*exec.Cmd
	urls   []string
	key    string
	dir    string
	schema string // the PostgreSQL schema made for the run, dropped at the end
	db     string
}

func spawn(bin, dbFlag string, replicas int, extra []string) (*cluster, error) {
	dir, err := os.MkdirTemp("", "handinger-load")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir}
	switch {
	case dbFlag == "sqlite":
		if replicas != 1 {
			return nil, errors.New("--replicas above 1 needs a postgres:// --db")
		}
		c.db = "sqlite:" + filepath.Join(dir, "load.db")
	case strings.HasPrefix(dbFlag, "postgres://"), strings.HasPrefix(dbFlag, "postgresql://"):
		if c.db, c.schema, err = freshSchema(dbFlag); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("--db %q: want sqlite or a postgres:// URL", dbFlag)
	}
	out, err := exec.Command(bin, "keys", "create", "--db", c.db, "--org", "org_load", "--user", "usr_load").Output()
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("keys create: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	c.key = lines[len(lines)-1]
	for range replicas {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			c.stop()
			return nil, err
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, append([]string{"serve", "--db", c.db, "--addr", addr}, extra...)...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			c.stop()
			return nil, err
		}
		c.procs = append(c.procs, cmd)
		c.urls = append(c.urls, "http://"+addr)
	}
	for _, u := range c.urls {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if res, err := http.Get(u + "/readyz"); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				c.stop()
				return nil, errors.New("a spawned server did not become ready")
			}
		}
	}
	return c, nil
}

// freshSchema creates a schema of its own for the run in the database base
// names and returns base with search_path set to it.
func freshSchema(base string) (dsn, schema string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := connect(ctx, base)
	if err != nil {
		return "", "", fmt.Errorf("connect to %s: %w", base, err)
	}
	defer conn.Close(ctx)
	schema = fmt.Sprintf("load_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", "", fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

// connect opens one connection to the database dsn names; pool settings in
// dsn (pool_max_conns, …) are accepted and ignored.
func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg.ConnConfig)
}

func (c *cluster) stop() {
	for _, cmd := range c.procs {
		_ = cmd.Process.Signal(os.Interrupt)
	}
	for _, cmd := range c.procs {
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	if c.schema != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if conn, err := connect(ctx, c.db); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA "+c.schema+" CASCADE")
			_ = conn.Close(ctx)
		}
	}
	_ = os.RemoveAll(c.dir)
}

// rss returns the resident memory of each spawned server in MiB.
func (c *cluster) rss() []float64 {
	var out []float64
	for _, cmd := range c.procs {
		out = append(out, rssOf(cmd.Process.Pid))
	}
	return out
}

func rssOf(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
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

func drive(c config, srv *cluster) error {
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
	bases := []string{c.target}
	if srv != nil {
		bases = srv.urls
	}
	callers := make([]*caller, len(bases))
	for i, b := range bases {
		callers[i] = &caller{base: b, key: c.key, http: client}
	}
	cl := callers[0]

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
			cl := callers[i%len(callers)]
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
	var rssBefore []float64
	if srv != nil {
		rssBefore = srv.rss()
	}
	measuring.Store(true)
	began := time.Now()
	wg.Wait()
	elapsed := time.Since(began)

	fmt.Printf("%d clients over %d server(s), %s measured after %s warm-up, mix %v\n\n", c.clients, len(callers), c.duration, c.warmup, c.mix)
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
		for i, after := range srv.rss() {
			fmt.Printf("\nserver %d RSS: %.1f MiB after warm-up, %.1f MiB at the end (%+.1f%%)", i+1, rssBefore[i], after, 100*(after-rssBefore[i])/rssBefore[i])
		}
		fmt.Println()
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
