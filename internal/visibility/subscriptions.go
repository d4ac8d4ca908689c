package visibility

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Product subscriptions (SPEC §6.2, §6.3, §8.5): a subscription is seen by
// whoever sees the order that bought it — the purchase orders' own rule, so
// the two can never disagree — and by a partner holding an ACTIVE delegated
// admin privilege over its customer, which provisions and supports it
// without seeing the order.

// activeDelegatesSQL is the partners holding an ACTIVE delegated admin
// privilege over customer ? (any service).
const activeDelegatesSQL = `SELECT da.partner_id FROM delegated_admins da WHERE da.customer_id = ? AND da.status = 'ACTIVE'`

// RestrictProductSubscriptions keeps the subscriptions (table alias in
// alias) the viewer may see.
func RestrictProductSubscriptions(q *bun.SelectQuery, viewer *domain.Viewer, alias string) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	a := bun.Safe(alias)
	return q.Where(`(?.purchase_order_id IN (SELECT sv.purchase_order_id FROM purchase_order_visibility sv WHERE sv.viewer_organization_id = ?)
		OR ?.customer_id IN (SELECT da.customer_id FROM delegated_admins da WHERE da.partner_id = ? AND da.status = 'ACTIVE'))`,
		a, viewer.OrganizationID, a, viewer.OrganizationID)
}

// ProductSubscriptionAudience records who may see a subscription as its
// change commits: whoever may see the order that bought it, and the
// partners with an ACTIVE delegated admin privilege over its customer.
func ProductSubscriptionAudience(ctx context.Context, tx bun.IDB, eventID int64, s *domain.ProductSubscription) error {
	if err := PurchaseOrderAudience(ctx, tx, eventID, s.PurchaseOrderID); err != nil {
		return fmt.Errorf("visibility: audience of subscription %d: %w", s.ID, err)
	}
	_, err := tx.NewRaw(`INSERT INTO event_audience (event_id, organization_id)
		SELECT DISTINCT ?, d.partner_id FROM (`+activeDelegatesSQL+`) AS d
		WHERE d.partner_id NOT IN (SELECT a.organization_id FROM event_audience a WHERE a.event_id = ?)`,
		eventID, s.CustomerID, eventID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("visibility: delegated audience of subscription %d: %w", s.ID, err)
	}
	return nil
}
