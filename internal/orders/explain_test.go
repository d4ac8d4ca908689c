package orders_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/testdb"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// listCapture is a bun query hook that keeps the last purchase-order list
// statement, exactly as the service sent it.
type listCapture struct {
	mu   sync.Mutex
	last string
	args []any // the values database.Bind sent apart from it
}

func (c *listCapture) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (c *listCapture) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	if strings.Contains(e.Query, "purchase_order_visibility AS v") && strings.Contains(e.Query, "ORDER BY") {
		c.mu.Lock()
		c.last, c.args = e.Query, database.BoundValues(ctx)
		c.mu.Unlock()
	}
}

// planNode is one node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType        string     `json:"Node Type"`
	Relation        string     `json:"Relation Name"`
	Index           string     `json:"Index Name"`
	Direction       string     `json:"Scan Direction"`
	IndexCond       string     `json:"Index Cond"`
	Filter          string     `json:"Filter"`
	ActualRows      float64    `json:"Actual Rows"`
	RemovedByFilter float64    `json:"Rows Removed by Filter"`
	Plans           []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// TestListIsAnIndexRange proves on PostgreSQL that every order and date
// filter of the purchase-order list reads the viewer's visibility rows as a
// range of one index, in the index's order: the plan has no sort, the
// visibility rows are an index scan whose condition holds the viewer, the
// date bound and the cursor, and no node removes a row by a filter. The
// database holds 60,000 direct orders of 300 vendors to 300 customers
// (120,000 visibility rows, derived by visibility.Refresh), so the planner
// chooses the index on its own: sequential scans stay enabled.
func TestListIsAnIndexRange(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 60,000 orders")
	}
	db := testdb.MustOpen(t, "postgres")
	ctx := context.Background()
	const vendors, customers, orderCount = 300, 300, 60_000
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, stmt := range []string{
		fmt.Sprintf(`INSERT INTO organizations (id, kind, name, created_at)
			SELECT i, CASE WHEN i <= %d THEN 'VENDOR' ELSE 'CUSTOMER' END, 'Org ' || i, TIMESTAMPTZ '2026-01-01Z'
			FROM generate_series(1, %d) i`, vendors, vendors+customers),
		// Two orders a second, so created_at ties; updated_at scattered over a day.
		fmt.Sprintf(`INSERT INTO purchase_orders (id, number, kind, status, vendor_id, customer_id, created_at, updated_at, placed_at)
			SELECT i, 'PO-' || i, 'NEW', 'PLACED', 1 + i %% %d, %d + (i * 7) %% %d,
			       TIMESTAMPTZ '2026-01-01Z' + (i / 2) * INTERVAL '1 second',
			       TIMESTAMPTZ '2026-01-01Z' + (i / 2) * INTERVAL '1 second' + ((i * 7919) %% 86400) * INTERVAL '1 second',
			       TIMESTAMPTZ '2026-01-01Z' + (i / 2) * INTERVAL '1 second'
			FROM generate_series(1, %d) i`, vendors, vendors+1, customers, orderCount),
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return visibility.Refresh(ctx, tx, visibility.Everything())
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	capture := &listCapture{}
	db.AddQueryHook(capture)
	svc := orders.New(db)
	viewer := domain.WithViewer(ctx, &domain.Viewer{OrganizationID: 7, Role: domain.RoleOwner})
	mid := base.Add(orderCount / 4 * time.Second) // within vendor 7's orders
	cases := []struct {
		name   string
		sort   orders.Sort
		filter orders.Filter
		index  string
	}{
		{"CREATED_AT DESC", orders.Sort{}, orders.Filter{}, "purchase_order_visibility_page"},
		{"CREATED_AT ASC", orders.Sort{Asc: true}, orders.Filter{}, "purchase_order_visibility_page"},
		{"UPDATED_AT DESC", orders.Sort{Field: orders.SortUpdatedAt}, orders.Filter{}, "purchase_order_visibility_by_updated"},
		{"UPDATED_AT ASC", orders.Sort{Field: orders.SortUpdatedAt, Asc: true}, orders.Filter{}, "purchase_order_visibility_by_updated"},
		{"NUMBER DESC", orders.Sort{Field: orders.SortNumber}, orders.Filter{}, "purchase_order_visibility_by_number"},
		{"NUMBER ASC", orders.Sort{Field: orders.SortNumber, Asc: true}, orders.Filter{}, "purchase_order_visibility_by_number"},
		{"createdAfter, CREATED_AT DESC", orders.Sort{}, orders.Filter{CreatedAfter: &mid}, "purchase_order_visibility_page"},
		{"createdAfter, CREATED_AT ASC", orders.Sort{Asc: true}, orders.Filter{CreatedAfter: &mid}, "purchase_order_visibility_page"},
		{"createdBefore, CREATED_AT DESC", orders.Sort{}, orders.Filter{CreatedBefore: &mid}, "purchase_order_visibility_page"},
		{"createdBefore, CREATED_AT ASC", orders.Sort{Asc: true}, orders.Filter{CreatedBefore: &mid}, "purchase_order_visibility_page"},
		{"updatedSince, UPDATED_AT ASC", orders.Sort{Field: orders.SortUpdatedAt, Asc: true}, orders.Filter{UpdatedSince: &mid}, "purchase_order_visibility_by_updated"},
		{"updatedSince, UPDATED_AT DESC", orders.Sort{Field: orders.SortUpdatedAt}, orders.Filter{UpdatedSince: &mid}, "purchase_order_visibility_by_updated"},
	}
	twenty := 20
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first, err := relay.Args{First: &twenty}.Page()
			if err != nil {
				t.Fatal(err)
			}
			conn := explainList(t, db, capture, svc, viewer, c.filter, c.sort, first, c.index, "first page")
			// The next page and the page before it: the cursor bounds the range too.
			after := conn.Cursors[len(conn.Cursors)-1]
			next, _ := relay.Args{First: &twenty, After: &after}.Page()
			conn = explainList(t, db, capture, svc, viewer, c.filter, c.sort, next, c.index, "after")
			before := conn.Cursors[0]
			back, _ := relay.Args{Last: &twenty, Before: &before}.Page()
			explainList(t, db, capture, svc, viewer, c.filter, c.sort, back, c.index, "last/before")
		})
	}
}

