package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/loaders"
	"github.com/channelgraph/channelgraph/internal/pricing"
)

// relations is every field whose value a batch loader serves, with how a
// list primes that loader for all its items at once (see prime). A field
// missing here still answers, through its loader, but a list of its parents
// may then cost more statements as it grows.
//
// Organizations come from the TrustedOrganization loader only where the
// parent vouches that the viewer may see them; the reason is beside each.
// A new field that names an organization gets no entry until it has one:
// its resolver uses the checked Organization loader.
var relations = []relation{
	// Trusted: an edge is visible only when the viewer may see both its
	// ends (visibility.RestrictEdges), and its remover is one of them.
	{on: "ChannelEdge", field: "upstream", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return []int64{p.(*domain.ChannelEdge).UpstreamID} }},
	{on: "ChannelEdge", field: "downstream", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return []int64{p.(*domain.ChannelEdge).DownstreamID} }},
	{on: "ChannelEdge", field: "removedBy", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return optional(p.(*domain.ChannelEdge).RemovedByOrganizationID) }},

	// Only for organizations the viewer was allowed to see, as every parent
	// of this table's Organization entries is; the edges are restricted to
	// those whose two ends it may see.
	{on: "Organization", field: "tenants", via: tenantsOf, ids: orgID},
	{on: "Organization", field: "channelEdges", args: channelEdgesArgs, via: edgePages,
		hops: []string{"edges", "node"}, child: "ChannelEdge", ids: orgID},
	{on: "Organization", field: "channelEdges", only: "totalCount", args: channelEdgesFilter, via: edgeCounts, ids: orgID},

	// Trusted: the order was read through the viewer's visibility row, whose
	// parties are visible (SPEC §1.5) and whose distributor is already null
	// for the order's customer (SPEC §3.3).
	{on: "PurchaseOrder", field: "vendor", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return []int64{p.(*domain.PurchaseOrder).VendorID} }},
	{on: "PurchaseOrder", field: "customer", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return []int64{p.(*domain.PurchaseOrder).CustomerID} }},
	{on: "PurchaseOrder", field: "reseller", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return optional(p.(*domain.PurchaseOrder).ResellerID) }},
	{on: "PurchaseOrder", field: "distributor", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return optional(p.(*domain.PurchaseOrder).DistributorID) }},
	{on: "PurchaseOrder", field: "lines", via: lines, child: "PurchaseOrderLine",
		ids: func(p any) []int64 { return []int64{p.(*domain.PurchaseOrder).ID} }},

	// Trusted: a subscription is seen by whoever sees the order that bought
	// it; its customer and partner of record are parties of that order.
	{on: "ProductSubscription", field: "customer", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return []int64{p.(*domain.ProductSubscription).CustomerID} }},
	{on: "ProductSubscription", field: "partnerOfRecord", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return []int64{p.(*domain.ProductSubscription).PartnerOfRecordID} }},
	{on: "ProductSubscription", field: "product", via: products, child: "Product",
		ids: func(p any) []int64 { return []int64{p.(*domain.ProductSubscription).ProductID} }},
	// The price is its price line's, as package pricing lets the viewer see it.
	{on: "ProductSubscription", field: "price", via: linePrices,
		ids: func(p any) []int64 { return []int64{p.(*domain.ProductSubscription).PriceLineID} }},

	// Trusted: an audit entry is read only by its parties (and the platform
	// administrator); its actor is trusted only when it is one of them.
	{on: "AuditEntry", field: "organizations", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return auditParties(p.(*domain.AuditEntry)) }},
	{on: "AuditEntry", field: "actorOrganization", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return auditActorIfParty(p.(*domain.AuditEntry)) }},

	{on: "PurchaseOrderLine", field: "product", via: products, child: "Product",
		ids: func(p any) []int64 { return []int64{p.(*domain.PurchaseOrderLine).ProductID} }},
	// Prices: the lines were read through their order's visibility; which
	// of their prices the viewer sees is package pricing's rule, applied as
	// the loader reads them. One load serves all three fields.
	{on: "PurchaseOrderLine", field: "buyPrice", via: linePrices, ids: lineID},
	{on: "PurchaseOrderLine", field: "sellPrice", via: linePrices, ids: lineID},
	{on: "PurchaseOrderLine", field: "margin", via: linePrices, ids: lineID},
	// List prices: each product's, as package pricing lets the viewer see it.
	{on: "Product", field: "listPrice", args: listPriceArgs, via: listPrices,
		ids: func(p any) []int64 { return []int64{p.(*domain.Product).ID} }},
	{on: "ChannelEdge", field: "priceRules", via: priceRules,
		ids: func(p any) []int64 { return []int64{p.(*domain.ChannelEdge).ID} }},

	// Trusted: the catalog is public, and a vendor is public as the
	// publisher of its products.
	{on: "Product", field: "vendor", via: trustedOrganizations, child: "Organization",
		ids: func(p any) []int64 { return []int64{p.(*domain.Product).VendorID} }},
	// The catalog is public: a product's parent and add-ons are too.
	{on: "Product", field: "parent", via: products, child: "Product",
		ids: func(p any) []int64 { return optional(p.(*domain.Product).ParentID) }},
	{on: "Product", field: "addOns", via: addOns, child: "Product",
		ids: func(p any) []int64 { return []int64{p.(*domain.Product).ID} }},
	{on: "Product", field: "industries", via: industriesOf,
		ids: func(p any) []int64 { return []int64{p.(*domain.Product).ID} }},
}

