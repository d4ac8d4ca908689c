package visibility_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testdb"
	"github.com/channelgraph/channelgraph/internal/visibility"
	"github.com/channelgraph/channelgraph/internal/visibility/model"
)

// TestSubscriptionVisibilityIsOrderVisibility builds random channels and
// orders (the audience test's), gives a random half of the orders a product
// subscription and random partners delegated admin privileges (REQUESTED,
// ACTIVE or REMOVED) over the customers, and checks for every viewer, the
// platform administrator too, that RestrictProductSubscriptions keeps
// exactly the subscriptions whose order the model says the viewer sees —
// and whose order visibility.PurchaseOrders lists — plus those of the
// customers it holds an ACTIVE privilege over, and that a subscription's
// event audience is exactly its order's plus those partners.
func TestSubscriptionVisibilityIsOrderVisibility(t *testing.T) {
	seed := uint64(time.Now().UnixNano() % 1e9)
	t.Logf("first seed %d", seed)
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		for i := 0; i < 10; i++ {
			g := randomAudienceChannel(seed+uint64(i), int64(i+1)*1000)
			g.insert(t, db)
			if err := visibility.Refresh(ctx, db, visibility.Everything()); err != nil {
				t.Fatal(err)
			}
			subs := insertSubscriptions(t, db, g, seed+uint64(i))
			delegates := insertDelegatedAdmins(t, db, g, seed+uint64(i))
			viewers := []*domain.Viewer{{IsPlatformAdmin: true}}
			for _, o := range g.orgs {
				viewers = append(viewers, &domain.Viewer{OrganizationID: o})
			}
			var ids []int64
			for id := range subs {
				ids = append(ids, id)
			}
			for _, v := range viewers {
				var got []int64
				q := db.NewSelect().TableExpr("product_subscriptions AS s").Column("s.id").
					Where("s.id IN (?)", bun.In(ids)).Order("s.id")
				if err := visibility.RestrictProductSubscriptions(q, v, "s").Scan(ctx, &got); err != nil {
					t.Fatal(err)
				}
				var byIndex []int64
				delegated := func(id int64) bool { return delegates[[2]int64{v.OrganizationID, subs[id].Customer}] }
				if err := db.NewSelect().TableExpr("product_subscriptions AS s").Column("s.id").
					Where("s.id IN (?)", bun.In(ids)).
					Where("s.purchase_order_id IN (?)", visibility.PurchaseOrders(db, v).Column("v.purchase_order_id")).
					Order("s.id").Scan(ctx, &byIndex); err != nil {
					t.Fatal(err)
				}
				var onlyDelegated []int64 // seen by the privilege, not the order
				for _, id := range ids {
					if delegated(id) && !slices.Contains(byIndex, id) {
						onlyDelegated = append(onlyDelegated, id)
					}
				}
				byIndex = append(byIndex, onlyDelegated...)
				slices.Sort(byIndex)
				var want []int64
				for _, id := range ids {
					if ok, _ := g.m.Sees(v.OrganizationID, subs[id]); v.IsPlatformAdmin || ok || delegated(id) {
						want = append(want, id)
					}
				}
				slices.Sort(want)
				if !slices.Equal(got, want) || !slices.Equal(got, byIndex) {
					t.Errorf("viewer %+v sees subscriptions %v; the model says %v, the order list %v", v, got, want, byIndex)
				}
			}
			for id, o := range subs {
				s := &domain.ProductSubscription{ID: id, PurchaseOrderID: o.ID, CustomerID: o.Customer}
				got := audience(t, db, func(ctx context.Context, tx bun.IDB, ev int64) error {
					return visibility.ProductSubscriptionAudience(ctx, tx, ev, s)
				})
				orderAudience := audience(t, db, func(ctx context.Context, tx bun.IDB, ev int64) error {
					return visibility.PurchaseOrderAudience(ctx, tx, ev, o.ID)
				})
				want := orderAudience
				for pair := range delegates {
					if pair[1] == o.Customer && !slices.Contains(want, pair[0]) {
						want = append(want, pair[0])
					}
				}
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("subscription %d of order %+v: audience %v, want its order's %v and the customer's delegates: %v", id, o, got, orderAudience, want)
				}
			}
			if t.Failed() {
				t.Fatalf("seed %d: %s", g.seed, g.describe())
			}
		}
	})
}

// insertSubscriptions gives a random half of g's orders a one-line
// subscription, and returns them with their orders by subscription id.
func insertSubscriptions(t *testing.T, db *bun.DB, g *audienceChannel, seed uint64) map[int64]model.Order {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed^0x5b5))
	now := time.Now().UTC().Truncate(time.Microsecond)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	out := map[int64]model.Order{}
	for _, o := range g.m.Orders {
		if rng.IntN(2) == 0 {
			continue
		}
		id := o.ID // ids above the channel's base, unique in the database
		exec(`INSERT INTO products (id, vendor_id, sku, name, type, created_at) VALUES (?, ?, ?, 'P', 'LICENSE', ?)`,
			id, o.Vendor, fmt.Sprint("P-", id), now)
		exec(`INSERT INTO purchase_order_lines (id, purchase_order_id, position, product_id, sku, quantity) VALUES (?, ?, 1, ?, ?, 1)`,
			id, o.ID, id, fmt.Sprint("P-", id))
		partner := o.Vendor
		if o.Reseller != 0 {
			partner = o.Reseller
		}
		exec(`INSERT INTO product_subscriptions (id, purchase_order_id, purchase_order_line_id, price_line_id, product_id,
			vendor_id, customer_id, distributor_id, reseller_id, partner_of_record_id, quantity, term, billing_cycle, status,
			started_at, term_started_at, commitment_ends_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'P1Y', 'MONTHLY', 'ACTIVE', ?, ?, ?, ?, ?)`,
			id, o.ID, id, id, id, o.Vendor, o.Customer, nullableID(o.Distributor), nullableID(o.Reseller), partner,
			now, now, now.AddDate(1, 0, 0), now, now)
		out[id] = o
	}
	return out
}

// insertDelegatedAdmins gives random partners of g random delegated admin
// privileges over g's customers, and returns the ACTIVE ones as (partner,
// customer) pairs.
func insertDelegatedAdmins(t *testing.T, db *bun.DB, g *audienceChannel, seed uint64) map[[2]int64]bool {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0xda))
	now := time.Now().UTC().Truncate(time.Microsecond)
	var customers []int64
	for _, o := range g.m.Orders {
		if !slices.Contains(customers, o.Customer) {
			customers = append(customers, o.Customer)
		}
	}
	active := map[[2]int64]bool{}
	if len(customers) == 0 {
		return active
	}
	statuses := []domain.DelegatedAdminStatus{domain.DelegatedAdminRequested, domain.DelegatedAdminActive, domain.DelegatedAdminRemoved}
	for n := 0; n < 2*len(customers); n++ {
		partner, customer := g.orgs[rng.IntN(len(g.orgs))], customers[rng.IntN(len(customers))]
		if partner == customer {
			continue // a partner administers another organization; the API refuses any other request
		}
		status := statuses[rng.IntN(len(statuses))]
		if _, err := db.ExecContext(context.Background(), `INSERT INTO delegated_admins
			(partner_id, customer_id, service, roles, status, created_at) VALUES (?, ?, ?, ',R,', ?, ?)`,
			partner, customer, fmt.Sprint("S", n), status, now); err != nil {
			t.Fatal(err)
		}
		if status == domain.DelegatedAdminActive {
			active[[2]int64{partner, customer}] = true
		}
	}
	return active
}
