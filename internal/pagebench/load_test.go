package pagebench_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// loadPeer loads the peer's data set into its database exactly as its run.sh
// does: schema.sql, data.sql (deterministic) and indexes.sql, as a superuser,
// with the non-owner role cg_peer_app that PostGraphile logs in as.
func loadPeer(ctx context.Context, adminURL, peerURL string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if err := ensurePeerRole(ctx, conn); err != nil {
		return err
	}
	for _, f := range []string{"schema.sql", "data.sql", "indexes.sql"} {
		cmd := exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", fmt.Sprintf("n_po=%d", *poCount),
			"-d", peerURL, "-f", filepath.Join(*peerDir, f))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("psql -f %s: %v\n%s", f, err, out)
		}
	}
	return nil
}

// ensurePeerRole creates the role PostGraphile logs in as, cg_peer_app,
// unless the cluster has it (roles are cluster-wide; schema.sql grants to it).
func ensurePeerRole(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cg_peer_app') THEN
		CREATE ROLE cg_peer_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; END IF; END $$`)
	return err
}

// The peer's four tables, copied verbatim into staging tables of ours.
var peerTables = []struct{ name, columns string }{
	{"organizations", "id, name, kind"},
	{"channel_edges", "id, upstream_id, downstream_id, status, purchase_order_view"},
	{"purchase_orders", "id, number, vendor_id, customer_id, reseller_id, distributor_id, status, created_at"},
	{"purchase_order_lines", "id, purchase_order_id, sku, quantity"},
}

// translateSQL turns the peer's rows into Channelgraph's schema. The peer's
// statuses are mapped onto ours; its DRAFT becomes PLACED, because the
// peer's rule shows drafts like any order while ours shows a draft only to
// the organization that saved it, and the two must serve the same set. Each
// (vendor, SKU) on a line becomes a product of that vendor.
var translateSQL = []string{
	`INSERT INTO organizations (id, kind, name, created_at)
	 SELECT id, kind, name, TIMESTAMPTZ '2023-01-01 00:00:00+00' FROM peer_organizations`,
	`INSERT INTO channel_edges (id, upstream_id, downstream_id, status, purchase_order_view, created_at, updated_at, accepted_at, removed_at, removal_reason)
	 SELECT id, upstream_id, downstream_id, status, purchase_order_view, t, t,
	        CASE WHEN status = 'ACTIVE' THEN t END, CASE WHEN status = 'REMOVED' THEN t END,
	        CASE WHEN status = 'REMOVED' THEN 'removed in the benchmark data' ELSE '' END
	 FROM peer_channel_edges, (SELECT TIMESTAMPTZ '2023-01-01 00:00:00+00' AS t) c`,
	`INSERT INTO products (vendor_id, sku, name, type, created_at)
	 SELECT DISTINCT p.vendor_id, l.sku, l.sku, 'LICENSE', TIMESTAMPTZ '2023-01-01 00:00:00+00'
	 FROM peer_purchase_order_lines l JOIN peer_purchase_orders p ON p.id = l.purchase_order_id`,
	`INSERT INTO purchase_orders (id, number, kind, status, vendor_id, distributor_id, reseller_id, customer_id,
	                              recorded_by_organization_id, created_at, updated_at, placed_at)
	 SELECT id, number, 'NEW',
	        CASE status WHEN 'DRAFT' THEN 'PLACED' WHEN 'SUBMITTED' THEN 'PLACED' WHEN 'ACCEPTED' THEN 'PROCESSING'
	                    WHEN 'SHIPPED' THEN 'PROCESSING' WHEN 'INVOICED' THEN 'COMPLETED' ELSE 'CANCELLED' END,
	        vendor_id, distributor_id, reseller_id, customer_id, COALESCE(reseller_id, vendor_id), created_at, created_at, created_at
	 FROM peer_purchase_orders`,
	`INSERT INTO purchase_order_lines (id, purchase_order_id, position, product_id, sku, quantity)
	 SELECT l.id, l.purchase_order_id, ROW_NUMBER() OVER (PARTITION BY l.purchase_order_id ORDER BY l.id), pr.id, l.sku, l.quantity
	 FROM peer_purchase_order_lines l
	 JOIN peer_purchase_orders p ON p.id = l.purchase_order_id
	 JOIN products pr ON pr.vendor_id = p.vendor_id AND pr.sku = l.sku`,
	`SELECT setval(pg_get_serial_sequence('organizations', 'id'), (SELECT max(id) FROM organizations))`,
	`SELECT setval(pg_get_serial_sequence('channel_edges', 'id'), (SELECT max(id) FROM channel_edges))`,
	`SELECT setval(pg_get_serial_sequence('purchase_orders', 'id'), (SELECT max(id) FROM purchase_orders))`,
	`SELECT setval(pg_get_serial_sequence('purchase_order_lines', 'id'), (SELECT max(id) FROM purchase_order_lines))`,
}

// loadChannelgraph copies the peer's rows into Channelgraph's database (same
// server), translates them into its schema, and derives the visibility index
// with the same code a running server uses.
func loadChannelgraph(ctx context.Context, logf func(string, ...any), peerURL, oursURL string) error {
	db, err := database.Open(oursURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := database.Migrate(ctx, db); err != nil {
		return err
	}
	src, err := pgx.Connect(ctx, peerURL)
	if err != nil {
		return err
	}
	defer src.Close(ctx)
	dst, err := pgx.Connect(ctx, oursURL)
	if err != nil {
		return err
	}
	defer dst.Close(ctx)
	start := time.Now()
	for _, t := range peerTables {
		if _, err := dst.Exec(ctx, fmt.Sprintf("CREATE UNLOGGED TABLE peer_%s AS SELECT %s FROM (SELECT 1) x WHERE false", t.name,
			stagingColumns(t.name))); err != nil {
			return err
		}
		if err := copyTable(ctx, src, dst, t.name, t.columns); err != nil {
			return fmt.Errorf("copying %s: %w", t.name, err)
		}
	}
	logf("copied the peer's rows in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	for _, q := range translateSQL {
		if _, err := dst.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(q)[0:3], err)
		}
	}
	for _, t := range peerTables {
		if _, err := dst.Exec(ctx, "DROP TABLE peer_"+t.name); err != nil {
			return err
		}
	}
	logf("translated into Channelgraph's schema in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := deriveVisibility(ctx, db); err != nil {
		return err
	}
	logf("derived the visibility index in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	// Measured runs start from a vacuumed, checkpointed database, as the
	// peer's do (its indexes.sql ends with VACUUM ANALYZE).
	for _, q := range []string{"VACUUM ANALYZE", "CHECKPOINT"} {
		if _, err := dst.Exec(ctx, q); err != nil {
			return err
		}
	}
	logf("vacuum analyze in %v", time.Since(start).Round(time.Millisecond))
	return nil
}

// deriveVisibility fills the visibility index for every order, in one
// transaction, through the server's own code.
func deriveVisibility(ctx context.Context, db *bun.DB) error {
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return visibility.Refresh(ctx, tx, visibility.Everything())
	})
}

func stagingColumns(table string) string {
	switch table {
	case "organizations":
		return "0::bigint AS id, ''::text AS name, ''::text AS kind"
	case "channel_edges":
		return "0::bigint AS id, 0::bigint AS upstream_id, 0::bigint AS downstream_id, ''::text AS status, false AS purchase_order_view"
	case "purchase_orders":
		return "0::bigint AS id, ''::text AS number, 0::bigint AS vendor_id, 0::bigint AS customer_id, 0::bigint AS reseller_id, " +
			"0::bigint AS distributor_id, ''::text AS status, now() AS created_at"
	default:
		return "0::bigint AS id, 0::bigint AS purchase_order_id, ''::text AS sku, 0::int AS quantity"
	}
}

// copyTable streams one table from the peer's database into its staging
// table in ours, in PostgreSQL's binary COPY format.
func copyTable(ctx context.Context, src, dst *pgx.Conn, table, columns string) error {
	r, w := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := src.PgConn().CopyTo(ctx, w, fmt.Sprintf("COPY (SELECT %s FROM %s) TO STDOUT (FORMAT binary)", columns, table))
		w.CloseWithError(err)
		errc <- err
	}()
	_, err := dst.PgConn().CopyFrom(ctx, r, fmt.Sprintf("COPY peer_%s (%s) FROM STDIN (FORMAT binary)", table, columns))
	r.CloseWithError(err)
	if srcErr := <-errc; srcErr != nil {
		return srcErr
	}
	return err
}

// issueTokens gives each viewer organization an OWNER token (one, however
// often it is listed), all in one transaction: a few thousand rotated
// viewers cost one commit, not one each.
func issueTokens(ctx context.Context, oursURL string, orgs []int64) (map[int64]string, error) {
	db, err := database.Open(oursURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	out := map[int64]string{}
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, id := range orgs {
			if _, ok := out[id]; ok {
				continue
			}
			tok, err := auth.IssueForSetup(ctx, tx, id, domain.RoleOwner, "page benchmark")
			if err != nil {
				return err
			}
			out[id] = tok
		}
		return nil
	})
	return out, err
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
