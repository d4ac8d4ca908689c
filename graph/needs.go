package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/loaders"
)

// primeOrganizations primes the loaders with what the operation selects
// below the organizations ids, which the field being resolved returns at
// path below it.
func primeOrganizations(ctx context.Context, ids []int64, path ...string) {
	rc := graphql.GetOperationContext(ctx)
	set, ok := below(rc, graphql.GetFieldContext(ctx).Field.Selections, path...)
	if !ok || len(ids) == 0 {
		return
	}
	loaders.For(ctx).PrimeOrganizations(ctx, ids, *organizationNeeds(rc, set))
}

// primeNodes primes below the organizations among the nodes the field
// being resolved returns.
func primeNodes(ctx context.Context, nodes ...model.Node) {
	var ids []int64
	for _, n := range nodes {
		if o, ok := n.(*domain.Organization); ok && o != nil {
			ids = append(ids, o.ID)
		}
	}
	primeOrganizations(ctx, ids)
}

// primeParties primes below the parties of a page of purchase orders.
func primeParties(ctx context.Context, page []*domain.PurchaseOrder) {
	parties := map[string]func(*domain.PurchaseOrder) *int64{
		"vendor":      func(po *domain.PurchaseOrder) *int64 { return &po.VendorID },
		"customer":    func(po *domain.PurchaseOrder) *int64 { return &po.CustomerID },
		"reseller":    func(po *domain.PurchaseOrder) *int64 { return po.ResellerID },
		"distributor": func(po *domain.PurchaseOrder) *int64 { return po.DistributorID },
	}
	for party, of := range parties {
		var ids []int64
		for _, po := range page {
			if id := of(po); id != nil {
				ids = append(ids, *id)
			}
		}
		primeOrganizations(ctx, ids, "edges", "node", party)
	}
}

// organizationNeeds reads what set selects of an organization's relations.
func organizationNeeds(rc *graphql.OperationContext, set ast.SelectionSet) *loaders.OrgNeeds {
	need := &loaders.OrgNeeds{}
	for _, f := range graphql.CollectFields(rc, set, selectableTypes) {
		switch f.Name {
		case "tenants":
			need.Tenants = true
		case "channelEdges":
			if e, ok := edgeNeeds(rc, f); ok {
				need.Edges = append(need.Edges, e)
			}
		}
	}
	return need
}

// edgeNeeds reads a channelEdges field; ok is false when its arguments are
// invalid, which its resolver then reports.
func edgeNeeds(rc *graphql.OperationContext, f graphql.CollectedField) (e loaders.EdgeNeeds, ok bool) {
	args := f.ArgumentMap(rc.Variables)
	var direction model.EdgeDirection
	var kind *domain.OrganizationKind
	var includeRemoved *bool
	var first *int
	var after *string
	if direction.UnmarshalGQL(args["direction"]) != nil ||
		optional(args["kind"], &kind, func(v any) (domain.OrganizationKind, error) {
			var k domain.OrganizationKind
			return k, k.UnmarshalGQL(v)
		}) != nil ||
		optional(args["includeRemoved"], &includeRemoved, graphql.UnmarshalBoolean) != nil ||
		optional(args["first"], &first, graphql.UnmarshalInt) != nil ||
		optional(args["after"], &after, graphql.UnmarshalString) != nil {
		return e, false
	}
	list, err := edgeList(direction, kind, includeRemoved, first, after)
	if err != nil {
		return e, false
	}
	e = loaders.EdgeNeeds{List: list}
	_, e.Count = below(rc, f.Selections, "totalCount")
	nodes, _ := below(rc, f.Selections, "edges", "node")
	for _, end := range graphql.CollectFields(rc, nodes, selectableTypes) {
		var slot **loaders.OrgNeeds
		switch end.Name {
		case "upstream":
			slot = &e.Upstream
		case "downstream":
			slot = &e.Downstream
		case "removedBy":
			slot = &e.RemovedBy
		default:
			continue
		}
		need := organizationNeeds(rc, end.Selections)
		if *slot != nil {
			need.Tenants = need.Tenants || (*slot).Tenants
			need.Edges = append(need.Edges, (*slot).Edges...)
		}
		*slot = need
	}
	return e, true
}

// optional unmarshals an argument's value into *dst, leaving it nil for
// null or absent, as gqlgen does for the resolver.
func optional[T any](v any, dst **T, unmarshal func(any) (T, error)) error {
	if v == nil {
		return nil
	}
	x, err := unmarshal(v)
	*dst = &x
	return err
}
