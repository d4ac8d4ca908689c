package orders

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// CompletionHook runs in the transaction that moves an order to COMPLETED
// (the subscriptions it creates, SPEC §8.5), so they commit with it.
type CompletionHook func(ctx context.Context, tx bun.IDB, purchaseOrderID int64, now time.Time) error

// SubscriptionOrder is the order a subscription's change, cancellation or
// renewal makes (SPEC §6.3): one line, between the subscription's parties.
type SubscriptionOrder struct {
	Kind           domain.PurchaseOrderKind
	SubscriptionID int64
	// Version is the subscription's version after the change; it makes the
	// order's number unique.
	Version                   int
	VendorID, CustomerID      int64
	DistributorID, ResellerID *int64
	// RecordedBy is the organization that made the change; nil for the
	// renewal job and the platform administrator.
	RecordedBy *int64
	Line       domain.PurchaseOrderLine
}

// RecordForSubscriptionInTx records o in the caller's transaction as a
// COMPLETED order — the change it records has already taken effect —
// priced on every edge of its chain like a placed order, with its
// visibility rows and its event. It returns the order's id.
func RecordForSubscriptionInTx(ctx context.Context, tx bun.IDB, now time.Time, o SubscriptionOrder) (int64, error) {
	subID := o.SubscriptionID
	po := &domain.PurchaseOrder{
		Number: fmt.Sprintf("SUB-%d-%s-%d", o.SubscriptionID, o.Kind, o.Version),
		Kind:   o.Kind, Status: domain.POCompleted,
		VendorID: o.VendorID, DistributorID: o.DistributorID, ResellerID: o.ResellerID, CustomerID: o.CustomerID,
		RecordedByOrganizationID: o.RecordedBy, RequestHash: "subscription",
		CreatedAt: now, UpdatedAt: now, PlacedAt: &now, ProductSubscriptionID: &subID,
	}
	if _, err := tx.NewInsert().Model(po).Returning("id").Exec(ctx); err != nil {
		return 0, fmt.Errorf("orders: storing a subscription's order: %w", err)
	}
	line := o.Line
	line.ID, line.PurchaseOrderID, line.Position = 0, po.ID, 1
	if _, err := tx.NewInsert().Model(&line).Returning("id").Exec(ctx); err != nil {
		return 0, fmt.Errorf("orders: storing a subscription's order line: %w", err)
	}
	if err := pricing.FixNewOrder(ctx, tx, po, []*domain.PurchaseOrderLine{&line}); err != nil {
		return 0, err
	}
	if err := visibility.IndexNewPurchaseOrder(ctx, tx, po.ID); err != nil {
		return 0, err
	}
	return po.ID, Updated.Append(ctx, tx, po.ID, now)
}

// SubscriptionOrders loads the orders of a subscription the viewer was
// allowed to see, oldest first, as far as the viewer may see them: the NEW
// order that bought it (purchaseOrderID), then the CHANGE, CANCELLATION and
// RENEWAL orders made for it (subscriptionID).
func (s *Service) SubscriptionOrders(ctx context.Context, purchaseOrderID, subscriptionID int64) ([]*domain.PurchaseOrder, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var pos []*domain.PurchaseOrder
	if err := visible(database.Conn(ctx, s.db), viewer).
		Where("(p.id = ? OR p.product_subscription_id = ?)", purchaseOrderID, subscriptionID).
		OrderExpr("CASE WHEN p.id = ? THEN 0 ELSE 1 END, p.created_at, p.id", purchaseOrderID).Scan(ctx, &pos); err != nil {
		return nil, fmt.Errorf("orders: reading a subscription's orders: %w", err)
	}
	return pos, nil
}
