package graph

import (
	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// productFilter turns Query.products' filter into the catalog's, its IDs
// decoded (a malformed one is BAD_USER_INPUT on its field).
func productFilter(filter *model.ProductFilter) (catalog.ProductFilter, error) {
	if filter == nil {
		return catalog.ProductFilter{}, nil
	}
	f := catalog.ProductFilter{Type: filter.Type, Category: filter.Category, Segment: filter.Segment,
		Industry: filter.Industry, Search: deref(filter.Search)}
	var err error
	if f.VendorID, err = relay.ParseOptionalID("filter.vendorId", relay.TypeOrganization, filter.VendorID); err != nil {
		return f, err
	}
	f.SellerID, err = relay.ParseOptionalID("filter.sellerId", relay.TypeOrganization, filter.SellerID)
	return f, err
}
