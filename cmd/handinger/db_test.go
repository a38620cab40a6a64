package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedactDSN(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u:s3cret@db/handinger",
		"postgres://db/handinger?password=s3cret&sslmode=disable",
		"postgresql://u@db/handinger?sslpassword=s3cret",
		"postgres://u:s3%zzcret@db/handinger",
		"postgres://u:s3#cret@db/handinger",
		"host=db password=s3cret",
	} {
		got := redactDSN(dsn)
		if strings.Contains(got, "s3") || strings.Contains(got, "cret") {
			t.Errorf("redactDSN(%q) = %q: the password shows", dsn, got)
		}
	}
	if got := redactDSN("postgres://u@db:5432/h?sslmode=disable"); got != "postgres://u@db:5432/h?sslmode=disable" {
		t.Errorf("an address without a password changed: %q", got)
	}
	if got := redactDSN("sqlite:handinger.db"); got != "sqlite:handinger.db" {
		t.Errorf("a SQLite path changed: %q", got)
	}
}

func TestBadDatabaseFlagHidesPasswords(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"keys", "create", "--db", "host=db password=s3cret", "--org", "o", "--user", "u"}, &out, &errb)
	if code != exitUsage || strings.Contains(errb.String(), "s3cret") {
		t.Errorf("exit %d, stderr %q: want a usage error that hides the password", code, errb.String())
	}
}

func TestNoRunnersNeedsASharedDatabase(t *testing.T) {
	var out, errb bytes.Buffer
	db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	code := run(context.Background(), []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--runners", "0"}, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "--runners 0") {
		t.Errorf("serve --runners 0 on SQLite: exit %d, stderr %q", code, errb.String())
	}
}
