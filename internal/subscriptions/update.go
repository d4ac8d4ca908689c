package subscriptions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/delegation"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// Change is updateProductSubscription's input: nil fields stay as they are.
type Change struct {
	ID              int64
	ExpectedVersion *int
	Nickname        *string
	// Quantity is the new number of licenses; QuantityChange adds to (or
	// takes from) the number as the change commits. Not both.
	Quantity, QuantityChange *int
	AssignedLicenses         *int
	AutoRenew                *bool
	BillingCycle             *domain.BillingCycle
	Status                   *domain.SubscriptionStatus
	ConvertTrialToPaid       *bool
}

// fields are the input fields the change gives, as policy names them.
func (c Change) fields() []string {
	var out []string
	for _, f := range []struct {
		name  string
		given bool
	}{
		{policy.SubNickname, c.Nickname != nil}, {policy.SubQuantity, c.Quantity != nil},
		{policy.SubQuantityChange, c.QuantityChange != nil}, {policy.SubAssignedLicenses, c.AssignedLicenses != nil},
		{policy.SubAutoRenew, c.AutoRenew != nil}, {policy.SubBillingCycle, c.BillingCycle != nil},
		{policy.SubStatus, c.Status != nil}, {policy.SubConvertTrial, c.ConvertTrialToPaid != nil},
	} {
		if f.given {
			out = append(out, f.name)
		}
	}
	return out
}

// maxNickname bounds a subscription's nickname, in characters.
const maxNickname = 100

// check refuses what is wrong with the input whatever the subscription.
func (c Change) check() error {
	var faults domain.Faults
	if c.Quantity != nil && c.QuantityChange != nil {
		faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, policy.SubQuantityChange,
			"give quantity (the new number) or quantityChange (licenses to add or take back), not both"))
	}
	if c.QuantityChange != nil && *c.QuantityChange == 0 {
		faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, policy.SubQuantityChange, "quantityChange must not be 0"))
	}
	if c.Nickname != nil && utf8.RuneCountInString(strings.TrimSpace(*c.Nickname)) > maxNickname {
		faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, policy.SubNickname, "nickname must be at most %d characters", maxNickname))
	}
	if c.Status != nil && !c.Status.Valid() {
		faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, policy.SubStatus, "unknown status %q", *c.Status))
	}
	if len(c.fields()) == 0 {
		faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "id", "give at least one field to change"))
	}
	return faults.OrNil()
}

// Result is what Update did: the subscription as changed and the CHANGE
// or CANCELLATION order it made (0 when the change affected no billing).
type Result struct {
	Subscription    *domain.ProductSubscription
	PurchaseOrderID int64
}

// Update applies c to a subscription the viewer may see, all of it or
// nothing, in one transaction with the subscription's row locked, so
// concurrent changes apply one after the other (SPEC §8.5).
func (s *Service) Update(ctx context.Context, c Change) (*Result, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	var res Result
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		var sub domain.ProductSubscription
		err := database.LockForUpdate(visible(tx, viewer, &sub).Where("s.id = ?", c.ID)).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.NotFound("product subscription")
		}
		if err != nil {
			return fmt.Errorf("subscriptions: reading the subscription: %w", err)
		}
		var product domain.Product
		if err := tx.NewSelect().Model(&product).Column("p.id", "p.type", "p.billing_cycles").
			Where("p.id = ?", sub.ProductID).Scan(ctx); err != nil {
			return fmt.Errorf("subscriptions: reading the product: %w", err)
		}
		delegated, err := delegation.HoldsActive(ctx, tx, viewer.OrganizationID, sub.CustomerID)
		if err != nil {
			return err
		}
		if err := policy.MayChangeSubscription(viewer, &sub, product.Type == domain.ProductSaaS, delegated, c.fields()); err != nil {
			return err
		}
		if c.ExpectedVersion != nil && *c.ExpectedVersion != sub.Version {
			return domain.FieldErrorf(domain.CodeVersionConflict, "expectedVersion",
				"the subscription is at version %d, not %d: someone changed it; read it again", sub.Version, *c.ExpectedVersion)
		}
		ch := &change{Change: c, tx: tx, now: s.Now(), was: sub, next: sub, product: &product}
		if err := ch.apply(ctx); err != nil {
			return err
		}
		if err := ch.commit(ctx, viewer); err != nil {
			return err
		}
		res = Result{Subscription: &ch.next, PurchaseOrderID: ch.orderID}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// change is one Update in progress: the subscription as it was and as it
