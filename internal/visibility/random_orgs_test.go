package visibility_test

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/testapi"
)

// tenant is a tenant of a random channel; Requester is 0 for the platform
// administrator. A finished tenant (ACTIVE or FAILED) has notified its
// customer and its requester.
type tenant struct {
	ID, Customer, Requester int64
	Finished                bool
}

type product struct{ ID, Vendor int64 }

// createTenant requests a tenant for customer as the platform
// administrator, the customer itself or any organization of the channel —
// refused unless the requester may see the customer — and finishes some.
func (g *randomChannel) createTenant(customer int64) {
	requesters := append([]int64{0, customer}, g.orgs()...)
	req := requesters[g.rng.IntN(len(requesters))]
	ctx, ok := g.admin, true
	if req != 0 {
		ctx, ok = g.as(req), g.m.VisibleOrganizations(req)[customer]
	}
	t, err := g.ten.Create(ctx, customer, fmt.Sprintf("t%d-%d.g%d.example.com", customer, len(g.log), g.seed))
	if !g.expect(err, ok, fmt.Sprintf("create tenant for %s by %s", g.names[customer], g.name(req)), domain.CodeNotFound) {
		return
	}
	g.tenants = append(g.tenants, tenant{ID: t.ID, Customer: customer, Requester: req})
	g.log[len(g.log)-1] += fmt.Sprintf(" #%d", t.ID)
	if g.rng.Float64() < 0.4 {
		return
	}
	last := domain.TenantActive
	if g.rng.IntN(2) == 0 {
		last = domain.TenantFailed
	}
	for _, next := range []domain.TenantStatus{domain.TenantProvisioning, domain.TenantVerifying, last} {
		reason := ""
		if next == domain.TenantFailed {
			reason = "random test"
		}
		_, err := g.ten.Report(g.admin, t.ID, next, reason)
		g.expect(err, true, fmt.Sprintf("tenant #%d → %s", t.ID, next))
	}
	g.tenants[len(g.tenants)-1].Finished = true
}

const orgFieldsQuery = `query($org: ID!, $edges: [ID!]!, $tenant: ID!, $product: ID!) {
  viewer { organization { ...org } }
  organization(id: $org) { ...org }
  orgNode: node(id: $org) { ... on Organization { id } }
  organizations(first: 11) { edges { node { ...org } } }
  edges: nodes(ids: $edges) { ... on ChannelEdge { ...edge } }
  tenant(id: $tenant) { ...tenant }
  notifications { tenant { ...tenant } }
  product(id: $product) { vendor { id } }
}
fragment org on Organization { id tenants { ...tenant }
  up: channelEdges(direction: UPSTREAM, includeRemoved: true, first: 20) { totalCount edges { node { ...edge } } }
  down: channelEdges(direction: DOWNSTREAM, includeRemoved: true, first: 20) { totalCount edges { node { ...edge } } } }
fragment edge on ChannelEdge { id upstream { id } downstream { id } removedBy { id } }
fragment tenant on Tenant { id customer { id } }`

type seenEdge struct {
	ID                   string
	Upstream, Downstream orgRef
	RemovedBy            *orgRef
}

type seenTenant struct {
	ID       string
	Customer orgRef
}

type seenOrg struct {
	ID       string
	Tenants  []seenTenant
	Up, Down connection[seenEdge]
}

