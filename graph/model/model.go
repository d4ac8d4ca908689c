// Package model holds the GraphQL-only types: connections, payloads and
// inputs. Domain objects are bound to internal/domain types directly.
package model

import (
	"context"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// Node is any object with a global ID: one of the domain types the schema
// marks as implementing Node.
type Node any

// OrganizationConnection is a page of organizations.
type OrganizationConnection struct {
	Edges    []*OrganizationEdge
	PageInfo *PageInfo
	Count    func(context.Context) (int, error)
}

// ChannelEdgeConnection is a page of channel edges.
type ChannelEdgeConnection struct {
	Edges    []*ChannelEdgeEdge
	PageInfo *PageInfo
	Count    func(context.Context) (int, error)
}

// PurchaseOrderConnection is a page of purchase orders.
type PurchaseOrderConnection struct {
	Edges    []*PurchaseOrderEdge
	PageInfo *PageInfo
	Count    func(context.Context) (int, error)
}

// NewOrganizationConnection converts a domain page.
func NewOrganizationConnection(c *relay.Connection[*domain.Organization]) *OrganizationConnection {
	return &OrganizationConnection{Edges: edges(c, func(cur string, n *domain.Organization) *OrganizationEdge {
		return &OrganizationEdge{Cursor: cur, Node: n}
	}), PageInfo: pageInfo(c), Count: c.Count}
}

// NewChannelEdgeConnection converts a domain page.
func NewChannelEdgeConnection(c *relay.Connection[*domain.ChannelEdge]) *ChannelEdgeConnection {
	return &ChannelEdgeConnection{Edges: edges(c, func(cur string, n *domain.ChannelEdge) *ChannelEdgeEdge {
		return &ChannelEdgeEdge{Cursor: cur, Node: n}
	}), PageInfo: pageInfo(c), Count: c.Count}
}

// NewPurchaseOrderConnection converts a domain page.
func NewPurchaseOrderConnection(c *relay.Connection[*domain.PurchaseOrder]) *PurchaseOrderConnection {
	return &PurchaseOrderConnection{Edges: edges(c, func(cur string, n *domain.PurchaseOrder) *PurchaseOrderEdge {
		return &PurchaseOrderEdge{Cursor: cur, Node: n}
	}), PageInfo: pageInfo(c), Count: c.Count}
}

func edges[T, E any](c *relay.Connection[T], edge func(string, T) E) []E {
	out := make([]E, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = edge(c.Cursors[i], n)
	}
	return out
}

func pageInfo[T any](c *relay.Connection[T]) *PageInfo {
	p := &PageInfo{HasNextPage: c.HasNextPage, HasPreviousPage: c.HasPrevious}
	if n := len(c.Cursors); n > 0 {
		p.StartCursor, p.EndCursor = &c.Cursors[0], &c.Cursors[n-1]
	}
	return p
}

// ProductConnection is a page of products.
type ProductConnection struct {
	Edges    []*ProductEdge
	PageInfo *PageInfo
	Count    func(context.Context) (int, error)
}

// NewProductConnection converts a domain page.
func NewProductConnection(c *relay.Connection[*domain.Product]) *ProductConnection {
	return &ProductConnection{Edges: edges(c, func(cur string, n *domain.Product) *ProductEdge {
		return &ProductEdge{Cursor: cur, Node: n}
	}), PageInfo: pageInfo(c), Count: c.Count}
}

// CartConnection is a page of carts.
type CartConnection struct {
	Edges    []*CartEdge
	PageInfo *PageInfo
	Count    func(context.Context) (int, error)
}

// NewCartConnection converts a domain page.
func NewCartConnection(c *relay.Connection[*domain.Cart]) *CartConnection {
	return &CartConnection{Edges: edges(c, func(cur string, n *domain.Cart) *CartEdge {
		return &CartEdge{Cursor: cur, Node: n}
	}), PageInfo: pageInfo(c), Count: c.Count}
}

// QuoteConnection is a page of quotes.
type QuoteConnection struct {
	Edges    []*QuoteEdge
	PageInfo *PageInfo
	Count    func(context.Context) (int, error)
}

// NewQuoteConnection converts a domain page.
func NewQuoteConnection(c *relay.Connection[*domain.Quote]) *QuoteConnection {
	return &QuoteConnection{Edges: edges(c, func(cur string, n *domain.Quote) *QuoteEdge {
		return &QuoteEdge{Cursor: cur, Node: n}
	}), PageInfo: pageInfo(c), Count: c.Count}
}

// ProductSubscriptionConnection is a page of product subscriptions.
type ProductSubscriptionConnection struct {
	Edges    []*ProductSubscriptionEdge
	PageInfo *PageInfo
	Count    func(context.Context) (int, error)
}

// NewProductSubscriptionConnection converts a domain page.
func NewProductSubscriptionConnection(c *relay.Connection[*domain.ProductSubscription]) *ProductSubscriptionConnection {
	return &ProductSubscriptionConnection{Edges: edges(c, func(cur string, n *domain.ProductSubscription) *ProductSubscriptionEdge {
		return &ProductSubscriptionEdge{Cursor: cur, Node: n}
	}), PageInfo: pageInfo(c), Count: c.Count}
}

// DelegatedAdminConnection is a page of delegated admin privileges.
type DelegatedAdminConnection struct {
	Edges    []*DelegatedAdminEdge
	PageInfo *PageInfo
	Count    func(context.Context) (int, error)
}

// NewDelegatedAdminConnection converts a domain page.
func NewDelegatedAdminConnection(c *relay.Connection[*domain.DelegatedAdmin]) *DelegatedAdminConnection {
	return &DelegatedAdminConnection{Edges: edges(c, func(cur string, n *domain.DelegatedAdmin) *DelegatedAdminEdge {
		return &DelegatedAdminEdge{Cursor: cur, Node: n}
	}), PageInfo: pageInfo(c), Count: c.Count}
}

// AuditEntryConnection is a page of audit entries.
type AuditEntryConnection struct {
	Edges    []*AuditEntryEdge
	PageInfo *PageInfo
	Count    func(context.Context) (int, error)
}

// NewAuditEntryConnection converts a domain page.
func NewAuditEntryConnection(c *relay.Connection[*domain.AuditEntry]) *AuditEntryConnection {
	return &AuditEntryConnection{Edges: edges(c, func(cur string, n *domain.AuditEntry) *AuditEntryEdge {
		return &AuditEntryEdge{Cursor: cur, Node: n}
	}), PageInfo: pageInfo(c), Count: c.Count}
}

// WebhookEndpointConnection is a page of webhook endpoints.
type WebhookEndpointConnection struct {
	Edges    []*WebhookEndpointEdge
	PageInfo *PageInfo
	Count    func(context.Context) (int, error)
}

// NewWebhookEndpointConnection converts a domain page.
func NewWebhookEndpointConnection(c *relay.Connection[*domain.WebhookEndpoint]) *WebhookEndpointConnection {
	return &WebhookEndpointConnection{Edges: edges(c, func(cur string, n *domain.WebhookEndpoint) *WebhookEndpointEdge {
		return &WebhookEndpointEdge{Cursor: cur, Node: n}
	}), PageInfo: pageInfo(c), Count: c.Count}
}

// WebhookDeliveryConnection is a page of webhook deliveries.
type WebhookDeliveryConnection struct {
	Edges    []*WebhookDeliveryEdge
	PageInfo *PageInfo
	Count    func(context.Context) (int, error)
}

// NewWebhookDeliveryConnection converts a domain page.
func NewWebhookDeliveryConnection(c *relay.Connection[*domain.WebhookDelivery]) *WebhookDeliveryConnection {
	return &WebhookDeliveryConnection{Edges: edges(c, func(cur string, n *domain.WebhookDelivery) *WebhookDeliveryEdge {
		return &WebhookDeliveryEdge{Cursor: cur, Node: n}
	}), PageInfo: pageInfo(c), Count: c.Count}
}