// A relation is one entry of the table: the field on its parent type, the
// loader that serves it and the ids each parent asks of that loader.
type relation struct {
	on, field string
	// only, when set, is a field below this one that must be selected for
	// the relation to be primed (a connection's totalCount).
	only string
	// args turns the field's arguments, unmarshalled by gqlgen, into the
	// part of the loader's key they decide; nil for a field without any.
	args func(map[string]any) (any, error)
	via  *batch
	ids  func(parent any) []int64
	// hops lead from the field to the objects it loads (a connection's
	// "edges", "node"); child is their type, "" when nothing below them is
	// primed.
	hops  []string
	child string
}

// A batch is one loader as priming sees it: load primes it with ids (and
// the field's arguments) in one statement and returns, by id, what it
// loaded. byID loads objects by id: those wait to load with every other
// such id of the list (see level).
type batch struct {
	byID bool
	load func(ctx context.Context, l *loaders.Loaders, args any, ids []int64) (map[int64][]any, error)
}

var (
	trustedOrganizations = &batch{byID: true, load: func(ctx context.Context, l *loaders.Loaders, _ any, ids []int64) (map[int64][]any, error) {
		return each(l.PrimeTrustedOrganizations(ctx, ids))
	}}
	products = &batch{byID: true, load: func(ctx context.Context, l *loaders.Loaders, _ any, ids []int64) (map[int64][]any, error) {
		return each(l.PrimeProducts(ctx, ids))
	}}
	addOns = &batch{load: func(ctx context.Context, l *loaders.Loaders, _ any, ids []int64) (map[int64][]any, error) {
		return all(l.PrimeAddOns(ctx, ids))
	}}
	industriesOf = &batch{load: func(ctx context.Context, l *loaders.Loaders, _ any, ids []int64) (map[int64][]any, error) {
		return all(l.PrimeIndustries(ctx, ids))
	}}
	lines = &batch{load: func(ctx context.Context, l *loaders.Loaders, _ any, ids []int64) (map[int64][]any, error) {
		return all(l.PrimeLines(ctx, ids))
	}}
	linePrices = &batch{byID: true, load: func(ctx context.Context, l *loaders.Loaders, _ any, ids []int64) (map[int64][]any, error) {
		return each(l.PrimeLinePrices(ctx, ids))
	}}
	listPrices = &batch{load: func(ctx context.Context, l *loaders.Loaders, pair any, ids []int64) (map[int64][]any, error) {
		found, err := l.PrimeListPrices(ctx, pair.(pricing.PricePair), ids)
		out := make(map[int64][]any, len(found))
		for id, m := range found {
			out[id] = []any{m}
		}
		return out, err
	}}
	priceRules = &batch{load: func(ctx context.Context, l *loaders.Loaders, _ any, ids []int64) (map[int64][]any, error) {
		return all(l.PrimePriceRules(ctx, ids))
	}}
	tenantsOf = &batch{load: func(ctx context.Context, l *loaders.Loaders, _ any, ids []int64) (map[int64][]any, error) {
		return all(l.PrimeTenants(ctx, ids))
	}}
	edgePages = &batch{load: func(ctx context.Context, l *loaders.Loaders, list any, ids []int64) (map[int64][]any, error) {
		pages, err := l.PrimeChannelEdges(ctx, list.(loaders.EdgeList), ids)
		out := make(map[int64][]any, len(pages))
		for id, p := range pages {
			out[id] = anys(p.Nodes)
		}
		return out, err
	}}
	edgeCounts = &batch{load: func(ctx context.Context, l *loaders.Loaders, list any, ids []int64) (map[int64][]any, error) {
		_, err := l.PrimeChannelEdgeCounts(ctx, list.(loaders.EdgeList).Filter, ids)
		return nil, err
	}}
)

