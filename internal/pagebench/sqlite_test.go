package pagebench_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/channelgraph/channelgraph/internal/database"
)

// sqliteTables are copied row for row from Channelgraph's PostgreSQL
// database, the visibility index and its counts included (the same SQL
// derives them on either database, and the randomized test holds both to
// the reference model).
var sqliteTables = []string{
	"organizations", "channel_edges", "products", "purchase_orders", "purchase_order_lines",
	"purchase_order_visibility", "purchase_order_visibility_counts", "api_tokens",
}

// measureSQLite serves the same data from the embedded SQLite default and
// measures (a) on it: Channelgraph's own figures, with no peer there.
func (b *bench) measureSQLite(ctx context.Context, bin, body string, add func(string, viewer, run, error)) {
	t := b.t
	path := filepath.Join(b.dir, "channelgraph.db")
	start := time.Now()
	if err := copyToSQLite(ctx, b.oursURL, path); err != nil {
		t.Fatal(err)
	}
	t.Logf("copied the data set into SQLite (%s) in %v", path, time.Since(start).Round(time.Millisecond))
	srv := startServer(t, bin, "sqlite:"+path, b.dir, "channelgraph-sqlite")
	defer srv.stop()
	for i := 0; i < *runs; i++ {
		for _, v := range b.viewers {
			r, err := wrkRun(ctx, b.dir, srv.url, body, "Authorization", "Bearer "+b.tokens[v.org], srv.pid())
			add(systemS, v, r, err)
		}
	}
}

func copyToSQLite(ctx context.Context, pgURL, path string) error {
	dst, err := database.Open("sqlite:" + path)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := database.Migrate(ctx, dst); err != nil {
		return err
	}
	src, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return err
	}
	defer src.Close(ctx)
	for _, table := range sqliteTables {
		rows, err := src.Query(ctx, "SELECT * FROM "+table)
		if err != nil {
			return err
		}
		var cols []string
		for _, f := range rows.FieldDescriptions() {
			cols = append(cols, f.Name)
		}
		marks := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		tx, err := dst.BeginTx(ctx, nil)
		if err != nil {
			rows.Close()
			return err
		}
		const batch = 500
		var args []any
		n := 0
		flush := func() error {
			if n == 0 {
				return nil
			}
			q := fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", table, strings.Join(cols, ", "),
				strings.TrimSuffix(strings.Repeat(marks+", ", n), ", "))
			// bun formats the values, times included, as the server writes them.
			_, err := tx.NewRaw(q, args...).Exec(ctx)
			args, n = args[:0], 0
			return err
		}
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				rows.Close()
				return err
			}
			args = append(args, v...)
			if n++; n == batch {
				if err := flush(); err != nil {
					rows.Close()
					return fmt.Errorf("%s: %w", table, err)
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := flush(); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	_, err = dst.ExecContext(ctx, "ANALYZE")
	return err
}
