package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/loaders"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// payloadErrors splits a mutation's error: business-rule refusals become the
// payload's userErrors; anything else stays a request error.
func payloadErrors(err error) ([]*model.UserError, error) {
	if err == nil {
		return []*model.UserError{}, nil
	}
	if !domain.IsBusinessRule(err) {
		return nil, err
	}
	e := asDomainError(err)
	ue := &model.UserError{Message: e.Message, Code: string(e.Code)}
	if e.Field != "" {
		ue.Field = &e.Field
	}
	return []*model.UserError{ue}, nil
}

func asDomainError(err error) *domain.Error {
	if e, ok := err.(*domain.Error); ok {
		return e
	}
	return &domain.Error{Code: domain.ErrorCode(err), Message: err.Error()}
}

// orNull turns NOT_FOUND into a null result: a lookup of something missing
// or hidden answers null, never an error that could reveal it (SPEC §1.4).
func orNull[T any](v *T, err error) (*T, error) {
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return nil, nil
	}
	return v, err
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func organization(ctx context.Context, id int64) (*domain.Organization, error) {
	return loaders.For(ctx).Organization.Load(ctx, id)()
}

func optionalOrganization(ctx context.Context, id *int64) (*domain.Organization, error) {
	if id == nil {
		return nil, nil
	}
	return organization(ctx, *id)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// nodes looks up global IDs, of any types, as the viewer may see them: one
// query per type named, whatever the number of ids. An id of an unknown
// type, or of an object the viewer may not see, gives null in its place.
func (r *queryResolver) nodes(ctx context.Context, gids []string) ([]model.Node, error) {
	types := make([]string, len(gids))
	ids := make([]int64, len(gids))
	byType := map[string][]int64{}
	for i, gid := range gids {
		typeName, id, err := relay.ParseGlobalID(gid)
		if err != nil {
			return nil, err
		}
		types[i], ids[i] = typeName, id
		byType[typeName] = append(byType[typeName], id)
	}
	found := map[string]map[int64]model.Node{}
	for typeName, of := range byType {
		var err error
		switch typeName {
		case relay.TypeOrganization:
			found[typeName], err = asNodes(ctx, of, r.Channel.VisibleOrganizations)
		case relay.TypeChannelEdge:
			found[typeName], err = asNodes(ctx, of, r.Channel.ChannelEdgesByID)
		case relay.TypeProduct:
			found[typeName], err = asNodes(ctx, of, r.Catalog.ProductsByID)
		case relay.TypePurchaseOrder:
			found[typeName], err = asNodes(ctx, of, r.Orders.PurchaseOrdersByID)
		}
		if err != nil {
			return nil, err
		}
	}
	out := make([]model.Node, len(gids))
	for i := range gids {
		if n, ok := found[types[i]][ids[i]]; ok {
			out[i] = n
		}
	}
	return out, nil
}

// asNodes runs one type's batch lookup and keeps its results as nodes.
func asNodes[V any](ctx context.Context, ids []int64, load func(context.Context, []int64) (map[int64]V, error)) (map[int64]model.Node, error) {
	found, err := load(ctx, ids)
	out := make(map[int64]model.Node, len(found))
	for id, v := range found {
		out[id] = v
	}
	return out, err
}

func edgePayload(change func() (*domain.ChannelEdge, error)) (*model.ChannelEdgePayload, error) {
	edge, err := change()
	userErrors, err := payloadErrors(err)
	return &model.ChannelEdgePayload{ChannelEdge: edge, UserErrors: userErrors}, err
}

func createPurchaseOrderInput(input model.CreatePurchaseOrderInput) (orders.CreateInput, error) {
	in := orders.CreateInput{Number: input.Number, Kind: deref(input.Kind), Draft: deref(input.Draft),
		IdempotencyKey: input.IdempotencyKey}
	var err error
	if in.VendorID, err = relay.ParseID("vendorId", relay.TypeOrganization, input.VendorID); err != nil {
		return in, err
	}
	if in.CustomerID, err = relay.ParseID("customerId", relay.TypeOrganization, input.CustomerID); err != nil {
		return in, err
	}
	if in.ResellerID, err = relay.ParseOptionalID("resellerId", relay.TypeOrganization, input.ResellerID); err != nil {
		return in, err
	}
	if in.DistributorID, err = relay.ParseOptionalID("distributorId", relay.TypeOrganization, input.DistributorID); err != nil {
		return in, err
	}
	for _, l := range input.Lines {
		in.Lines = append(in.Lines, orders.LineInput{SKU: l.Sku, Quantity: l.Quantity})
	}
	return in, nil
}

func purchaseOrderFilter(filter *model.PurchaseOrderFilter) (orders.Filter, error) {
	if filter == nil {
		return orders.Filter{}, nil
	}
	f := orders.Filter{Status: filter.Status, Search: deref(filter.Search)}
	var err error
	if f.CustomerID, err = relay.ParseOptionalID("filter.customerId", relay.TypeOrganization, filter.CustomerID); err != nil {
		return f, err
	}
	if f.ResellerID, err = relay.ParseOptionalID("filter.resellerId", relay.TypeOrganization, filter.ResellerID); err != nil {
		return f, err
	}
	f.DistributorID, err = relay.ParseOptionalID("filter.distributorId", relay.TypeOrganization, filter.DistributorID)
	return f, err
}

// selects reports whether the operation selects the field at path below
// the field being resolved (fragments included).
func selects(ctx context.Context, path ...string) bool {
	_, found := below(graphql.GetOperationContext(ctx), graphql.GetFieldContext(ctx).Field.Selections, path...)
	return found
}

// below returns what the operation selects at path below set, and whether
// it selects that path at all.
func below(rc *graphql.OperationContext, set ast.SelectionSet, path ...string) (ast.SelectionSet, bool) {
	for _, name := range path {
		var next ast.SelectionSet
		found := false
		for _, f := range graphql.CollectFields(rc, set, selectableTypes) {
			if f.Name == name {
				next, found = append(next, f.Selections...), true
			}
		}
		if !found {
			return nil, false
		}
		set = next
	}
	return set, true
}

// selectableTypes are the type conditions selects and below look into.
var selectableTypes = []string{"PurchaseOrderConnection", "PurchaseOrderEdge", "PurchaseOrder", "PurchaseOrderLine", "Product",
	"OrganizationConnection", "OrganizationEdge", "Organization", "ChannelEdgeConnection", "ChannelEdgeEdge", "ChannelEdge", "Node"}
