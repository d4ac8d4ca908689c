package visibility

import (
	"context"
	"fmt"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"
)

// Audiences: who may see an event's object as the event commits (SPEC
// §7.3, §8.8). Each is recorded into event_audience in the transaction that
// appends the event; delivery then requires the viewer to be in it
// (RestrictToAudience) and to see the object still.

// PurchaseOrderAudience records every organization that may see the
// purchase order now, from the visibility index the same transaction keeps.
func PurchaseOrderAudience(ctx context.Context, tx bun.IDB, eventID, purchaseOrderID int64) error {
	bound, ph := database.Bind(ctx, tx, eventID, purchaseOrderID)
	_, err := tx.NewRaw(`INSERT INTO event_audience (event_id, organization_id)
		SELECT CAST(? AS BIGINT), viewer_organization_id FROM purchase_order_visibility WHERE purchase_order_id = ?`,
		ph[0], ph[1]).Exec(bound)
	if err != nil {
		return fmt.Errorf("visibility: audience of purchase order %d: %w", purchaseOrderID, err)
	}
	return nil
}

// OrganizationAudience records every organization that may see the
// organization org now (SPEC §1.5): an event about something visible with
// its organization, such as a customer's tenant.
func OrganizationAudience(ctx context.Context, tx bun.IDB, eventID, org int64) error {
	_, err := tx.NewRaw(`INSERT INTO event_audience (event_id, organization_id) SELECT ?, s.id FROM (?) AS s`,
		eventID, viewersOf(org)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("visibility: audience of organization %d: %w", org, err)
	}
	return nil
}

// EdgeAudience records every organization that may see the channel edge
// upstream→downstream now: those that see both its ends (RestrictEdges).
func EdgeAudience(ctx context.Context, tx bun.IDB, eventID, upstream, downstream int64) error {
	_, err := tx.NewRaw(`INSERT INTO event_audience (event_id, organization_id)
		SELECT ?, s.id FROM (?) AS s WHERE s.id IN (?)`,
		eventID, viewersOf(upstream), viewersOf(downstream)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("visibility: audience of the edge %d→%d: %w", upstream, downstream, err)
	}
	return nil
}

// viewersSQL is SPEC §1.5 read backwards, for a target organization (every
// ? is its id): the viewers that may see it. Each line mirrors one of
// organizationsSQL's:
//
//	itself
//	joined to it by an edge that is not REMOVED, either way
//	upstream of it along ACTIVE edges (it is in their downstream)
//	a viewer of a purchase order it is a party of — as distributor only
//	  where the viewer's row shows the distributor (never a customer's)
const viewersSQL = `WITH RECURSIVE upstream(id) AS (
	SELECT upstream_id FROM channel_edges WHERE downstream_id = ? AND status = 'ACTIVE'
	UNION
	SELECT e.upstream_id FROM channel_edges e JOIN upstream u ON e.downstream_id = u.id WHERE e.status = 'ACTIVE'
)
SELECT CAST(? AS BIGINT) AS id
UNION SELECT upstream_id FROM channel_edges WHERE downstream_id = ? AND status <> 'REMOVED'
UNION SELECT downstream_id FROM channel_edges WHERE upstream_id = ? AND status <> 'REMOVED'
UNION SELECT id FROM upstream
UNION SELECT v.viewer_organization_id FROM purchase_order_visibility v WHERE v.purchase_order_id IN
	(SELECT p.id FROM purchase_orders p WHERE p.vendor_id = ? OR p.customer_id = ? OR p.reseller_id = ?)
UNION SELECT v.viewer_organization_id FROM purchase_order_visibility v WHERE v.distributor_id = ? AND v.purchase_order_id IN
	(SELECT p.id FROM purchase_orders p WHERE p.distributor_id = ?)`

// viewersOf is the set of organizations that may see org, as a subquery
// with one column, id.
func viewersOf(org int64) schema.QueryWithArgs {
	return bun.SafeQuery(viewersSQL, org, org, org, org, org, org, org, org, org)
}
