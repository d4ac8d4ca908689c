package subscriptions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
)

// renewalBatch is how many due subscriptions one read of the due list
// returns; RenewDue reads again until none is left.
const renewalBatch = 100

// RunRenewer renews or expires the subscriptions whose term has ended
// (SPEC §8.5) until ctx ends, checking every tick. It keeps nothing in
// memory between ticks: each reads the due subscriptions from the database,
// so a restarted server, or another replica, picks up exactly where the
// last left off, and replicas running at once renew each term once (see
// RenewDue).
func (s *Service) RunRenewer(ctx context.Context, tick time.Duration, log *slog.Logger) {
	ctx = context.WithValue(ctx, renewing{}, true)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if _, err := s.RenewDue(ctx); err != nil && ctx.Err() == nil {
			log.Warn("subscription renewer", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RenewDue ends the term of every ACTIVE or SUSPENDED subscription whose
// commitment has ended by the service's clock, and returns how many terms
// it ended. With auto-renew a subscription renews: a RENEWAL order priced
// on every edge, a new term from the old commitment end, and a fresh window
// for its licenses; a trial ends the same way, as its first paid term.
// Without auto-renew it expires. A subscription several terms behind (a
// server down for long) renews once per elapsed term, each with its order,
// so every term is billed. PENDING_FULFILLMENT subscriptions never renew.
//
// Each term ends in its own transaction, claimed by a conditional update on
// the subscription's version: a replica whose claim finds the version moved
// on leaves the term to the replica that moved it. A subscription that
// fails (its error is returned) is skipped until the next call, so it
// never holds up the others.
func (s *Service) RenewDue(ctx context.Context) (int, error) {
	var failed []int64
	var errs []error
	ended := 0
	for {
		now := s.Now()
		var due []int64
		q := s.db.NewSelect().TableExpr("product_subscriptions").Column("id").
			Where("status IN (?)", bun.In(renewable)).Where("commitment_ends_at <= ?", now).
			OrderExpr("commitment_ends_at, id").Limit(renewalBatch)
		if len(failed) > 0 {
			q = q.Where("id NOT IN (?)", database.IDs(failed))
		}
		if err := q.Scan(ctx, &due); err != nil {
			return ended, errors.Join(append(errs, fmt.Errorf("subscriptions: reading due subscriptions: %w", err))...)
		}
		if len(due) == 0 {
			return ended, errors.Join(errs...)
		}
		for _, id := range due {
			done, err := s.endTerm(ctx, id)
			switch {
			case ctx.Err() != nil:
				return ended, ctx.Err()
			case err != nil:
				failed = append(failed, id)
				errs = append(errs, fmt.Errorf("subscription %d: %w", id, err))
			case done:
				ended++
			}
		}
	}
}

// renewable are the statuses whose term ends by renewal or expiry.
var renewable = []domain.SubscriptionStatus{domain.SubscriptionActive, domain.SubscriptionSuspended}

// errNotMine rolls back a term another replica ended first.
var errNotMine = errors.New("subscriptions: the term was ended elsewhere")

// endTerm renews or expires subscription id if its term has ended, and
// reports whether this call did it.
func (s *Service) endTerm(ctx context.Context, id int64) (bool, error) {
	err := database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		now := s.Now()
		var sub domain.ProductSubscription
		err := tx.NewSelect().Model(&sub).Where("s.id = ?", id).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotMine
		}
		if err != nil {
			return fmt.Errorf("subscriptions: reading a due subscription: %w", err)
		}
		if !due(&sub, now) {
			return errNotMine
		}
		next := nextTerm(&sub, now)
		if err := claim(ctx, tx, &sub, next); err != nil {
			return err
		}
		if next.Status == domain.SubscriptionActive || next.Status == domain.SubscriptionSuspended {
			if err := renewInTx(ctx, tx, next, now); err != nil {
				return err
			}
		}
		return Updated.Append(ctx, tx, id, now)
	})
	if errors.Is(err, errNotMine) {
		return false, nil
	}
	return err == nil, err
}

func due(s *domain.ProductSubscription, now time.Time) bool {
	return (s.Status == domain.SubscriptionActive || s.Status == domain.SubscriptionSuspended) &&
		!s.CommitmentEndsAt.After(now)
}

