// Package sqlkit holds what the SQL backends of store share: loading their
// embedded migrations, the refusal of a database migrated by a newer binary,
// and column-list helpers for their queries.
package sqlkit

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// ErrSchemaTooNew is wrapped by the error a backend returns for a database
// whose schema was migrated by a newer binary than this one.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// TooNewError says which schema versions met, and what to do.
type TooNewError struct {
	Database, Binary int
}

func (e *TooNewError) Error() string {
	return fmt.Sprintf("database schema version %d is newer than this binary's %d: upgrade handinger",
		e.Database, e.Binary)
}

// Unwrap makes errors.Is(err, ErrSchemaTooNew) hold.
func (e *TooNewError) Unwrap() error { return ErrSchemaTooNew }

// Migration is one file of a backend's migrations, named NNNN_description.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads the *.sql files of dir in fsys in version order, checking
// that versions run 1, 2, 3… without gaps.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []Migration
	for i, name := range names { // fs.Glob sorts
		base := path.Base(name)
		prefix, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d in its name", base, i+1)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", base, err)
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	return ms, nil
}

// Qualified returns columns, a comma-separated list of names, with each
// name qualified by table, for queries that join tables with names in common.
func Qualified(table, columns string) string {
	names := strings.Split(columns, ",")
	for i, n := range names {
		names[i] = table + "." + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}
