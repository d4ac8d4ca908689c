package catalog_test

import (
	"fmt"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestProductsPageCost: a page of products with everything a product
// reaches (its vendor, parent, add-ons and industries) costs as many
// statements for 5 products as for 50.
func TestProductsPageCost(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		// The hook goes on before the server starts: adding one to a
		// database in use races with its queries.
		counter := &testapi.StatementCounter{}
		db.AddQueryHook(counter)
		a := newAPI(t, db)
		vendor, _ := a.org("Vendor", domain.KindVendor, "", "")
		for i := range 30 {
			parent, _ := a.product(vendor, fmt.Sprintf("N-%02d-a", i), map[string]any{"industries": []string{"Retail", "Mining"}})
			a.product(vendor, fmt.Sprintf("N-%02d-b", i), map[string]any{"parentId": parent})
		}
		const query = `query($first: Int) { products(first: $first) { totalCount edges { node {
			sku industries vendor { name } parent { sku industries vendor { name } }
			addOns { sku industries parent { sku } } } } } }`
		cost := func(first int) int64 {
			before := counter.N()
			var out struct{ Products struct{ Edges []any } }
			a.Must("", query, map[string]any{"first": first}, &out)
			if len(out.Products.Edges) != first {
				t.Fatalf("got %d products, want %d", len(out.Products.Edges), first)
			}
			return counter.N() - before
		}
		small, large := cost(5), cost(50)
		if large != small {
			t.Fatalf("a page of 5 products cost %d statements, a page of 50 cost %d", small, large)
		}
		t.Logf("%d statements for a page of 5 or 50", small)
	})
}
