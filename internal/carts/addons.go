package carts

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/delegation"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// mayOrderAddOn loads what policy.MayOrderAddOn decides on, for an add-on
// product p in cart c: whether the seller holds delegated admin privileges
// over the customer, and the partners of record of the customer's live
// subscriptions to p's parent.
func mayOrderAddOn(ctx context.Context, tx bun.IDB, c *domain.Cart, p *domain.Product) error {
	if p.ParentID == nil {
		return nil
	}
	delegated, err := delegation.HoldsActive(ctx, tx, c.SellerID, c.CustomerID)
	if err != nil || !delegated {
		return err
	}
	var partners []int64
	if err := tx.NewSelect().TableExpr("product_subscriptions AS s").ColumnExpr("DISTINCT s.partner_of_record_id").
		Where("s.customer_id = ? AND s.product_id = ?", c.CustomerID, *p.ParentID).
		Where("s.status NOT IN (?)", bun.In([]domain.SubscriptionStatus{domain.SubscriptionCancelled, domain.SubscriptionExpired})).
		Scan(ctx, &partners); err != nil {
		return fmt.Errorf("carts: reading the parent's partners of record: %w", err)
	}
	return policy.MayOrderAddOn(c.SellerID, delegated, partners)
}
