package server_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// orgGraph is a channel of 56 organizations built through the API, with the
// edges and tenants it was given, to predict every list of channel edges:
//
//	A Vendor → B Dist 1..4 → C Reseller 01..12 (3 each) → D Customer 01..36 (3 each)
//	A Vendor → E Direct 1..3 (E Direct 3's edge REMOVED, so the vendor no longer sees it)
//	B Dist 1 → D Customer 01..04 as well (02's edge REMOVED), and INVITED D Customer 07
//	C Reseller 02 → D Customer 01 as well: a competitor of C Reseller 01 for that customer
type orgGraph struct {
	a       *api
	ids     map[string]string // global id by name
	kinds   map[string]domain.OrganizationKind
	edges   []graphEdge // in creation order, so in row id order
	tenants map[string][]string
	tok     map[string]string // OWNER tokens by name
}

type graphEdge struct {
	id, up, down string // global id, organization names
	removed      bool
}

// Its server admits far more complex operations than the default limits
// (whole pages of organizations with two levels of edges each).
func newOrgGraph(t *testing.T, db *bun.DB) *orgGraph {
	a, _ := newServer(t, db, server.Config{Limits: server.Limits{MaxComplexity: 1_000_000}})
	g := &orgGraph{a: a, ids: map[string]string{}, kinds: map[string]domain.OrganizationKind{},
		tenants: map[string][]string{}, tok: map[string]string{}}
	org := func(name string, kind domain.OrganizationKind) string {
		gid, id := a.MustOrg(name, kind)
		g.ids[name], g.kinds[name] = gid, kind
		if kind != domain.KindCustomer {
			g.tok[name] = a.MustToken(id, domain.RoleOwner)
		}
		return name
	}
	edge := func(up, down string) string {
		id := a.MustEdge(g.ids[up], g.ids[down], false)
		g.edges = append(g.edges, graphEdge{id: id, up: up, down: down})
		return id
	}
	remove := func(id string) {
		a.Must(testapi.AdminToken, `mutation($id: ID!) { removeChannelEdge(input: {channelEdgeId: $id, reason: "ended", acknowledgeNotice: true}) { channelEdge { id } } }`,
			map[string]any{"id": id}, nil)
		for i := range g.edges {
			if g.edges[i].id == id {
				g.edges[i].removed = true
			}
		}
	}
	vendor := org("A Vendor", domain.KindVendor)
	var dists, resellers, customers, direct []string
	for i := 1; i <= 4; i++ {
		dists = append(dists, org(fmt.Sprintf("B Dist %d", i), domain.KindDistributor))
	}
	for i := 1; i <= 12; i++ {
		resellers = append(resellers, org(fmt.Sprintf("C Reseller %02d", i), domain.KindReseller))
	}
	for i := 1; i <= 36; i++ {
		customers = append(customers, org(fmt.Sprintf("D Customer %02d", i), domain.KindCustomer))
	}
	for i := 1; i <= 3; i++ {
		direct = append(direct, org(fmt.Sprintf("E Direct %d", i), domain.KindCustomer))
	}
	for _, d := range dists {
		edge(vendor, d)
	}
	for i, r := range resellers {
		edge(dists[i/3], r)
	}
	for i, c := range customers {
		edge(resellers[i/3], c)
	}
	var gone []string
	for _, c := range direct {
		gone = append(gone, edge(vendor, c))
	}
	for _, c := range customers[:4] {
		gone = append(gone, edge(dists[0], c))
	}
	edge(resellers[1], customers[0])
	remove(gone[2]) // A Vendor → E Direct 3
	remove(gone[4]) // B Dist 1 → D Customer 02, still seen through C Reseller 01

	var invited struct {
		CreateChannelEdge struct{ ChannelEdge struct{ ID, Status string } } `json:"createChannelEdge"`
	}
	a.Must(g.tok[dists[0]], `mutation($up: ID!, $down: ID!) { createChannelEdge(input: {upstreamId: $up, downstreamId: $down}) { channelEdge { id status } } }`,
		map[string]any{"up": g.ids[dists[0]], "down": g.ids[customers[6]]}, &invited)
	if invited.CreateChannelEdge.ChannelEdge.Status != "INVITED" {
		t.Fatalf("invitation: %+v", invited)
	}
	g.edges = append(g.edges, graphEdge{id: invited.CreateChannelEdge.ChannelEdge.ID, up: dists[0], down: customers[6]})

	for _, tn := range []struct{ customer, domain string }{
		{customers[0], "one.c01.example.com"}, {customers[0], "two.c01.example.com"},
		{customers[1], "c02.example.com"}, {customers[5], "c06.example.com"}, {customers[20], "c21.example.com"},
	} {
		a.Must(testapi.AdminToken, `mutation($c: ID!, $d: String!) { createTenant(input: {customerId: $c, domain: $d}) { tenant { id } } }`,
			map[string]any{"c": g.ids[tn.customer], "d": tn.domain}, nil)
		g.tenants[tn.customer] = append(g.tenants[tn.customer], tn.domain)
	}
	return g
}

