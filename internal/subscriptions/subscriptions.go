// Package subscriptions keeps the lifecycle of product subscriptions (SPEC
// §6.3, §6.4, §8.5): created when the order that bought them completes,
// changed within their windows by the parties allowed, renewed or expired
// at the end of their term, and, for marketplace SaaS, activated by their
// publisher. Every change commits with its event, and with the CHANGE,
// CANCELLATION or RENEWAL order it makes.
package subscriptions

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Service reads and changes product subscriptions.
type Service struct {
	db *bun.DB
	// Now is the clock every window, activation and renewal follows.
	Now func() time.Time
}

// New returns a Service on db, on the system clock.
func New(db *bun.DB) *Service { return &Service{db: db, Now: clock.System{}.Now} }

// ActivationCodeLifetime is how long a SaaS subscription's activation code
// works after the subscription is created.
const ActivationCodeLifetime = 30 * 24 * time.Hour

// TermEnd is when a term that starts at from ends.
func TermEnd(from time.Time, term domain.Term) time.Time {
	if term == domain.TermMonth {
		return from.AddDate(0, 1, 0)
	}
	return from.AddDate(1, 0, 0)
}

// completedLine is an order line that may become a subscription, with
// what of its order and product the subscription copies.
type completedLine struct {
	domain.PurchaseOrderLine `bun:",extend"`
	Kind                     domain.PurchaseOrderKind `bun:"kind"`
	VendorID                 int64                    `bun:"vendor_id"`
	CustomerID               int64                    `bun:"customer_id"`
	DistributorID            *int64                   `bun:"distributor_id"`
	ResellerID               *int64                   `bun:"reseller_id"`
	ProductType              domain.ProductType       `bun:"product_type"`
	TrialDays                *int                     `bun:"trial_days"`
	StoredBillingCycles      string                   `bun:"billing_cycles"`
}

// CreateForOrderInTx creates, in the transaction that completes a NEW
// order, one subscription per LICENSE, USAGE or SAAS line (SPEC §8.5):
// ACTIVE and billed from now, or, for SaaS, PENDING_FULFILLMENT with a
// single-use activation code. Completing an order again creates nothing.
// It is the orders.CompletionHook the server installs.
func CreateForOrderInTx(ctx context.Context, tx bun.IDB, purchaseOrderID int64, now time.Time) error {
	var lines []completedLine
	err := tx.NewSelect().Model(&lines).
		ColumnExpr("l.*, p.kind, p.vendor_id, p.customer_id, p.distributor_id, p.reseller_id").
		ColumnExpr("pr.type AS product_type, pr.trial_days, pr.billing_cycles").
		Join("JOIN purchase_orders AS p ON p.id = l.purchase_order_id").
		Join("JOIN products AS pr ON pr.id = l.product_id").
		Where("l.purchase_order_id = ?", purchaseOrderID).
		Where("pr.type IN (?)", bun.In([]domain.ProductType{domain.ProductLicense, domain.ProductUsage, domain.ProductSaaS})).
		Where("NOT EXISTS (SELECT 1 FROM product_subscriptions ps WHERE ps.purchase_order_line_id = l.id)").
		Order("l.position").Scan(ctx)
	if err != nil {
		return fmt.Errorf("subscriptions: reading the completed order's lines: %w", err)
	}
	for _, l := range lines {
		if l.Kind != domain.POKindNew {
			continue
		}
		s, err := subscriptionOf(&l, now)
		if err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(s).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("subscriptions: storing a subscription: %w", err)
		}
		added := &domain.LicenseAddition{ProductSubscriptionID: s.ID, Kind: domain.AddedAtPurchase,
			Quantity: s.Quantity, Remaining: s.Quantity, AddedAt: now}
		if _, err := tx.NewInsert().Model(added).Exec(ctx); err != nil {
			return fmt.Errorf("subscriptions: storing the licenses bought: %w", err)
		}
		if err := Updated.Append(ctx, tx, s.ID, now); err != nil {
			return err
		}
	}
	return nil
}

