package storetest

import (
	"testing"

	"github.com/handinger/handinger/internal/store"
)

func testAPIKeys(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Ping", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		if err := b.st.Ping(b.ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})

	t.Run("CreateLookupCount", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		if b.alice != (store.Principal{KeyID: "key_0001", OrgID: "org-a", UserID: "user-alice"}) {
			t.Errorf("alice = %+v", b.alice)
		}
		n, err := b.st.CountAPIKeys(b.ctx)
		if err != nil || n != 3 {
			t.Fatalf("CountAPIKeys = %d, %v; want 3", n, err)
		}

		// A user may hold several keys; each is its own principal.
		if err := b.st.CreateAPIKey(b.ctx, "key-2", "org-a", "user-alice", hash("key-2"), t0); err != nil {
			t.Fatalf("second key of alice: %v", err)
		}
		p, err := b.st.LookupAPIKey(b.ctx, hash("key-2"))
		if err != nil || p != (store.Principal{KeyID: "key-2", OrgID: "org-a", UserID: "user-alice"}) {
			t.Errorf("LookupAPIKey(key-2) = %+v, %v", p, err)
		}
		if n, err := b.st.CountAPIKeys(b.ctx); err != nil || n != 4 {
			t.Errorf("CountAPIKeys = %d, %v; want 4", n, err)
		}
	})

	t.Run("LookupUnknown", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		_, err := b.st.LookupAPIKey(b.ctx, hash("no such key"))
		wantErr(t, "LookupAPIKey", err, store.ErrNotFound)
	})

	t.Run("UserInAnotherOrg", func(t *testing.T) {
		t.Parallel()
		b := setup(t, newStore)
		err := b.st.CreateAPIKey(b.ctx, "key-x", "org-b", "user-alice", hash("key-x"), t0)
		wantErr(t, "CreateAPIKey for alice in org-b", err, store.ErrConflict)
		_, err = b.st.LookupAPIKey(b.ctx, hash("key-x"))
		wantErr(t, "LookupAPIKey of the refused key", err, store.ErrNotFound)
		if n, err := b.st.CountAPIKeys(b.ctx); err != nil || n != 3 {
			t.Errorf("CountAPIKeys = %d, %v; want 3", n, err)
		}
	})
}
