package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestBadInput sends malformed, mistyped, oversized and impossible requests:
// each gets a clear error with a code, and none changes anything.
func TestBadInput(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		a := f.a
		before := rowCounts(t, db)
		for _, tc := range []struct {
			name, contentType, body string
			status                  int
			code                    string
		}{
			{"malformed JSON", "application/json", `{"query": "{ viewer { role } }"`, 400, "BAD_USER_INPUT"},
			{"not JSON", "application/json", `hello`, 400, "BAD_USER_INPUT"},
			{"query of the wrong type", "application/json", `{"query": 5}`, 400, "BAD_USER_INPUT"},
			{"variables of the wrong type", "application/json", `{"query": "query($f: Int) { purchaseOrders(first: $f) { totalCount } }", "variables": {"f": "ten"}}`, 200, "BAD_USER_INPUT"},
			{"unknown field", "application/json", `{"query": "{ purchaseOrders { secret } }"}`, 200, "BAD_USER_INPUT"},
			{"unknown input field", "application/json", `{"query": "mutation { createOrganization(input: {name: \"x\", kind: VENDOR, evil: 1}) { organization { id } } }"}`, 200, "BAD_USER_INPUT"},
			{"unknown enum value", "application/json", `{"query": "mutation { createOrganization(input: {name: \"x\", kind: EMPEROR}) { organization { id } } }"}`, 200, "BAD_USER_INPUT"},
			{"syntax error", "application/json", `{"query": "mutation { createOrganization(input: "}`, 200, "BAD_USER_INPUT"},
			{"not a global ID", "application/json", `{"query": "{ purchaseOrder(id: \"%%%\") { id } }"}`, 200, "BAD_USER_INPUT"},
			{"ID of another type", "application/json", `{"query": "{ purchaseOrder(id: \"` + f.vendor + `\") { id } }"}`, 200, "BAD_USER_INPUT"},
			{"first too large", "application/json", `{"query": "{ purchaseOrders(first: 1000) { totalCount } }"}`, 200, "BAD_USER_INPUT"},
			{"negative first", "application/json", `{"query": "{ organizations(first: -1) { totalCount } }"}`, 200, "BAD_USER_INPUT"},
			{"forged cursor", "application/json", `{"query": "{ purchaseOrders(after: \"WyJ4Il0\") { totalCount } }"}`, 200, "BAD_USER_INPUT"},
			{"oversized body", "application/json", `{"query": "` + strings.Repeat(" ", server.DefaultMaxBodyBytes) + `{ viewer { role } }"}`, 413, "BAD_USER_INPUT"},
		} {
			res := a.Raw(f.tok[f.vendor], tc.contentType, []byte(tc.body))
			if res.Status != tc.status || res.Code() != tc.code || res.Errors[0].Message == "" {
				t.Errorf("%s: status %d, errors %+v; want %d %s", tc.name, res.Status, res.Errors, tc.status, tc.code)
			}
		}
		if res := a.Do(testapi.AdminToken, `mutation { createChannelEdge(input: {upstreamId: "`+f.cust+`", downstreamId: "`+f.vendor+`"}) { userErrors { code } } }`, nil); !strings.Contains(string(res.Data), "BAD_USER_INPUT") {
			t.Errorf("disallowed edge: %s %+v", res.Data, res.Errors)
		}
		for _, tc := range []struct{ name, mutation, want string }{
			{"edge upstream of someone else", `createChannelEdge(input: {upstreamId: "` + f.cust + `", downstreamId: "` + f.vendor + `"}) { userErrors { code } }`, "FORBIDDEN"},
			{"impossible transition", `updatePurchaseOrderStatus(input: {id: "` + gidOf("PurchaseOrder", 1<<40) + `", status: COMPLETED}) { userErrors { code } }`, "NOT_FOUND"},
			{"bad country", `createOrganization(input: {name: "x", kind: CUSTOMER, country: "Germany"}) { userErrors { code field } }`, "BAD_USER_INPUT"},
			{"bad money", `createProduct(input: {vendorId: "` + f.vendor + `", sku: "M", name: "m", type: SAAS, listPrice: {amount: "1e400", currency: "EUR"}}) { userErrors { code field } }`, "BAD_USER_INPUT"},
			{"bad sku", `createProduct(input: {vendorId: "` + f.vendor + `", sku: "no spaces allowed", name: "m", type: SAAS}) { userErrors { code field } }`, "BAD_USER_INPUT"},
		} {
			res := a.Do(f.tok[f.vendor], "mutation { "+tc.mutation+" }", nil)
			if !strings.Contains(string(res.Data), `"code":"`+tc.want+`"`) && res.Code() != tc.want {
				t.Errorf("%s: %s %+v, want %s", tc.name, res.Data, res.Errors, tc.want)
			}
		}
		if after := rowCounts(t, db); after != before {
			t.Fatalf("bad input changed the database: %v → %v", before, after)
		}
	})
}