// edgeArgs are the arguments of a channelEdges field.
type edgeArgs struct {
	Downstream     bool
	Kind           domain.OrganizationKind
	IncludeRemoved bool
	First          int // 0 for absent
	After          int64
}

func (e edgeArgs) vars() map[string]any {
	v := map[string]any{"dir": "UPSTREAM", "inc": e.IncludeRemoved}
	if e.Downstream {
		v["dir"] = "DOWNSTREAM"
	}
	if e.Kind != "" {
		v["kind"] = e.Kind
	}
	if e.First != 0 {
		v["first"] = e.First
	}
	if e.After != 0 {
		v["after"] = relay.Cursor("channelEdges", e.After)
	}
	return v
}

type edgeConn struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage bool
		EndCursor   *string
	}
	Edges []struct {
		Cursor string
		Node   struct {
			ID, Status           string
			Upstream, Downstream struct{ Name string }
		}
	}
}

// page is what the API must answer for self's channelEdges with args, for
// a viewer that sees the organizations visible (SPEC §1.5): the edges whose
// two ends it sees.
func (g *orgGraph) page(self string, args edgeArgs, visible map[string]bool) (names []string, total int, hasNext bool) {
	var list []graphEdge
	for _, e := range g.edges {
		mine, other := e.up, e.down
		if !args.Downstream {
			mine, other = other, mine
		}
		if mine == self && visible[e.up] && visible[e.down] && (args.IncludeRemoved || !e.removed) &&
			(args.Kind == "" || g.kinds[other] == args.Kind) {
			list = append(list, e)
		}
	}
	total = len(list)
	first := args.First
	if first == 0 {
		first = relay.DefaultPageSize
	}
	for _, e := range list {
		if rowID(g.a.TB, e.id) <= args.After {
			continue
		}
		if len(names) == first {
			return names, total, true
		}
		names = append(names, e.up+" → "+e.down)
	}
	return names, total, false
}

func (c edgeConn) names() []string {
	var out []string
	for _, e := range c.Edges {
		out = append(out, e.Node.Upstream.Name+" → "+e.Node.Downstream.Name)
	}
	return out
}

const edgeConnFields = `channelEdges(direction: $dir, kind: $kind, includeRemoved: $inc, first: $first, after: $after) {
	totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id status upstream { name } downstream { name } } } }`

