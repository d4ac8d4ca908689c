package visibility

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// PurchaseOrders starts a query over the purchase orders viewer may see, as
// rows aliased v with the columns purchase_order_id, party, created_at,
// updated_at, number (compared byte by byte), status, vendor_id,
// customer_id, reseller_id and distributor_id (null for a customer viewer).
// Callers add filters, order and joins; they never widen it.
func PurchaseOrders(db bun.IDB, viewer *domain.Viewer) *bun.SelectQuery {
	return PurchaseOrdersOf(db, viewer, viewer.OrganizationID)
}

// PurchaseOrdersOf is PurchaseOrders with the viewer's organization id
// written as organization: its value, or the placeholder database.Bind
// gave for it, so one page reads as the same statement for every viewer.
func PurchaseOrdersOf(db bun.IDB, viewer *domain.Viewer, organization any) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		number := "p.number"
		if database.IsPostgres(db) {
			number = `p.number COLLATE "C"` // as the index rows' number column
		}
		return db.NewSelect().TableExpr(`(SELECT p.id AS purchase_order_id, 'PLATFORM_ADMIN' AS party,
			p.created_at, p.updated_at, ` + number + ` AS number, p.status, p.vendor_id, p.customer_id, p.reseller_id, p.distributor_id
			FROM purchase_orders p) AS v`)
	}
	return db.NewSelect().TableExpr("purchase_order_visibility AS v").
		Where("v.viewer_organization_id = ?", organization)
}

// CountPurchaseOrders is how many purchase orders the viewer may see, with
// no filter: the sum of the count's shard rows Refresh and
// IndexNewPurchaseOrder keep beside the index (at most countShards rows).
func CountPurchaseOrders(ctx context.Context, db bun.IDB, viewer *domain.Viewer) (int, error) {
	if viewer.IsPlatformAdmin {
		n, err := db.NewSelect().TableExpr("purchase_orders").Count(ctx)
		return int(n), err
	}
	var n int64
	bound, organization := database.Bind(ctx, db, viewer.OrganizationID)
	err := db.NewSelect().TableExpr("purchase_order_visibility_counts").ColumnExpr("COALESCE(SUM(purchase_orders), 0)").
		Where("viewer_organization_id = ?", organization[0]).Scan(bound, &n)
	if err != nil {
		return 0, fmt.Errorf("visibility: reading the count: %w", err)
	}
	return int(n), nil
}

// organizationsSQL is SPEC §1.5 for a viewer organization (every ? is its
// id): itself; organizations joined to it by an edge that is not REMOVED;
// everything downstream of it along ACTIVE edges; and the parties of the
// purchase orders it may see — whose distributor is already null on a
// customer's rows, so a customer never meets a distributor through an order.
const organizationsSQL = `WITH RECURSIVE downstream(id) AS (
	SELECT downstream_id FROM channel_edges WHERE upstream_id = ? AND status = 'ACTIVE'
	UNION
	SELECT e.downstream_id FROM channel_edges e JOIN downstream d ON e.upstream_id = d.id WHERE e.status = 'ACTIVE'
)
SELECT CAST(? AS BIGINT)
UNION SELECT downstream_id FROM channel_edges WHERE upstream_id = ? AND status <> 'REMOVED'
UNION SELECT upstream_id FROM channel_edges WHERE downstream_id = ? AND status <> 'REMOVED'
UNION SELECT id FROM downstream
UNION SELECT vendor_id FROM purchase_order_visibility WHERE viewer_organization_id = ?
UNION SELECT customer_id FROM purchase_order_visibility WHERE viewer_organization_id = ?
UNION SELECT reseller_id FROM purchase_order_visibility WHERE viewer_organization_id = ? AND reseller_id IS NOT NULL
UNION SELECT distributor_id FROM purchase_order_visibility WHERE viewer_organization_id = ? AND distributor_id IS NOT NULL`

// organizationIDs is the set of organization ids a (non-administrator)
// viewer may see, as a subquery.
func organizationIDs(viewer *domain.Viewer) schema.QueryWithArgs {
	id := viewer.OrganizationID
	return bun.SafeQuery(organizationsSQL, id, id, id, id, id, id, id, id)
}

// RestrictOrganizations keeps the rows of q whose organization id column is
// one the viewer may see (SPEC §1.5).
func RestrictOrganizations(q *bun.SelectQuery, viewer *domain.Viewer, column string) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	return q.Where("? IN (?)", bun.Safe(column), organizationIDs(viewer))
}

// RestrictEdges keeps the channel edges (aliased e) whose two ends the viewer
// may both see: a partner sees its own edges and its downstream's, never a
// competitor's edge to a shared customer.
func RestrictEdges(q *bun.SelectQuery, viewer *domain.Viewer) *bun.SelectQuery {
	q = RestrictOrganizations(q, viewer, "e.upstream_id")
	return RestrictOrganizations(q, viewer, "e.downstream_id")
}

// inAudience holds when organization ? was in the audience of event ? as it
// committed.
const inAudience = "EXISTS (SELECT 1 FROM event_audience a WHERE a.event_id = ? AND a.organization_id = ?)"

// RestrictToAudience keeps q's rows only if the viewer was in the audience
// of the event when it committed (the platform administrator always is).
func RestrictToAudience(q *bun.SelectQuery, viewer *domain.Viewer, eventID int64) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	return q.Where(inAudience, eventID, viewer.OrganizationID)
}

// RestrictEventsToAudience keeps the events (table alias in alias) whose
// audience at commit held the viewer: RestrictToAudience over a list of
// events, for a reader that would otherwise load each event's object only
// to find the viewer was never to receive it.
func RestrictEventsToAudience(q *bun.SelectQuery, viewer *domain.Viewer, alias string) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	return q.Where(inAudience, bun.Safe(alias+".id"), viewer.OrganizationID)
}

// RestrictNameable keeps the rows of q naming an organization the viewer may
// name in a mutation: one it may see (SPEC §1.5), or any vendor — a vendor
// publishes the public catalog (SPEC §4.1), so a reseller buying through a
// distributor names a vendor it is not joined to. idColumn and kindColumn
// are the organization's id and kind.
func RestrictNameable(q *bun.SelectQuery, viewer *domain.Viewer, idColumn, kindColumn string) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	return q.Where("(? IN (?) OR ? = 'VENDOR')", bun.Safe(idColumn), organizationIDs(viewer), bun.Safe(kindColumn))
}

// ActiveChainMakesPartiesNameable reports whether, once an order's parties
// are known to be of their kinds and every edge of its chain
// (vendor→[distributor→]reseller→customer, or vendor→customer) ACTIVE, the
// viewer may name every party without asking the database: it is the
// platform administrator, or one of the order's vendor, distributor or
// reseller. Each other party is then joined to it by one of the chain's
// edges or downstream of it along them (SPEC §1.5), except the vendor seen
// from a distributor's reseller, which it may name as any vendor
// (RestrictNameable).
func ActiveChainMakesPartiesNameable(viewer *domain.Viewer, vendor, distributor, reseller int64) bool {
	if viewer.IsPlatformAdmin {
		return true
	}
	switch viewer.OrganizationID {
	case vendor, distributor, reseller:
		return viewer.OrganizationID != 0
	}
	return false
}