// explainList runs the list as the service does, then EXPLAIN ANALYZEs the
// statement it sent and checks the plan.
func explainList(t *testing.T, db *bun.DB, capture *listCapture, svc *orders.Service, ctx context.Context,
	f orders.Filter, sort orders.Sort, page relay.Page, index, what string) *relay.Connection[*domain.PurchaseOrder] {
	t.Helper()
	capture.mu.Lock()
	capture.last = ""
	capture.mu.Unlock()
	conn, err := svc.PurchaseOrders(ctx, f, sort, page)
	if err != nil {
		t.Fatal(err)
	}
	if len(conn.Nodes) != page.Size {
		t.Fatalf("%s: %d orders, want a full page of %d", what, len(conn.Nodes), page.Size)
	}
	capture.mu.Lock()
	stmt, args := capture.last, capture.args
	capture.mu.Unlock()
	if stmt == "" {
		t.Fatalf("%s: the list statement was not captured", what)
	}
	var out []byte
	// Through database/sql, so the bound values go with it as they went
	// with the list (bun would write ?s into the text).
	if err := db.DB.QueryRowContext(context.Background(), "EXPLAIN (ANALYZE, FORMAT JSON) "+stmt, args...).Scan(&out); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, stmt)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("%s: plan: %v\n%s", what, err, out)
	}
	var scans []planNode
	plans[0].Plan.walk(func(n planNode) {
		if strings.Contains(n.NodeType, "Sort") {
			t.Errorf("%s: the plan sorts (%s)", what, n.NodeType)
		}
		if n.RemovedByFilter != 0 {
			t.Errorf("%s: %s on %s removed %.0f rows by filter %s", what, n.NodeType, n.Relation, n.RemovedByFilter, n.Filter)
		}
		if n.Relation == "purchase_order_visibility" {
			scans = append(scans, n)
		}
	})
	if len(scans) != 1 {
		t.Fatalf("%s: %d scans of the visibility index, want 1\n%s", what, len(scans), out)
	}
	s := scans[0]
	if !strings.HasPrefix(s.NodeType, "Index") || s.Index != index || !strings.Contains(s.IndexCond, "viewer_organization_id") || s.Filter != "" {
		t.Errorf("%s: visibility rows read by %s on %q (cond %s, filter %q), want an index range of %s\n%s",
			what, s.NodeType, s.Index, s.IndexCond, s.Filter, index, out)
	}
	t.Logf("%-11s %s %s using %s, Index Cond: %s; actual rows %.0f, removed by filter %.0f; no sort",
		what, s.NodeType, s.Direction, s.Index, s.IndexCond, s.ActualRows, s.RemovedByFilter)
	if t.Failed() {
		t.Log(stmt)
	}
	return conn
}
