package visibility_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/tenants"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
	"github.com/channelgraph/channelgraph/internal/visibility/model"
)

var (
	graphsFlag = flag.Int("graphs", defaultGraphs, "random channel graphs per database in TestVisibilityMatchesModel")
	seedFlag   = flag.Uint64("seed", 0, "first seed of TestVisibilityMatchesModel (0: from the clock)")
)

// TestVisibilityMatchesModel builds many random channels — random tiers,
// direct and indirect orders, drafts, random grants, invited and removed
// edges — and checks, for every organization as viewer, through the real
// GraphQL handler, that the orders it lists, looks up, counts and filters,
// and the organizations it lists, are exactly the reference model's, with no
// distributor for a customer (SPEC §1.5, §3.2, §3.3). Graphs share one
// database; their organizations are disjoint, so they cannot see each other.
func TestVisibilityMatchesModel(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano() % 1e9)
	}
	t.Logf("first seed %d; reproduce one graph with: go test ./internal/visibility -run TestVisibilityMatchesModel -seed S -graphs 1", seed)
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := testapi.New(t, db)
		for i := 0; i < *graphsFlag; i++ {
			g := buildRandomChannel(t, db, seed+uint64(i))
			g.check(a)
			g.checkOrganizationFields(a)
			if t.Failed() {
				return
			}
		}
	})
}

// randomChannel is one random channel, in the database and in the model.
type randomChannel struct {
	t       *testing.T
	seed    uint64
	rng     *rand.Rand
	ch      *channel.Service
	ord     *orders.Service
	ten     *tenants.Service
	admin   context.Context
	m       model.Channel
	names   map[int64]string
	edgeIDs []int64 // database id of m.Edges[i]
	tokens  map[int64]string
	// What the model does not need but the organization fields show.
	removedBy map[int]int64 // the organization that removed m.Edges[i]
	tenants   []tenant
	products  []product
	log       []string // what was done, for the reproduction
	// clock is the orders' clock: it moves on a minute at most calls and
	// stands still at the others, so orders tie on their times. It starts
	// at start, an hour after the previous graph's (fewer than 60 calls).
	clock, start time.Time
	clockRNG     *rand.Rand
}

