package subscriptions_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/subscriptions"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// linePrices reads what each seller charges its buyer on order line id.
func linePrices(t *testing.T, db bun.IDB, lineID int64) map[[2]int64]decimal.Decimal {
	t.Helper()
	var rows []struct {
		SellerID int64  `bun:"seller_id"`
		BuyerID  int64  `bun:"buyer_id"`
		Amount   string `bun:"amount"`
	}
	if err := db.NewSelect().TableExpr("line_prices").Column("seller_id", "buyer_id", "amount").
		Where("line_kind = ? AND line_id = ?", pricing.OrderLines, lineID).Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[[2]int64]decimal.Decimal{}
	for _, r := range rows {
		out[[2]int64{r.SellerID, r.BuyerID}] = decimal.RequireFromString(r.Amount)
	}
	return out
}

func mustRenew(t *testing.T, s *subscriptions.Service, want int) {
	t.Helper()
	n, err := s.RenewDue(context.Background())
	if err != nil || n != want {
		t.Fatalf("RenewDue ended %d terms (%v), want %d", n, err, want)
	}
}

// TestRenewalWithAutoRenew (SPEC §6.3, §8.5): at commitmentEndsAt a
// subscription renews: a RENEWAL order priced on every edge by today's
// rules, keeping the reseller's markup to its customer, becomes its price;
// the new term starts at the old end; the whole quantity gets a fresh
// window and older additions can no longer be taken back. Not a moment
// before its end, and a server down for terms renews once per term.
func TestRenewalWithAutoRenew(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		c := newLifecycleChain(t, db)
		markup := "20"
		sub := c.buy("SEAT", 5, domain.TermYear, &markup)
		end := sub.CommitmentEndsAt
		if sub.Status != domain.SubscriptionActive || !end.Equal(lifecycleStart.AddDate(1, 0, 0)) {
			t.Fatalf("bought: %+v", sub)
		}
		events := subscriptionEvents(t, db, sub.ID)

		c.clock.Set(end.Add(-time.Microsecond))
		mustRenew(t, c.subs, 0)
		// The distributor's price to the reseller changes before the renewal.
		_, err := c.pricing.SetPriceRule(c.admin, pricing.SetPriceRuleInput{ChannelEdgeID: c.edges[c.reseller.ID].ID, MarkupPercent: ptr("50")})
		c.must(err)
		c.clock.Set(end.Add(time.Hour))
		mustRenew(t, c.subs, 1)
		mustRenew(t, c.subs, 0)

		got := reread(t, db, sub.ID)
		if got.Status != domain.SubscriptionActive || got.Version != 2 || !got.TermStartedAt.Equal(end) ||
			!got.CommitmentEndsAt.Equal(end.AddDate(1, 0, 0)) || got.PriceLineID == sub.PriceLineID {
			t.Fatalf("renewed: %+v", got)
		}
		var renewal struct {
			domain.PurchaseOrderLine `bun:",extend"`
			Kind                     domain.PurchaseOrderKind   `bun:"kind"`
			Status                   domain.PurchaseOrderStatus `bun:"status"`
			SubscriptionID           *int64                     `bun:"product_subscription_id"`
		}
		c.must(db.NewSelect().Model(&renewal).ColumnExpr("l.*, p.kind, p.status, p.product_subscription_id").
			Join("JOIN purchase_orders AS p ON p.id = l.purchase_order_id").Where("l.id = ?", got.PriceLineID).Scan(context.Background()))
		if renewal.Kind != domain.POKindRenewal || renewal.Status != domain.POCompleted || renewal.SubscriptionID == nil ||
			*renewal.SubscriptionID != sub.ID || renewal.Quantity != 5 || *renewal.Term != domain.TermYear ||
			*renewal.BillingCycle != domain.BillMonthly || renewal.MarkupPercent == nil || *renewal.MarkupPercent != "20" {
			t.Fatalf("the renewal's line: %s", testapi.Describe(renewal))
		}
		first, renewed := linePrices(t, db, sub.PriceLineID), linePrices(t, db, got.PriceLineID)
		vd, dr, rc := [2]int64{c.vendor.ID, c.distributor.ID}, [2]int64{c.distributor.ID, c.reseller.ID}, [2]int64{c.reseller.ID, c.customer.ID}
		if len(renewed) != 3 || !renewed[vd].Equal(first[vd]) || !renewed[dr].GreaterThan(first[dr]) ||
			!renewed[rc].Equal(renewed[dr].Mul(decimal.RequireFromString("1.2")).Round(2)) {
			t.Fatalf("the renewal is not priced per edge with the reseller's markup: first %v, renewal %v", first, renewed)
		}
		var additions []domain.LicenseAddition
		c.must(db.NewSelect().Model(&additions).Where("la.product_subscription_id = ?", sub.ID).Order("la.id").Scan(context.Background()))
		if len(additions) != 2 || additions[0].Remaining != 0 || additions[1].Kind != domain.AddedAtRenewal ||
			additions[1].Quantity != 5 || additions[1].Remaining != 5 || !additions[1].AddedAt.Equal(end) {
			t.Fatalf("the renewal's window: %s", testapi.Describe(additions))
		}
		if n := subscriptionEvents(t, db, sub.ID); n != events+1 {
			t.Errorf("%d events after the renewal, want %d", n, events+1)
		}

		// Down for two more terms: each renews, each with its order.
		c.clock.Set(end.AddDate(2, 0, 0).Add(time.Hour))
		mustRenew(t, c.subs, 2)
		if got := reread(t, db, sub.ID); got.Version != 4 || !got.CommitmentEndsAt.Equal(end.AddDate(3, 0, 0)) ||
			ordersOfKind(t, db, sub.ID, domain.POKindRenewal) != 3 {
			t.Fatalf("after three terms: %+v with %d renewals", got, ordersOfKind(t, db, sub.ID, domain.POKindRenewal))
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestTermEndMatrix (SPEC §8.5): without auto-renew a subscription expires
// at its end; a suspended one renews and stays suspended; a trial with
// auto-renew turns into its first paid term (billed from the trial's end,
// with a RENEWAL order), without it expires; a SaaS subscription waiting
// for activation never renews.
func TestTermEndMatrix(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		c := newLifecycleChain(t, db)
		expiring := c.buy("SEAT", 3, domain.TermMonth, nil)
		set(t, db, expiring.ID, "auto_renew", false)
		suspended := c.buy("SEAT", 2, domain.TermMonth, nil)
		set(t, db, suspended.ID, "status", domain.SubscriptionSuspended)
		trial := c.buy("SEAT-TRIAL", 4, domain.TermMonth, nil)
		lapsing := c.buy("SEAT-TRIAL", 4, domain.TermMonth, nil)
		set(t, db, lapsing.ID, "auto_renew", false)
		pending := c.buy("APP", 1, domain.TermMonth, nil)
		if !trial.Trial || trial.BillingStartedAt != nil || pending.Status != domain.SubscriptionPendingFulfillment {
			t.Fatalf("bought: trial %+v, pending %+v", trial, pending)
		}

		c.clock.Set(lifecycleStart.AddDate(0, 1, 1)) // past the month and the 14-day trials
		mustRenew(t, c.subs, 4)
		for _, tc := range []struct {
			name     string
			id       int64
			status   domain.SubscriptionStatus
			trial    bool
			version  int
			renewals int
		}{
			{"auto-renew off", expiring.ID, domain.SubscriptionExpired, false, 2, 0},
			{"suspended", suspended.ID, domain.SubscriptionSuspended, false, 2, 1},
			{"trial with auto-renew", trial.ID, domain.SubscriptionActive, false, 2, 1},
			{"trial without auto-renew", lapsing.ID, domain.SubscriptionExpired, true, 2, 0},
			{"waiting for activation", pending.ID, domain.SubscriptionPendingFulfillment, false, 1, 0},
		} {
			got := reread(t, db, tc.id)
			if got.Status != tc.status || got.Trial != tc.trial || got.Version != tc.version ||
				ordersOfKind(t, db, tc.id, domain.POKindRenewal) != tc.renewals {
				t.Errorf("%s: %s, %d renewals", tc.name, testapi.Describe(got), ordersOfKind(t, db, tc.id, domain.POKindRenewal))
			}
		}
		trialEnd := trial.CommitmentEndsAt
		if got := reread(t, db, trial.ID); got.BillingStartedAt == nil || !got.BillingStartedAt.Equal(trialEnd) ||
			!got.TermStartedAt.Equal(trialEnd) || !got.CommitmentEndsAt.Equal(trialEnd.AddDate(0, 1, 0)) {
			t.Errorf("the paid term after the trial: %s", testapi.Describe(got))
		}
		if subscriptionEvents(t, db, expiring.ID) != 2 {
			t.Errorf("the expiry was not announced")
		}
		// Expired stays expired.
		c.clock.Set(lifecycleStart.AddDate(1, 0, 0))
		c.subs.RenewDue(context.Background())
		if got := reread(t, db, expiring.ID); got.Status != domain.SubscriptionExpired || got.Version != 2 {
			t.Errorf("an expired subscription changed: %s", testapi.Describe(got))
		}
	})
}

