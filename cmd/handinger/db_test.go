package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

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
