// Package runner executes turns durably: a pool of runners claims runnable
// turns from the store (the turns table is the queue), holds each claim as a
// lease renewed by heartbeat, runs the turn on an agent.Runtime and records
// the result fenced by the claim. A reaper puts turns whose lease expired
// (their runner died) back in the queue, or ends them in error after their
// attempts, so no acknowledged turn is ever lost or left running.
//
// The files follow the concerns: runner.go the pool's configuration and
// life, dispatch.go the claims, run.go one turn and its heartbeat,
// finish.go the batched recording of results and the wake-ups, reap.go the
// expired leases and idempotency keys, metrics.go the collector.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/handinger/handinger/agent"
	"github.com/handinger/handinger/internal/notify"
	"github.com/handinger/handinger/internal/store"
)

// ShutdownMode says what happens to turns still running when the pool stops.
type ShutdownMode string

// The shutdown modes.
const (
	// ShutdownResume releases unfinished turns back to the queue; they run
	// again from the start when a runner (this process restarted, or
	// another replica) claims them.
	ShutdownResume ShutdownMode = "resume"
	// ShutdownAbort ends unfinished turns aborted, with reason shutdown and
	// the output produced so far.
	ShutdownAbort ShutdownMode = "abort"
)

// Config configures a Pool. Zero values take the defaults noted.
type Config struct {
	Store   store.Queue
	Runtime agent.Runtime
	Bus     notify.Bus
	// Owner names this process in leases (e.g. host:pid:random).
	Owner string
	// Concurrency is the number of turns run at once (default 64).
	Concurrency int
	// PerOrg is the most turns of one organization run at once, so that
	// another organization always finds a free runner (default: all but a
	// quarter of Concurrency, at least one runner kept free; see PerOrgFor).
	// It holds whether or not another organization is waiting. Claims take
	// organizations in turn as well (store.Share).
	PerOrg int
	// Lease is how long a claim holds without a heartbeat (default 10 s);
	// a crashed runner's turn is rescued about Lease+ReapEvery after the
	// crash, whatever the turn's length.
	Lease time.Duration
	// HeartbeatEvery renews the lease (default Lease/3).
	HeartbeatEvery time.Duration
	// ReapEvery is the reaper's period (default 2 s).
	ReapEvery time.Duration
	// PollEvery looks for work without a wake-up, in case one was missed
	// (default 1 s).
	PollEvery time.Duration
	// MaxAttempts ends a turn in error after this many claims (default 3).
	MaxAttempts int
	// OnShutdown is what happens to turns still running at shutdown
	// (default ShutdownResume).
	OnShutdown ShutdownMode
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger logs turn outcomes and store failures (default slog.Default()).
	Logger *slog.Logger
	// Metrics counts the pool's finished turns (default: counted nowhere).
	Metrics *Metrics
	// IdempotencyTTL is how long idempotency keys are kept (default 48 h;
	// the API promises at least 24 h). The reaper purges older ones.
	IdempotencyTTL time.Duration
}

// PerOrgFor is the default Config.PerOrg for concurrency runners: all but a
// quarter of them, and at least one left for other organizations (a single
// runner is all one organization's).
func PerOrgFor(concurrency int) int {
	return max(1, concurrency-max(1, concurrency/4))
}

// Pool runs turns until Shutdown.
type Pool struct {
	cfg Config

	stopClaiming context.CancelFunc // ends the claim loops
	claimCtx     context.Context
	runCtx       context.Context // cancelled when the grace period is over
	cancelRuns   context.CancelFunc
	wg           sync.WaitGroup // the dispatcher and the reaper
	runs         sync.WaitGroup // running turns
	slotFree     chan struct{}  // a run ended: the dispatcher may claim again
	finishes     chan finishRequest
	finisherDone chan struct{}
	started      bool
	shutdownOnce sync.Once
	shutdownDone chan struct{}
}

// New validates cfg and returns a pool; Start runs it.
func New(cfg Config) (*Pool, error) {
	if cfg.Store == nil || cfg.Runtime == nil || cfg.Bus == nil {
		return nil, errors.New("runner: Store, Runtime and Bus are required")
	}
	if cfg.Owner == "" {
		return nil, errors.New("runner: Owner is required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.PerOrg <= 0 {
		cfg.PerOrg = PerOrgFor(cfg.Concurrency)
	}
	cfg.PerOrg = min(cfg.PerOrg, cfg.Concurrency)
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Second
	}
	if cfg.HeartbeatEvery <= 0 {
		cfg.HeartbeatEvery = cfg.Lease / 3
	}
	if cfg.ReapEvery <= 0 {
		cfg.ReapEvery = 2 * time.Second
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	switch cfg.OnShutdown {
	case "":
		cfg.OnShutdown = ShutdownResume
	case ShutdownResume, ShutdownAbort:
	default:
		return nil, fmt.Errorf("runner: unknown shutdown mode %q", cfg.OnShutdown)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = 48 * time.Hour
	}
	return &Pool{cfg: cfg}, nil
}

// Start launches the runners and the reaper. It reaps once first, so turns
// left running by a crashed process are requeued as soon as their lease ends.
func (p *Pool) Start() {
	if p.started {
		return
	}
	p.started = true
	p.claimCtx, p.stopClaiming = context.WithCancel(context.Background())
	p.runCtx, p.cancelRuns = context.WithCancel(context.Background())
	p.slotFree = make(chan struct{}, 1)
	p.finishes = make(chan finishRequest, p.cfg.Concurrency)
	p.finisherDone = make(chan struct{})
	go p.finisher()
	p.wg.Add(2)
	go p.reapLoop()
	go p.dispatch()
}

// Shutdown stops claiming, lets running turns finish until ctx ends, then
// stops them as OnShutdown says, and waits for every runner to return.
func (p *Pool) Shutdown(ctx context.Context) error {
	if !p.started {
		return nil
	}
	p.shutdownOnce.Do(func() {
		p.stopClaiming()
		p.shutdownDone = make(chan struct{})
		go func() {
			p.wg.Wait()
			p.runs.Wait()
			close(p.finishes)
			<-p.finisherDone
			close(p.shutdownDone)
		}()
	})
	select {
	case <-p.shutdownDone:
		return nil
	case <-ctx.Done():
		p.cancelRuns()
		<-p.shutdownDone
		return nil
	}
}