// checkOrganizationFields checks, for every viewer, every field that names
// an organization — the ends and remover of channel edges (in an
// organization's lists and looked up by id), tenants' customers (listed, looked
// up, and in notifications) and products' vendors — and the lookups of
// edges and tenants: every organization a response names is one the model
// lets the viewer see, and an edge or tenant it may not see answers null.
// The one exception is a product's vendor: the catalog is public, and a
// vendor is public as the publisher of its products, so product(id) names
// it to every viewer (and to requests without a token).
func (g *randomChannel) checkOrganizationFields(a *testapi.Client) {
	edgeIDs := make([]string, len(g.edgeIDs))
	for i, id := range g.edgeIDs {
		edgeIDs[i] = gidOf(relay.TypeChannelEdge, id)
	}
	for _, viewer := range g.orgs() {
		sees := g.m.VisibleOrganizations(viewer)
		orgs := g.orgs()
		org := orgs[g.rng.IntN(len(orgs))]
		tn := tenant{ID: 1 << 40}
		if len(g.tenants) > 0 {
			tn = g.tenants[g.rng.IntN(len(g.tenants))]
		}
		p := g.products[g.rng.IntN(len(g.products))]
		vars := map[string]any{"org": gidOf(relay.TypeOrganization, org), "edges": edgeIDs,
			"tenant": gidOf(relay.TypeTenant, tn.ID), "product": gidOf(relay.TypeProduct, p.ID)}
		var raw map[string]json.RawMessage
		a.Must(g.tokens[viewer], orgFieldsQuery, vars, &raw)

		// Every organization the response names, wherever it is, is visible.
		for field, value := range raw {
			if field == "product" {
				continue
			}
			var tree any
			_ = json.Unmarshal(value, &tree)
			organizationsIn(tree, field, func(id int64, path string) {
				if !sees[id] {
					g.fail(viewer, fmt.Sprintf("%s names organization #%d (%s), hidden from the viewer", path, id, g.name(id)), nil, nil)
				}
			})
		}

		var got struct {
			Viewer        struct{ Organization seenOrg }
			Organization  *seenOrg
			OrgNode       *orgRef
			Organizations struct{ Edges []struct{ Node seenOrg } }
			Edges         []*seenEdge
			Tenant        *seenTenant
			Notifications []struct{ Tenant *seenTenant }
			Product       struct{ Vendor orgRef }
		}
		for field, value := range raw {
			wrapped, _ := json.Marshal(map[string]json.RawMessage{field: value})
			if err := json.Unmarshal(wrapped, &got); err != nil {
				g.t.Fatal(err)
			}
		}
		g.checkOrg(viewer, "viewer.organization", &got.Viewer.Organization)
		if (got.Organization != nil) != sees[org] || (got.OrgNode != nil) != sees[org] {
			g.fail(viewer, fmt.Sprintf("organization(#%d) and node(#%d)", org, org), describe(got.Organization)+describe(got.OrgNode), sees[org])
		} else if got.Organization != nil {
			g.checkOrg(viewer, "organization(id)", got.Organization)
		}
		for _, e := range got.Organizations.Edges {
			g.checkOrg(viewer, "organizations", &e.Node)
		}
		for i, e := range g.m.Edges {
			if visible := g.m.SeesEdge(viewer, e); visible != (got.Edges[i] != nil) {
				g.fail(viewer, fmt.Sprintf("nodes lookup of edge #%d", g.edgeIDs[i]), got.Edges[i], visible)
			} else if visible {
				g.checkEdge(viewer, "nodes", got.Edges[i])
			}
		}
		if visible := tn.Customer != 0 && g.m.SeesTenantOf(viewer, tn.Customer); visible != (got.Tenant != nil) {
			g.fail(viewer, fmt.Sprintf("tenant(#%d)", tn.ID), got.Tenant, visible)
		} else if visible {
			g.checkTenant(viewer, "tenant(id)", got.Tenant, tn.Customer)
		}
		g.checkNotifications(viewer, got.Notifications)
		if rowID(g.t, got.Product.Vendor.ID) != p.Vendor {
			g.fail(viewer, fmt.Sprintf("product(#%d).vendor", p.ID), got.Product.Vendor, p.Vendor)
		}
	}
}

// checkOrg checks a visible organization's tenants and its channel edges in
// both directions against the model.
func (g *randomChannel) checkOrg(viewer int64, where string, got *seenOrg) {
	org := rowID(g.t, got.ID)
	where = fmt.Sprintf("%s #%d (%s)", where, org, g.name(org))
	var gotTenants, wantTenants []int64
	for i := range got.Tenants {
		gotTenants = append(gotTenants, g.checkTenant(viewer, where+".tenants", &got.Tenants[i], org))
	}
	for _, t := range g.tenants {
		if t.Customer == org {
			wantTenants = append(wantTenants, t.ID)
		}
	}
	g.sameSet(viewer, where+".tenants", gotTenants, wantTenants)
	for _, dir := range []struct {
		name string
		list connection[seenEdge]
		end  func(i int) int64
	}{
		{"upstream edges", got.Up, func(i int) int64 { return g.m.Edges[i].Down }},
		{"downstream edges", got.Down, func(i int) int64 { return g.m.Edges[i].Up }},
	} {
		var gotEdges, wantEdges []int64
		for _, e := range dir.list.Edges {
			gotEdges = append(gotEdges, g.checkEdge(viewer, where+" "+dir.name, &e.Node))
		}
		for i, e := range g.m.Edges {
			if dir.end(i) == org && g.m.SeesEdge(viewer, e) {
				wantEdges = append(wantEdges, g.edgeIDs[i])
			}
		}
		g.sameSet(viewer, where+" "+dir.name, gotEdges, wantEdges)
		if dir.list.TotalCount != len(wantEdges) {
			g.fail(viewer, where+" "+dir.name+" totalCount", dir.list.TotalCount, len(wantEdges))
		}
	}
}

