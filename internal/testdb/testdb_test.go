package testdb_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func TestNewPostgres(t *testing.T) {
	outer := t
	var urls []string
	t.Run("distinct usable databases", func(t *testing.T) {
		a, b := testdb.NewPostgres(t), testdb.NewPostgres(t)
		urls = []string{a, b}
		if dbName(t, a) == dbName(t, b) {
			t.Fatalf("both calls returned database %q", dbName(t, a))
		}
		for _, u := range urls {
			if !strings.HasPrefix(dbName(t, u), "cg_test_") {
				t.Errorf("database name %q lacks the cg_test_ prefix", dbName(t, u))
			}
		}

		dbA, dbB := open(t, a), open(t, b)
		for _, db := range []*sql.DB{dbA, dbB} {
			if n := count(t, db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); n != 0 {
				t.Errorf("new database has %d tables, want 0", n)
			}
		}

		exec(t, dbA, "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL)")
		exec(t, dbA, "INSERT INTO item VALUES (1, 'one'), (2, 'two')")
		if n := count(t, dbA, "SELECT count(*) FROM item"); n != 2 {
			t.Errorf("got %d rows, want 2", n)
		}
		var name string
		if err := dbA.QueryRow("SELECT name FROM item WHERE id = $1", 2).Scan(&name); err != nil || name != "two" {
			t.Errorf("select: got %q, %v; want \"two\"", name, err)
		}

		// The same table name in B is independent of A's.
		exec(t, dbB, "CREATE TABLE item (id int PRIMARY KEY)")
		if n := count(t, dbB, "SELECT count(*) FROM item"); n != 0 {
			t.Errorf("database B sees %d rows of A's table", n)
		}

		// A session that outlives the test: DROP ... WITH (FORCE) must cope.
		straggler, err := pgx.Connect(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		outer.Cleanup(func() { straggler.Close(context.Background()) })
	})

	// The subtest's cleanups have run: both databases must be gone.
	for _, u := range urls {
		conn, err := pgx.Connect(context.Background(), u)
		if err == nil {
			conn.Close(context.Background())
			t.Errorf("database %s still exists after cleanup", dbName(t, u))
			continue
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
			t.Errorf("connecting to dropped database %s: got %v, want SQLSTATE 3D000", dbName(t, u), err)
		}
	}
}

func TestNewPostgresParallel(t *testing.T) {
	for i := 0; i < 4; i++ {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			db := open(t, testdb.NewPostgres(t))
			exec(t, db, "CREATE TABLE t (x int)")
		})
	}
}

func TestNewSQLite(t *testing.T) {
	p := testdb.NewSQLite(t)
	if filepath.Base(p) != "test.db" {
		t.Errorf("NewSQLite() = %q, want a file named test.db", p)
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
		t.Errorf("directory of %q: %v", p, err)
	}
	if p2 := testdb.NewSQLite(t); p2 == p {
		t.Errorf("two calls returned the same path %q", p)
	}
}

func dbName(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("sslmode"); os.Getenv("TEST_DATABASE_URL") == "" && got != "disable" {
		t.Errorf("URL %s: sslmode=%q, want disable", rawURL, got)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func open(t *testing.T, rawURL string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var current string
	if err := db.QueryRow("SELECT current_database()").Scan(&current); err != nil {
		t.Fatal(err)
	}
	if want := dbName(t, rawURL); current != want {
		t.Fatalf("connected to %q, want %q", current, want)
	}
	return db
}

func exec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func count(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