func buildRandomChannel(t *testing.T, db *bun.DB, seed uint64) *randomChannel {
	g := &randomChannel{
		t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)),
		ch: channel.New(db), ord: orders.New(db), ten: tenants.New(db),
		admin:     domain.WithViewer(context.Background(), &domain.Viewer{IsPlatformAdmin: true}),
		m:         model.Channel{Kinds: map[int64]domain.OrganizationKind{}},
		names:     map[int64]string{},
		tokens:    map[int64]string{},
		removedBy: map[int]int64{},
		start:     time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seed%1_000_000) * time.Hour),
		clockRNG:  rand.New(rand.NewPCG(seed, 0xc10c)),
	}
	g.clock = g.start
	g.tokens[0] = testapi.AdminToken
	g.ord.Now = func() time.Time {
		if g.clockRNG.IntN(3) > 0 {
			g.clock = g.clock.Add(time.Minute)
		}
		return g.clock
	}
	counts := map[domain.OrganizationKind]int{
		domain.KindVendor: 1 + g.rng.IntN(2), domain.KindDistributor: g.rng.IntN(3),
		domain.KindReseller: 1 + g.rng.IntN(3), domain.KindCustomer: 1 + g.rng.IntN(4),
	}
	for _, kind := range []domain.OrganizationKind{domain.KindVendor, domain.KindDistributor, domain.KindReseller, domain.KindCustomer} {
		for i := 0; i < counts[kind]; i++ {
			org, err := g.ch.CreateOrganization(g.admin, channel.CreateOrganizationInput{
				Name: fmt.Sprintf("%s %d of graph %d", kind, i+1, seed), Kind: kind})
			g.noError(err, "create organization")
			g.m.Kinds[org.ID] = kind
			g.names[org.ID] = fmt.Sprintf("%s%d", kind[:1], i+1)
			token, err := auth.IssueForSetup(context.Background(), db, org.ID, domain.RoleOwner, "test")
			g.noError(err, "issue token")
			g.tokens[org.ID] = token
			if kind == domain.KindVendor {
				p, err := catalog.New(db).CreateProduct(g.admin, catalog.CreateProductInput{
					VendorID: org.ID, SKU: "SKU-1", Name: "Product", Type: domain.ProductLicense})
				g.noError(err, "create product")
				g.products = append(g.products, product{ID: p.ID, Vendor: org.ID})
			}
		}
	}
	for _, up := range g.orgs() {
		for _, down := range g.orgs() {
			if domain.AllowedEdge(g.m.Kinds[up], g.m.Kinds[down]) && g.rng.Float64() < 0.6 {
				g.createEdge(up, down)
			}
		}
	}
	for i := range g.m.Edges {
		if g.rng.Float64() < 0.5 {
			g.setView(i, true)
		}
	}
	for n := 3 + g.rng.IntN(14); n > 0; n-- {
		g.placeOrder()
	}
	for n := g.rng.IntN(6); n > 0 && len(g.m.Orders) > 0; n-- {
		g.moveOrder(g.rng.IntN(len(g.m.Orders)))
	}
	// Tenants before the channel changes, so that some requesters lose
	// sight of the customer (and of its tenant in their notifications).
	for _, c := range g.ofKind(domain.KindCustomer) {
		for n := g.rng.IntN(3); n > 0; n-- {
			g.createTenant(c)
		}
	}
	// Change the channel under the orders: grants, removals, acceptances, re-invitations.
	for i := range g.m.Edges {
		switch r := g.rng.Float64(); {
		case r < 0.25:
			g.setView(i, !g.m.Edges[i].View)
		case r < 0.35:
			g.removeEdge(i)
		case r < 0.45 && g.m.Edges[i].Status == domain.EdgeInvited:
			g.acceptEdge(i)
		}
	}
	for i := range g.m.Edges {
		if e := g.m.Edges[i]; e.Status == domain.EdgeRemoved && g.rng.Float64() < 0.4 {
			g.createEdge(e.Up, e.Down)
		}
	}
	return g
}

