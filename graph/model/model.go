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
