package subscriptions_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/subscriptions"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// onSharedDatabase runs fn on every kind of database, given two
// connections to one fresh database: what two replicas of the server have.
func onSharedDatabase(t *testing.T, fn func(t *testing.T, first, second *bun.DB)) {
	for _, kind := range testdb.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			url := "sqlite:" + testdb.NewSQLite(t)
			if kind == "postgres" {
				url = testdb.NewPostgres(t)
			}
			fn(t, testdb.MustOpenURL(t, url), testdb.MustOpenURL(t, url))
		})
	}
}

// replicaOf is the subscriptions service of another replica: its own
// connections, the same clock.
func replicaOf(c *lifecycleChain, db *bun.DB) *subscriptions.Service {
	s := subscriptions.New(db)
	s.Now = c.clock.Now
	return s
}

// buyMany completes one order of n lines of SEAT, one subscription each
// (yearly: the order names no term), and returns their ids.
func (c *lifecycleChain) buyMany(n int) []int64 {
	c.t.Helper()
	in := orders.CreateInput{Number: "MANY", VendorID: c.vendor.ID, CustomerID: c.customer.ID,
		DistributorID: &c.distributor.ID, ResellerID: &c.reseller.ID}
	for i := 0; i < n; i++ {
		in.Lines = append(in.Lines, orders.LineInput{SKU: "SEAT", Quantity: 1 + i})
	}
	vendor := as(c.vendor, domain.RoleOwner)
	rec, err := c.orders.CreatePurchaseOrder(vendor, in)
	c.must(err)
	for _, next := range []domain.PurchaseOrderStatus{domain.POProcessing, domain.POCompleted} {
		_, err := c.orders.UpdatePurchaseOrderStatus(vendor, rec.ID, next)
		c.must(err)
	}
	var ids []int64
	c.must(c.db.NewSelect().TableExpr("product_subscriptions").Column("id").Where("purchase_order_id = ?", rec.ID).
		Order("id").Scan(context.Background(), &ids))
	if len(ids) != n {
		c.t.Fatalf("%d subscriptions from %d lines", len(ids), n)
	}
	return ids
}

// TestRenewalExactlyOnceAcrossReplicas (SPEC §8.5): two replicas, each with
// its own connections, run the renewal job at the same moments over the
// same due subscriptions, term after term: every term of every
// subscription renews exactly once, and neither replica reports an error.
func TestRenewalExactlyOnceAcrossReplicas(t *testing.T) {
	onSharedDatabase(t, func(t *testing.T, first, second *bun.DB) {
		c := newLifecycleChain(t, first)
		const subs, terms, runs = 30, 4, 3
		ids := c.buyMany(subs)
		replicas := []*subscriptions.Service{replicaOf(c, first), replicaOf(c, second)}
		at := lifecycleStart
		for term := 1; term <= terms; term++ {
			at = at.AddDate(1, 0, 0)
			c.clock.Set(at)
			var wg sync.WaitGroup
			var mu sync.Mutex
			ended := 0
			for _, r := range replicas {
				for range runs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						n, err := r.RenewDue(context.Background())
						if err != nil {
							t.Errorf("term %d: %v", term, err)
						}
						mu.Lock()
						ended += n
						mu.Unlock()
					}()
				}
			}
			wg.Wait()
			if ended != subs {
				t.Errorf("term %d: the replicas report %d renewals, want %d", term, ended, subs)
			}
		}
		if n := ordersOfKind(t, first, 0, domain.POKindRenewal); n != subs*terms {
			t.Errorf("%d RENEWAL orders, want %d", n, subs*terms)
		}
		for _, id := range ids {
			got := reread(t, first, id)
			if got.Version != 1+terms || !got.CommitmentEndsAt.Equal(lifecycleStart.AddDate(terms+1, 0, 0)) ||
				ordersOfKind(t, first, id, domain.POKindRenewal) != terms || subscriptionEvents(t, first, id) != 1+terms {
				t.Fatalf("subscription %d after %d terms: %s with %d renewals", id, terms, testapi.Describe(got),
					ordersOfKind(t, first, id, domain.POKindRenewal))
			}
		}
	})
}

// TestRenewalAcrossRestart (SPEC §8.5): the job remembers nothing between
// ticks. A server whose renewer ran, and stopped, before a subscription was
// due, and a new one started after: the new one renews it, once, however
// many ticks it runs; the old one, started again, finds nothing to do.
func TestRenewalAcrossRestart(t *testing.T) {
	onSharedDatabase(t, func(t *testing.T, first, second *bun.DB) {
		c := newLifecycleChain(t, first)
		sub := c.buy("SEAT", 7, domain.TermMonth, nil)
		run := func(s *subscriptions.Service, d time.Duration) {
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				s.RunRenewer(ctx, 5*time.Millisecond, testapi.QuietLogger())
			}()
			time.Sleep(d)
			stop()
			<-done
		}
		c.clock.Set(sub.CommitmentEndsAt.Add(-time.Minute))
		run(replicaOf(c, first), 100*time.Millisecond)
		if n := ordersOfKind(t, first, sub.ID, domain.POKindRenewal); n != 0 {
			t.Fatalf("renewed before the end: %d", n)
		}

		c.clock.Set(sub.CommitmentEndsAt.Add(time.Minute))
		restarted := replicaOf(c, second)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			restarted.RunRenewer(ctx, 5*time.Millisecond, testapi.QuietLogger())
		}()
		deadline := time.Now().Add(10 * time.Second)
		for ordersOfKind(t, first, sub.ID, domain.POKindRenewal) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // many more ticks
		stop()
		<-done
		run(replicaOf(c, first), 100*time.Millisecond)
		if n := ordersOfKind(t, first, sub.ID, domain.POKindRenewal); n != 1 {
			t.Fatalf("%d RENEWAL orders after the restart, want 1", n)
		}
		if got := reread(t, first, sub.ID); got.Version != 2 || !got.CommitmentEndsAt.Equal(sub.CommitmentEndsAt.AddDate(0, 1, 0)) {
			t.Fatalf("after the restart: %s", testapi.Describe(got))
		}
	})
}