// will be, and what else its commit writes.
type change struct {
	Change
	tx        bun.IDB
	now       time.Time
	was, next domain.ProductSubscription
	product   *domain.Product
	// delta is the licenses added (positive) or taken back; taken are the
	// additions a reduction takes them from, as they will be.
	delta int
	taken []*domain.LicenseAddition
	// billing is set when the change affects billing: the order's kind.
	billing     domain.PurchaseOrderKind
	cycleChange bool
	orderID     int64
}

// apply decides the change, refusing every rule it breaks; it writes
// nothing.
func (ch *change) apply(ctx context.Context) error {
	if ch.was.Status == domain.SubscriptionCancelled || ch.was.Status == domain.SubscriptionExpired {
		return domain.FieldErrorf(domain.CodeConflict, "id", "the subscription is %s, which is final: it changes no more", ch.was.Status)
	}
	var faults domain.Faults
	var failed error // a failure to read, not a refusal
	add := func(err error) {
		var e *domain.Error
		switch {
		case errors.As(err, &e):
			faults = append(faults, e)
		case err != nil && failed == nil:
			failed = err
		}
	}
	if ch.Nickname != nil {
		ch.next.Nickname = strings.TrimSpace(*ch.Nickname)
	}
	if ch.AutoRenew != nil {
		ch.next.AutoRenew = *ch.AutoRenew
	}
	if ch.was.Status == domain.SubscriptionPendingFulfillment {
		// Nothing is billed before the publisher activates it, so nothing
		// billed changes: the order that bought it is what activation bills.
		for _, f := range []struct {
			name  string
			given bool
		}{{policy.SubQuantity, ch.Quantity != nil}, {policy.SubQuantityChange, ch.QuantityChange != nil}, {policy.SubBillingCycle, ch.BillingCycle != nil}} {
			if f.given {
				add(domain.FieldErrorf(domain.CodeConflict, f.name,
					"the subscription waits for its publisher's activation; its billing changes only once it is ACTIVE"))
			}
		}
		if len(faults) > 0 {
			return faults
		}
	}
	add(ch.quantity(ctx))
	if ch.AssignedLicenses != nil {
		if n := *ch.AssignedLicenses; n < 0 || n > ch.next.Quantity {
			add(domain.FieldErrorf(domain.CodeInvalid, policy.SubAssignedLicenses,
				"assignedLicenses must be 0 to the quantity (%d)", ch.next.Quantity))
		} else {
			ch.next.AssignedLicenses = n
		}
	}
	add(ch.billingCycle())
	add(ch.status())
	add(ch.convertTrial())
	if failed != nil {
		return failed
	}
	return faults.OrNil()
}

// quantity raises the quantity any time, and lowers it by licenses added
// less than ChangeWindow ago (newest first), never below the licenses
// assigned (SPEC §8.5).
func (ch *change) quantity(ctx context.Context) error {
	field, want := policy.SubQuantity, ch.was.Quantity
	switch {
	case ch.Quantity != nil:
		want = *ch.Quantity
	case ch.QuantityChange != nil:
		field, want = policy.SubQuantityChange, ch.was.Quantity+*ch.QuantityChange
	default:
		return nil
	}
	if want < 1 {
		return domain.FieldErrorf(domain.CodeInvalid, field, "the quantity must stay at least 1 (it is %d); to end the subscription, cancel it", ch.was.Quantity)
	}
	assigned := ch.was.AssignedLicenses
	if ch.AssignedLicenses != nil {
		assigned = *ch.AssignedLicenses
	}
	if want < assigned {
		return domain.FieldErrorf(domain.CodeBelowAssigned, field,
			"%d licenses are assigned to users: unassign some before lowering the quantity to %d", assigned, want)
	}
	ch.delta, ch.next.Quantity = want-ch.was.Quantity, want
	if ch.delta != 0 && ch.billing == "" {
		ch.billing = domain.POKindChange
	}
	if ch.delta >= 0 {
		return nil
	}
	open, err := openWindows(ctx, ch.tx, ch.was.ID, ch.now)
	if err != nil {
		return err
	}
	left := -ch.delta
	for _, a := range open {
		take := min(left, a.Remaining)
		a.Remaining -= take
		left -= take
		ch.taken = append(ch.taken, a)
		if left == 0 {
			return nil
		}
	}
	closed, err := latestClosedWindow(ctx, ch.tx, ch.was.ID, ch.now)
	if err != nil {
		return err
	}
	if closed.IsZero() {
		return domain.FieldErrorf(domain.CodeWindowClosed, field,
			"only %d licenses were added less than 168 hours ago and may be taken back", -ch.delta-left)
	}
	return domain.FieldErrorf(domain.CodeWindowClosed, field,
		"only %d licenses were added less than 168 hours ago and may be taken back; the window of the others closed at %s",
		-ch.delta-left, closed.Format(time.RFC3339))
}