// TestNoNPlusOneOrganizations: a page of organizations with their tenants,
// their channel edges with totalCount, and their downstream organizations'
// channel edges costs the same number of SQL statements for 3 organizations
// as for 30.
func TestNoNPlusOneOrganizations(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		counter := &testapi.StatementCounter{}
		db.AddQueryHook(counter)
		g := newOrgGraph(t, db)
		const query = `query($first: Int) { organizations(first: $first) { edges { node { name tenants { domain }
			channelEdges(direction: DOWNSTREAM, first: 5) { totalCount edges { node { downstream { name
				channelEdges(direction: DOWNSTREAM) { edges { node { downstream { name } } } } } } } } } } } }`
		type level2 struct {
			Edges []struct {
				Node struct{ Downstream struct{ Name string } }
			}
		}
		var out struct {
			Organizations struct {
				Edges []struct {
					Node struct {
						Name         string
						Tenants      []struct{ Domain string }
						ChannelEdges struct {
							TotalCount int
							Edges      []struct {
								Node struct {
									Downstream struct {
										Name         string
										ChannelEdges level2
									}
								}
							}
						}
					}
				}
			}
		}
		cost := func(first int) int64 {
			out.Organizations.Edges = nil
			before := counter.N()
			g.a.Must(g.tok["A Vendor"], query, map[string]any{"first": first}, &out)
			n := counter.N() - before
			if len(out.Organizations.Edges) != first {
				t.Fatalf("got %d organizations, want %d", len(out.Organizations.Edges), first)
			}
			return n
		}
		small, large := cost(3), cost(30)
		if large != small || small != 7 {
			t.Fatalf("a page of 3 organizations cost %d statements, a page of 30 cost %d; want 7", small, large)
		}
		t.Logf("%d statements for a page of 3 or 30 organizations", small)

		// The page of 30 answered what each list holds.
		visible := g.visibleTo(g.tok["A Vendor"])
		downstream := edgeArgs{Downstream: true, First: 5}
		for _, e := range out.Organizations.Edges {
			org := e.Node
			var tenants []string
			for _, tn := range org.Tenants {
				tenants = append(tenants, tn.Domain)
			}
			if !slices.Equal(tenants, g.tenants[org.Name]) {
				t.Errorf("%s: tenants %v, want %v", org.Name, tenants, g.tenants[org.Name])
			}
			want, total, _ := g.page(org.Name, downstream, visible)
			var got []string
			for _, c := range org.ChannelEdges.Edges {
				d := c.Node.Downstream
				got = append(got, org.Name+" → "+d.Name)
				var gotBelow []string
				for _, c2 := range d.ChannelEdges.Edges {
					gotBelow = append(gotBelow, d.Name+" → "+c2.Node.Downstream.Name)
				}
				if wantBelow, _, _ := g.page(d.Name, edgeArgs{Downstream: true}, visible); !slices.Equal(gotBelow, wantBelow) {
					t.Errorf("%s below %s: %v, want %v", d.Name, org.Name, gotBelow, wantBelow)
				}
			}
			if !slices.Equal(got, want) || org.ChannelEdges.TotalCount != total {
				t.Errorf("%s: %v (totalCount %d), want %v (%d)", org.Name, got, org.ChannelEdges.TotalCount, want, total)
			}
		}

		// The other ways to a list of organizations cost the same at any size too.
		g.a.MustProduct(g.ids["A Vendor"], "SKU-1")
		for i := 1; i <= 30; i++ {
			r, d := (i-1)/3+1, (i-1)/9+1
			p := g.a.createOrder(g.tok["A Vendor"], order{Number: fmt.Sprintf("O-%d", i), Vendor: g.ids["A Vendor"],
				Distributor: g.ids[fmt.Sprintf("B Dist %d", d)], Reseller: g.ids[fmt.Sprintf("C Reseller %02d", r)],
				Customer: g.ids[fmt.Sprintf("D Customer %02d", i)]})
			if len(p.CreatePurchaseOrder.UserErrors) > 0 {
				t.Fatalf("order %d: %+v", i, p.CreatePurchaseOrder.UserErrors)
			}
		}
		const below = `name tenants { domain } channelEdges(direction: UPSTREAM) { totalCount edges { node { upstream { name
			channelEdges(direction: DOWNSTREAM, first: 3) { edges { node { downstream { name tenants { domain } } } } } } } } }`
		var names []string
		for name := range g.ids {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, tc := range []struct {
			name, query string
			vars        func(n int) map[string]any
			small, big  int
			perItem     int64 // statements the list itself costs per item
			want        int64 // statements at the small size
		}{
			{"purchase orders' customers and resellers", `query($n: Int) { purchaseOrders(first: $n) { edges { node {
				customer { ` + below + ` } reseller { ` + below + ` } } } } }`,
				func(n int) map[string]any { return map[string]any{"n": n} }, 3, 30, 0, 16},
			// nodes looks its ids up one query per type; what is below them is batched.
			{"nodes", `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Organization { ` + below + ` } } }`,
				func(n int) map[string]any {
					var ids []string
					for _, name := range names[len(names)-n:] {
						ids = append(ids, g.ids[name])
					}
					return map[string]any{"ids": ids}
				}, 3, 30, 0, 8},
			{"the viewer's organization", `query($n: Int) { viewer { organization { channelEdges(direction: DOWNSTREAM, first: $n) {
				edges { node { downstream { name tenants { domain } channelEdges(direction: DOWNSTREAM) { totalCount edges { node {
				downstream { name tenants { domain } } } } } } } } } } } }`,
				func(n int) map[string]any { return map[string]any{"n": n} }, 1, 4, 0, 8},
		} {
			cost := func(n int) int64 {
				before := counter.N()
				g.a.Must(g.tok["A Vendor"], tc.query, tc.vars(n), nil)
				return counter.N() - before
			}
			small, big := cost(tc.small), cost(tc.big)
			if big-small != tc.perItem*int64(tc.big-tc.small) || small != tc.want {
				t.Errorf("%s: %d cost %d statements, %d cost %d; want %d", tc.name, tc.small, small, tc.big, big, tc.want)
			}
			t.Logf("%s: %d statements for %d, %d for %d", tc.name, small, tc.small, big, tc.big)
		}
	})
}

