// Package pgnotify is a notify.Bus that crosses processes through PostgreSQL
// LISTEN/NOTIFY, so that several server replicas on one database wake each
// other: a create call waiting on replica A learns that its turn ended on
// replica B, and the runners of every replica learn that there is work.
//
// Every wake-up is delivered in the sending process at once and sent to the
// others through the database. Sends coalesce: while one NOTIFY is on its way,
// the turn ids that end meanwhile are gathered and go out together in the
// next one. The channel names carry the database schema, so deployments in
// different schemas of one database do not wake each other.
//
// A wake-up only says "look again" (see notify.Bus): when the listening
// connection drops, Bus reconnects and then wakes every local waiter and the
// runners, since notifications sent meanwhile are lost.
package pgnotify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgxlisten"

	"github.com/handinger/handinger/internal/notify"
)

// maxPayload keeps a NOTIFY payload under PostgreSQL's 8000-byte limit.
const maxPayload = 7900

// Bus is a notify.Bus over PostgreSQL LISTEN/NOTIFY.
type Bus struct {
	local  *notify.Local
	pool   *pgxpool.Pool
	log    *slog.Logger
	done   string // channel of "these turns ended"
	run    string // channel of "there is work"
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	pending  []string // turn ids not sent yet
	runnable bool     // a runnable signal not sent yet
	kick     chan struct{}
}

var _ notify.Bus = (*Bus)(nil)

// New starts a Bus on pool's database: it listens on its own connection
// (reconnecting after failures) and sends through pool. It returns once the
// first LISTEN is in place, so that nothing sent after New returns is missed,
// or with an error when that does not happen before ctx ends.
func New(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) (*Bus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var schema string
	if err := pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("pgnotify: read the current schema: %w", err)
	}
	b := &Bus{
		local: notify.NewLocal(),
		pool:  pool,
		log:   log,
		done:  channelName("handinger_done_", schema),
		run:   channelName("handinger_run_", schema),
		kick:  make(chan struct{}, 1),
	}
	ready := make(chan struct{})
	var readyOnce sync.Once
	var listened sync.Map // channels listened on the current connection
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			listened.Clear()
			return pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
		},
		LogError: func(_ context.Context, err error) {
			if !errors.Is(err, context.Canceled) {
				log.Warn("pgnotify: listener", "err", err)
			}
		},
		ReconnectDelay: 500 * time.Millisecond,
	}
	// Once both channels are listened on, a (re)connection is complete:
	// whatever was sent while there was none is lost, so everybody looks.
	connected := func(channel string) {
		listened.Store(channel, true)
		n := 0
		listened.Range(func(any, any) bool { n++; return true })
		if n < 2 {
			return
		}
		b.local.DeliverAll()
		b.local.Wake()
		readyOnce.Do(func() { close(ready) })
	}
	l.Handle(b.done, handler{
		notify: func(payload string) {
			for id := range strings.SplitSeq(payload, ",") {
				if id != "" {
					b.local.Deliver(id)
				}
			}
		},
		backlog: connected,
	})
	l.Handle(b.run, handler{notify: func(string) { b.local.Wake() }, backlog: connected})

	runCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		_ = l.Listen(runCtx)
	}()
	go func() {
		defer b.wg.Done()
		b.send(runCtx)
	}()
	select {
	case <-ready:
		return b, nil
	case <-ctx.Done():
		b.Close()
		return nil, fmt.Errorf("pgnotify: listen on %s: %w", b.done, ctx.Err())
	}
}

// channelName is prefix+schema, or prefix plus a hash of the schema when that
// would pass PostgreSQL's 63-byte limit on identifiers.
func channelName(prefix, schema string) string {
	name := prefix + schema
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(schema))
	return prefix + hex.EncodeToString(sum[:12])
}

// handler adapts functions to pgxlisten's Handler and BacklogHandler.
type handler struct {
	notify  func(payload string)
	backlog func(channel string)
}

func (h handler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	h.notify(n.Payload)
	return nil
}

func (h handler) HandleBacklog(_ context.Context, channel string, _ *pgx.Conn) error {
	h.backlog(channel)
	return nil
}

// Close stops listening and sending. Wake-ups not sent yet are dropped.
func (b *Bus) Close() {
	b.cancel()
	b.wg.Wait()
}

// TurnDone wakes the local waiters of turnID at once and those of the other
// processes through the database.
func (b *Bus) TurnDone(_ context.Context, turnID string) error {
	b.local.Deliver(turnID)
	b.mu.Lock()
	b.pending = append(b.pending, turnID)
	b.mu.Unlock()
	b.signal()
	return nil
}

// WaitTurn subscribes to the end of turnID, wherever it ends.
func (b *Bus) WaitTurn(turnID string) (<-chan struct{}, func()) {
	return b.local.WaitTurn(turnID)
}

// Runnable wakes the local runners at once and those of the other processes
// through the database.
func (b *Bus) Runnable(_ context.Context) error {
	b.local.Wake()
	b.mu.Lock()
	b.runnable = true
	b.mu.Unlock()
	b.signal()
	return nil
}

// RunnableC is where the local runners wait.
func (b *Bus) RunnableC() <-chan struct{} { return b.local.RunnableC() }

func (b *Bus) signal() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// send is the sending loop: each pass takes everything gathered so far and
// sends it in one round trip.
func (b *Bus) send(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.kick:
		}
		b.mu.Lock()
		ids, run := b.pending, b.runnable
		b.pending, b.runnable = nil, false
		b.mu.Unlock()
		batch := &pgx.Batch{}
		for _, payload := range payloads(ids) {
			batch.Queue("SELECT pg_notify($1, $2)", b.done, payload)
		}
		if run {
			batch.Queue("SELECT pg_notify($1, '')", b.run)
		}
		if batch.Len() == 0 {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := b.pool.SendBatch(sctx, batch).Close()
		cancel()
		if err != nil && ctx.Err() == nil {
			// Receivers re-read on their own schedule, so a lost wake-up
			// only costs latency.
			b.log.Warn("pgnotify: send", "err", err)
		}
	}
}

// payloads joins turn ids with commas into payloads under maxPayload bytes.
func payloads(ids []string) []string {
	var out []string
	var sb strings.Builder
	for _, id := range ids {
		if sb.Len() > 0 && sb.Len()+1+len(id) > maxPayload {
			out = append(out, sb.String())
			sb.Reset()
		}
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(id)
	}
	if sb.Len() > 0 {
		out = append(out, sb.String())
	}
	return out
}
