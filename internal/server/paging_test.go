package server_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

type pagedNames struct {
	PageInfo struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	Edges []struct {
		Node struct {
			Name       string
			Number     string
			Downstream struct{ Name string }
		}
	}
}

func (p pagedNames) names() []string {
	var out []string
	for _, e := range p.Edges {
		out = append(out, e.Node.Name+e.Node.Number+e.Node.Downstream.Name)
	}
	return out
}

// TestPagingBackward reads organizations, an organization's channel edges
// and purchase orders (as the platform administrator, who reads
// purchase_orders directly) with last/before, and checks the arguments are
// refused as the schema says.
func TestPagingBackward(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) { testPagingBackward(t, db) })
}

func testPagingBackward(t *testing.T, db *bun.DB) {
	a := newAPI(t, db)
	vendor, _ := a.MustOrg("A vendor", domain.KindVendor)
	a.MustProduct(vendor, "SKU-1")
	var customers []string
	for i := 1; i <= 4; i++ {
		c, _ := a.MustOrg(fmt.Sprintf("C%d", i), domain.KindCustomer)
		a.MustEdge(vendor, c, false)
		customers = append(customers, c)
	}
	for i, number := range []string{"b-2", "B-1", "a-3"} {
		if out := a.createOrder(testapi.AdminToken, order{Number: number, Vendor: vendor, Customer: customers[i]}); len(out.CreatePurchaseOrder.UserErrors) > 0 {
			t.Fatal(out.CreatePurchaseOrder.UserErrors)
		}
	}
	read := func(query string, vars map[string]any) pagedNames {
		t.Helper()
		var out struct{ List pagedNames }
		a.Must(testapi.AdminToken, query, vars, &out)
		return out.List
	}
	lists := []struct {
		name  string
		query string
		want  []string
	}{
		{"organizations", `query($last: Int, $before: String) { list: organizations(last: $last, before: $before) {
			pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { name } } } }`,
			[]string{"A vendor", "C1", "C2", "C3", "C4"}},
		{"channelEdges", `query($id: ID!, $last: Int, $before: String) { node(id: $id) { ... on Organization {
			list: channelEdges(direction: DOWNSTREAM, last: $last, before: $before) {
			pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { downstream { name } } } } } } }`,
			[]string{"C1", "C2", "C3", "C4"}},
		{"purchaseOrders by number", `query($last: Int, $before: String) { list: purchaseOrders(last: $last, before: $before, orderBy: {field: NUMBER, direction: ASC}) {
			pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { number } } } }`,
			[]string{"B-1", "a-3", "b-2"}},
	}
	for _, l := range lists {
		var got []string
		var before *string
		for pages := 0; ; pages++ {
			vars := map[string]any{"last": 2, "before": before, "id": vendor}
			var p pagedNames
			if l.name == "channelEdges" {
				var out struct{ Node struct{ List pagedNames } }
				a.Must(testapi.AdminToken, l.query, vars, &out)
				p = out.Node.List
			} else {
				p = read(l.query, vars)
			}
			if p.PageInfo.HasNextPage != (before != nil) {
				t.Errorf("%s: hasNextPage %v with before %v", l.name, p.PageInfo.HasNextPage, before != nil)
			}
			got = append(p.names(), got...)
			if !p.PageInfo.HasPreviousPage || pages > 5 {
				break
			}
			before = p.PageInfo.StartCursor
		}
		if !slices.Equal(got, l.want) {
			t.Errorf("%s read backward: %q, want %q", l.name, got, l.want)
		}
	}

	refused := []struct{ what, query, field string }{
		{"first and last", `{ purchaseOrders(first: 1, last: 1) { totalCount } }`, "last"},
		{"last over 100", `{ organizations(last: 101) { totalCount } }`, "last"},
		{"negative last", `{ purchaseOrders(last: -1) { totalCount } }`, "last"},
		{"a cursor of another list", `{ purchaseOrders(before: "` + *read(lists[0].query, map[string]any{"last": 1}).PageInfo.StartCursor + `") { totalCount } }`, "before"},
	}
	ordersQuery := `query($order: PurchaseOrderOrder, $after: String) { list: purchaseOrders(first: 1, after: $after, orderBy: $order) {
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { number } } } }`
	byNumber := read(ordersQuery, map[string]any{"order": map[string]any{"field": "NUMBER"}})
	if got := byNumber.names(); !slices.Equal(got, []string{"b-2"}) {
		t.Errorf("NUMBER DESC: %q", got)
	}
	refused = append(refused, struct{ what, query, field string }{"a cursor of another order",
		`{ purchaseOrders(after: "` + *byNumber.PageInfo.EndCursor + `") { totalCount } }`, "after"})
	for _, r := range refused {
		res := a.Do(testapi.AdminToken, r.query, nil)
		if res.Code() != "BAD_USER_INPUT" || res.Errors[0].Extensions["field"] != r.field {
			t.Errorf("%s: %+v, want BAD_USER_INPUT on %s", r.what, res.Errors, r.field)
		}
	}
}