// channelEdgesArgs reads a channelEdges field's arguments as its resolver
// gets them; channelEdgesFilter keeps only what its count depends on.
func channelEdgesArgs(args map[string]any) (any, error) {
	return edgeList(args["direction"].(model.EdgeDirection), args["kind"].(*domain.OrganizationKind),
		args["includeRemoved"].(*bool), args["first"].(*int), args["after"].(*string),
		args["last"].(*int), args["before"].(*string))
}

func channelEdgesFilter(args map[string]any) (any, error) {
	list, err := channelEdgesArgs(args)
	if err != nil {
		return nil, err
	}
	return loaders.EdgeList{Filter: list.(loaders.EdgeList).Filter}, nil
}

// listPriceArgs reads a listPrice field's arguments as its resolver gets
// them.
func listPriceArgs(args map[string]any) (any, error) {
	term, _ := args["term"].(*domain.Term)
	cycle, _ := args["billingCycle"].(*domain.BillingCycle)
	return pricing.PricePair{}.Of(term, cycle), nil
}

// fieldArgs unmarshals a selected field's arguments with gqlgen's own
// generated code (variables, defaults, coercion), as its resolver will get
// them. Only fields the table gives args need an entry.
func fieldArgs(ctx context.Context, rc *graphql.OperationContext, typ string, f graphql.CollectedField) (map[string]any, error) {
	ec := newExecutionContext(rc, &executableSchema{}, nil)
	raw := f.ArgumentMap(rc.Variables)
	switch typ + "." + f.Name {
	case "Organization.channelEdges":
		return ec.field_Organization_channelEdges_args(ctx, raw)
	case "Product.listPrice":
		return ec.field_Product_listPrice_args(ctx, raw)
	}
	return raw, nil
}

// prime primes the loaders with what the operation selects below the
// field being resolved, which returns parents (of type typ) at path below
// it. A load that fails primes nothing below it: those fields then load
// through the loaders and report the error where it belongs; prime returns
// the first such error for a caller that would rather fail at once.
func prime[T any](ctx context.Context, typ string, parents []T, path ...string) error {
	rc := graphql.GetOperationContext(ctx)
	set, ok := below(rc, graphql.GetFieldContext(ctx).Field.Selections, path...)
	if !ok || len(parents) == 0 {
		return nil
	}
	p := &primer{ctx: ctx, rc: rc, l: loaders.For(ctx), waiting: map[*batch]map[int64]bool{}}
	p.level(typ, anys(parents), set)
	for b, ids := range p.waiting {
		_, err := b.load(ctx, p.l, nil, keys(ids))
		p.fail(err)
	}
	return p.err
}

// primeNodes primes below each node the field being resolved returns, by
// its type.
func primeNodes(ctx context.Context, nodes ...model.Node) {
	byType := map[string][]any{}
	for _, n := range nodes {
		switch n := n.(type) {
		case *domain.Organization:
			if n != nil {
				byType["Organization"] = append(byType["Organization"], n)
			}
		case *domain.ChannelEdge:
			byType["ChannelEdge"] = append(byType["ChannelEdge"], n)
		case *domain.PurchaseOrder:
			byType["PurchaseOrder"] = append(byType["PurchaseOrder"], n)
		case *domain.Product:
			byType["Product"] = append(byType["Product"], n)
		}
	}
	for typ, of := range byType {
		_ = prime(ctx, typ, of)
	}
}

