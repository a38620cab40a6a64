package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/handinger/handinger/internal/store"
)

var lookupAPIKeySQL = prepared(`SELECT key_id, org_id, user_id FROM api_keys WHERE hash = ?`)

// CreateAPIKey stores the hash of a new key for user in org, creating the
// organization and the user on first use. ErrConflict when the user belongs
// to another organization or the key id or hash is taken.
func (s *Store) CreateAPIKey(ctx context.Context, keyID, orgID, userID string, hash []byte, now time.Time) error {
	err := s.writer().inTx(ctx, func(c conn) error {
		if _, err := c.ExecContext(ctx,
			`INSERT INTO orgs (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
			orgID, unixNano(now)); err != nil {
			return err
		}
		var userOrg string
		err := c.QueryRowContext(ctx, `SELECT org_id FROM users WHERE id = ?`, userID).Scan(&userOrg)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := c.ExecContext(ctx,
				`INSERT INTO users (id, org_id, created_at) VALUES (?, ?, ?)`,
				userID, orgID, unixNano(now)); err != nil {
				return err
			}
		case err != nil:
			return err
		case userOrg != orgID:
			return fmt.Errorf("user %s belongs to another organization: %w", userID, store.ErrConflict)
		}
		_, err = c.ExecContext(ctx,
			`INSERT INTO api_keys (hash, key_id, org_id, user_id, created_at) VALUES (?, ?, ?, ?, ?)`,
			hash, keyID, orgID, userID, unixNano(now))
		return err
	})
	if err != nil {
		return fmt.Errorf("create api key %s: %w", keyID, err)
	}
	return nil
}

// LookupAPIKey finds the principal of a key hash. ErrNotFound when none.
func (s *Store) LookupAPIKey(ctx context.Context, hash []byte) (store.Principal, error) {
	var p store.Principal
	err := s.reader().QueryRowContext(ctx, lookupAPIKeySQL, hash).Scan(&p.KeyID, &p.OrgID, &p.UserID)
	if err != nil {
		return store.Principal{}, fmt.Errorf("lookup api key: %w", translate(err))
	}
	return p, nil
}

// CountAPIKeys counts stored keys.
func (s *Store) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM api_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count api keys: %w", err)
	}
	return n, nil
}