// TestRenewalFailureHoldsUpNoOther: a subscription whose renewal fails (its
// price line's markup cannot be priced) is reported and left due, in one
// pass that still renews the others; it is tried again on the next pass.
func TestRenewalFailureHoldsUpNoOther(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		c := newLifecycleChain(t, db)
		broken, fine := c.buy("SEAT", 2, domain.TermMonth, nil), c.buy("SEAT", 3, domain.TermMonth, nil)
		if _, err := db.NewUpdate().TableExpr("purchase_order_lines").Set("markup_percent = ?", "not a number").
			Where("id = ?", broken.PriceLineID).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.clock.Set(lifecycleStart.AddDate(0, 1, 1))
		n, err := c.subs.RenewDue(context.Background())
		if n != 1 || err == nil || !strings.Contains(err.Error(), fmt.Sprintf("subscription %d:", broken.ID)) {
			t.Fatalf("RenewDue ended %d terms with %v; want 1 and subscription %d's error", n, err, broken.ID)
		}
		if b, f := reread(t, db, broken.ID), reread(t, db, fine.ID); b.Version != 1 || f.Version != 2 ||
			ordersOfKind(t, db, broken.ID, domain.POKindRenewal) != 0 {
			t.Fatalf("after a failed renewal: broken %s, fine %s", testapi.Describe(b), testapi.Describe(f))
		}
		if _, err := db.NewUpdate().TableExpr("purchase_order_lines").Set("markup_percent = NULL").
			Where("id = ?", broken.PriceLineID).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		mustRenew(t, c.subs, 1)
	})
}