type primer struct {
	ctx context.Context
	rc  *graphql.OperationContext
	l   *loaders.Loaders
	// waiting holds the ids of by-id loads that nothing below them primes:
	// they load at the end, each loader once for the whole list.
	waiting map[*batch]map[int64]bool
	err     error
}

func (p *primer) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// use is one relation as the operation selects it below a level.
type use struct {
	r    *relation
	args any
	set  ast.SelectionSet // what is selected below the objects it loads
	ids  []int64
}

type group struct {
	via  *batch
	args any
}

// level primes the relations selected on parents: one load per loader and
// arguments for all of them, then, for each relation, the level below its
// objects.
func (p *primer) level(typ string, parents []any, set ast.SelectionSet) {
	var uses []use
	for _, f := range graphql.CollectFields(p.rc, set, []string{typ, "Node"}) {
		var args map[string]any
		for i := range relations {
			r := &relations[i]
			if r.on != typ || r.field != f.Name {
				continue
			}
			if r.only != "" {
				if _, ok := below(p.rc, f.Selections, r.only); !ok {
					continue
				}
			}
			u := use{r: r}
			if r.args != nil {
				var err error
				if args == nil {
					if args, err = fieldArgs(p.ctx, p.rc, typ, f); err != nil {
						break // the field's resolver reports its arguments
					}
				}
				if u.args, err = r.args(args); err != nil {
					continue
				}
			}
			u.set, _ = below(p.rc, f.Selections, r.hops...)
			for _, parent := range parents {
				u.ids = append(u.ids, r.ids(parent)...)
			}
			uses = append(uses, u)
		}
	}
	// Objects by id wait for the end of the list, unless something below
	// them is primed (which needs them now) or the same load runs now anyway.
	now := map[group]map[int64]bool{}
	for _, u := range uses {
		if !u.r.via.byID || p.primesBelow(u) {
			add(now, group{u.r.via, u.args}, nil)
		}
	}
	for _, u := range uses {
		if g := (group{u.r.via, u.args}); now[g] != nil {
			add(now, g, u.ids)
		} else {
			add(p.waiting, u.r.via, u.ids)
		}
	}
	loaded := map[group]map[int64][]any{}
	for g, ids := range now {
		if len(ids) == 0 {
			continue
		}
		got, err := g.via.load(p.ctx, p.l, g.args, keys(ids))
		if err != nil {
			p.fail(err)
			continue
		}
		loaded[g] = got
	}
	for _, u := range uses {
		got, ok := loaded[group{u.r.via, u.args}]
		if !ok || !p.primesBelow(u) {
			continue
		}
		var children []any
		for _, id := range unique(u.ids) {
			children = append(children, got[id]...)
		}
		p.level(u.r.child, children, u.set)
	}
}

// primesBelow reports whether the operation selects, below the objects u
// loads, a relation of the table.
func (p *primer) primesBelow(u use) bool {
	if u.r.child == "" || len(u.set) == 0 {
		return false
	}
	for _, f := range graphql.CollectFields(p.rc, u.set, []string{u.r.child, "Node"}) {
		for _, r := range relations {
			if r.on == u.r.child && r.field == f.Name {
				return true
			}
		}
	}
	return false
}

func add[K comparable](sets map[K]map[int64]bool, k K, ids []int64) {
	if sets[k] == nil {
		sets[k] = map[int64]bool{}
	}
	for _, id := range ids {
		sets[k][id] = true
	}
}

func keys(set map[int64]bool) []int64 {
	out := make([]int64, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	return out
}

func unique(ids []int64) []int64 {
	set := make(map[int64]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return keys(set)
}

func lineID(p any) []int64 { return []int64{p.(*domain.PurchaseOrderLine).ID} }

func orgID(p any) []int64 { return []int64{p.(*domain.Organization).ID} }

func optional(id *int64) []int64 {
	if id == nil {
		return nil
	}
	return []int64{*id}
}

func anys[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// each and all adapt a loader's results to what a batch returns: the
// objects below each id.
func each[V any](found map[int64]V, err error) (map[int64][]any, error) {
	out := make(map[int64][]any, len(found))
	for id, v := range found {
		out[id] = []any{v}
	}
	return out, err
}

func all[V any](found map[int64][]V, err error) (map[int64][]any, error) {
	out := make(map[int64][]any, len(found))
	for id, v := range found {
		out[id] = anys(v)
	}
	return out, err
}
