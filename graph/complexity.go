package graph

import (
	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// Complexity weighs list fields by how many items they may return, so the
// complexity limit rejects a query before any SQL runs when its nested
// pages multiply beyond the limit. Other fields cost 1 plus their children.
func Complexity() ComplexityRoot {
	var c ComplexityRoot
	c.Query.PurchaseOrders = func(child int, first *int, _ *string, last *int, _ *string, _ *model.PurchaseOrderFilter, _ *model.PurchaseOrderOrder) int {
		return 1 + child*pageSize(first, last)
	}
	c.Query.Organizations = func(child int, first *int, _ *string, last *int, _ *string, _ *model.OrganizationFilter) int {
		return 1 + child*pageSize(first, last)
	}
	c.Query.Products = func(child int, first *int, _ *string, last *int, _ *string, _ *model.ProductFilter) int {
		return 1 + child*pageSize(first, last)
	}
	c.Query.Nodes = func(child int, ids []string) int { return 1 + child*max(len(ids), 1) }
	c.Query.Notifications = func(child int, first *int) int {
		if first == nil {
			return 1 + child*relay.MaxPageSize
		}
		return 1 + child*max(*first, 1)
	}
	c.Organization.ChannelEdges = func(child int, _ model.EdgeDirection, _ *domain.OrganizationKind, _ *bool, first *int, _ *string, last *int, _ *string) int {
		return 1 + child*pageSize(first, last)
	}
	// Unpaged lists, weighed by a typical size: an order has 1 to 100 lines,
	// a customer a handful of tenants.
	c.PurchaseOrder.Lines = func(child int) int { return 1 + child*10 }
	c.Organization.Tenants = func(child int) int { return 1 + child*10 }
	c.Organization.Members = func(child int) int { return 1 + child*10 }
	c.Product.AddOns = func(child int) int { return 1 + child*10 }
	cartComplexity(&c)
	subscriptionComplexity(&c)
	auditComplexity(&c)
	webhookComplexity(&c)
	return c
}

// pageSize is the most a page may hold: first or last (last weighs like
// first; asking for both is refused before anything runs, but weighs the
// larger), or the default.
func pageSize(first, last *int) int {
	switch {
	case first != nil && last != nil:
		return max(*first, *last, 1)
	case first != nil:
		return max(*first, 1)
	case last != nil:
		return max(*last, 1)
	}
	return relay.DefaultPageSize
}
