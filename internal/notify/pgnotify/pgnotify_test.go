package pgnotify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/handinger/handinger/internal/notify/pgnotify"
	"github.com/handinger/handinger/internal/store/postgres/pgtest"
)

func newBus(t *testing.T, dsn string) (*pgnotify.Bus, *pgxpool.Pool) {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	b, err := pgnotify.New(ctx, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b, pool
}

func received(c <-chan struct{}, within time.Duration) bool {
	select {
	case <-c:
		return true
	case <-time.After(within):
		return false
	}
}

// drain empties a coalescing channel of signals already sent.
func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func TestAcrossProcesses(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, _ := newBus(t, dsn)
	b, _ := newBus(t, dsn)

	done, cancel := a.WaitTurn("trn_1")
	defer cancel()
	if err := b.TurnDone(t.Context(), "trn_1"); err != nil {
		t.Fatal(err)
	}
	if !received(done, 5*time.Second) {
		t.Fatal("a waiter on A did not learn that trn_1 ended on B")
	}

	drain(a.RunnableC())
	if err := b.Runnable(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !received(a.RunnableC(), 5*time.Second) {
		t.Fatal("A's runners were not woken by B's Runnable")
	}
}

func TestLocalDeliveryIsImmediate(t *testing.T) {
	a, _ := newBus(t, pgtest.DSN(t))
	done, cancel := a.WaitTurn("trn_local")
	defer cancel()
	_ = a.TurnDone(t.Context(), "trn_local")
	select {
	case <-done:
	default:
		t.Fatal("a local waiter was not woken before TurnDone returned")
	}
}

func TestManyTurnsCoalesce(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, _ := newBus(t, dsn)
	b, _ := newBus(t, dsn)
	// More ids than fit in one payload, so the sender must split them.
	const n = 600
	var chans []<-chan struct{}
	for i := range n {
		c, cancel := a.WaitTurn(fmt.Sprintf("trn_%026d", i))
		defer cancel()
		chans = append(chans, c)
	}
	for i := range n {
		_ = b.TurnDone(t.Context(), fmt.Sprintf("trn_%026d", i))
	}
	for i, c := range chans {
		if !received(c, 5*time.Second) {
			t.Fatalf("waiter %d of %d not woken", i, n)
		}
	}
}

func TestSchemasDoNotCross(t *testing.T) {
	a, _ := newBus(t, pgtest.DSN(t))
	b, _ := newBus(t, pgtest.DSN(t))
	done, cancel := a.WaitTurn("trn_other")
	defer cancel()
	_ = b.TurnDone(t.Context(), "trn_other")
	if received(done, 500*time.Millisecond) {
		t.Fatal("a bus in another schema woke a waiter")
	}
}

func TestReconnectWakesEveryone(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, pool := newBus(t, dsn)
	done, cancel := a.WaitTurn("trn_gap")
	defer cancel()
	drain(a.RunnableC())
	// Kill the listening connection: notifications sent until it is back
	// are lost, so the bus must wake its waiters once it has reconnected.
	var killed int
	err := pool.QueryRow(t.Context(), `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()
		AND query ILIKE 'listen %' AND strpos(query, current_schema()) > 0`).Scan(&killed)
	if err != nil {
		t.Fatal(err)
	}
	if killed == 0 {
		t.Fatal("found no listening connection to kill")
	}
	if !received(done, 10*time.Second) {
		t.Fatal("a waiter was not woken after the listener reconnected")
	}
	if !received(a.RunnableC(), time.Second) {
		t.Fatal("the runners were not woken after the listener reconnected")
	}
}

func TestChannelNamesFitPostgres(t *testing.T) {
	// A schema name at PostgreSQL's limit still yields a usable channel.
	long := "s" + strings.Repeat("x", 62)
	dsn := pgtest.DSN(t)
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(t.Context(), `CREATE SCHEMA `+long); err != nil {
		t.Fatal(err)
	}
	defer pool.Exec(context.Background(), `DROP SCHEMA `+long+` CASCADE`)
	cfg := pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["search_path"] = long
	pcfg := pool.Config().Copy()
	pcfg.ConnConfig = cfg
	p2, err := pgxpool.NewWithConfig(t.Context(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	b, err := pgnotify.New(ctx, p2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	done, stop := b.WaitTurn("trn_long")
	defer stop()
	// Delivered locally at once; the point is that LISTEN succeeded.
	_ = b.TurnDone(t.Context(), "trn_long")
	if !received(done, time.Second) {
		t.Fatal("not woken")
	}
}
