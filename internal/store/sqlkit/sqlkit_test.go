package sqlkit

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

func TestMigrations(t *testing.T) {
	ms, err := Migrations(fstest.MapFS{
		"m/0002_more.sql": {Data: []byte("B")},
		"m/0001_init.sql": {Data: []byte("A")},
		"m/README":        {Data: []byte("not a migration")},
	}, "m")
	if err != nil || len(ms) != 2 || ms[0].Version != 1 || ms[0].SQL != "A" || ms[1].Name != "0002_more.sql" {
		t.Fatalf("Migrations = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":     {"m/0001_a.sql": {}, "m/0003_c.sql": {}},
		"no num":  {"m/init.sql": {}},
		"from 0":  {"m/0000_a.sql": {}},
		"doubled": {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
	} {
		if _, err := Migrations(fsys, "m"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestTooNewError(t *testing.T) {
	err := error(&TooNewError{Database: 3, Binary: 1})
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "version 3 is newer than this binary's 1: upgrade") {
		t.Errorf("TooNewError: %v", err)
	}
}

func TestQualified(t *testing.T) {
	if got := Qualified("t", "id, org_id,name"); got != "t.id, t.org_id, t.name" {
		t.Errorf("Qualified = %q", got)
	}
}