// checkEdge checks a visible edge's ends and remover and returns its row id.
func (g *randomChannel) checkEdge(viewer int64, where string, got *seenEdge) int64 {
	id := rowID(g.t, got.ID)
	i := slices.Index(g.edgeIDs, id)
	if i < 0 {
		g.fail(viewer, fmt.Sprintf("%s: edge #%d is not in the channel", where, id), got, nil)
		return id
	}
	e := g.m.Edges[i]
	var removedBy int64
	if got.RemovedBy != nil {
		removedBy = rowID(g.t, got.RemovedBy.ID)
	}
	if !g.m.SeesEdge(viewer, e) || rowID(g.t, got.Upstream.ID) != e.Up || rowID(g.t, got.Downstream.ID) != e.Down ||
		removedBy != g.removedBy[i] {
		g.fail(viewer, fmt.Sprintf("%s: edge #%d differs (removed by #%d, want #%d)", where, id, removedBy, g.removedBy[i]), got, e)
	}
	return id
}

// checkTenant checks a visible tenant names its customer and returns its
// row id.
func (g *randomChannel) checkTenant(viewer int64, where string, got *seenTenant, customer int64) int64 {
	id := rowID(g.t, got.ID)
	if rowID(g.t, got.Customer.ID) != customer || !g.m.SeesTenantOf(viewer, customer) {
		g.fail(viewer, fmt.Sprintf("%s: tenant #%d", where, id), got, customer)
	}
	return id
}

// checkNotifications: the viewer has one notification per finished tenant
// it requested or is the customer of; each names its tenant only while the
// viewer may still see the tenant's customer.
func (g *randomChannel) checkNotifications(viewer int64, got []struct{ Tenant *seenTenant }) {
	var wantShown []int64
	wantHidden := 0
	for _, t := range g.tenants {
		if !t.Finished || (viewer != t.Customer && viewer != t.Requester) {
			continue
		}
		if g.m.SeesTenantOf(viewer, t.Customer) {
			wantShown = append(wantShown, t.ID)
		} else {
			wantHidden++
		}
	}
	var gotShown []int64
	gotHidden := 0
	for _, n := range got {
		if n.Tenant == nil {
			gotHidden++
			continue
		}
		id := rowID(g.t, n.Tenant.ID)
		i := slices.IndexFunc(g.tenants, func(t tenant) bool { return t.ID == id })
		if i < 0 {
			g.fail(viewer, fmt.Sprintf("notification of tenant #%d, not in the channel", id), n.Tenant, nil)
			continue
		}
		gotShown = append(gotShown, g.checkTenant(viewer, "notifications", n.Tenant, g.tenants[i].Customer))
	}
	g.sameSet(viewer, "notifications' tenants", gotShown, wantShown)
	if gotHidden != wantHidden {
		g.fail(viewer, "notifications whose tenant is hidden", gotHidden, wantHidden)
	}
}

// organizationsIn calls found for every organization global ID in tree, a
// decoded JSON response, with where it was found.
func organizationsIn(tree any, path string, found func(id int64, path string)) {
	switch x := tree.(type) {
	case map[string]any:
		for k, v := range x {
			if s, ok := v.(string); ok && k == "id" {
				if typ, id, err := relay.ParseGlobalID(s); err == nil && typ == relay.TypeOrganization {
					found(id, path)
				}
				continue
			}
			organizationsIn(v, path+"."+k, found)
		}
	case []any:
		for i, v := range x {
			organizationsIn(v, fmt.Sprintf("%s[%d]", path, i), found)
		}
	}
}
