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

// Request hashes of the orders a cart makes (purchase_orders.request_hash,
// which createPurchaseOrder uses for its idempotency fingerprint): they tell
// a cart's placed orders from the drafts it was saved as, whatever status
// either reaches later, so a retried placeCart answers with exactly the
// orders it placed.
const (
	FromCartPlaced = "cart:placed"
	FromCartDraft  = "cart:draft"
)

// Placement is one order a cart places or saves (SPEC §8.4): its parties,
// the organization recording it, and its lines, with their terms, tenants
// and price adjustments.
type Placement struct {
	Number                    string
	VendorID, CustomerID      int64
	DistributorID, ResellerID *int64
	RecordedBy                int64
	CartID                    int64
	Draft                     bool
	Lines                     []*domain.PurchaseOrderLine
	// PricedAs, when set, holds for each line the cart line whose prices
	// were fixed in this same transaction: the order's lines take those
	// prices rather than being priced again.
	PricedAs []int64
}

// PlaceInTx records p in the caller's transaction, as CreatePurchaseOrder
// records an order once its input is checked: a NEW order, PLACED with every
// edge of its chain ACTIVE and locked, its lines priced (pricing.FixOrder),
// or a DRAFT seen only by its recorder; its visibility rows and its event
// commit with it. The caller has checked who may, and the parties. A chain
// edge that is not ACTIVE is BAD_USER_INPUT on the field lockChain names.
func PlaceInTx(ctx context.Context, tx bun.IDB, now time.Time, p Placement) (int64, error) {
	recorder := p.RecordedBy
	po := &domain.PurchaseOrder{Number: p.Number, Kind: domain.POKindNew, Status: domain.POPlaced,
		VendorID: p.VendorID, DistributorID: p.DistributorID, ResellerID: p.ResellerID, CustomerID: p.CustomerID,
		RecordedByOrganizationID: &recorder, RequestHash: FromCartPlaced, CartID: &p.CartID,
		CreatedAt: now, UpdatedAt: now}
	if p.Draft {
		po.Status, po.RequestHash = domain.PODraft, FromCartDraft
	} else if err := lockChain(ctx, tx, po); err != nil {
		return 0, err
	} else {
		po.PlacedAt = &now
	}
	if _, err := tx.NewInsert().Model(po).Returning("id").Exec(ctx); err != nil {
		return 0, fmt.Errorf("orders: storing order: %w", err)
	}
	for i, l := range p.Lines {
		l.PurchaseOrderID, l.Position = po.ID, i+1
	}
	if _, err := tx.NewInsert().Model(&p.Lines).Returning("id").Exec(ctx); err != nil {
		return 0, fmt.Errorf("orders: storing lines: %w", err)
	}
	switch {
	case p.Draft:
	case p.PricedAs != nil:
		pairs := make(map[int64]int64, len(p.Lines))
		for i, l := range p.Lines {
			pairs[p.PricedAs[i]] = l.ID
		}
		if err := pricing.CopyPrices(ctx, tx, pricing.CartLines, pricing.OrderLines, pairs); err != nil {
			return 0, err
		}
	default:
		if err := pricing.FixNewOrder(ctx, tx, po, p.Lines); err != nil {
			return 0, err
		}
	}
	if err := visibility.IndexNewPurchaseOrder(ctx, tx, po.ID); err != nil {
		return 0, err
	}
	return po.ID, Updated.Append(ctx, tx, po.ID, now)
}

// OfCart returns the ids of the orders a cart made, oldest first: the
// placed ones, or the drafts it was saved as.
func OfCart(ctx context.Context, tx bun.IDB, cartID int64, drafts bool) ([]int64, error) {
	hash := FromCartPlaced
	if drafts {
		hash = FromCartDraft
	}
	var ids []int64
	if err := tx.NewSelect().TableExpr("purchase_orders").Column("id").
		Where("cart_id = ? AND request_hash = ?", cartID, hash).Order("id").Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("orders: reading a cart's orders: %w", err)
	}
	return ids, nil
}

// CountOfCart is how many orders a cart has ever made, placed or saved, so
// the next one's number ("C<cart>-<n>") is fresh for its recorder.
func CountOfCart(ctx context.Context, tx bun.IDB, cartID int64) (int, error) {
	n, err := tx.NewSelect().TableExpr("purchase_orders").Where("cart_id = ?", cartID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("orders: counting a cart's orders: %w", err)
	}
	return int(n), nil
}

// CancelCartDraftsInTx cancels the DRAFT orders a cart was saved as
// (resumeDraft), as UpdatePurchaseOrderStatus cancels a draft: the status,
// the visibility rows and the event commit with the caller's transaction.
func CancelCartDraftsInTx(ctx context.Context, tx bun.IDB, cartID int64, now time.Time) error {
	var ids []int64
	if err := tx.NewSelect().TableExpr("purchase_orders").Column("id").
		Where("cart_id = ? AND request_hash = ? AND status = ?", cartID, FromCartDraft, domain.PODraft).
		Order("id").Scan(ctx, &ids); err != nil {
		return fmt.Errorf("orders: reading a cart's drafts: %w", err)
	}
	for _, id := range ids {
		if _, err := tx.NewUpdate().TableExpr("purchase_orders").Set("status = ?", domain.POCancelled).
			Set("updated_at = ?", now).Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("orders: cancelling a draft: %w", err)
		}
		if err := visibility.Refresh(ctx, tx, visibility.PurchaseOrder(id)); err != nil {
			return fmt.Errorf("orders: refreshing visibility: %w", err)
		}
		if err := Updated.Append(ctx, tx, id, now); err != nil {
			return err
		}
	}
	return nil
}

// DraftCart returns the cart a DRAFT order the viewer may see was saved
// from: NOT_FOUND when the viewer may not see the order, BAD_USER_INPUT on
// field when it is not a draft saved from a cart.
func (s *Service) DraftCart(ctx context.Context, id int64, field string) (int64, error) {
	po, err := s.PurchaseOrder(ctx, id)
	if err != nil {
		return 0, domain.FieldErrorf(domain.CodeNotFound, field, "purchase order not found")
	}
	var row struct {
		CartID      *int64 `bun:"cart_id"`
		RequestHash string `bun:"request_hash"`
	}
	if err := database.Conn(ctx, s.db).NewSelect().TableExpr("purchase_orders").Column("cart_id", "request_hash").
		Where("id = ?", po.ID).Scan(ctx, &row); err != nil {
		return 0, fmt.Errorf("orders: reading an order's cart: %w", err)
	}
	if po.Status != domain.PODraft || row.CartID == nil || row.RequestHash != FromCartDraft {
		return 0, domain.FieldErrorf(domain.CodeInvalid, field, "the order is not a DRAFT saved from a cart")
	}
	return *row.CartID, nil
}
