package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestRenewalFollowsTheTestClock (SPEC §8.5): on a server started with the
// test clock, moving the clock past a subscription's commitmentEndsAt has
// the server's renewal job renew it (a RENEWAL order its customer sees, a
// new term) or, with auto-renew off, expire it — with no request asking.
func TestRenewalFollowsTheTestClock(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a, _ := newServer(t, db, server.Config{Clock: &clock.Adjustable{}})
		vendorGID, vendorID := a.MustOrg("Vendor", domain.KindVendor)
		customerGID, customerID := a.MustOrg("Customer", domain.KindCustomer)
		a.MustEdge(vendorGID, customerGID, true)
		a.MustProduct(vendorGID, "SKU-1")
		vendor, customer := a.MustToken(vendorID, domain.RoleOwner), a.MustToken(customerID, domain.RoleOwner)
		buy := func(number string) *domain.ProductSubscription {
			t.Helper()
			out := a.createOrder(vendor, order{Number: number, Vendor: vendorGID, Customer: customerGID})
			for _, status := range []string{"PROCESSING", "COMPLETED"} {
				a.Must(vendor, `mutation($id: ID!, $s: PurchaseOrderStatus!) { updatePurchaseOrderStatus(input: {id: $id, status: $s}) {
					userErrors { code } } }`, map[string]any{"id": out.CreatePurchaseOrder.PurchaseOrder.ID, "s": status}, nil)
			}
			var s domain.ProductSubscription
			if err := db.NewSelect().Model(&s).Where("s.purchase_order_id = ?", rowID(t, out.CreatePurchaseOrder.PurchaseOrder.ID)).
				Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			return &s
		}
		renewing, expiring := buy("PO-RENEWS"), buy("PO-EXPIRES")
		if _, err := db.NewUpdate().TableExpr("product_subscriptions").Set("auto_renew = ?", false).
			Where("id = ?", expiring.ID).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		if renewing.Status != domain.SubscriptionActive || renewing.Term != domain.TermYear {
			t.Fatalf("bought: %s", describe(renewing))
		}

		var moved advanced
		a.Must(testapi.AdminToken, advance, map[string]any{"h": 24 * 366}, &moved)
		if now := moved.AdvanceTestClock.Now; now == nil || now.Before(renewing.CommitmentEndsAt) {
			t.Fatalf("the clock reads %v, before %v", now, renewing.CommitmentEndsAt)
		}
		read := func(id int64) *domain.ProductSubscription {
			var s domain.ProductSubscription
			if err := db.NewSelect().Model(&s).Where("s.id = ?", id).Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			return &s
		}
		deadline := time.Now().Add(15 * time.Second)
		for (read(renewing.ID).Version == 1 || read(expiring.ID).Version == 1) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if got := read(renewing.ID); got.Status != domain.SubscriptionActive || got.Version != 2 ||
			!got.CommitmentEndsAt.Equal(renewing.CommitmentEndsAt.AddDate(1, 0, 0)) {
			t.Errorf("after the move, the auto-renewing subscription: %s", describe(got))
		}
		if got := read(expiring.ID); got.Status != domain.SubscriptionExpired || got.Version != 2 {
			t.Errorf("after the move, the subscription without auto-renew: %s", describe(got))
		}
		var orders struct {
			PurchaseOrders struct {
				Edges []struct {
					Node struct{ Number, Kind, Status string }
				}
			}
		}
		a.Must(customer, `{ purchaseOrders(first: 10) { edges { node { number kind status } } } }`, nil, &orders)
		renewals := 0
		for _, e := range orders.PurchaseOrders.Edges {
			if e.Node.Kind == "RENEWAL" && e.Node.Status == "COMPLETED" {
				renewals++
			}
		}
		if renewals != 1 {
			t.Errorf("the customer sees %d RENEWAL orders, want 1: %s", renewals, describe(orders))
		}
	})
}

// TestRenewalWithTwoReplicas (SPEC §8.5): two servers on one database, each
// running the renewal job every second on its own connections, with one
// test clock: moved past the subscriptions' end, each term is renewed by
// exactly one of them, and stays renewed once, tick after tick.
func TestRenewalWithTwoReplicas(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			url := "sqlite:" + testdb.NewSQLite(t)
			if kind == "postgres" {
				url = testdb.NewPostgres(t)
			}
			db := testdb.MustOpenURL(t, url)
			shared := &clock.Adjustable{}
			a, _ := newServer(t, db, server.Config{DatabaseURL: url, Clock: shared})
			newServer(t, testdb.MustOpenURL(t, url), server.Config{DatabaseURL: url, Clock: shared})
			vendorGID, vendorID := a.MustOrg("Vendor", domain.KindVendor)
			customerGID, _ := a.MustOrg("Customer", domain.KindCustomer)
			a.MustEdge(vendorGID, customerGID, true)
			a.MustProduct(vendorGID, "SKU-1")
			vendor := a.MustToken(vendorID, domain.RoleOwner)
			const subs = 12
			lines := make([]map[string]any, subs)
			for i := range lines {
				lines[i] = map[string]any{"sku": "SKU-1", "quantity": i + 1}
			}
			var out orderPayload
			a.Must(vendor, createOrderMutation, map[string]any{"in": map[string]any{"number": "PO-MANY",
				"vendorId": vendorGID, "customerId": customerGID, "lines": lines}}, &out)
			for _, status := range []string{"PROCESSING", "COMPLETED"} {
				a.Must(vendor, `mutation($id: ID!, $s: PurchaseOrderStatus!) { updatePurchaseOrderStatus(input: {id: $id, status: $s}) {
					userErrors { code } } }`, map[string]any{"id": out.CreatePurchaseOrder.PurchaseOrder.ID, "s": status}, nil)
			}
			count := func(q string) int {
				var n int
				if err := db.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			if n := count("SELECT count(*) FROM product_subscriptions"); n != subs {
				t.Fatalf("%d subscriptions, want %d", n, subs)
			}
			a.Must(testapi.AdminToken, advance, map[string]any{"h": 24 * 366}, nil)
			const renewals = "SELECT count(*) FROM purchase_orders WHERE kind = 'RENEWAL'"
			for deadline := time.Now().Add(15 * time.Second); count(renewals) < subs && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(2500 * time.Millisecond) // both replicas tick again
			if n, v := count(renewals), count("SELECT count(*) FROM product_subscriptions WHERE version = 2"); n != subs || v != subs {
				t.Fatalf("%d RENEWAL orders and %d subscriptions at version 2, want %d of each", n, v, subs)
			}
		})
	}
}
