// Package database opens the store behind Channelgraph — PostgreSQL through
// pgx, or an embedded SQLite file through the pure-Go modernc driver — and
// keeps its schema current with versioned migrations.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
)

// DefaultURL is the embedded database used when none is configured.
const DefaultURL = "sqlite:data/channelgraph.db"

// Open connects to the database named by url: "postgres://…" or
// "postgresql://…" for PostgreSQL, "sqlite:PATH" for a SQLite file (its
// directory is created). It does not migrate; see Migrate.
func Open(url string) (*bun.DB, error) {
	if url == "" {
		url = DefaultURL
	}
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(url)
	case strings.HasPrefix(url, "sqlite:"):
		return openSQLite(strings.TrimPrefix(url, "sqlite:"), 10*time.Second)
	}
	return nil, fmt.Errorf("database URL must start with postgres://, postgresql:// or sqlite: (got %q)", redact(url))
}

func openPostgres(url string) (*bun.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
		// Only statements with bind parameters (Bind) have a choice of plan,
		// and each is an equality on an index, whose plan does not depend
		// on the value: planning it once, not again for every value as
		// PostgreSQL otherwise may, is what binding is for.
		cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	sqldb := sql.OpenDB(preparedOnReuse{stdlib.GetConnector(*cfg)})
	sqldb.SetMaxOpenConns(20)
	sqldb.SetMaxIdleConns(20)
	return bun.NewDB(sqldb, pgdialect.New()), nil
}

// busyTimeout is how long SQLite lets a statement wait for a lock another
// process holds; this process's own transactions queue at the gate.
func openSQLite(path string, busyTimeout time.Duration) (*bun.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: URL needs a file path, as in sqlite:data/channelgraph.db")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	// WAL lets readers run beside the one writer; _txlock=immediate takes the
	// write lock at BEGIN so two writers queue on busy_timeout instead of
	// failing when one upgrades a read lock.
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)" +
		"&_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
	connector, err := newGatedSQLiteConnector(dsn)
	if err != nil {
		return nil, err
	}
	sqldb := sql.OpenDB(connector)
	sqldb.SetMaxOpenConns(4)
	sqldb.SetMaxIdleConns(4)
	return bun.NewDB(sqldb, sqlitedialect.New()), nil
}

// IsPostgres reports whether db is a PostgreSQL database.
func IsPostgres(db bun.IDB) bool {
	_, ok := db.Dialect().(*pgdialect.Dialect)
	return ok
}

// LockForUpdate appends FOR UPDATE on PostgreSQL; SQLite needs no row locks
// because its transactions already hold the database's one write lock.
func LockForUpdate(q *bun.SelectQuery) *bun.SelectQuery {
	if IsPostgres(q.DB()) {
		return q.For("UPDATE")
	}
	return q
}

// LockForShare appends FOR SHARE on PostgreSQL (see LockForUpdate).
func LockForShare(q *bun.SelectQuery) *bun.SelectQuery {
	if IsPostgres(q.DB()) {
		return q.For("SHARE")
	}
	return q
}

// Ping checks the database answers.
func Ping(ctx context.Context, db *bun.DB) error { return db.PingContext(ctx) }

func redact(url string) string {
	if i := strings.Index(url, "@"); i >= 0 {
		return "…" + url[i:]
	}
	return url
}

// ContainsPattern is a LIKE pattern (used with ESCAPE '\') matching text
// that contains s, lower-cased, with LIKE's wildcards in s taken literally.
func ContainsPattern(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(s)) + "%"
}

// IDs is ids, sorted and without repeats, for an IN list: the same set of
// ids then always reads as the same statement, which pgx's statement cache
// recognises instead of planning it again (bun writes the values into the
// SQL text, and callers often gather ids from a map, in random order).
func IDs(ids []int64) any {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	return bun.In(slices.Compact(sorted))
}
