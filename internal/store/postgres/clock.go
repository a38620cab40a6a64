package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Leases cross processes: one replica's runner stamps a lease's end, and
// another replica's reaper decides whether it has passed. Each compares with
// its own clock (the store takes times from its callers), so two machines
// whose clocks disagree by more than about two thirds of a lease would see a
// live lease as expired. Lease times are therefore kept on the database's
// clock: every Store measures how far its process's clock is from the
// database's and shifts the lease times it writes and compares by that much.
// A shift applied to both sides of a comparison cancels, so a single process
// (and the conformance suite's fixed times) sees no difference.

// resyncEvery is how often a Store measures the offset again, to follow
// drift; the reaper's passes trigger it.
const resyncEvery = time.Minute

// dbClock is the measured offset of the database's clock from this
// process's.
type dbClock struct {
	offset atomic.Int64 // nanoseconds to add to a local time
	synced atomic.Int64 // local Unix nanoseconds of the last measurement
}

// sync measures the offset: the database's clock_timestamp() against the
// midpoint of the local clock around the round trip.
func (c *dbClock) sync(ctx context.Context, pool *pgxpool.Pool) error {
	before := time.Now()
	var dbMicros int64
	err := pool.QueryRow(ctx, `SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint`).Scan(&dbMicros)
	if err != nil {
		return fmt.Errorf("read the database clock: %w", err)
	}
	after := time.Now()
	mid := before.Add(after.Sub(before) / 2)
	c.offset.Store(dbMicros*1000 - mid.UnixNano())
	c.synced.Store(after.UnixNano())
	return nil
}

// leaseTime is t on the database's clock, in Unix nanoseconds, for the
// lease columns. It measures the offset again when the last measurement is
// older than resyncEvery; a failed measurement keeps the previous one.
func (s *Store) leaseTime(ctx context.Context, t time.Time) int64 {
	if time.Now().UnixNano()-s.clock.synced.Load() > int64(resyncEvery) {
		s.clock.synced.Store(time.Now().UnixNano()) // one resync at a time
		_ = s.clock.sync(ctx, s.pool)
	}
	return unixNano(t) + s.clock.offset.Load()
}
