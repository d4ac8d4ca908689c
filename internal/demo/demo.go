// Package demo creates a small, deterministic demo channel for `make run`:
// a vendor, two distributors, several resellers and customers, products,
// and a few hundred purchase orders with mixed purchase-order-view grants,
// Globex's subscriptions in every state (the random orders create none, so
// the showcase stands alone; on the server every completed order does),
// the persona organizations' members, and one API token for each persona.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/carts"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/pricing"
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
	// products holds the demo catalog by SKU, edges the channel by its ends.
	products map[string]*domain.Product
	edges    map[[2]string]*domain.ChannelEdge
	pri      *pricing.Service
	carts    *carts.Service
	err      error
}

// Load creates the demo channel and returns the personas' tokens.
func Load(ctx context.Context, db *bun.DB) ([]Persona, error) {
	cat := catalog.New(db)
	b := &builder{
		ctx: domain.WithViewer(ctx, &domain.Viewer{IsPlatformAdmin: true}),
		ch:  channel.New(db), cat: cat, ord: orders.New(db), pri: pricing.New(db), carts: carts.New(db, cat),
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
		b.customer(c, customerProfile[c].industry, customerProfile[c].segment)
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

	b.catalog()
	b.prices()
	// Random orders use the products every customer may buy.
	skus := []string{"NW-SUITE-E3", "NW-SUITE-E5", "NW-BACKUP", "NW-ROUTER-X1", "NW-ANALYTICS"}
	distributorOf := map[string]string{"Cobalt IT": "Atlas Distribution", "Delta Solutions": "Atlas Distribution", "Ember Networks": "Borealis Supply"}
	for i := 1; i <= 300 && b.err == nil; i++ {
		customer := customers[b.rng.IntN(len(customers))]
		reseller, distributor := resellerOf[customer], distributorOf[resellerOf[customer]]
		b.order(fmt.Sprintf("PO-%05d", i), customer, reseller, distributor, skus)
	}
	b.cartsInProgress()
	b.subscriptions(db)
	b.members(db)
	b.webhooks(db)
	if b.err != nil {
		return nil, b.err
	}
	ps, err := b.personas(ctx, db)
	if err != nil {
		return nil, err
	}
	return ps, ownPersonaTokens(ctx, db, ps)
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
	if b.edges == nil {
		b.edges = map[[2]string]*domain.ChannelEdge{}
	}
	b.edges[[2]string{up, down}] = e
}

func (b *builder) customer(name, industry string, segment domain.Segment) {
	if b.err != nil {
		return
	}
	b.orgs[name], b.err = b.ch.CreateOrganization(b.ctx, channel.CreateOrganizationInput{
		Name: name, Kind: domain.KindCustomer, Country: "DE", Industry: industry, Segment: string(segment)})
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

# Any persona (the catalog is public): products with terms, trials, add-ons
# and recommended end prices. As "customer", only what Globex may buy.
query Catalog {
  products(first: 10) {
    totalCount
    edges { node { sku name category segments industries terms billingCycles trialDays
      recommendedPrice { amount currency } addOns { sku } } }
  }
}

# Pick "reseller": its open cart for Globex, priced as Cobalt sees it (buy
# from Atlas, sell to Globex, margin), its saved draft, and its quotes.
query ResellerCart {
  carts(first: 5) { edges { node { id status customer { name } distributor { name }
    lines { product { sku } quantity term billingCycle tenantDomain
      buyPrice { amount currency } sellPrice { amount } margin { amount } } } } }
  purchaseOrders(first: 5, filter: {status: DRAFT}) { edges { node { number status lines { sku quantity } } } }
  quotes(first: 5) { edges { node { number status expiresAt customer { name } } } }
}

# Pick "customer": the quotes Cobalt sent Globex, with the one price Globex
# would pay per line (acceptQuote places the orders).
query CustomerQuotes {
  quotes(first: 5) { edges { node { id number status expiresAt seller { name }
    lines { product { sku } quantity buyPrice { amount currency } sellPrice { amount } } } } }
}

# Any persona: the newest order's lines with the prices it may see. The
# customer sees what it pays; a reseller its buy, sell and margin; the
# vendor only what it sells for.
query OrderPrices {
  purchaseOrders(first: 1) { edges { node { number customer { name } distributor { name }
    lines { sku quantity buyPrice { amount } sellPrice { amount } margin { amount } } } } }
}

# Pick "reseller": Globex's subscriptions, which Cobalt sells as partner of
# record: every status, what it may still take back (reductionWindows) and
# until when it may cancel, the SaaS activation link waiting for Northwind.
query ResellerSubscriptions {
  productSubscriptions(first: 20) { totalCount edges { node { id nickname status trial product { sku } quantity
    commitmentEndsAt billingStartedAt cancellableUntil reductionWindows { kind licenses closesAt }
    activationUrl activationCode price { buyPrice { amount } sellPrice { amount } margin { amount } } } } }
}

# Pick "reseller" and pass the id of the "Head office" subscription: its
# licenses were bought 10 days ago, so the reduction is refused with
# WINDOW_CLOSED and the time the window closed.
mutation LateReduction($id: ID!) {
  updateProductSubscription(input: {id: $id, quantity: 30}) {
    productSubscription { quantity } userErrors { field code message }
  }
}

# Pick "vendor" and pass the activationCode of the NW-BACKUP-ARCHIVE
# subscription waiting in "New plant backup" (the reseller sees it):
# Northwind, its publisher, activates it and billing starts now (for the
# NW-BACKUP trial beside it, when its trial ends).
mutation ActivateBackup($code: String!) {
  activateSaasSubscription(input: {activationCode: $code}) {
    productSubscription { nickname status billingStartedAt } userErrors { field code message }
  }
}

# Pick "vendor": Northwind's webhook endpoints (PAUSED until you run
# README's receiver, take a secret with rotateWebhookSecret and resume it),
# with their deliveries: attempts, response codes, latency, next attempt.
query VendorWebhooks {
  viewer { organization { webhookEndpoints(first: 5) { edges { node {
    id url status eventType operation failures lastError
    deliveries(first: 5) { edges { node { webhookId status attempts responseStatusCode latencyMs nextAttemptAt } } }
  } } } } }
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