func rowCounts(t *testing.T, db *bun.DB) [5]int {
	var c [5]int
	for i, table := range []string{"organizations", "channel_edges", "products", "purchase_orders", "purchase_order_visibility"} {
		n, err := db.NewSelect().TableExpr(table).Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c[i] = int(n)
	}
	return c
}

// TestConventions covers SPEC §7.1: global IDs and node/nodes, connections,
// Money as strings, and the HTTP endpoints around GraphQL.
func TestConventions(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		a := f.a
		for i := 0; i < 25; i++ {
			a.createOrder(f.tok[f.vendor], f.indirect("N-"+string(rune('a'+i))))
		}
		var page struct {
			PurchaseOrders struct {
				TotalCount int
				PageInfo   struct{ HasNextPage bool }
				Edges      []struct{ Node struct{ ID string } }
			}
		}
		a.Must(f.tok[f.vendor], `{ purchaseOrders { totalCount pageInfo { hasNextPage } edges { node { id } } } }`, nil, &page)
		if len(page.PurchaseOrders.Edges) != 20 || page.PurchaseOrders.TotalCount != 25 || !page.PurchaseOrders.PageInfo.HasNextPage {
			t.Fatalf("default page: %d edges of %d", len(page.PurchaseOrders.Edges), page.PurchaseOrders.TotalCount)
		}
		po := page.PurchaseOrders.Edges[0].Node.ID
		var nodes struct {
			Nodes []*struct {
				ID       string
				Name     *string
				Number   *string
				Typename string `json:"__typename"`
			}
		}
		hidden, _ := a.MustOrg("Hidden", domain.KindCustomer)
		hiddenEdge := a.MustEdge(f.vendor, hidden, false)
		ids := []string{f.vendor, po, hidden, gidOf("Product", 1), gidOf("ChannelEdge", 1), hiddenEdge}
		a.Must(f.tok[f.reseller], `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Organization { name } ... on PurchaseOrder { number } } }`,
			map[string]any{"ids": ids}, &nodes)
		types := []string{}
		for _, n := range nodes.Nodes {
			if n == nil {
				types = append(types, "null")
			} else {
				types = append(types, n.Typename)
			}
		}
		// The reseller sees the vendor as a party of the orders it sees, and so the
		// vendor→distributor edge (both ends visible); not the hidden customer or its edge (SPEC §1.5).
		if got := strings.Join(types, ","); got != "Organization,PurchaseOrder,null,Product,ChannelEdge,null" {
			t.Fatalf("nodes as the reseller: %s", got)
		}
		var product struct {
			Product struct {
				ListPrice *struct{ Amount, Currency string }
			}
		}
		a.Must(testapi.AdminToken, `mutation { createProduct(input: {vendorId: "`+f.vendor+`", sku: "P-2", name: "p", type: SAAS, listPrice: {amount: "40", currency: "EUR"}}) { product { id } } }`, nil, nil)
		a.Must(testapi.AdminToken, `{ product(id: "`+gidOf("Product", 2)+`") { listPrice { amount currency } } }`, nil, &product)
		if lp := product.Product.ListPrice; lp == nil || lp.Amount != "40.00" || lp.Currency != "EUR" {
			t.Fatalf("list price: %+v", lp)
		}

		base := strings.TrimSuffix(a.URL, "/graphql")
		for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/": "GraphiQL", "/metrics": "go_goroutines"} {
			res, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, res)
			if res.StatusCode != 200 || !strings.Contains(body, want) {
				t.Errorf("GET %s: %d %.80q", path, res.StatusCode, body)
			}
		}
		res, err := http.Get(a.URL + `?query={product(id:"` + gidOf("Product", 1) + `"){sku}}`)
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, res); !strings.Contains(body, "SKU-1") {
			t.Errorf("GET /graphql: %s", body)
		}
	})
}