func subscriptionOf(l *completedLine, now time.Time) (*domain.ProductSubscription, error) {
	term := domain.TermYear
	if l.Term != nil {
		term = *l.Term
	}
	cycle := domain.BillMonthly
	if l.BillingCycle != nil {
		cycle = *l.BillingCycle
	} else if p := (domain.Product{StoredBillingCycles: l.StoredBillingCycles}); p.AfterScanRow(context.Background()) == nil && len(p.BillingCycles) > 0 {
		cycle = p.BillingCycles[0]
	}
	partner := l.VendorID
	var indirect *int64
	switch {
	case l.ResellerID != nil:
		partner = *l.ResellerID
		if l.DistributorID != nil {
			indirect = l.ResellerID
		}
	case l.DistributorID != nil:
		partner = *l.DistributorID
	}
	s := &domain.ProductSubscription{
		PurchaseOrderID: l.PurchaseOrderID, PurchaseOrderLineID: l.ID, PriceLineID: l.ID,
		ProductID: l.ProductID, VendorID: l.VendorID, CustomerID: l.CustomerID,
		DistributorID: l.DistributorID, ResellerID: l.ResellerID, TenantID: l.TenantID,
		PartnerOfRecordID: partner, IndirectResellerID: indirect,
		Quantity: l.Quantity, Term: term, BillingCycle: cycle, AutoRenew: true,
		Status: domain.SubscriptionActive, StartedAt: now, TermStartedAt: now,
		CommitmentEndsAt: TermEnd(now, term), Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if l.TrialDays != nil && *l.TrialDays > 0 {
		s.Trial = true
		s.CommitmentEndsAt = now.AddDate(0, 0, *l.TrialDays)
	} else if l.ProductType != domain.ProductSaaS {
		s.BillingStartedAt = &now
	}
	if l.ProductType == domain.ProductSaaS {
		code, err := newActivationCode()
		if err != nil {
			return nil, err
		}
		expires := now.Add(ActivationCodeLifetime)
		s.Status, s.ActivationCode, s.ActivationExpiresAt = domain.SubscriptionPendingFulfillment, &code, &expires
	}
	return s, nil
}

// newActivationCode is 20 random bytes in base32: unguessable, and safe in
// a URL's query.
func newActivationCode() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("subscriptions: drawing an activation code: %w", err)
	}
	return "act_" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b), nil
}

// visible starts a query over the subscriptions the viewer may see.
func visible(db bun.IDB, viewer *domain.Viewer, model any) *bun.SelectQuery {
	return visibility.RestrictProductSubscriptions(db.NewSelect().Model(model), viewer, "s")
}

// Updated announces every change of a product subscription (SPEC §8.8):
// its audience is whoever sees the order that bought it as the change
// commits; delivery shows the subscription as it was then.
var Updated = events.Register(events.Registration[domain.ProductSubscription]{
	Type:  "PRODUCT_SUBSCRIPTION_UPDATED",
	Field: "productSubscriptionUpdated",
	Audience: func(ctx context.Context, tx bun.IDB, eventID int64, s *domain.ProductSubscription) error {
		return visibility.ProductSubscriptionAudience(ctx, tx, eventID, s)
	},
	Payload: func(ctx context.Context, db bun.IDB, ev events.Event) (*domain.ProductSubscription, error) {
		viewer, err := domain.ViewerFrom(ctx)
		if err != nil {
			return nil, err
		}
		var now domain.ProductSubscription
		sel := visible(db, viewer, &now).Column("s.id").Where("s.id = ?", ev.ObjectID)
		err = visibility.RestrictToAudience(sel, viewer, ev.ID).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, domain.NotFound("product subscription")
		}
		if err != nil {
			return nil, fmt.Errorf("subscriptions: reading an event's subscription: %w", err)
		}
		var then domain.ProductSubscription
		if err := ev.Decode(&then); err != nil {
			return nil, fmt.Errorf("subscriptions: decoding an event: %w", err)
		}
		return &then, nil
	},
})
