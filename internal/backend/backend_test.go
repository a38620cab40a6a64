package backend_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/handinger/handinger/internal/backend"
	"github.com/handinger/handinger/internal/testdb"
)

func TestRedact(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u:s3cret@db/handinger",
		"postgres://db/handinger?password=s3cret&sslmode=disable",
		"postgresql://u@db/handinger?sslpassword=s3cret",
		"postgres://u:s3%zzcret@db/handinger",
		"postgres://u:s3#cret@db/handinger",
		"host=db password=s3cret",
	} {
		got := backend.Redact(dsn)
		if strings.Contains(got, "s3") || strings.Contains(got, "cret") {
			t.Errorf("backend.Redact(%q) = %q: the password shows", dsn, got)
		}
	}
	if got := backend.Redact("postgres://u@db:5432/h?sslmode=disable"); got != "postgres://u@db:5432/h?sslmode=disable" {
		t.Errorf("an address without a password changed: %q", got)
	}
	if got := backend.Redact("sqlite:handinger.db"); got != "sqlite:handinger.db" {
		t.Errorf("a SQLite path changed: %q", got)
	}
}

func TestOpenEachBackend(t *testing.T) {
	addrs := map[string]bool{"memory:": false} // address → shared
	for _, name := range testdb.Backends() {
		addrs[testdb.DSN(t, name)] = name == testdb.Postgres
	}
	for addr, shared := range addrs {
		t.Run(strings.SplitN(addr, ":", 2)[0], func(t *testing.T) {
			ctx := context.Background()
			b, err := backend.Open(ctx, addr, backend.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.Shared != shared {
				t.Errorf("Shared = %v, want %v", b.Shared, shared)
			}
			if err := b.Store.CreateAPIKey(ctx, "key_1", "org_1", "usr_1", []byte("hash-1"), time.Now()); err != nil {
				t.Fatal(err)
			}
			if who, err := b.Store.LookupAPIKey(ctx, []byte("hash-1")); err != nil || who.OrgID != "org_1" {
				t.Errorf("lookup of the stored key: %+v, %v", who, err)
			}
			// The bus carries a wake-up from this process to itself, as
			// it does between replicas.
			done, cancel := b.Bus.WaitTurn("trn_1")
			defer cancel()
			if err := b.Bus.TurnDone(ctx, "trn_1"); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("the bus did not deliver a turn's end")
			}
			again, err := backend.Open(ctx, addr, backend.Options{Shared: true})
			if err == nil {
				_ = again.Close()
			}
			if refused := errors.Is(err, backend.ErrNotShared); refused == shared {
				t.Errorf("Open with Shared: %v", err)
			}
		})
	}
}

func TestOpenRefusesOtherAddresses(t *testing.T) {
	for _, addr := range []string{"", "sqlite:", "mysql://u:s3cret@db/h", "memory:x", "handinger.db", "host=db password=s3cret"} {
		_, err := backend.Open(context.Background(), addr, backend.Options{})
		if !errors.Is(err, backend.ErrAddress) {
			t.Errorf("Open(%q): %v, want ErrAddress", addr, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q): the password shows: %v", addr, err)
		}
	}
}
