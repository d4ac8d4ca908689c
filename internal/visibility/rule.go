package visibility

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/channelgraph/channelgraph/internal/database"
)

// grant(x→y): the edge x→y exists, is ACTIVE and has purchaseOrderView on.
func grant(upstream, downstream string) string {
	return "EXISTS (SELECT 1 FROM channel_edges g WHERE g.upstream_id = " + upstream +
		" AND g.downstream_id = " + downstream +
		" AND g.status = 'ACTIVE' AND g.purchase_order_view)"
}

// deriveSQL lists, for the purchase orders p in scope (the ?), every viewer
// organization that may see p, as which party, with the columns lists
// filter and order on. This is SPEC §3.2 and §3.3, written once:
//
//	vendor       always
//	distributor  always
//	reseller     no distributor, or grant(distributor→reseller)
//	customer     direct sale; or grant(reseller→customer) and
//	             (no distributor, or grant(distributor→reseller));
//	             never with the distributor
//	never placed only the organization that saved it (a DRAFT, or a
//	             draft cancelled or resumed unplaced)
var deriveSQL = `
SELECT p.vendor_id AS viewer_organization_id, p.id AS purchase_order_id, 'VENDOR' AS party,
       p.created_at, p.updated_at, p.number, p.status, p.vendor_id, p.customer_id, p.reseller_id, p.distributor_id
FROM purchase_orders p
WHERE p.placed_at IS NOT NULL AND (?)
UNION ALL
SELECT p.distributor_id, p.id, 'DISTRIBUTOR', p.created_at, p.updated_at, p.number, p.status, p.vendor_id, p.customer_id, p.reseller_id, p.distributor_id
FROM purchase_orders p
WHERE p.placed_at IS NOT NULL AND p.distributor_id IS NOT NULL AND (?)
UNION ALL
SELECT p.reseller_id, p.id, 'RESELLER', p.created_at, p.updated_at, p.number, p.status, p.vendor_id, p.customer_id, p.reseller_id, p.distributor_id
FROM purchase_orders p
WHERE p.placed_at IS NOT NULL AND p.reseller_id IS NOT NULL
  AND (p.distributor_id IS NULL OR ` + grant("p.distributor_id", "p.reseller_id") + `)
  AND (?)
UNION ALL
SELECT p.customer_id, p.id, 'CUSTOMER', p.created_at, p.updated_at, p.number, p.status, p.vendor_id, p.customer_id, p.reseller_id, NULL
FROM purchase_orders p
WHERE p.placed_at IS NOT NULL
  AND (p.reseller_id IS NULL OR (` + grant("p.reseller_id", "p.customer_id") + `
       AND (p.distributor_id IS NULL OR ` + grant("p.distributor_id", "p.reseller_id") + `)))
  AND (?)
UNION ALL
SELECT p.recorded_by_organization_id, p.id,
       CASE p.recorded_by_organization_id WHEN p.vendor_id THEN 'VENDOR' WHEN p.distributor_id THEN 'DISTRIBUTOR' ELSE 'RESELLER' END,
       p.created_at, p.updated_at, p.number, p.status, p.vendor_id, p.customer_id, p.reseller_id, p.distributor_id
FROM purchase_orders p
WHERE p.placed_at IS NULL AND p.recorded_by_organization_id IS NOT NULL AND (?)`

// Scope selects the purchase orders whose visibility a change may alter, as
// a condition on purchase_orders p.
type Scope struct{ cond schema.QueryWithArgs }

// PurchaseOrder scopes a refresh to one purchase order.
func PurchaseOrder(id int64) Scope { return Scope{bun.SafeQuery("p.id = ?", id)} }

// Edge scopes a refresh to the purchase orders a grant on upstream→downstream
// gates: those with that distributor→reseller or reseller→customer pair.
func Edge(upstreamID, downstreamID int64) Scope {
	return Scope{bun.SafeQuery(
		"(p.distributor_id = ? AND p.reseller_id = ?) OR (p.reseller_id = ? AND p.customer_id = ?)",
		upstreamID, downstreamID, upstreamID, downstreamID)}
}

// Everything scopes a refresh to every purchase order (bulk loads, repair).
func Everything() Scope { return Scope{bun.SafeQuery("1 = 1")} }

// Refresh re-derives the visibility rows of the purchase orders in scope,
// and the per-viewer counts of those rows. Call it in the transaction that
// changed what the rule depends on.
//
// On PostgreSQL it first locks the orders in scope. A change to a grant
// therefore waits for any transaction still changing one of its orders, and
// then derives from what that transaction committed; a new order locks its
// chain's edges (FOR SHARE) before it derives its own rows, so a grant
// change and a new order never both miss each other.
func Refresh(ctx context.Context, tx bun.IDB, s Scope) error {
	if err := refresh(ctx, tx, s); err != nil {
		return fmt.Errorf("visibility: refreshing the purchase-order index: %w", err)
	}
	return nil
}

