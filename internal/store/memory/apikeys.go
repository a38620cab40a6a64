package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/handinger/handinger/internal/store"
)

// CreateAPIKey stores the hash of a new key for user in org, creating the
// organization and the user on first use. ErrConflict when the user belongs
// to another organization or the key id or hash is taken. Nothing reads the
// creation times, so now is not kept.
func (s *Store) CreateAPIKey(ctx context.Context, keyID, orgID, userID string, hash []byte, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.createAPIKey(ctx, keyID, orgID, userID, hash); err != nil {
		return fmt.Errorf("create api key %s: %w", keyID, err)
	}
	return nil
}

func (s *Store) createAPIKey(ctx context.Context, keyID, orgID, userID string, hash []byte) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	if userOrg, ok := s.users[userID]; ok && userOrg != orgID {
		return fmt.Errorf("user %s belongs to another organization: %w", userID, store.ErrConflict)
	}
	if _, taken := s.keys[string(hash)]; taken {
		return fmt.Errorf("key hash exists: %w", store.ErrConflict)
	}
	if _, taken := s.keyIDs[keyID]; taken {
		return conflict("key id", keyID)
	}
	s.orgs[orgID] = struct{}{}
	s.users[userID] = orgID
	s.keys[string(hash)] = store.Principal{KeyID: keyID, OrgID: orgID, UserID: userID}
	s.keyIDs[keyID] = struct{}{}
	return nil
}

// LookupAPIKey finds the principal of a key hash. ErrNotFound when none.
func (s *Store) LookupAPIKey(ctx context.Context, hash []byte) (store.Principal, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx); err != nil {
		return store.Principal{}, fmt.Errorf("lookup api key: %w", err)
	}
	p, ok := s.keys[string(hash)]
	if !ok {
		return store.Principal{}, fmt.Errorf("lookup api key: %w", store.ErrNotFound)
	}
	return p, nil
}

// CountAPIKeys counts stored keys.
func (s *Store) CountAPIKeys(ctx context.Context) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(ctx); err != nil {
		return 0, fmt.Errorf("count api keys: %w", err)
	}
	return len(s.keys), nil
}
