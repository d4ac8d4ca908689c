// Package model states the visibility rules of SPEC §1.5, §3.2 and §3.3 in
// plain Go over in-memory values. It exists only to test package visibility:
// nothing in the server imports it.
package model

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Channel is an in-memory channel graph.
type Channel struct {
	Kinds  map[int64]domain.OrganizationKind
	Edges  []Edge
	Orders []Order
}

// Edge is a channel edge as the model needs it.
type Edge struct {
	Up, Down int64
	Status   domain.EdgeStatus
	View     bool
}

// Order is a purchase order as the model needs it; zero ids are absent.
type Order struct {
	ID                                      int64
	Vendor, Distributor, Reseller, Customer int64
	RecordedBy                              int64
	Status                                  domain.PurchaseOrderStatus
	// Placed is whether the order was ever PLACED: one that never was is
	// its recorder's alone, even once cancelled.
	Placed               bool
	Number               string
	CreatedAt, UpdatedAt time.Time
}

// Seen is an order as one viewer sees it.
type Seen struct {
	Order
	// DistributorShown is false when the viewer is the order's customer.
	DistributorShown bool
}

func (c *Channel) grant(up, down int64) bool {
	for _, e := range c.Edges {
		if e.Up == up && e.Down == down && e.Status == domain.EdgeActive && e.View {
			return true
		}
	}
	return false
}

// Sees reports whether org may see o (SPEC §3.2), and whether it sees the
// distributor (SPEC §3.3).
func (c *Channel) Sees(org int64, o Order) (visible, distributorShown bool) {
	if !o.Placed {
		return org == o.RecordedBy && org != 0, true
	}
	switch org {
	case o.Vendor:
		return true, true
	case o.Distributor:
		return o.Distributor != 0, true
	case o.Reseller:
		if o.Reseller == 0 {
			return false, false
		}
		return o.Distributor == 0 || c.grant(o.Distributor, o.Reseller), true
	case o.Customer:
		if o.Reseller == 0 {
			return true, false
		}
		return c.grant(o.Reseller, o.Customer) &&
			(o.Distributor == 0 || c.grant(o.Distributor, o.Reseller)), false
	}
	return false, false
}

// VisibleOrders lists the orders org may see, as it sees them.
func (c *Channel) VisibleOrders(org int64) map[int64]Seen {
	out := map[int64]Seen{}
	for _, o := range c.Orders {
		if ok, shown := c.Sees(org, o); ok {
			out[o.ID] = Seen{Order: o, DistributorShown: shown}
		}
	}
	return out
}

// VisibleOrganizations is SPEC §1.5 for org.
func (c *Channel) VisibleOrganizations(org int64) map[int64]bool {
	out := map[int64]bool{org: true}
	for _, e := range c.Edges {
		if e.Status == domain.EdgeRemoved {
			continue
		}
		if e.Up == org {
			out[e.Down] = true
		}
		if e.Down == org {
			out[e.Up] = true
		}
	}
	frontier := []int64{org}
	reached := map[int64]bool{}
	for len(frontier) > 0 {
		next := frontier[0]
		frontier = frontier[1:]
		for _, e := range c.Edges {
			if e.Up == next && e.Status == domain.EdgeActive && !reached[e.Down] {
				reached[e.Down] = true
				out[e.Down] = true
				frontier = append(frontier, e.Down)
			}
		}
	}
	for _, s := range c.VisibleOrders(org) {
		for _, party := range []int64{s.Vendor, s.Reseller, s.Customer} {
			if party != 0 {
				out[party] = true
			}
		}
		if s.Distributor != 0 && s.DistributorShown {
			out[s.Distributor] = true
		}
	}
	return out
}

// SeesEdge reports whether org may see the edge e: only when it may see
// both its ends, so a partner never sees a competitor's edge to a shared
// customer.
func (c *Channel) SeesEdge(org int64, e Edge) bool {
	sees := c.VisibleOrganizations(org)
	return sees[e.Up] && sees[e.Down]
}

// SeesTenantOf reports whether org may see the tenants of customer: a
// tenant is visible with its customer.
func (c *Channel) SeesTenantOf(org, customer int64) bool {
	return c.VisibleOrganizations(org)[customer]
}

// Moves is the purchase-order lifecycle (SPEC §3.1) as the model states it:
// only forward, from each status to the ones listed.
var Moves = map[domain.PurchaseOrderStatus][]domain.PurchaseOrderStatus{
	domain.PODraft:      {domain.POPlaced, domain.POCancelled},
	domain.POPlaced:     {domain.POProcessing, domain.POCancelled, domain.POFailed},
	domain.POProcessing: {domain.POCompleted, domain.POCancelled, domain.POFailed},
}

// ListFilter is the purchase-order list's date filters; zero times are absent.
type ListFilter struct {
	CreatedAfter, CreatedBefore, UpdatedSince time.Time
}

// Keeps reports whether the filter keeps o: created strictly after
// CreatedAfter and before CreatedBefore, updated at or after UpdatedSince.
func (f ListFilter) Keeps(o Order) bool {
	return (f.CreatedAfter.IsZero() || o.CreatedAt.After(f.CreatedAfter)) &&
		(f.CreatedBefore.IsZero() || o.CreatedAt.Before(f.CreatedBefore)) &&
		(f.UpdatedSince.IsZero() || !o.UpdatedAt.Before(f.UpdatedSince))
}

// List is org's purchase-order list: the ids of the orders it may see (all
// of them for org 0, the platform administrator) that f keeps, sorted on field (CREATED_AT, UPDATED_AT or NUMBER, the number
// compared byte by byte), ties by id, descending unless asc.
func (c *Channel) List(org int64, f ListFilter, field string, asc bool) []int64 {
	var kept []Order
	for _, o := range c.Orders {
		if visible, _ := c.Sees(org, o); (visible || org == 0) && f.Keeps(o) {
			kept = append(kept, o)
		}
	}
	slices.SortFunc(kept, func(a, b Order) int {
		var by int
		switch field {
		case "UPDATED_AT":
			by = a.UpdatedAt.Compare(b.UpdatedAt)
		case "NUMBER":
			by = strings.Compare(a.Number, b.Number)
		default:
			by = a.CreatedAt.Compare(b.CreatedAt)
		}
		by = cmp.Or(by, cmp.Compare(a.ID, b.ID))
		if !asc {
			by = -by
		}
		return by
	})
	out := make([]int64, len(kept))
	for i, o := range kept {
		out[i] = o.ID
	}
	return out
}
