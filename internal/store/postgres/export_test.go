package postgres

import "time"

// SetClockSkew makes s behave as if its process's clock were skew ahead of
// the database's, for the tests of lease times across replicas.
func SetClockSkew(s *Store, skew time.Duration) {
	s.clock.offset.Add(-int64(skew))
	s.clock.synced.Store(time.Now().Add(24 * time.Hour).UnixNano()) // no resync during the test
}
