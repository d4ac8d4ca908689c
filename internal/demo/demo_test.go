package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/demo"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// showcased is a subscription of the demo with its product and additions.
type showcased struct {
	domain.ProductSubscription `bun:",extend"`
	SKU                        string  `bun:"sku"`
	LandingPageURL             *string `bun:"landing_page_url"`
}

// TestDemoLifecycle: the demo shows a subscription in every status, a SaaS
// activation waiting with its landing page, an active trial, a renewal with
// its fresh window, one whose reduction window has closed, and the persona
// organizations' members, each persona's token belonging to its OWNER.
func TestDemoLifecycle(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		personas, err := demo.Load(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		var subs []showcased
		if err := db.NewSelect().Model(&subs).ColumnExpr("s.*, pr.sku, pr.landing_page_url").
			Join("JOIN products AS pr ON pr.id = s.product_id").Where("s.nickname <> ''").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		byName := map[string]showcased{}
		statuses := map[domain.SubscriptionStatus]int{}
		for _, s := range subs {
			statuses[s.Status]++
			if s.SKU != "NW-BACKUP-ARCHIVE" {
				byName[s.Nickname] = s
			}
		}
		for _, st := range []domain.SubscriptionStatus{domain.SubscriptionPendingFulfillment, domain.SubscriptionActive,
			domain.SubscriptionSuspended, domain.SubscriptionCancelled, domain.SubscriptionExpired} {
			if statuses[st] == 0 {
				t.Errorf("no demo subscription is %s: %v", st, statuses)
			}
		}
		now := time.Now()
		additions := func(id int64) []domain.LicenseAddition {
			var out []domain.LicenseAddition
			if err := db.NewSelect().Model(&out).Where("la.product_subscription_id = ? AND la.remaining > 0", id).Scan(ctx); err != nil {
				t.Fatal(err)
			}
			return out
		}
		closed := byName["Head office"]
		if adds := additions(closed.ID); closed.Status != domain.SubscriptionActive || len(adds) != 1 ||
			now.Sub(adds[0].AddedAt) < domain.ChangeWindow {
			t.Errorf("the subscription whose window closed: %s %s", testapi.Describe(closed), testapi.Describe(adds))
		}
		open := byName["Leadership"]
		if adds := additions(open.ID); len(adds) != 1 || now.Sub(adds[0].AddedAt) >= domain.ChangeWindow {
			t.Errorf("the subscription whose window is open: %s", testapi.Describe(adds))
		}
		waiting := byName["New plant backup"]
		if waiting.Status != domain.SubscriptionPendingFulfillment || waiting.ActivationCode == nil || waiting.BillingStartedAt != nil ||
			waiting.ActivationExpiresAt == nil || !waiting.ActivationExpiresAt.After(now) ||
			waiting.LandingPageURL == nil || *waiting.LandingPageURL != demo.LandingPageURL {
			t.Errorf("the activation waiting: %s", testapi.Describe(waiting))
		}
		if pilot := byName["Backup pilot"]; pilot.Status != domain.SubscriptionActive || !pilot.Trial || pilot.ActivatedAt == nil {
			t.Errorf("the active trial: %s", testapi.Describe(pilot))
		}
		renewed := byName["Board"]
		renewals, err := db.NewSelect().TableExpr("purchase_orders").Where("product_subscription_id = ? AND kind = ?",
			renewed.ID, domain.POKindRenewal).Count(ctx)
		if adds := additions(renewed.ID); err != nil || renewals != 1 || renewed.Version != 2 || len(adds) != 1 ||
			adds[0].Kind != domain.AddedAtRenewal || now.Sub(adds[0].AddedAt) >= domain.ChangeWindow {
			t.Errorf("the renewed subscription: %s, %d renewals (%v), %s", testapi.Describe(renewed), renewals, err, testapi.Describe(adds))
		}
		if exp := byName["Warehouse"]; exp.Status != domain.SubscriptionExpired || exp.AutoRenew {
			t.Errorf("the expired subscription: %s", testapi.Describe(exp))
		}

		for _, p := range personas {
			var owner struct {
				Role    domain.Role `bun:"role"`
				Subject *string     `bun:"subject"`
			}
			err := db.NewSelect().TableExpr("api_tokens AS t").ColumnExpr("m.role, m.subject").
				Join("JOIN members AS m ON m.id = t.member_id").Join("JOIN organizations AS o ON o.id = m.organization_id").
				Where("t.name = ? AND o.name = ?", "demo "+p.Name, p.Organization).Scan(ctx, &owner)
			if err != nil || owner.Role != domain.RoleOwner || owner.Subject == nil {
				t.Errorf("%s's token does not belong to an OWNER who signs in with a JWT: %+v %v", p.Name, owner, err)
			}
		}
		var subjects []string
		if err := db.NewSelect().TableExpr("members").Column("subject").Where("subject = ?", "alice@cobalt.example").
			Scan(ctx, &subjects); err != nil || len(subjects) != 1 {
			t.Errorf("alice@cobalt.example is not a member: %v %v", subjects, err)
		}
	})
}