func refresh(ctx context.Context, tx bun.IDB, s Scope) error {
	if database.IsPostgres(tx) {
		var ids []int64
		q := tx.NewSelect().TableExpr("purchase_orders AS p").Column("p.id").Where("?", s.cond).Order("p.id")
		if err := database.LockForUpdate(q).Scan(ctx, &ids); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
	}
	before, err := countInScope(ctx, tx, s)
	if err != nil {
		return err
	}
	if _, err := tx.NewRaw(`DELETE FROM purchase_order_visibility WHERE purchase_order_id IN
		(SELECT p.id FROM purchase_orders p WHERE ?)`, s.cond).Exec(ctx); err != nil {
		return err
	}
	if _, err := tx.NewRaw(`INSERT INTO purchase_order_visibility
		(viewer_organization_id, purchase_order_id, party, created_at, updated_at, number, status, vendor_id, customer_id, reseller_id, distributor_id)
		`+deriveSQL, s.cond, s.cond, s.cond, s.cond, s.cond).Exec(ctx); err != nil {
		return err
	}
	after, err := countInScope(ctx, tx, s)
	if err != nil {
		return err
	}
	return addToCounts(ctx, tx, before, after)
}

// IndexNewPurchaseOrder derives the visibility rows of a purchase order
// inserted in tx, which has none yet, and adds it to the count of each
// viewer: what Refresh does for it, in two statements rather than six.
// There is nothing to lock, count or delete first: no other transaction
// can see the order. A caller placing an order through its chain has
// locked the chain's edges (FOR SHARE), so a grant change waits for it.
//
// Each viewer's count is the sum of its shard rows; the order adds to the
// shard its id picks, so orders placed at once by one busy vendor mostly
// update different rows and do not queue on one row lock until the order
// before has committed.
func IndexNewPurchaseOrder(ctx context.Context, tx bun.IDB, id int64) error {
	bound, ph := database.Bind(ctx, tx, id)
	scope := bun.SafeQuery("p.id = ?", ph[0])
	if _, err := tx.NewRaw(`INSERT INTO purchase_order_visibility
		(viewer_organization_id, purchase_order_id, party, created_at, updated_at, number, status, vendor_id, customer_id, reseller_id, distributor_id)
		`+deriveSQL, scope, scope, scope, scope, scope).Exec(bound); err != nil {
		return fmt.Errorf("visibility: indexing a new purchase order: %w", err)
	}
	bound, ph = database.Bind(ctx, tx, id%countShards, id)
	if _, err := tx.NewRaw(`INSERT INTO purchase_order_visibility_counts (viewer_organization_id, shard, purchase_orders)
		SELECT viewer_organization_id, CAST(? AS INTEGER), COUNT(*) FROM purchase_order_visibility WHERE purchase_order_id = ?
		GROUP BY viewer_organization_id ORDER BY viewer_organization_id
		ON CONFLICT (viewer_organization_id, shard) DO UPDATE
		SET purchase_orders = purchase_order_visibility_counts.purchase_orders + EXCLUDED.purchase_orders`,
		ph[0], ph[1]).Exec(bound); err != nil {
		return fmt.Errorf("visibility: counting a new purchase order: %w", err)
	}
	return nil
}

// countShards is how many rows a viewer's count may be spread over.
const countShards = 16

// viewerCount is one viewer organization's number of visibility rows.
type viewerCount struct {
	ViewerOrganizationID int64 `bun:"viewer_organization_id"`
	PurchaseOrders       int64 `bun:"purchase_orders"`
}

// shardedCount is a change to one shard row of a viewer's count.
type shardedCount struct {
	ViewerOrganizationID int64 `bun:"viewer_organization_id"`
	Shard                int64 `bun:"shard"`
	PurchaseOrders       int64 `bun:"purchase_orders"`
}

func countInScope(ctx context.Context, tx bun.IDB, s Scope) (map[int64]int64, error) {
	var rows []viewerCount
	err := tx.NewRaw(`SELECT viewer_organization_id, COUNT(*) AS purchase_orders FROM purchase_order_visibility
		WHERE purchase_order_id IN (SELECT p.id FROM purchase_orders p WHERE ?) GROUP BY viewer_organization_id`, s.cond).
		Scan(ctx, &rows)
	out := make(map[int64]int64, len(rows))
	for _, r := range rows {
		out[r.ViewerOrganizationID] = r.PurchaseOrders
	}
	return out, err
}

// addToCounts moves each viewer's count by what a refresh changed, on the
// viewer's shard 0, in one statement that takes the count rows' locks in
// viewer order, so two refreshes that change the same viewers queue rather
// than deadlock.
func addToCounts(ctx context.Context, tx bun.IDB, before, after map[int64]int64) error {
	var deltas []shardedCount
	for viewer, n := range after {
		if d := n - before[viewer]; d != 0 {
			deltas = append(deltas, shardedCount{viewer, 0, d})
		}
	}
	for viewer, n := range before {
		if _, ok := after[viewer]; !ok {
			deltas = append(deltas, shardedCount{viewer, 0, -n})
		}
	}
	if len(deltas) == 0 {
		return nil
	}
	slices.SortFunc(deltas, func(a, b shardedCount) int { return cmp.Compare(a.ViewerOrganizationID, b.ViewerOrganizationID) })
	for chunk := range slices.Chunk(deltas, 5000) {
		if _, err := tx.NewInsert().Model(&chunk).ModelTableExpr("purchase_order_visibility_counts").
			On("CONFLICT (viewer_organization_id, shard) DO UPDATE").
			Set("purchase_orders = purchase_order_visibility_counts.purchase_orders + EXCLUDED.purchase_orders").
			Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}