// visibleTo is the set of organizations token's viewer sees, by the
// organizations list.
func (g *orgGraph) visibleTo(token string) map[string]bool {
	var out struct {
		Organizations struct {
			Edges []struct{ Node struct{ Name string } }
		}
	}
	g.a.Must(token, `{ organizations(first: 100) { edges { node { name } } } }`, nil, &out)
	visible := map[string]bool{}
	for _, e := range out.Organizations.Edges {
		visible[e.Node.Name] = true
	}
	return visible
}

// TestBatchedChannelEdges: the channel edges of a whole page of
// organizations, loaded together, are each organization's own list — in
// either direction, filtered by kind, with or without removed edges, paged
// after a cursor — the same as asked of one organization at a time, and a
// viewer still sees only the edges whose two ends it may see.
func TestBatchedChannelEdges(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		g := newOrgGraph(t, db)
		const listQuery = `query($dir: EdgeDirection!, $kind: OrganizationKind, $inc: Boolean, $first: Int, $after: String) {
			organizations(first: 100) { edges { node { id name ` + edgeConnFields + ` } } } }`
		const oneQuery = `query($id: ID!, $dir: EdgeDirection!, $kind: OrganizationKind, $inc: Boolean, $first: Int, $after: String) {
			organization(id: $id) { id name ` + edgeConnFields + ` } }`
		type node struct {
			ID, Name     string
			ChannelEdges edgeConn
		}
		midway := rowID(t, g.edges[len(g.edges)/2].id)
		check := func(viewer string, alone ...string) {
			t.Helper()
			token := g.tok[viewer]
			visible := g.visibleTo(token)
			for _, args := range allEdgeArgs(midway) {
				var list struct {
					Organizations struct{ Edges []struct{ Node node } }
				}
				g.a.Must(token, listQuery, args.vars(), &list)
				if len(list.Organizations.Edges) != len(visible) {
					t.Fatalf("%s sees %d organizations, then %d", viewer, len(visible), len(list.Organizations.Edges))
				}
				for _, e := range list.Organizations.Edges {
					org := e.Node
					want, total, next := g.page(org.Name, args, visible)
					got := org.ChannelEdges
					if !slices.Equal(got.names(), want) || got.TotalCount != total || got.PageInfo.HasNextPage != next {
						t.Errorf("%s's view of %s, %+v: %v (totalCount %d, next %v), want %v (%d, %v)",
							viewer, org.Name, args, got.names(), got.TotalCount, got.PageInfo.HasNextPage, want, total, next)
					}
					for i, edge := range got.Edges {
						if edge.Cursor != relay.Cursor("channelEdges", rowID(t, edge.Node.ID)) ||
							(i == len(got.Edges)-1 && *got.PageInfo.EndCursor != edge.Cursor) {
							t.Errorf("%s, %+v: cursor %q of edge %s", org.Name, args, edge.Cursor, edge.Node.ID)
						}
					}
					if !slices.Contains(alone, org.Name) {
						continue
					}
					vars := args.vars()
					vars["id"] = org.ID
					var one struct{ Organization node }
					g.a.Must(token, oneQuery, vars, &one)
					if describe(one.Organization) != describe(org) {
						t.Errorf("%s, %+v: alone %s\nin the list %s", org.Name, args, describe(one.Organization), describe(org))
					}
				}
			}
		}
		check("A Vendor", "A Vendor", "B Dist 1", "D Customer 01", "D Customer 02")
		check("B Dist 1", "B Dist 1", "D Customer 01")
		check("C Reseller 01", "D Customer 01")

		// The competitor's edge to the shared customer stays hidden from C
		// Reseller 01, which sees its own and its distributor's.
		var out struct {
			Organization struct {
				ChannelEdges struct {
					TotalCount int
					Edges      []struct {
						Node struct{ Upstream struct{ Name string } }
					}
				}
			}
		}
		const upstream = `query($id: ID!) { organization(id: $id) { channelEdges(direction: UPSTREAM, includeRemoved: true) {
			totalCount edges { node { upstream { name } } } } } }`
		upstreamOf := func(viewer string) []string {
			g.a.Must(g.tok[viewer], upstream, map[string]any{"id": g.ids["D Customer 01"]}, &out)
			var names []string
			for _, e := range out.Organization.ChannelEdges.Edges {
				names = append(names, e.Node.Upstream.Name)
			}
			return names
		}
		if got := upstreamOf("C Reseller 01"); !slices.Equal(got, []string{"C Reseller 01", "B Dist 1"}) || out.Organization.ChannelEdges.TotalCount != 2 {
			t.Errorf("C Reseller 01 sees D Customer 01 bought from %v (%d)", got, out.Organization.ChannelEdges.TotalCount)
		}
		if got := upstreamOf("A Vendor"); !slices.Equal(got, []string{"C Reseller 01", "B Dist 1", "C Reseller 02"}) {
			t.Errorf("A Vendor sees D Customer 01 bought from %v", got)
		}
	})
}

