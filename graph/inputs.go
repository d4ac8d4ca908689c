package graph

import (
	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/loaders"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/relay"
)

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// edgeList is the list of channel edges a channelEdges field names by its
// arguments: the key the resolver loads, and the one priming fills.
func edgeList(direction model.EdgeDirection, kind *domain.OrganizationKind, includeRemoved *bool, first *int, after *string, last *int, before *string) (loaders.EdgeList, error) {
	page, err := relay.Args{First: first, After: after, Last: last, Before: before}.Page()
	if err != nil {
		return loaders.EdgeList{}, err
	}
	return loaders.EdgeList{
		Filter: channel.EdgeFilter{Downstream: direction == model.EdgeDirectionDownstream,
			Kind: deref(kind), IncludeRemoved: deref(includeRemoved)},
		First: page.Size, Backward: page.Backward, After: deref(after), Before: deref(before),
	}, nil
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
	f := orders.Filter{Status: filter.Status, Search: deref(filter.Search),
		CreatedAfter: filter.CreatedAfter, CreatedBefore: filter.CreatedBefore, UpdatedSince: filter.UpdatedSince}
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

func purchaseOrderSort(o *model.PurchaseOrderOrder) orders.Sort {
	if o == nil {
		return orders.Sort{}
	}
	return orders.Sort{Field: orders.SortField(o.Field), Asc: o.Direction != nil && *o.Direction == model.OrderDirectionAsc}
}
