package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/handinger/handinger/internal/store"
)

// CreateAPIKey stores the hash of a new key for user in org, creating the
// organization and the user on first use. ErrConflict when the user belongs
// to another organization or the key id or hash is taken.
func (s *Store) CreateAPIKey(ctx context.Context, keyID, orgID, userID string, hash []byte, now time.Time) error {
	err := retry(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			// ON CONFLICT waits for a concurrent creator of the same org or
			// user, so the next statement, with a snapshot of its own, sees
			// the row whoever inserted it.
			if _, err := tx.Exec(ctx,
				`INSERT INTO orgs (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
				orgID, unixNano(now)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx,
				`INSERT INTO users (id, org_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
				userID, orgID, unixNano(now)); err != nil {
				return err
			}
			var userOrg string
			if err := tx.QueryRow(ctx, `SELECT org_id FROM users WHERE id = $1`, userID).Scan(&userOrg); err != nil {
				return err
			}
			if userOrg != orgID {
				return fmt.Errorf("user %s belongs to another organization: %w", userID, store.ErrConflict)
			}
			_, err := tx.Exec(ctx,
				`INSERT INTO api_keys (hash, key_id, org_id, user_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
				hash, keyID, orgID, userID, unixNano(now))
			return err
		})
	})
	if err != nil {
		if !errors.Is(err, store.ErrConflict) {
			err = translate(err)
		}
		return fmt.Errorf("create api key %s: %w", keyID, err)
	}
	return nil
}

// LookupAPIKey finds the principal of a key hash. ErrNotFound when none.
func (s *Store) LookupAPIKey(ctx context.Context, hash []byte) (store.Principal, error) {
	var p store.Principal
	err := s.pool.QueryRow(ctx, `SELECT key_id, org_id, user_id FROM api_keys WHERE hash = $1`, hash).
		Scan(&p.KeyID, &p.OrgID, &p.UserID)
	if err != nil {
		return store.Principal{}, fmt.Errorf("lookup api key: %w", translate(err))
	}
	return p, nil
}

// CountAPIKeys counts stored keys.
func (s *Store) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM api_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count api keys: %w", err)
	}
	return n, nil
}
