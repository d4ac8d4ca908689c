// Package demo creates a small, deterministic demo channel for `make run`:
// a vendor, two distributors, several resellers and customers, products,
// and a few hundred purchase orders with mixed purchase-order-view grants,
// plus one API token for each persona.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
)

// Persona is a demo member and its token.
type Persona struct {
	Name         string
	Organization string
	Kind         domain.OrganizationKind
	Token        string
	// Note says what the persona shows.
	Note string
}

// IsEmpty reports whether the database has no organizations yet, the only
// state the demo is loaded into.
func IsEmpty(ctx context.Context, db *bun.DB) (bool, error) {
	n, err := db.NewSelect().TableExpr("organizations").Count(ctx)
	return n == 0, err
}

type builder struct {
	ctx  context.Context
	ch   *channel.Service
	cat  *catalog.Service
	ord  *orders.Service
	rng  *rand.Rand
	orgs map[string]*domain.Organization
	err  error
}

// Load creates the demo channel and returns the personas' tokens.
func Load(ctx context.Context, db *bun.DB) ([]Persona, error) {
	b := &builder{
		ctx: domain.WithViewer(ctx, &domain.Viewer{IsPlatformAdmin: true}),
		ch:  channel.New(db), cat: catalog.New(db), ord: orders.New(db),
		rng:  rand.New(rand.NewPCG(2026, 11)),
		orgs: map[string]*domain.Organization{},
	}
	b.org("Northwind Systems", domain.KindVendor, "US", "")
	b.org("Atlas Distribution", domain.KindDistributor, "DE", "")
	b.org("Borealis Supply", domain.KindDistributor, "SE", "")
	for _, r := range []string{"Cobalt IT", "Delta Solutions", "Ember Networks", "Fjord Partners"} {
		b.org(r, domain.KindReseller, "DE", "")
	}
	customers := []string{"Globex Manufacturing", "Hooli Health", "Initech Schools", "Jupiter Logistics",
		"Kestrel Retail", "Lumen Energy", "Meridian Council", "Nimbus Charity", "Orion Foods", "Pioneer Bank"}
	for _, c := range customers {
		b.org(c, domain.KindCustomer, "DE", "Retail")
	}
	// The channel: Atlas serves Cobalt and Delta, Borealis serves Ember,
	// Fjord buys from the vendor directly; two customers buy direct.
	b.edge("Northwind Systems", "Atlas Distribution", false)
	b.edge("Northwind Systems", "Borealis Supply", false)
	b.edge("Northwind Systems", "Fjord Partners", false)
	b.edge("Atlas Distribution", "Cobalt IT", true)
	b.edge("Atlas Distribution", "Delta Solutions", false) // Delta may not see its Atlas orders
	b.edge("Borealis Supply", "Ember Networks", true)
	resellerOf := map[string]string{}
	for i, c := range customers[:8] {
		r := []string{"Cobalt IT", "Delta Solutions", "Ember Networks", "Fjord Partners"}[i%4]
		resellerOf[c] = r
		b.edge(r, c, i%3 != 2) // most customers may see their orders; every third may not
	}
	b.edge("Northwind Systems", "Meridian Council", false)
	b.edge("Northwind Systems", "Pioneer Bank", false)
	b.edge("Northwind Systems", "Orion Foods", false)
	b.edge("Atlas Distribution", "Orion Foods", false) // a distributor's own customer relationship

	skus := []string{"NW-SUITE-E3", "NW-SUITE-E5", "NW-BACKUP", "NW-ROUTER-X1", "NW-ANALYTICS"}
	types := []domain.ProductType{domain.ProductLicense, domain.ProductLicense, domain.ProductSaaS, domain.ProductHardware, domain.ProductUsage}
	for i, sku := range skus {
		b.product(sku, types[i], fmt.Sprintf("%d.00", 10+i*15))
	}
	distributorOf := map[string]string{"Cobalt IT": "Atlas Distribution", "Delta Solutions": "Atlas Distribution", "Ember Networks": "Borealis Supply"}
	for i := 1; i <= 300 && b.err == nil; i++ {
		customer := customers[b.rng.IntN(len(customers))]
		reseller, distributor := resellerOf[customer], distributorOf[resellerOf[customer]]
		b.order(fmt.Sprintf("PO-%05d", i), customer, reseller, distributor, skus)
	}
	if b.err != nil {
		return nil, b.err
	}
	return b.personas(ctx, db)
}

func (b *builder) org(name string, kind domain.OrganizationKind, country, industry string) {
	if b.err != nil {
		return
	}
	if kind != domain.KindCustomer {
		industry = ""
	}
	b.orgs[name], b.err = b.ch.CreateOrganization(b.ctx, channel.CreateOrganizationInput{
		Name: name, Kind: kind, Country: country, Industry: industry})
}

