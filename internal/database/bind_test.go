package database_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// texts is a query hook that keeps every statement's text.
type texts struct {
	mu   sync.Mutex
	seen []string
}

func (h *texts) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (h *texts) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	h.mu.Lock()
	h.seen = append(h.seen, e.Query)
	h.mu.Unlock()
}

// A bound value reads as one text for every value on PostgreSQL (where
// the plan is then cached), and is written into the text on SQLite; the
// answers are the same either way.
func TestBoundValuesKeepOneText(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		hook := &texts{}
		db.AddQueryHook(hook)
		if _, err := db.ExecContext(ctx, "CREATE TABLE bound_things (id BIGINT PRIMARY KEY, name TEXT NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO bound_things VALUES (1, 'one'), (2, 'two'), (3, 'three')"); err != nil {
			t.Fatal(err)
		}
		hook.seen = nil
		for id, want := range map[int64]string{1: "one", 2: "two", 3: "three"} {
			bound, ph := database.Bind(ctx, db, id)
			var name string
			if err := db.NewSelect().TableExpr("bound_things").Column("name").Where("id = ?", ph[0]).Scan(bound, &name); err != nil {
				t.Fatal(err)
			}
			if name != want {
				t.Errorf("id %d: %q, want %q", id, name, want)
			}
		}
		bound, in := database.BindIn(ctx, db, "id", []int64{3, 1, 3})
		var names []string
		if err := db.NewSelect().TableExpr("bound_things").Column("name").Where("?", in).Order("id").Scan(bound, &names); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names, []string{"one", "three"}) {
			t.Errorf("BindIn: %q", names)
		}
		distinct := slices.Compact(slices.Sorted(slices.Values(hook.seen[:3])))
		switch postgres := database.IsPostgres(db); {
		case postgres && (len(distinct) != 1 || !strings.Contains(distinct[0], "$1")):
			t.Errorf("on PostgreSQL, three values read as %d texts: %q", len(distinct), distinct)
		case !postgres && len(distinct) != 3:
			t.Errorf("on SQLite, three values read as %d texts: %q", len(distinct), distinct)
		}
		if database.IsPostgres(db) {
			// The context is for its one statement: with another, the values
			// have nowhere to go, and the statement fails.
			bound, _ := database.Bind(ctx, db, int64(1))
			if _, err := db.NewSelect().TableExpr("bound_things").Column("name").Count(bound); err == nil {
				t.Error("a bound context used for a statement without placeholders did not fail")
			}
		}
	})
}

// On PostgreSQL a statement's text is prepared (and its plan kept) from the
// second time it runs on a connection, not the first: a text that never
// comes back is never prepared.
func TestTextsArePreparedOnReuse(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		if !database.IsPostgres(db) {
			t.Skip("SQLite prepares nothing across statements")
		}
		ctx := context.Background()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// The marker is split so that this statement, prepared in its turn,
		// never finds itself.
		prepared := func() bool {
			var n int
			if err := conn.NewRaw("SELECT COUNT(*) FROM pg_prepared_statements WHERE strpos(statement, 'prepared_on_' || 'reuse_marker') > 0").
				Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			return n > 0
		}
		const text = "SELECT 1 AS prepared_on_reuse_marker"
		var one int
		if err := conn.NewRaw(text).Scan(ctx, &one); err != nil {
			t.Fatal(err)
		}
		if prepared() {
			t.Fatal("a text seen once was prepared")
		}
		if err := conn.NewRaw(text).Scan(ctx, &one); err != nil {
			t.Fatal(err)
		}
		if !prepared() {
			t.Fatal("a text seen twice was not prepared")
		}
	})
}