func (g *randomChannel) orgs() []int64 {
	ids := make([]int64, 0, len(g.m.Kinds))
	for id := range g.m.Kinds {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (g *randomChannel) ofKind(kind domain.OrganizationKind) []int64 {
	var out []int64
	for _, id := range g.orgs() {
		if g.m.Kinds[id] == kind {
			out = append(out, id)
		}
	}
	return out
}

func (g *randomChannel) as(org int64) context.Context {
	return domain.WithViewer(context.Background(), &domain.Viewer{OrganizationID: org, Role: domain.RoleOwner})
}

func (g *randomChannel) noError(err error, what string) {
	if err != nil {
		g.t.Fatalf("seed %d: %s: %v\n%s", g.seed, what, err, g.reproduction())
	}
}

// expect checks err against what the model predicts: nil when ok, else an
// error with one of the codes.
func (g *randomChannel) expect(err error, ok bool, what string, codes ...domain.Code) bool {
	g.t.Helper()
	switch {
	case ok && err != nil:
		g.t.Fatalf("seed %d: %s: the model expects success, got %v\n%s", g.seed, what, err, g.reproduction())
	case !ok && err == nil:
		g.t.Fatalf("seed %d: %s: the model expects a refusal (%v), it succeeded\n%s", g.seed, what, codes, g.reproduction())
	case !ok && !slices.Contains(codes, domain.ErrorCode(err)):
		g.t.Fatalf("seed %d: %s: expected one of %v, got %v\n%s", g.seed, what, codes, err, g.reproduction())
	}
	g.log = append(g.log, fmt.Sprintf("%s → %v", what, errText(err)))
	return err == nil
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return string(domain.ErrorCode(err))
}

func (g *randomChannel) activeEdge(up, down int64) bool {
	for _, e := range g.m.Edges {
		if e.Up == up && e.Down == down && e.Status == domain.EdgeActive {
			return true
		}
	}
	return false
}

func (g *randomChannel) currentEdge(up, down int64) bool {
	for _, e := range g.m.Edges {
		if e.Up == up && e.Down == down && e.Status != domain.EdgeRemoved {
			return true
		}
	}
	return false
}

// createEdge creates up→down as the platform administrator (ACTIVE) or as
// the upstream's OWNER (INVITED; refused unless it may see the downstream).
func (g *randomChannel) createEdge(up, down int64) {
	byAdmin := g.rng.Float64() < 0.75
	ctx, status := g.admin, domain.EdgeActive
	ok := !g.currentEdge(up, down)
	if !byAdmin {
		ctx, status = g.as(up), domain.EdgeInvited
		ok = ok && g.m.VisibleOrganizations(up)[down]
	}
	e, err := g.ch.CreateChannelEdge(ctx, up, down)
	what := fmt.Sprintf("create edge %s→%s (admin=%v)", g.names[up], g.names[down], byAdmin)
	if g.expect(err, ok, what, domain.CodeNotFound, domain.CodeConflict) {
		g.m.Edges = append(g.m.Edges, model.Edge{Up: up, Down: down, Status: status})
		g.edgeIDs = append(g.edgeIDs, e.ID)
	}
}

func (g *randomChannel) setView(i int, on bool) {
	e := g.m.Edges[i]
	ctx := g.admin
	if g.rng.IntN(2) == 0 {
		ctx = g.as(e.Up)
	}
	_, err := g.ch.SetPurchaseOrderView(ctx, g.edgeIDs[i], on)
	what := fmt.Sprintf("set view %s→%s #%d to %v", g.names[e.Up], g.names[e.Down], g.edgeIDs[i], on)
	if g.expect(err, e.Status != domain.EdgeRemoved, what, domain.CodeConflict, domain.CodeNotFound) {
		g.m.Edges[i].View = on
	}
}

func (g *randomChannel) removeEdge(i int) {
	e := g.m.Edges[i]
	actor := []int64{e.Up, e.Down}[g.rng.IntN(2)]
	_, err := g.ch.RemoveChannelEdge(g.as(actor), g.edgeIDs[i], "random test", true)
	what := fmt.Sprintf("remove edge %s→%s #%d as %s", g.names[e.Up], g.names[e.Down], g.edgeIDs[i], g.names[actor])
	if g.expect(err, e.Status != domain.EdgeRemoved, what, domain.CodeConflict, domain.CodeNotFound) {
		g.m.Edges[i].Status = domain.EdgeRemoved
		g.removedBy[i] = actor
	}
}

func (g *randomChannel) acceptEdge(i int) {
	e := g.m.Edges[i]
	_, err := g.ch.AcceptChannelEdge(g.as(e.Down), g.edgeIDs[i])
	what := fmt.Sprintf("accept edge %s→%s #%d", g.names[e.Up], g.names[e.Down], g.edgeIDs[i])
	if g.expect(err, e.Status == domain.EdgeInvited, what, domain.CodeConflict) {
		g.m.Edges[i].Status = domain.EdgeActive
	}
}

func (g *randomChannel) pick(kind domain.OrganizationKind) int64 {
	ids := g.ofKind(kind)
	if len(ids) == 0 {
		return 0
	}
	return ids[g.rng.IntN(len(ids))]
}

// placeOrder records a random order as a random party (or the platform
// administrator); the model predicts whether the chain and the recorder's
// view of the parties allow it.
func (g *randomChannel) placeOrder() {
	o := model.Order{Vendor: g.pick(domain.KindVendor), Customer: g.pick(domain.KindCustomer), Status: domain.POPlaced, Placed: true}
	switch shape := g.rng.IntN(3); {
	case shape >= 1:
		o.Reseller = g.pick(domain.KindReseller)
		if shape == 2 {
			o.Distributor = g.pick(domain.KindDistributor)
		}
	}
	recorders := []int64{0, o.Vendor, o.Reseller, o.Distributor}
	o.RecordedBy = recorders[g.rng.IntN(len(recorders))]
	draft := g.rng.Float64() < 0.12
	if draft {
		o.Status, o.Placed = domain.PODraft, false
	}
	ctx := g.admin
	ok := true
	if o.RecordedBy != 0 {
		ctx = g.as(o.RecordedBy)
		sees := g.m.VisibleOrganizations(o.RecordedBy)
		for _, party := range []int64{o.Distributor, o.Reseller, o.Customer} { // any vendor may be named
			ok = ok && (party == 0 || sees[party])
		}
	}
	if !draft {
		ok = ok && g.chainActive(o)
	}
	// Prefixes that a collation other than byte order would sort differently.
	prefix := []string{"G", "po-", "PO", "Po_", "g"}[g.clockRNG.IntN(5)]
	in := orders.CreateInput{Number: fmt.Sprintf("%s%d-%d", prefix, g.seed, len(g.log)), VendorID: o.Vendor, CustomerID: o.Customer,
		Lines: []orders.LineInput{{SKU: "SKU-1", Quantity: 1}}, Draft: draft}
	if o.Reseller != 0 {
		in.ResellerID = &o.Reseller
	}
	if o.Distributor != 0 {
		in.DistributorID = &o.Distributor
	}
	rec, err := g.ord.CreatePurchaseOrder(ctx, in)
	what := fmt.Sprintf("place order V=%s D=%s R=%s C=%s by %s draft=%v", g.names[o.Vendor], g.name(o.Distributor),
		g.name(o.Reseller), g.names[o.Customer], g.name(o.RecordedBy), draft)
	if g.expect(err, ok, what, domain.CodeNotFound, domain.CodeInvalid) {
		o.ID, o.Number, o.CreatedAt, o.UpdatedAt = rec.ID, in.Number, g.clock, g.clock
		g.m.Orders = append(g.m.Orders, o)
		g.log[len(g.log)-1] += fmt.Sprintf(" #%d", o.ID)
	}
}

func (g *randomChannel) chainActive(o model.Order) bool {
	switch {
	case o.Distributor != 0:
		return g.activeEdge(o.Vendor, o.Distributor) && g.activeEdge(o.Distributor, o.Reseller) && g.activeEdge(o.Reseller, o.Customer)
	case o.Reseller != 0:
		return g.activeEdge(o.Vendor, o.Reseller) && g.activeEdge(o.Reseller, o.Customer)
	}
	return g.activeEdge(o.Vendor, o.Customer)
}

// moveOrder moves an order one step forward as the platform administrator.
func (g *randomChannel) moveOrder(i int) {
	o := g.m.Orders[i]
	options := model.Moves[o.Status]
	if len(options) == 0 {
		return
	}
	next := options[g.rng.IntN(len(options))]
	ok := !(o.Status == domain.PODraft && next == domain.POPlaced) || g.chainActive(o)
	_, err := g.ord.UpdatePurchaseOrderStatus(g.admin, o.ID, next)
	if g.expect(err, ok, fmt.Sprintf("move order #%d %s→%s", o.ID, o.Status, next), domain.CodeInvalid) {
		g.m.Orders[i].Status, g.m.Orders[i].UpdatedAt = next, g.clock
		g.m.Orders[i].Placed = o.Placed || next == domain.POPlaced
	}
}

func (g *randomChannel) name(id int64) string {
	if id == 0 {
		return "-"
	}
	return g.names[id]
}

// reproduction describes the channel as built so far, readably.
func (g *randomChannel) reproduction() string {
	var b strings.Builder
	fmt.Fprintf(&b, "reproduce: go test ./internal/visibility -run TestVisibilityMatchesModel -seed %d -graphs 1\n", g.seed)
	b.WriteString("organizations:")
	for _, id := range g.orgs() {
		fmt.Fprintf(&b, " %s=#%d", g.names[id], id)
	}
	b.WriteString("\nedges:\n")
	for i, e := range g.m.Edges {
		fmt.Fprintf(&b, "  #%d %s→%s %s view=%v\n", g.edgeIDs[i], g.names[e.Up], g.names[e.Down], e.Status, e.View)
	}
	b.WriteString("orders:\n")
	for _, o := range g.m.Orders {
		fmt.Fprintf(&b, "  #%d V=%s D=%s R=%s C=%s %s recorded by %s\n", o.ID, g.names[o.Vendor], g.name(o.Distributor),
			g.name(o.Reseller), g.names[o.Customer], o.Status, g.name(o.RecordedBy))
	}
	b.WriteString("steps:\n  " + strings.Join(g.log, "\n  "))
	return b.String()
}

type seenOrder struct {
	ID          string
	Status      string
	Vendor      orgRef
	Customer    orgRef
	Reseller    *orgRef
	Distributor *orgRef
}

const checkQuery = `query($first: Int, $after: String, $ids: [ID!]!, $one: ID!, $dist: ID, $status: PurchaseOrderStatus) {
  list: purchaseOrders(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ...po } } }
  byDistributor: purchaseOrders(first: 100, filter: {distributorId: $dist}) { totalCount edges { node { id } } }
  byStatus: purchaseOrders(first: 100, filter: {status: $status}) { totalCount edges { node { id } } }
  lookup: nodes(ids: $ids) { ... on PurchaseOrder { ...po } }
  one: purchaseOrder(id: $one) { ...po }
  organizations(first: 100) { totalCount edges { node { id } } }
}
fragment po on PurchaseOrder { id status vendor { id } customer { id } reseller { id } distributor { id } }`

type connection[T any] struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage bool
		EndCursor   *string
	}
	Edges []struct{ Node T }
}