// allEdgeArgs is every combination of direction, kind filter and removed
// edges, each with one of the four combinations of page size and cursor.
func allEdgeArgs(after int64) []edgeArgs {
	var out []edgeArgs
	for _, down := range []bool{true, false} {
		for _, kind := range []domain.OrganizationKind{"", domain.KindCustomer, domain.KindReseller} {
			for _, inc := range []bool{false, true} {
				i := len(out)
				out = append(out, edgeArgs{Downstream: down, Kind: kind, IncludeRemoved: inc,
					First: []int{0, 2}[i%2], After: []int64{0, after}[i/2%2]})
			}
		}
	}
	return out
}

// TestMutationsReadFresh: the loaders cache what a request has read, but
// each mutation of a request reads what it changed, never what an earlier
// one of the same request loaded.
func TestMutationsReadFresh(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		const payload = `channelEdge { upstream { channelEdges(direction: DOWNSTREAM) { totalCount edges { node { purchaseOrderView } } } } }`
		var out map[string]struct {
			ChannelEdge struct {
				Upstream struct {
					ChannelEdges struct {
						TotalCount int
						Edges      []struct {
							Node struct{ PurchaseOrderView bool }
						}
					}
				}
			}
		}
		f.a.Must(f.tok[f.dist], `mutation($e: ID!) {
			off: setPurchaseOrderView(input: {channelEdgeId: $e, enabled: false}) { `+payload+` }
			on: setPurchaseOrderView(input: {channelEdgeId: $e, enabled: true}) { `+payload+` } }`,
			map[string]any{"e": f.drEdge}, &out)
		for name, want := range map[string]bool{"off": false, "on": true} {
			edges := out[name].ChannelEdge.Upstream.ChannelEdges.Edges
			if len(edges) != 1 || edges[0].Node.PurchaseOrderView != want {
				t.Errorf("after %s the distributor's edges read %+v", name, edges)
			}
		}
	})
}
