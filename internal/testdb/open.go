package testdb

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
)

// Kinds are the databases every suite runs on: the embedded default and
// PostgreSQL.
var Kinds = []string{"sqlite", "postgres"}

// OnEveryDatabase runs fn as parallel subtests, one per kind of database,
// each on a fresh, migrated database.
func OnEveryDatabase(t *testing.T, fn func(t *testing.T, db *bun.DB)) {
	t.Helper()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, MustOpen(t, kind))
		})
	}
}

// MustOpen opens and migrates a fresh database of the named kind ("sqlite"
// or "postgres"), closed when tb ends.
func MustOpen(tb testing.TB, kind string) *bun.DB {
	tb.Helper()
	url := "sqlite:" + NewSQLite(tb)
	if kind == "postgres" {
		url = NewPostgres(tb)
	}
	return MustOpenURL(tb, url)
}

// MustOpenURL opens and migrates the database at url, closed when tb ends.
func MustOpenURL(tb testing.TB, url string) *bun.DB {
	tb.Helper()
	db, err := database.Open(url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := database.Migrate(context.Background(), db); err != nil {
		tb.Fatal(err)
	}
	return db
}
