package subscriptions_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/carts"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/subscriptions"
)

// lifecycleStart is when the lifecycle tests' clock starts.
var lifecycleStart = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// lifecycleChain is a vendor selling through a distributor and a reseller
// to a customer, with a LICENSE product, a SAAS product and a trial of each,
// every service on one test clock.
type lifecycleChain struct {
	t                                       *testing.T
	db                                      *bun.DB
	clock                                   *clock.Fixed
	admin                                   context.Context
	vendor, distributor, reseller, customer *domain.Organization
	// edges by their downstream end.
	edges    map[int64]*domain.ChannelEdge
	products map[string]*domain.Product
	pricing  *pricing.Service
	carts    *carts.Service
	orders   *orders.Service
	subs     *subscriptions.Service
	bought   int
}

func newLifecycleChain(t *testing.T, db *bun.DB) *lifecycleChain {
	t.Helper()
	c := &lifecycleChain{t: t, db: db, clock: clock.NewFixed(lifecycleStart),
		admin: domain.WithViewer(context.Background(), &domain.Viewer{IsPlatformAdmin: true}),
		edges: map[int64]*domain.ChannelEdge{}, products: map[string]*domain.Product{}}
	ch, cat := channel.New(db), catalog.New(db)
	ch.Now, cat.Now = c.clock.Now, c.clock.Now
	c.pricing, c.orders, c.subs = pricing.New(db), orders.New(db), subscriptions.New(db)
	c.carts = carts.New(db, cat)
	c.pricing.Now, c.orders.Now, c.carts.Now, c.subs.Now = c.clock.Now, c.clock.Now, c.clock.Now, c.clock.Now
	c.orders.OnCompleted = append(c.orders.OnCompleted, subscriptions.CreateForOrderInTx)
	org := func(name string, kind domain.OrganizationKind) *domain.Organization {
		o, err := ch.CreateOrganization(c.admin, channel.CreateOrganizationInput{Name: name, Kind: kind})
		c.must(err)
		return o
	}
	c.vendor, c.distributor = org("Vendor", domain.KindVendor), org("Distributor", domain.KindDistributor)
	c.reseller, c.customer = org("Reseller", domain.KindReseller), org("Customer", domain.KindCustomer)
	for _, e := range [][2]*domain.Organization{{c.vendor, c.distributor}, {c.distributor, c.reseller}, {c.reseller, c.customer}} {
		edge, err := ch.CreateChannelEdge(c.admin, e[0].ID, e[1].ID)
		c.must(err)
		c.edges[e[1].ID] = edge
	}
	trial := 14
	for _, p := range []struct {
		sku   string
		kind  domain.ProductType
		trial *int
	}{{"SEAT", domain.ProductLicense, nil}, {"SEAT-TRIAL", domain.ProductLicense, &trial},
		{"APP", domain.ProductSaaS, nil}, {"APP-TRIAL", domain.ProductSaaS, &trial}} {
		prod, err := cat.CreateProduct(c.admin, catalog.CreateProductInput{VendorID: c.vendor.ID, SKU: p.sku, Name: p.sku,
			Type: p.kind, TrialDays: p.trial, ListPrice: &domain.Money{Amount: "10.00", Currency: "EUR"},
			Terms: []domain.Term{domain.TermYear, domain.TermMonth}, BillingCycles: []domain.BillingCycle{domain.BillMonthly, domain.BillAnnual}})
		c.must(err)
		c.products[p.sku] = prod
	}
	return c
}

func (c *lifecycleChain) must(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
}

// as is a context acting as a member of org with role.
func as(org *domain.Organization, role domain.Role) context.Context {
	return domain.WithViewer(context.Background(), &domain.Viewer{OrganizationID: org.ID, Role: role, Kind: org.Kind})
}

// buy has the reseller sell quantity of sku to the customer through the
// distributor (with markup on the reseller's price when given), and the
// vendor complete the order, which creates the subscription it returns.
func (c *lifecycleChain) buy(sku string, quantity int, term domain.Term, markup *string) *domain.ProductSubscription {
	c.t.Helper()
	reseller := as(c.reseller, domain.RoleOwner)
	cart, err := c.carts.CreateCart(reseller, c.customer.ID, &c.distributor.ID)
	c.must(err)
	cycle := domain.BillMonthly
	_, err = c.carts.AddLine(reseller, carts.LineInput{CartID: cart.ID, ProductID: c.products[sku].ID, Quantity: quantity,
		Term: &term, BillingCycle: &cycle, MarkupPercent: markup})
	c.must(err)
	c.bought++
	placed, err := c.carts.Place(reseller, cart.ID, fmt.Sprintf("buy-%d", c.bought))
	c.must(err)
	vendor := as(c.vendor, domain.RoleOwner)
	for _, next := range []domain.PurchaseOrderStatus{domain.POProcessing, domain.POCompleted} {
		_, err := c.orders.UpdatePurchaseOrderStatus(vendor, placed.OrderIDs[0], next)
		c.must(err)
	}
	var sub domain.ProductSubscription
	c.must(c.db.NewSelect().Model(&sub).Where("s.purchase_order_id = ?", placed.OrderIDs[0]).Scan(context.Background()))
	return &sub
}

// reread reads subscription id as stored.
func reread(t *testing.T, db bun.IDB, id int64) *domain.ProductSubscription {
	t.Helper()
	var s domain.ProductSubscription
	if err := db.NewSelect().Model(&s).Where("s.id = ?", id).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &s
}

// ordersOfKind counts the subscription's orders of kind (0 for every
// subscription's).
func ordersOfKind(t *testing.T, db bun.IDB, subID int64, kind domain.PurchaseOrderKind) int {
	t.Helper()
	q := db.NewSelect().TableExpr("purchase_orders").Where("kind = ?", kind)
	if subID != 0 {
		q = q.Where("product_subscription_id = ?", subID)
	}
	n, err := q.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// subscriptionEvents counts the subscription's PRODUCT_SUBSCRIPTION_UPDATED events.
func subscriptionEvents(t *testing.T, db bun.IDB, subID int64) int {
	t.Helper()
	n, err := db.NewSelect().TableExpr("events").Where("type = ? AND object_id = ?", subscriptions.Updated.Type, subID).
		Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// set changes columns of subscription id directly, for states the tests
// start from (auto-renew off, suspended) that another package's mutation
// makes.
func set(t *testing.T, db bun.IDB, id int64, column string, value any) {
	t.Helper()
	if _, err := db.NewUpdate().TableExpr("product_subscriptions").Set("? = ?", bun.Ident(column), value).
		Where("id = ?", id).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}
