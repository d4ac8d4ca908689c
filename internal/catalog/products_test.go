package catalog_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestProductsFiltersAndPaging: Query.products (SPEC §7.1, §8.2) filters by
// vendor, type, category, segment, industry and search (name or SKU,
// case-insensitively, wildcards taken literally), sorts by name then id,
// pages both ways with cursors and counts the filtered list; bad arguments
// are refused on their field.
func TestProductsFiltersAndPaging(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		v1, _ := a.org("Vendor one", domain.KindVendor, "", "")
		v2, _ := a.org("Vendor two", domain.KindVendor, "", "")
		a.product(v1, "A-1", map[string]any{"name": "Backup", "type": "SAAS", "category": "Storage"})
		a.product(v1, "A-2", map[string]any{"name": "Antivirus", "category": "Security", "segments": []string{"EDUCATION"}})
		a.product(v1, "A-3", map[string]any{"name": "Backup", "type": "HARDWARE", "industries": []string{"Mining"}})
		a.product(v2, "B-1", map[string]any{"name": "100% Cloud", "type": "SAAS", "category": "storage"})
		a.product(v2, "B_2", map[string]any{"name": "Zeta", "industries": []string{"Retail", "mining"}})

		for _, c := range []struct {
			name   string
			filter map[string]any
			want   []string
		}{
			{"everything, by name then id", nil, []string{"B-1", "A-2", "A-1", "A-3", "B_2"}},
			{"vendor", map[string]any{"vendorId": v2}, []string{"B-1", "B_2"}},
			{"type", map[string]any{"type": "SAAS"}, []string{"B-1", "A-1"}},
			{"category, any case", map[string]any{"category": "STORAGE"}, []string{"B-1", "A-1"}},
			{"segment", map[string]any{"segment": "EDUCATION"}, []string{"B-1", "A-2", "A-1", "A-3", "B_2"}},
			{"segment excluding", map[string]any{"segment": "GOVERNMENT"}, []string{"B-1", "A-1", "A-3", "B_2"}},
			{"industry", map[string]any{"industry": "MINING"}, []string{"B-1", "A-2", "A-1", "A-3", "B_2"}},
			{"industry excluding", map[string]any{"industry": "retail"}, []string{"B-1", "A-2", "A-1", "B_2"}},
			{"search name", map[string]any{"search": "backUP"}, []string{"A-1", "A-3"}},
			{"search sku", map[string]any{"search": "a-"}, []string{"A-2", "A-1", "A-3"}},
			{"search % literally", map[string]any{"search": "0%"}, []string{"B-1"}},
			{"search _ literally", map[string]any{"search": "b_"}, []string{"B_2"}},
			{"every filter", map[string]any{"vendorId": v1, "type": "LICENSE", "segment": "EDUCATION", "search": "anti", "category": "security"}, []string{"A-2"}},
			{"unknown vendor", map[string]any{"vendorId": gidOf("Organization", 1<<40)}, []string{}},
		} {
			for _, token := range []string{"", testapi.AdminToken} {
				if got := a.allSKUs(token, c.filter); !slices.Equal(got, c.want) {
					t.Errorf("%s (token %q): %v, want %v", c.name, token, got, c.want)
				}
			}
		}

		// Forward two at a time, then backward two at a time.
		want := []string{"B-1", "A-2", "A-1", "A-3", "B_2"}
		var forward []string
		args := map[string]any{"first": 2}
		for range 5 {
			page := a.products("", args)
			if page.TotalCount != 5 {
				t.Errorf("totalCount %d, want 5", page.TotalCount)
			}
			forward = append(forward, page.skus()...)
			if !page.PageInfo.HasNextPage {
				break
			}
			args = map[string]any{"first": 2, "after": *page.PageInfo.EndCursor}
		}
		if !slices.Equal(forward, want) {
			t.Errorf("forward pages: %v, want %v", forward, want)
		}
		var backward []string
		args = map[string]any{"last": 2}
		for range 5 {
			page := a.products("", args)
			backward = append(page.skus(), backward...)
			if !page.PageInfo.HasPreviousPage {
				break
			}
			args = map[string]any{"last": 2, "before": *page.PageInfo.StartCursor}
		}
		if !slices.Equal(backward, want) {
			t.Errorf("backward pages: %v, want %v", backward, want)
		}

		for _, c := range []struct {
			name  string
			args  map[string]any
			field string
		}{
			{"search too long", map[string]any{"filter": map[string]any{"search": strings.Repeat("s", 101)}}, "filter.search"},
			{"category too long", map[string]any{"filter": map[string]any{"category": strings.Repeat("s", 101)}}, "filter.category"},
			{"industry too long", map[string]any{"filter": map[string]any{"industry": strings.Repeat("s", 101)}}, "filter.industry"},
			{"vendorId malformed", map[string]any{"filter": map[string]any{"vendorId": "nope"}}, "filter.vendorId"},
			{"vendorId of a product", map[string]any{"filter": map[string]any{"vendorId": gidOf("Product", 1)}}, "filter.vendorId"},
			{"sellerId malformed", map[string]any{"filter": map[string]any{"sellerId": "nope"}}, "filter.sellerId"},
			{"first too large", map[string]any{"first": 101}, "first"},
			{"foreign cursor", map[string]any{"after": relayCursor("organizations", "x", 1)}, "after"},
		} {
			res := a.Do("", `query($first: Int, $after: String, $filter: ProductFilter) {
				products(first: $first, after: $after, filter: $filter) { totalCount } }`, c.args)
			if res.Code() != "BAD_USER_INPUT" || res.Errors[0].Extensions["field"] != c.field {
				t.Errorf("%s: %+v, want BAD_USER_INPUT on %s", c.name, res.Errors, c.field)
			}
		}
	})
}

// TestPublicCatalogHidesListPrices: the products list read without a token,
// or by a customer, carries no list price (the vendor's charge to its
// direct partners); the vendor's own read does (SPEC §8.2, §8.3).
func TestPublicCatalogHidesListPrices(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		vendor, vendorID := a.org("Vendor", domain.KindVendor, "", "")
		_, customerID := a.org("Customer", domain.KindCustomer, "", "")
		a.product(vendor, "PRICED", map[string]any{"listPrice": map[string]any{"amount": "10", "currency": "EUR"}})
		svc := catalog.New(db)
		page, _ := relay.NewPage(nil, nil)
		for _, c := range []struct {
			name   string
			viewer *domain.Viewer
			sees   bool
		}{
			{"anonymous", nil, false},
			{"a customer", &domain.Viewer{OrganizationID: customerID, Kind: domain.KindCustomer, Role: domain.RoleOwner}, false},
			{"the vendor", &domain.Viewer{OrganizationID: vendorID, Kind: domain.KindVendor, Role: domain.RoleViewer}, true},
		} {
			ctx := context.Background()
			if c.viewer != nil {
				ctx = domain.WithViewer(ctx, c.viewer)
			}
			for _, seller := range []*int64{nil, &vendorID} {
				conn, err := svc.Products(ctx, catalog.ProductFilter{SellerID: seller}, page)
				if err != nil || len(conn.Nodes) != 1 {
					t.Fatalf("%s: %v, %d products", c.name, err, len(conn.Nodes))
				}
				if got := conn.Nodes[0].ListPrice(); (got != nil) != c.sees {
					t.Errorf("%s (seller %v) reads list price %v", c.name, seller, got)
				}
			}
		}
	})
}