// check compares every viewer's answers with the model.
func (g *randomChannel) check(a *testapi.Client) {
	var ids []string
	for _, o := range g.m.Orders {
		ids = append(ids, gidOf(relay.TypePurchaseOrder, o.ID))
	}
	if len(ids) == 0 {
		ids = []string{gidOf(relay.TypePurchaseOrder, 1<<40)}
	}
	for _, viewer := range g.orgs() {
		want := g.m.VisibleOrders(viewer)
		dist := g.pick(domain.KindDistributor)
		status := []string{"DRAFT", "PLACED", "PROCESSING", "COMPLETED", "CANCELLED", "FAILED"}[g.rng.IntN(6)]
		vars := map[string]any{"first": 1 + g.rng.IntN(len(ids)+2), "ids": ids, "one": ids[g.rng.IntN(len(ids))], "status": status}
		if dist != 0 {
			vars["dist"] = gidOf(relay.TypeOrganization, dist)
		}
		var got struct {
			List          connection[seenOrder]
			ByDistributor connection[struct{ ID string }]
			ByStatus      connection[struct{ ID string }]
			Lookup        []*seenOrder
			One           *seenOrder
			Organizations connection[struct{ ID string }]
		}
		a.Must(g.tokens[viewer], checkQuery, vars, &got)
		listed := got.List.Edges
		for page := got.List; page.PageInfo.HasNextPage; {
			if len(listed) > len(g.m.Orders) {
				g.fail(viewer, "pagination does not end", len(listed), len(g.m.Orders))
			}
			page = connection[seenOrder]{}
			var next struct{ List connection[seenOrder] }
			a.Must(g.tokens[viewer], checkQuery, map[string]any{"first": vars["first"], "after": got.List.PageInfo.EndCursor, "ids": ids, "one": ids[0]}, &next)
			page, got.List = next.List, next.List
			listed = append(listed, page.Edges...)
		}
		var listedIDs []int64
		for _, e := range listed {
			listedIDs = append(listedIDs, g.compare(viewer, want, &e.Node, "list"))
		}
		if !slices.IsSortedFunc(listedIDs, func(x, y int64) int { return int(y - x) }) {
			g.fail(viewer, "list is not newest first", listedIDs, nil)
		}
		g.sameSet(viewer, "list", listedIDs, keys(want))
		g.checkListing(a, viewer)
		g.checkOtherListsBothWays(a, viewer)
		if got.List.TotalCount != len(want) {
			g.fail(viewer, "totalCount", got.List.TotalCount, len(want))
		}
		for i, o := range g.m.Orders {
			if _, visible := want[o.ID]; visible != (got.Lookup[i] != nil) {
				g.fail(viewer, fmt.Sprintf("nodes lookup of #%d", o.ID), got.Lookup[i] != nil, visible)
			} else if visible {
				g.compare(viewer, want, got.Lookup[i], "nodes")
			}
		}
		_, oneID, _ := relay.ParseGlobalID(vars["one"].(string))
		if _, visible := want[oneID]; visible != (got.One != nil) {
			g.fail(viewer, fmt.Sprintf("purchaseOrder(#%d)", oneID), got.One != nil, visible)
		} else if visible {
			g.compare(viewer, want, got.One, "purchaseOrder")
		}
		var wantByDist, wantByStatus []int64
		for id, s := range want {
			if dist != 0 && s.Distributor == dist && s.DistributorShown {
				wantByDist = append(wantByDist, id)
			}
			if string(s.Status) == status {
				wantByStatus = append(wantByStatus, id)
			}
		}
		if dist == 0 {
			wantByDist = keys(want) // a null filter filters nothing
		}
		g.sameSet(viewer, "filter by distributor", nodeIDs(g.t, got.ByDistributor), wantByDist)
		if got.ByDistributor.TotalCount != len(wantByDist) {
			g.fail(viewer, "totalCount filtered by distributor", got.ByDistributor.TotalCount, len(wantByDist))
		}
		g.sameSet(viewer, "filter by status "+status, nodeIDs(g.t, got.ByStatus), wantByStatus)
		wantOrgs := keys(g.m.VisibleOrganizations(viewer))
		g.sameSet(viewer, "organizations", nodeIDs(g.t, got.Organizations), wantOrgs)
		if got.Organizations.TotalCount != len(wantOrgs) {
			g.fail(viewer, "organizations totalCount", got.Organizations.TotalCount, len(wantOrgs))
		}
	}
	g.checkListing(a, 0) // the platform administrator, who reads purchase_orders directly
}