// nextTerm is s once its term has ended: renewed for another term from the
// old commitment end (a trial's first paid term, billed from then), or
// EXPIRED when auto-renew is off.
func nextTerm(s *domain.ProductSubscription, now time.Time) *domain.ProductSubscription {
	next := *s
	next.Version, next.UpdatedAt = s.Version+1, now
	if !s.AutoRenew {
		next.Status = domain.SubscriptionExpired
		return &next
	}
	end := s.CommitmentEndsAt
	next.Trial = false
	if next.BillingStartedAt == nil {
		next.BillingStartedAt = &end
	}
	next.TermStartedAt, next.CommitmentEndsAt = end, TermEnd(end, s.Term)
	return &next
}

// claim stores next over was only if was is still the stored version. Zero
// rows means another replica ended the term since was was read (on
// PostgreSQL the update waited for that replica's commit): errNotMine.
func claim(ctx context.Context, tx bun.IDB, was, next *domain.ProductSubscription) error {
	res, err := tx.NewUpdate().Model(next).
		Column("status", "trial", "billing_started_at", "term_started_at", "commitment_ends_at", "version", "updated_at").
		Where("id = ? AND version = ?", was.ID, was.Version).Exec(ctx)
	if err != nil {
		return fmt.Errorf("subscriptions: ending a term: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errNotMine
	}
	return nil
}

// renewInTx records the RENEWAL order of s's new term (priced on every edge
// by today's rules, with the customer-facing markup or price of the line
// that priced the last term), makes its line the subscription's price, and
// gives the whole quantity a fresh window from the term's start: licenses
// of earlier additions can no longer be taken back.
func renewInTx(ctx context.Context, tx bun.IDB, s *domain.ProductSubscription, now time.Time) error {
	var priced domain.PurchaseOrderLine
	if err := tx.NewSelect().Model(&priced).Where("l.id = ?", s.PriceLineID).Scan(ctx); err != nil {
		return fmt.Errorf("subscriptions: reading the subscription's price line: %w", err)
	}
	term, cycle := s.Term, s.BillingCycle
	orderID, err := orders.RecordForSubscriptionInTx(ctx, tx, now, orders.SubscriptionOrder{
		Kind: domain.POKindRenewal, SubscriptionID: s.ID, Version: s.Version,
		VendorID: s.VendorID, CustomerID: s.CustomerID, DistributorID: s.DistributorID, ResellerID: s.ResellerID,
		Line: domain.PurchaseOrderLine{ProductID: s.ProductID, SKU: priced.SKU, Quantity: s.Quantity,
			Term: &term, BillingCycle: &cycle, TenantID: s.TenantID,
			MarkupPercent: priced.MarkupPercent, PriceAmount: priced.PriceAmount, PriceCurrency: priced.PriceCurrency},
	})
	if err != nil {
		return err
	}
	var lineID int64
	if err := tx.NewSelect().TableExpr("purchase_order_lines").Column("id").
		Where("purchase_order_id = ?", orderID).Scan(ctx, &lineID); err != nil {
		return fmt.Errorf("subscriptions: reading the renewal's line: %w", err)
	}
	if _, err := tx.NewUpdate().TableExpr("product_subscriptions").Set("price_line_id = ?", lineID).
		Where("id = ?", s.ID).Exec(ctx); err != nil {
		return fmt.Errorf("subscriptions: pricing the renewed term: %w", err)
	}
	if _, err := tx.NewUpdate().TableExpr("subscription_license_additions").Set("remaining = 0").
		Where("product_subscription_id = ? AND remaining > 0", s.ID).Exec(ctx); err != nil {
		return fmt.Errorf("subscriptions: closing the last term's windows: %w", err)
	}
	added := &domain.LicenseAddition{ProductSubscriptionID: s.ID, Kind: domain.AddedAtRenewal,
		Quantity: s.Quantity, Remaining: s.Quantity, AddedAt: s.TermStartedAt}
	if _, err := tx.NewInsert().Model(added).Exec(ctx); err != nil {
		return fmt.Errorf("subscriptions: storing the renewed licenses: %w", err)
	}
	return nil
}

type renewing struct{}

// InRenewer reports whether a query hook's ctx is the renewal job's: work
// on a timer, which a count of what a request costs leaves out.
func InRenewer(ctx context.Context) bool { return ctx.Value(renewing{}) != nil }