// latestClosedWindow is when the latest window that has closed by now
// closed: the one a refused reduction ran into (zero when none has).
func latestClosedWindow(ctx context.Context, tx bun.IDB, subID int64, now time.Time) (time.Time, error) {
	var a domain.LicenseAddition
	err := tx.NewSelect().Model(&a).Where("la.product_subscription_id = ?", subID).
		Where("la.added_at <= ?", now.Add(-domain.ChangeWindow)).Order("la.added_at DESC").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("subscriptions: reading closed windows: %w", err)
	}
	return WindowCloses(a.AddedAt).UTC(), nil
}

// billingCycle moves to another cycle the product offers.
func (ch *change) billingCycle() error {
	if ch.BillingCycle == nil || *ch.BillingCycle == ch.was.BillingCycle {
		return nil
	}
	if !slices.Contains(ch.product.BillingCycles, *ch.BillingCycle) {
		return domain.FieldErrorf(domain.CodeInvalid, policy.SubBillingCycle, "the product is not billed %s; it offers %v",
			*ch.BillingCycle, ch.product.BillingCycles)
	}
	ch.next.BillingCycle, ch.cycleChange = *ch.BillingCycle, true
	if ch.billing == "" {
		ch.billing = domain.POKindChange
	}
	return nil
}

// status suspends, reactivates or cancels (SPEC §6.3): PENDING_FULFILLMENT
// leaves only by activation; cancelling only within ChangeWindow of the
// term's start.
func (ch *change) status() error {
	if ch.Status == nil || *ch.Status == ch.was.Status {
		return nil
	}
	from, to := ch.was.Status, *ch.Status
	switch {
	case from == domain.SubscriptionPendingFulfillment:
		return domain.FieldErrorf(domain.CodeConflict, policy.SubStatus,
			"the subscription waits for its publisher's activation; its status changes only by activateSaasSubscription")
	case to == domain.SubscriptionSuspended && from == domain.SubscriptionActive,
		to == domain.SubscriptionActive && from == domain.SubscriptionSuspended:
		ch.next.Status = to
		ch.billing = domain.POKindChange
		return nil
	case to == domain.SubscriptionCancelled:
		until := CancellableUntil(&ch.was)
		if !ch.now.Before(until) {
			return domain.FieldErrorf(domain.CodeWindowClosed, policy.SubStatus,
				"cancellation is possible within 168 hours of the purchase or latest renewal; that window closed at %s (turning autoRenew off is still possible)",
				until.UTC().Format(time.RFC3339))
		}
		if ch.delta != 0 || ch.cycleChange || ch.ConvertTrialToPaid != nil {
			return domain.FieldErrorf(domain.CodeInvalid, policy.SubStatus, "a cancellation takes no other billing change")
		}
		ch.next.Status, ch.next.AutoRenew = to, false
		ch.billing = domain.POKindCancellation
		return nil
	}
	return domain.FieldErrorf(domain.CodeConflict, policy.SubStatus,
		"a %s subscription cannot move to %s: SUSPENDED from ACTIVE, ACTIVE from SUSPENDED, or CANCELLED within its window", from, to)
}

// convertTrial ends a trial: billing starts now, for a full term.
func (ch *change) convertTrial() error {
	if ch.ConvertTrialToPaid == nil || !*ch.ConvertTrialToPaid {
		return nil
	}
	switch {
	case !ch.was.Trial:
		return domain.FieldErrorf(domain.CodeConflict, policy.SubConvertTrial, "the subscription is not a trial")
	case ch.was.Status == domain.SubscriptionPendingFulfillment:
		return domain.FieldErrorf(domain.CodeConflict, policy.SubConvertTrial,
			"the subscription waits for its publisher's activation; billing starts then")
	}
	now := ch.now
	ch.next.Trial, ch.next.BillingStartedAt, ch.next.CommitmentEndsAt = false, &now, TermEnd(now, ch.was.Term)
	if ch.billing == "" {
		ch.billing = domain.POKindChange
	}
	return nil
}