func (b *builder) edge(up, down string, view bool) {
	if b.err != nil {
		return
	}
	var e *domain.ChannelEdge
	if e, b.err = b.ch.CreateChannelEdge(b.ctx, b.orgs[up].ID, b.orgs[down].ID); b.err == nil && view {
		_, b.err = b.ch.SetPurchaseOrderView(b.ctx, e.ID, true)
	}
}

func (b *builder) product(sku string, t domain.ProductType, price string) {
	if b.err != nil {
		return
	}
	_, b.err = b.cat.CreateProduct(b.ctx, catalog.CreateProductInput{
		VendorID: b.orgs["Northwind Systems"].ID, SKU: sku, Name: "Northwind " + sku, Type: t,
		ListPrice: &domain.Money{Amount: price, Currency: "EUR"}})
}

func (b *builder) order(number, customer, reseller, distributor string, skus []string) {
	if b.err != nil {
		return
	}
	in := orders.CreateInput{Number: number, VendorID: b.orgs["Northwind Systems"].ID, CustomerID: b.orgs[customer].ID}
	if reseller != "" {
		in.ResellerID = &b.orgs[reseller].ID
	}
	if distributor != "" {
		in.DistributorID = &b.orgs[distributor].ID
	}
	for n := 1 + b.rng.IntN(3); n > 0; n-- {
		in.Lines = append(in.Lines, orders.LineInput{SKU: skus[b.rng.IntN(len(skus))], Quantity: 1 + b.rng.IntN(50)})
	}
	var rec *orders.Recorded
	if rec, b.err = b.ord.CreatePurchaseOrder(b.ctx, in); b.err != nil {
		return
	}
	// Move most orders along so the demo shows every status.
	for _, next := range []domain.PurchaseOrderStatus{domain.POProcessing, domain.POCompleted}[:b.rng.IntN(3)] {
		if _, b.err = b.ord.UpdatePurchaseOrderStatus(b.ctx, rec.ID, next); b.err != nil {
			return
		}
	}
}

func (b *builder) personas(ctx context.Context, db *bun.DB) ([]Persona, error) {
	ps := []Persona{
		{Name: "vendor", Organization: "Northwind Systems", Note: "sees every order of its channel"},
		{Name: "distributor", Organization: "Atlas Distribution", Note: "sees its orders; grants view to Cobalt IT, not to Delta Solutions"},
		{Name: "reseller", Organization: "Cobalt IT", Note: "sees its orders through Atlas (granted)"},
		{Name: "reseller-without-grant", Organization: "Delta Solutions", Note: "sees none of its Atlas orders: Atlas has not granted view"},
		{Name: "customer", Organization: "Globex Manufacturing", Note: "sees its orders through Cobalt IT, never the distributor"},
	}
	for i := range ps {
		org := b.orgs[ps[i].Organization]
		ps[i].Kind = org.Kind
		token, err := auth.IssueForSetup(ctx, db, org.ID, domain.RoleOwner, "demo "+ps[i].Name)
		if err != nil {
			return nil, err
		}
		ps[i].Token = token
	}
	return ps, nil
}

// StarterDocument is GraphiQL's initial document with demo data: a query
// per persona, saying which persona to pick, and a subscription.
const StarterDocument = `# Welcome to Channelgraph's demo channel.
# Pick a persona in the bar above: it puts that persona's token in the
# Authorization header (Headers tab below), which every request and the
# subscription's websocket send. Then press ▶ and choose an operation.

# Pick "customer": its orders, newest first. distributor is always null
# for a customer.
query CustomerOrders {
  viewer { organization { name } role }
  purchaseOrders(first: 5) {
    totalCount
    edges { node { number status reseller { name } distributor { name } lines { sku quantity } } }
  }
}

# Pick "reseller": its customers, each with the reseller's purchase-order view grant.
query ResellerCustomers {
  viewer { organization { channelEdges(direction: DOWNSTREAM) { edges { node {
    purchaseOrderView downstream { name }
  } } } } }
}

# Pick "reseller-without-grant": no orders, because Atlas has not granted view.
query ResellerWithoutGrant {
  purchaseOrders { totalCount }
}

# Pick "distributor": its resellers with their grants (the edge ids are
# what setPurchaseOrderView takes), and each reseller's customers.
query DistributorResellers {
  viewer { organization { channelEdges(direction: DOWNSTREAM, kind: RESELLER) { edges { node {
    id purchaseOrderView
    downstream { name channelEdges(direction: DOWNSTREAM, kind: CUSTOMER) { edges { node { downstream { name } } } } }
  } } } } }
}

# Pick "vendor": every order of the channel, filtered and counted.
query VendorPlacedOrders {
  purchaseOrders(first: 3, filter: {status: PLACED}) {
    totalCount
    pageInfo { endCursor hasNextPage }
    edges { node { number status customer { name } reseller { name } distributor { name } } }
  }
}

# Any persona: each change of an order it may see, live, over the websocket.
# Keep the last cursor and pass it as after: to resume without a gap.
subscription OrderUpdates {
  purchaseOrderUpdated {
    cursor
    purchaseOrder { number status updatedAt }
  }
}
`
