package subscriptions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Activate activates the SaaS subscription whose activation code is code,
// as its product's publisher (SPEC §6.4, §8.5): PENDING_FULFILLMENT becomes
// ACTIVE, and billing starts now (for a trial, when the trial ends). The
// code is kept, marked used by activated_at, so a second use is told it was
// used rather than that it is unknown. The subscription's row is locked
// while the code is checked, so of two activations with one code exactly
// one succeeds.
func (s *Service) Activate(ctx context.Context, code string) (*domain.ProductSubscription, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := policy.MayActivateSaaS(viewer); err != nil {
		return nil, err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "activationCode", "give the code from the activation link's code parameter")
	}
	var sub domain.ProductSubscription
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		now := s.Now()
		q := tx.NewSelect().Model(&sub).Where("s.activation_code = ?", code)
		err := database.LockForUpdate(visibility.RestrictToPublisher(q, viewer, "s.vendor_id")).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.FieldErrorf(domain.CodeInvalid, "activationCode", "unknown activation code: none of your products' subscriptions waits for it")
		}
		if err != nil {
			return fmt.Errorf("subscriptions: reading the subscription to activate: %w", err)
		}
		if err := usable(&sub, now); err != nil {
			return err
		}
		was := sub.Version
		sub.Status, sub.ActivatedAt, sub.Version, sub.UpdatedAt = domain.SubscriptionActive, &now, was+1, now
		if !sub.Trial {
			sub.BillingStartedAt = &now
		}
		res, err := tx.NewUpdate().Model(&sub).Column("status", "activated_at", "billing_started_at", "version", "updated_at").
			Where("id = ? AND version = ? AND activated_at IS NULL", sub.ID, was).Exec(ctx)
		if err != nil {
			return fmt.Errorf("subscriptions: activating: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			// Only without the row lock's protection: never on either database.
			return domain.FieldErrorf(domain.CodeInvalid, "activationCode", "this activation code was already used")
		}
		return Updated.Append(ctx, tx, sub.ID, now)
	})
	if err != nil {
		return nil, err
	}
	return &sub, nil
}

// usable refuses a code that was used, no longer has a subscription waiting
// for it, or has expired by now.
func usable(s *domain.ProductSubscription, now time.Time) error {
	switch {
	case s.ActivatedAt != nil:
		return domain.FieldErrorf(domain.CodeInvalid, "activationCode",
			"this activation code was already used: the subscription was activated at %s", s.ActivatedAt.UTC().Format(time.RFC3339))
	case s.Status != domain.SubscriptionPendingFulfillment:
		return domain.FieldErrorf(domain.CodeInvalid, "activationCode",
			"this activation code no longer works: its subscription is %s, not waiting for activation", s.Status)
	case s.ActivationExpiresAt != nil && !now.Before(*s.ActivationExpiresAt):
		return domain.FieldErrorf(domain.CodeInvalid, "activationCode",
			"this activation code expired at %s", s.ActivationExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}