// changed reports whether the change changes anything at all.
func (ch *change) changed() bool {
	a, b := ch.was, ch.next
	return a.Nickname != b.Nickname || a.AutoRenew != b.AutoRenew || a.AssignedLicenses != b.AssignedLicenses ||
		ch.billing != ""
}

// commit writes the change: the licenses' windows, the billing order, the
// subscription at its next version, and its event.
func (ch *change) commit(ctx context.Context, viewer *domain.Viewer) error {
	if !ch.changed() {
		return nil
	}
	ch.next.Version, ch.next.UpdatedAt = ch.was.Version+1, ch.now
	for _, a := range ch.taken {
		if _, err := ch.tx.NewUpdate().Model(a).Column("remaining").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("subscriptions: taking back licenses: %w", err)
		}
	}
	if ch.delta > 0 {
		added := &domain.LicenseAddition{ProductSubscriptionID: ch.was.ID, Kind: domain.AddedAtIncrease,
			Quantity: ch.delta, Remaining: ch.delta, AddedAt: ch.now}
		if _, err := ch.tx.NewInsert().Model(added).Exec(ctx); err != nil {
			return fmt.Errorf("subscriptions: storing the licenses added: %w", err)
		}
	}
	if ch.billing != "" {
		if err := ch.recordOrder(ctx, viewer); err != nil {
			return err
		}
	}
	if _, err := ch.tx.NewUpdate().Model(&ch.next).WherePK().
		Column("quantity", "assigned_licenses", "billing_cycle", "auto_renew", "nickname", "trial", "status",
			"commitment_ends_at", "billing_started_at", "price_line_id", "version", "updated_at").Exec(ctx); err != nil {
		return fmt.Errorf("subscriptions: storing the change: %w", err)
	}
	return Updated.Append(ctx, ch.tx, ch.next.ID, ch.now)
}

// recordOrder records the CHANGE or CANCELLATION order of a billing change,
// priced on every edge, between the subscription's parties. A quantity
// change alone bills the licenses it adds or takes back; any other billing
// change bills the whole quantity at the new terms, and its line's prices
// become the subscription's.
func (ch *change) recordOrder(ctx context.Context, viewer *domain.Viewer) error {
	var bought domain.PurchaseOrderLine
	if err := ch.tx.NewSelect().Model(&bought).Where("l.id = ?", ch.was.PriceLineID).Scan(ctx); err != nil {
		return fmt.Errorf("subscriptions: reading the subscription's price line: %w", err)
	}
	term, cycle := ch.next.Term, ch.next.BillingCycle
	line := domain.PurchaseOrderLine{ProductID: ch.next.ProductID, SKU: bought.SKU, Quantity: ch.next.Quantity,
		Term: &term, BillingCycle: &cycle, TenantID: ch.next.TenantID,
		MarkupPercent: bought.MarkupPercent, PriceAmount: bought.PriceAmount, PriceCurrency: bought.PriceCurrency}
	if ch.delta != 0 {
		delta := ch.delta
		line.LicenseChange = &delta
		if !ch.cycleChange && ch.next.Status == ch.was.Status && ch.next.Trial == ch.was.Trial {
			line.Quantity = max(delta, -delta)
		}
	}
	var by *int64
	if !viewer.IsPlatformAdmin {
		org := viewer.OrganizationID
		by = &org
	}
	id, err := orders.RecordForSubscriptionInTx(ctx, ch.tx, ch.now, orders.SubscriptionOrder{
		Kind: ch.billing, SubscriptionID: ch.next.ID, Version: ch.next.Version,
		VendorID: ch.next.VendorID, CustomerID: ch.next.CustomerID,
		DistributorID: ch.next.DistributorID, ResellerID: ch.next.ResellerID,
		RecordedBy: by, Line: line,
	})
	if err != nil {
		return err
	}
	ch.orderID = id
	if ch.cycleChange {
		if err := ch.tx.NewSelect().TableExpr("purchase_order_lines AS l").Column("l.id").
			Where("l.purchase_order_id = ?", id).Limit(1).Scan(ctx, &ch.next.PriceLineID); err != nil {
			return fmt.Errorf("subscriptions: reading the change's line: %w", err)
		}
	}
	return nil
}
