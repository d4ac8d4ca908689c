package server_test

import (
	"fmt"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestNoNPlusOne: a page of purchase orders with every relation a list can
// reach costs the same number of SQL statements for 5 orders as for 50.
func TestNoNPlusOne(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		counter := &testapi.StatementCounter{}
		db.AddQueryHook(counter)
		f := newChannelFixture(t, db)
		for i := 0; i < 50; i++ {
			f.a.createOrder(f.tok[f.vendor], f.indirect(fmt.Sprintf("Q-%d", i)))
		}
		const query = `query($first: Int) { purchaseOrders(first: $first) { totalCount edges { node {
			number vendor { name } customer { name } reseller { name } distributor { name }
			lines { sku quantity product { name vendor { name } } } } } } }`
		cost := func(first int) int64 {
			before := counter.N()
			var out struct {
				PurchaseOrders struct{ Edges []any }
			}
			f.a.Must(f.tok[f.dist], query, map[string]any{"first": first}, &out)
			if len(out.PurchaseOrders.Edges) != first {
				t.Fatalf("got %d orders, want %d", len(out.PurchaseOrders.Edges), first)
			}
			return counter.N() - before
		}
		small, large := cost(5), cost(50)
		// The page, its count, lines, products, and every organization (parties
		// and products' vendors) in one statement.
		if large != small || small != 5 {
			t.Fatalf("a page of 5 orders cost %d statements, a page of 50 cost %d; want 5", small, large)
		}
		t.Logf("%d statements for a page of 5 or 50", small)
	})
}