// compare checks one order as the viewer got it against the model and
// returns its row id.
func (g *randomChannel) compare(viewer int64, want map[int64]model.Seen, got *seenOrder, where string) int64 {
	id := rowID(g.t, got.ID)
	w, ok := want[id]
	if !ok {
		g.fail(viewer, where+fmt.Sprintf(": #%d is not visible in the model", id), got, nil)
		return id
	}
	gotDist := int64(0)
	if got.Distributor != nil {
		gotDist = rowID(g.t, got.Distributor.ID)
	}
	wantDist := w.Distributor
	if !w.DistributorShown {
		wantDist = 0
	}
	gotReseller := int64(0)
	if got.Reseller != nil {
		gotReseller = rowID(g.t, got.Reseller.ID)
	}
	if got.Status != string(w.Status) || gotDist != wantDist || gotReseller != w.Reseller ||
		rowID(g.t, got.Vendor.ID) != w.Vendor || rowID(g.t, got.Customer.ID) != w.Customer {
		g.fail(viewer, where+fmt.Sprintf(": order #%d differs (distributor got #%d want #%d)", id, gotDist, wantDist), got, w)
	}
	return id
}

func (g *randomChannel) sameSet(viewer int64, what string, got, want []int64) {
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		g.fail(viewer, what, got, want)
	}
}

func (g *randomChannel) fail(viewer int64, what string, got, want any) {
	g.t.Helper()
	g.t.Fatalf("seed %d, viewer %s (#%d, %s): %s\n got: %v\nwant: %v\n%s", g.seed, g.names[viewer], viewer,
		g.m.Kinds[viewer], what, describe(got), describe(want), g.reproduction())
}

func keys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func nodeIDs(tb testing.TB, c connection[struct{ ID string }]) []int64 {
	var out []int64
	for _, e := range c.Edges {
		out = append(out, rowID(tb, e.Node.ID))
	}
	return out
}

type orgRef struct {
	ID string `json:"id"`
}

func rowID(tb testing.TB, gid string) int64 { return testapi.RowID(tb, gid) }

func gidOf(typeName string, id int64) string { return relay.GlobalID(typeName, id) }

func describe(v any) string { return testapi.Describe(v) }
