package subscriptions_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/subscriptions"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// refusedOn checks err is a BAD_USER_INPUT on activationCode whose message
// contains want.
func refusedOn(t *testing.T, what string, err error, want string) {
	t.Helper()
	var e *domain.Error
	if !errors.As(err, &e) || e.Code != domain.CodeInvalid || e.Field != "activationCode" || !strings.Contains(e.Message, want) {
		t.Errorf("%s: %v, want BAD_USER_INPUT on activationCode saying %q", what, err, want)
	}
}

// TestActivateSaaS (SPEC §6.4, §8.5): a SaaS subscription waits in
// PENDING_FULFILLMENT, unbilled, until its publisher's OWNER or
// ADMIN_AGENT activates it with its code: then it is ACTIVE and billed
// from that moment. Other roles and other organizations are refused; an
// unknown code, another vendor's code, a used code and an expired code are
// refused on activationCode, changing nothing.
func TestActivateSaaS(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		c := newLifecycleChain(t, db)
		sub := c.buy("APP", 3, domain.TermYear, nil)
		if sub.Status != domain.SubscriptionPendingFulfillment || sub.ActivationCode == nil || sub.BillingStartedAt != nil ||
			sub.ActivationExpiresAt == nil || !sub.ActivationExpiresAt.Equal(lifecycleStart.Add(subscriptions.ActivationCodeLifetime)) {
			t.Fatalf("bought: %s", testapi.Describe(sub))
		}
		code := *sub.ActivationCode
		other, err := channel.New(db).CreateOrganization(c.admin, channel.CreateOrganizationInput{Name: "Other vendor", Kind: domain.KindVendor})
		c.must(err)

		for _, tc := range []struct {
			who string
			ctx context.Context
		}{
			{"the vendor's SALES_AGENT", as(c.vendor, domain.RoleSalesAgent)},
			{"the vendor's BILLING_ADMIN", as(c.vendor, domain.RoleBillingAdmin)},
			{"the vendor's VIEWER", as(c.vendor, domain.RoleViewer)},
			{"the reseller's OWNER", as(c.reseller, domain.RoleOwner)},
			{"the distributor's OWNER", as(c.distributor, domain.RoleOwner)},
			{"the customer's OWNER", as(c.customer, domain.RoleOwner)},
		} {
			if _, err := c.subs.Activate(tc.ctx, code); domain.ErrorCode(err) != domain.CodeForbidden {
				t.Errorf("%s activates: %v, want FORBIDDEN", tc.who, err)
			}
		}
		if _, err := c.subs.Activate(context.Background(), code); domain.ErrorCode(err) != domain.CodeUnauthenticated {
			t.Errorf("without a viewer: %v", err)
		}
		owner := as(c.vendor, domain.RoleOwner)
		refusedOn(t, "an unknown code", second(c.subs.Activate(owner, "act_NOTACODE")), "unknown activation code")
		refusedOn(t, "no code", second(c.subs.Activate(owner, "  ")), "give the code")
		refusedOn(t, "another vendor's code", second(c.subs.Activate(as(other, domain.RoleOwner), code)), "unknown activation code")
		if got := reread(t, db, sub.ID); got.Status != domain.SubscriptionPendingFulfillment || got.Version != 1 || got.ActivatedAt != nil {
			t.Fatalf("a refusal changed the subscription: %s", testapi.Describe(got))
		}
		events := subscriptionEvents(t, db, sub.ID)

		c.clock.Set(lifecycleStart.Add(50 * time.Hour))
		activated, err := c.subs.Activate(as(c.vendor, domain.RoleAdminAgent), " "+code+" ")
		c.must(err)
		now := c.clock.Now()
		got := reread(t, db, sub.ID)
		for _, s := range []*domain.ProductSubscription{activated, got} {
			if s.Status != domain.SubscriptionActive || s.Version != 2 || s.BillingStartedAt == nil || !s.BillingStartedAt.Equal(now) ||
				s.ActivatedAt == nil || !s.ActivatedAt.Equal(now) {
				t.Fatalf("activated: %s", testapi.Describe(s))
			}
		}
		if n := subscriptionEvents(t, db, sub.ID); n != events+1 {
			t.Errorf("%d events after the activation, want %d", n, events+1)
		}
		refusedOn(t, "a used code", second(c.subs.Activate(owner, code)), "already used: the subscription was activated at "+now.Format(time.RFC3339))
		if got := reread(t, db, sub.ID); got.Version != 2 {
			t.Errorf("a second activation changed the subscription: %s", testapi.Describe(got))
		}

		late := c.buy("APP", 1, domain.TermYear, nil)
		c.clock.Set(late.ActivationExpiresAt.Add(-time.Microsecond))
		c.clock.Set(*late.ActivationExpiresAt)
		refusedOn(t, "an expired code", second(c.subs.Activate(owner, *late.ActivationCode)),
			"expired at "+late.ActivationExpiresAt.Format(time.RFC3339))
		if got := reread(t, db, late.ID); got.Status != domain.SubscriptionPendingFulfillment || got.Version != 1 {
			t.Errorf("an expired activation changed the subscription: %s", testapi.Describe(got))
		}

		cancelled := c.buy("APP", 1, domain.TermYear, nil)
		set(t, db, cancelled.ID, "status", domain.SubscriptionCancelled)
		refusedOn(t, "a cancelled subscription's code", second(c.subs.Activate(owner, *cancelled.ActivationCode)), "is CANCELLED")

		admin := c.admin
		trial := c.buy("APP-TRIAL", 2, domain.TermYear, nil)
		activatedTrial, err := c.subs.Activate(admin, *trial.ActivationCode)
		c.must(err)
		if activatedTrial.Status != domain.SubscriptionActive || !activatedTrial.Trial || activatedTrial.BillingStartedAt != nil {
			t.Errorf("a trial activated by the platform administrator: %s", testapi.Describe(activatedTrial))
		}
	})
}

// TestActivateSaaSOnce: many activations of one code at once: exactly one
// succeeds, the others are told the code was used, and the subscription
// moves one version with one event.
func TestActivateSaaSOnce(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		c := newLifecycleChain(t, db)
		sub := c.buy("APP", 3, domain.TermYear, nil)
		events := subscriptionEvents(t, db, sub.ID)
		owner := as(c.vendor, domain.RoleOwner)
		const tries = 8
		var wg sync.WaitGroup
		errs := make([]error, tries)
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = c.subs.Activate(owner, *sub.ActivationCode)
			}()
		}
		wg.Wait()
		succeeded := 0
		for _, err := range errs {
			if err == nil {
				succeeded++
				continue
			}
			refusedOn(t, "a concurrent activation", err, "already used")
		}
		if got := reread(t, db, sub.ID); succeeded != 1 || got.Version != 2 || subscriptionEvents(t, db, sub.ID) != events+1 {
			t.Errorf("%d activations succeeded; the subscription is at version %d with %d events", succeeded, got.Version,
				subscriptionEvents(t, db, sub.ID)-events)
		}
	})
}

func second[T any](_ T, err error) error { return err }
