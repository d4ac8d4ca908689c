package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

const setListPrice = `mutation($in: SetListPriceInput!) { setListPrice(input: $in) {
	product { id listPrice(term: P1Y, billingCycle: ANNUAL) { amount currency } } userErrors { field code message } } }`

const setPriceRule = `mutation($in: SetPriceRuleInput!) { setPriceRule(input: $in) {
	priceRule { markupPercent price { amount currency } product { id } channelEdge { id } } userErrors { field code message } } }`

type userError struct{ Field, Code, Message string }

// mustPricedProduct creates a product with a default list price as the
// platform administrator and returns its global id.
func (a *api) mustPricedProduct(vendor, sku, amount string) string {
	a.TB.Helper()
	var out struct {
		CreateProduct struct{ Product struct{ ID string } }
	}
	a.Must(testapi.AdminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } } }`,
		map[string]any{"in": map[string]any{"vendorId": vendor, "sku": sku, "name": sku, "type": "LICENSE",
			"terms": []string{"P1M", "P1Y"}, "listPrice": map[string]any{"amount": amount, "currency": "EUR"}}}, &out)
	return out.CreateProduct.Product.ID
}

// mutate runs a pricing mutation as token and returns its request error
// code ("" for none) and its userErrors.
func (a *api) mutate(token, query, name string, in map[string]any) (string, []userError) {
	a.TB.Helper()
	res := a.Do(token, query, map[string]any{"in": in})
	if res.Code() != "" {
		return res.Code(), nil
	}
	var out map[string]struct{ UserErrors []userError }
	if err := jsonUnmarshal(res.Data, &out); err != nil {
		a.TB.Fatal(err)
	}
	return "", out[name].UserErrors
}

// TestSetListPrice: SPEC §8.3 — who may set a list price, which input is
// refused on which field, and that listPrice(term, billingCycle) answers
// the pair's price, else the default, only to those who see list prices.
func TestSetListPrice(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		a := f.a
		product := a.mustPricedProduct(f.vendor, "SEAT", "10")
		price := func(amount, currency string) map[string]any {
			return map[string]any{"productId": product, "term": "P1Y", "billingCycle": "ANNUAL",
				"price": map[string]any{"amount": amount, "currency": currency}}
		}
		vendorID := rowID(t, f.vendor)
		for _, tc := range []struct {
			name, token, code string
		}{
			{"a vendor SALES_AGENT", a.MustToken(vendorID, domain.RoleSalesAgent), "FORBIDDEN"},
			{"a vendor VIEWER", a.MustToken(vendorID, domain.RoleViewer), "FORBIDDEN"},
			{"the distributor's OWNER", f.tok[f.dist], "FORBIDDEN"},
			{"anonymous", "", "UNAUTHENTICATED"},
		} {
			if code, _ := a.mutate(tc.token, setListPrice, "setListPrice", price("99", "EUR")); code != tc.code {
				t.Errorf("%s sets a list price: %q, want %s", tc.name, code, tc.code)
			}
		}
		if code, _ := a.mutate(f.tok[f.vendor], setListPrice, "setListPrice",
			map[string]any{"productId": gidOf(relay.TypeProduct, 999), "term": "P1Y", "billingCycle": "ANNUAL",
				"price": map[string]any{"amount": "1", "currency": "EUR"}}); code != "NOT_FOUND" {
			t.Errorf("an unknown product: %q, want NOT_FOUND", code)
		}
		for _, tc := range []struct{ amount, currency, field string }{
			{"abc", "EUR", "price.amount"}, {"-1", "EUR", "price.amount"}, {"1.23456", "EUR", "price.amount"},
			{"1", "eur", "price.currency"}, {"1", "EURO", "price.currency"},
		} {
			code, errs := a.mutate(f.tok[f.vendor], setListPrice, "setListPrice", price(tc.amount, tc.currency))
			if code != "" || len(errs) != 1 || errs[0].Field != tc.field || errs[0].Code != "BAD_USER_INPUT" {
				t.Errorf("price %s %s: %q %+v, want BAD_USER_INPUT on %s", tc.amount, tc.currency, code, errs, tc.field)
			}
		}
		// Only a term and billing cycle the product offers take a price.
		var offered struct {
			CreateProduct struct{ Product struct{ ID string } }
		}
		a.Must(testapi.AdminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } } }`,
			map[string]any{"in": map[string]any{"vendorId": f.vendor, "sku": "YEARLY", "name": "Yearly", "type": "LICENSE",
				"terms": []string{"P1Y"}, "billingCycles": []string{"ANNUAL"}}}, &offered)
		code, errs := a.mutate(f.tok[f.vendor], setListPrice, "setListPrice", map[string]any{"productId": offered.CreateProduct.Product.ID,
			"term": "P1M", "billingCycle": "MONTHLY", "price": map[string]any{"amount": "1", "currency": "EUR"}})
		if code != "" || len(errs) != 2 || errs[0].Field != "term" || errs[1].Field != "billingCycle" {
			t.Errorf("a term and cycle the product does not offer: %q %+v, want BAD_USER_INPUT on term and billingCycle", code, errs)
		}
		// The vendor's ADMIN_AGENT sets it; setting it again replaces it.
		for _, amount := range []string{"100", "95.5"} {
			if code, errs := a.mutate(a.MustToken(vendorID, domain.RoleAdminAgent), setListPrice, "setListPrice", price(amount, "EUR")); code != "" || len(errs) != 0 {
				t.Fatalf("the vendor's ADMIN_AGENT: %q %+v", code, errs)
			}
		}
		if code, errs := a.mutate(testapi.AdminToken, setListPrice, "setListPrice",
			map[string]any{"productId": product, "term": "P1M", "billingCycle": "MONTHLY", "price": map[string]any{"amount": "9", "currency": "EUR"}}); code != "" || len(errs) != 0 {
			t.Fatalf("the platform administrator: %q %+v", code, errs)
		}
		const read = `query($id: ID!) { product(id: $id) { year: listPrice(term: P1Y, billingCycle: ANNUAL) { amount }
			month: listPrice(term: P1M, billingCycle: MONTHLY) { amount } other: listPrice(term: P1Y, billingCycle: MONTHLY) { amount }
			plain: listPrice { amount } } }`
		type amount struct{ Amount string }
		for _, tc := range []struct {
			name, token string
			sees        bool
		}{
			{"the vendor", f.tok[f.vendor], true}, {"its distributor", f.tok[f.dist], true},
			{"the distributor's reseller", f.tok[f.reseller], false}, {"the indirect customer", f.tok[f.cust], false},
			{"the direct customer", f.tok[f.direct], true}, {"anonymous", "", false}, {"the administrator", testapi.AdminToken, true},
		} {
			var out struct {
				Product struct{ Year, Month, Other, Plain *amount }
			}
			a.Must(tc.token, read, map[string]any{"id": product}, &out)
			p := out.Product
			if !tc.sees {
				if p.Year != nil || p.Month != nil || p.Other != nil || p.Plain != nil {
					t.Errorf("%s reads list prices %+v", tc.name, p)
				}
				continue
			}
			if p.Year == nil || p.Year.Amount != "95.50" || p.Month == nil || p.Month.Amount != "9.00" ||
				p.Other == nil || p.Other.Amount != "10.00" || p.Plain == nil || p.Plain.Amount != "10.00" {
				t.Errorf("%s reads year %+v month %+v other pair %+v default %+v; want 95.50, 9.00, 10.00, 10.00", tc.name, p.Year, p.Month, p.Other, p.Plain)
			}
		}
	})
}

// TestSetPriceRule: SPEC §8.3 — the upstream side's managers set rules,
// every bad input names its field, a removed edge is a CONFLICT, a rule for
// the same edge and product replaces the last, and an edge's rules are seen
// only by its two sides and the administrator.
func TestSetPriceRule(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		a := f.a
		product := a.mustPricedProduct(f.vendor, "SEAT", "10")
		markup := func(edge string, product any, pct string) map[string]any {
			return map[string]any{"channelEdgeId": edge, "productId": product, "markupPercent": pct}
		}
		distID := rowID(t, f.dist)
		for _, tc := range []struct{ name, token, code string }{
			{"the downstream side's OWNER", f.tok[f.reseller], "FORBIDDEN"},
			{"the upstream side's SALES_AGENT", a.MustToken(distID, domain.RoleSalesAgent), "FORBIDDEN"},
			{"the vendor above (it sees the edge)", f.tok[f.vendor], "FORBIDDEN"},
			{"the direct customer (it does not see the edge)", f.tok[f.direct], "NOT_FOUND"},
			{"anonymous", "", "UNAUTHENTICATED"},
		} {
			if code, _ := a.mutate(tc.token, setPriceRule, "setPriceRule", markup(f.drEdge, nil, "5")); code != tc.code {
				t.Errorf("%s sets a rule: %q, want %s", tc.name, code, tc.code)
			}
		}
		if code, _ := a.mutate(f.tok[f.dist], setPriceRule, "setPriceRule", markup(f.drEdge, gidOf(relay.TypeProduct, 999), "5")); code != "NOT_FOUND" {
			t.Errorf("an unknown product: %q, want NOT_FOUND", code)
		}
		usd := map[string]any{"amount": "5", "currency": "USD"}
		for _, tc := range []struct {
			name  string
			in    map[string]any
			field string
		}{
			{"neither markup nor price", map[string]any{"channelEdgeId": f.drEdge}, "markupPercent"},
			{"both", map[string]any{"channelEdgeId": f.drEdge, "markupPercent": "5", "price": usd}, "markupPercent"},
			{"markup over 1000", markup(f.drEdge, nil, "1000.01"), "markupPercent"},
			{"markup under -100", markup(f.drEdge, nil, "-101"), "markupPercent"},
			{"markup with 5 places", markup(f.drEdge, nil, "1.00001"), "markupPercent"},
			{"markup not a number", markup(f.drEdge, nil, "ten"), "markupPercent"},
			{"a bad amount", map[string]any{"channelEdgeId": f.drEdge, "price": map[string]any{"amount": "1e3", "currency": "EUR"}}, "price.amount"},
			{"a bad currency", map[string]any{"channelEdgeId": f.drEdge, "price": map[string]any{"amount": "1", "currency": "€"}}, "price.currency"},
			{"a currency the product is not listed in", map[string]any{"channelEdgeId": f.drEdge, "productId": product, "price": usd}, "price.currency"},
		} {
			code, errs := a.mutate(f.tok[f.dist], setPriceRule, "setPriceRule", tc.in)
			if code != "" || len(errs) != 1 || errs[0].Field != tc.field || errs[0].Code != "BAD_USER_INPUT" {
				t.Errorf("%s: %q %+v, want BAD_USER_INPUT on %s", tc.name, code, errs, tc.field)
			}
		}
		// A vendor's edge takes rules only for the vendor's own products.
		_, otherVendorID := a.MustOrg("Other vendor", domain.KindVendor)
		newReseller, _ := a.MustOrg("New reseller", domain.KindReseller)
		vdEdge := a.MustEdge(f.vendor, newReseller, false)
		foreign := a.mustPricedProduct(gidOf(relay.TypeOrganization, otherVendorID), "FOREIGN", "5")
		if code, errs := a.mutate(f.tok[f.vendor], setPriceRule, "setPriceRule", markup(vdEdge, foreign, "5")); code != "" ||
			len(errs) != 1 || errs[0].Field != "productId" || errs[0].Code != "BAD_USER_INPUT" {
			t.Errorf("a rule on the vendor's edge for another vendor's product: %q %+v, want BAD_USER_INPUT on productId", code, errs)
		}
		// Set, then replace, the product rule and the every-product rule.
		for _, in := range []map[string]any{markup(f.drEdge, nil, "5"), markup(f.drEdge, product, "20"),
			markup(f.drEdge, nil, "7.50"), {"channelEdgeId": f.drEdge, "productId": product, "price": map[string]any{"amount": "11.5", "currency": "EUR"}}} {
			if code, errs := a.mutate(f.tok[f.dist], setPriceRule, "setPriceRule", in); code != "" || len(errs) != 0 {
				t.Fatalf("setting %v: %q %+v", in, code, errs)
			}
		}
		const rules = `query($id: ID!) { node(id: $id) { ... on ChannelEdge { priceRules { markupPercent price { amount currency } product { id } } } } }`
		type rule struct {
			MarkupPercent *string
			Price         *struct{ Amount, Currency string }
			Product       *struct{ ID string }
		}
		for _, tc := range []struct {
			name, token string
			sees        bool
		}{
			{"the upstream side", f.tok[f.dist], true}, {"the downstream side", f.tok[f.reseller], true},
			{"the administrator", testapi.AdminToken, true}, {"the vendor above", f.tok[f.vendor], false},
			{"the customer below", f.tok[f.cust], false},
		} {
			var out struct{ Node *struct{ PriceRules []rule } }
			a.Must(tc.token, rules, map[string]any{"id": f.drEdge}, &out)
			var got []rule
			if out.Node != nil {
				got = out.Node.PriceRules
			}
			if !tc.sees {
				if len(got) != 0 {
					t.Errorf("%s sees the edge's rules: %s", tc.name, describe(got))
				}
				continue
			}
			if len(got) != 2 || got[0].Product != nil || got[0].MarkupPercent == nil || *got[0].MarkupPercent != "7.5" ||
				got[1].Product == nil || got[1].Product.ID != product || got[1].Price == nil || got[1].Price.Amount != "11.50" || got[1].MarkupPercent != nil {
				t.Errorf("%s sees rules %s; want the every-product 7.5%% then the product's set 11.50", tc.name, describe(got))
			}
		}
		// A removed edge takes no rule: a CONFLICT for whoever still sees it
		// (the administrator); the distributor no longer sees its former
		// reseller, so for it the edge does not exist (SPEC §1.4, §1.5).
		a.Must(f.tok[f.dist], `mutation($in: RemoveChannelEdgeInput!) { removeChannelEdge(input: $in) { userErrors { code } } }`,
			map[string]any{"in": map[string]any{"channelEdgeId": f.drEdge, "reason": "ended", "acknowledgeNotice": true}}, nil)
		if code, errs := a.mutate(testapi.AdminToken, setPriceRule, "setPriceRule", markup(f.drEdge, nil, "5")); code != "" || len(errs) != 1 ||
			errs[0].Code != "CONFLICT" || errs[0].Field != "channelEdgeId" {
			t.Errorf("a rule on a removed edge: %q %+v, want CONFLICT on channelEdgeId", code, errs)
		}
		if code, _ := a.mutate(f.tok[f.dist], setPriceRule, "setPriceRule", markup(f.drEdge, nil, "5")); code != "NOT_FOUND" {
			t.Errorf("the distributor sets a rule on its removed edge: %q, want NOT_FOUND", code)
		}
	})
}

type linePrices struct {
	BuyPrice, SellPrice, Margin *struct{ Amount, Currency string }
}

func (l linePrices) String() string {
	s := func(m *struct{ Amount, Currency string }) string {
		if m == nil {
			return "null"
		}
		return m.Amount
	}
	return fmt.Sprintf("buy %s sell %s margin %s", s(l.BuyPrice), s(l.SellPrice), s(l.Margin))
}

// pricedFixture is the channel fixture with SKU-1 listed at 10 EUR and the
// distributor charging its reseller 20% over its buy price.
func pricedFixture(t *testing.T, db *bun.DB) *channelFixture {
	t.Helper()
	return pricedFixtureWith(t, db, server.Config{})
}

// pricedFixtureWith is pricedFixture on a server configured with cfg.
func pricedFixtureWith(t *testing.T, db *bun.DB, cfg server.Config) *channelFixture {
	t.Helper()
	f := newChannelFixtureWith(t, db, cfg)
	// The fixture's product has no list price, and createProduct is the only
	// way to set the default one: set it in place.
	if _, err := db.NewUpdate().TableExpr("products").Set("list_price_amount = '10.00', list_price_currency = 'EUR'").
		Where("sku = 'SKU-1'").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, errs := f.a.mutate(f.tok[f.dist], setPriceRule, "setPriceRule",
		map[string]any{"channelEdgeId": f.drEdge, "markupPercent": "20"}); code != "" || len(errs) != 0 {
		t.Fatalf("setPriceRule: %q %+v", code, errs)
	}
	return f
}

// TestPricesInEventsPerViewer: a placed order's purchaseOrderUpdated event,
// delivered over the real websocket, carries to each party only its own
// prices (SPEC §8.3): the customer what it pays and no distributor — not
// the reseller's or the distributor's cost anywhere in the message — the
// reseller and the distributor their buy, sell and margin, the vendor its
// sell. A query of the order answers the same.
func TestPricesInEventsPerViewer(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := pricedFixture(t, db)
		const sub = `subscription { purchaseOrderUpdated { purchaseOrder { number distributor { name }
			lines { buyPrice { amount currency } sellPrice { amount currency } margin { amount currency } } } } }`
		want := map[string]string{
			f.vendor:   "buy null sell 10.00 margin null",
			f.dist:     "buy 10.00 sell 12.00 margin 2.00",
			f.reseller: "buy 12.00 sell 13.20 margin 1.20",
			f.cust:     "buy 13.20 sell null margin null",
		}
		subs := map[string]*wsClient{}
		for org := range want {
			subs[org] = f.a.dialWS(f.tok[org], false)
			subs[org].subscribe("po", sub, nil)
		}
		waitForSubscribers(t, f, len(want))
		f.a.createOrder(f.tok[f.vendor], f.indirect("PRICED-1"))
		for org, c := range subs {
			m := c.read()
			if m.Type != "next" {
				t.Fatalf("%s got %s: %s", org, m.Type, m.Payload)
			}
			var ev struct {
				Data struct {
					PurchaseOrderUpdated struct {
						PurchaseOrder struct {
							Number      string
							Distributor *struct{ Name string }
							Lines       []linePrices
						}
					}
				}
			}
			if err := jsonUnmarshal(m.Payload, &ev); err != nil {
				t.Fatal(err)
			}
			po := ev.Data.PurchaseOrderUpdated.PurchaseOrder
			if len(po.Lines) != 1 || po.Lines[0].String() != want[org] {
				t.Errorf("%s's event carries %v, want %s", org, po.Lines, want[org])
			}
			if org == f.cust {
				if po.Distributor != nil || strings.Contains(string(m.Payload), "Distributor") ||
					strings.Contains(string(m.Payload), "10.00") || strings.Contains(string(m.Payload), "12.00") {
					t.Errorf("the customer's event tells of the distributor or an upstream cost: %s", m.Payload)
				}
			}
			var out struct {
				PurchaseOrders struct {
					Edges []struct{ Node struct{ Lines []linePrices } }
				}
			}
			f.a.Must(f.tok[org], `{ purchaseOrders { edges { node { lines { buyPrice { amount currency }
				sellPrice { amount currency } margin { amount currency } } } } } }`, nil, &out)
			if e := out.PurchaseOrders.Edges; len(e) != 1 || len(e[0].Node.Lines) != 1 || e[0].Node.Lines[0].String() != want[org] {
				t.Errorf("%s queries %+v, want %s", org, e, want[org])
			}
		}
		// The platform administrator is no party to the sale: it sees no price.
		var out struct {
			PurchaseOrders struct {
				Edges []struct{ Node struct{ Lines []linePrices } }
			}
		}
		f.a.Must(testapi.AdminToken, `{ purchaseOrders { edges { node { lines { buyPrice { amount } sellPrice { amount } margin { amount } } } } } }`, nil, &out)
		if l := out.PurchaseOrders.Edges[0].Node.Lines[0]; l.String() != "buy null sell null margin null" {
			t.Errorf("the administrator sees %s", l)
		}
	})
}

// TestNoNPlusOneWithPrices: a page of orders selecting every line's prices
// and its product's list prices costs the same statements for 5 orders as
// for 50.
func TestNoNPlusOneWithPrices(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		counter := &testapi.StatementCounter{}
		db.AddQueryHook(counter)
		f := pricedFixture(t, db)
		for i := 0; i < 50; i++ { // each order with a product of its own
			sku := fmt.Sprintf("P-%d", i)
			f.a.mustPricedProduct(f.vendor, sku, "10")
			in := f.indirect(fmt.Sprintf("Q-%d", i)).input()
			in["lines"] = []map[string]any{{"sku": sku, "quantity": 1}}
			f.a.Must(f.tok[f.vendor], createOrderMutation, map[string]any{"in": in}, nil)
		}
		const query = `query($first: Int) { purchaseOrders(first: $first) { totalCount edges { node {
			number vendor { name } customer { name } reseller { name } distributor { name }
			lines { sku quantity term billingCycle buyPrice { amount } sellPrice { amount } margin { amount }
				product { name listPrice { amount } yearly: listPrice(term: P1Y, billingCycle: ANNUAL) { amount } vendor { name } } } } } } }`
		cost := func(first int) int64 {
			before := counter.N()
			var out struct {
				PurchaseOrders struct {
					Edges []struct{ Node struct{ Lines []linePrices } }
				}
			}
			f.a.Must(f.tok[f.reseller], query, map[string]any{"first": first}, &out)
			if len(out.PurchaseOrders.Edges) != first || out.PurchaseOrders.Edges[0].Node.Lines[0].Margin == nil {
				t.Fatalf("got %d orders (%+v), want %d with margins", len(out.PurchaseOrders.Edges), out.PurchaseOrders.Edges, first)
			}
			return counter.N() - before
		}
		small, large := cost(5), cost(50)
		// Without prices a page costs 5 (see TestNoNPlusOne); the lines'
		// prices add one, each list price asked for (default, P1Y/ANNUAL) one.
		if large != small || small != 8 {
			t.Fatalf("a page of 5 orders cost %d statements, a page of 50 cost %d; want 8", small, large)
		}
	})
}

// TestLineTermCycleAndTenant: an order line answers its term, billing cycle
// and tenant (the tenant through the tenants' own visibility: whoever sees
// the order sees its customer, and so the tenant).
func TestLineTermCycleAndTenant(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		var tenant struct {
			CreateTenant struct{ Tenant struct{ ID string } }
		}
		f.a.Must(testapi.AdminToken, `mutation($in: CreateTenantInput!) { createTenant(input: $in) { tenant { id } } }`,
			map[string]any{"in": map[string]any{"customerId": f.cust, "domain": "contoso.example.com"}}, &tenant)
		f.a.createOrder(f.tok[f.vendor], f.indirect("T-1"))
		if _, err := db.NewUpdate().TableExpr("purchase_order_lines").Set("term = 'P1Y', billing_cycle = 'ANNUAL', tenant_id = ?",
			rowID(t, tenant.CreateTenant.Tenant.ID)).Where("1 = 1").Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, org := range []string{f.vendor, f.dist, f.reseller, f.cust} {
			var out struct {
				PurchaseOrders struct {
					Edges []struct {
						Node struct {
							Lines []struct {
								Term, BillingCycle *string
								Tenant             *struct{ Domain string }
							}
						}
					}
				}
			}
			f.a.Must(f.tok[org], `{ purchaseOrders { edges { node { lines { term billingCycle tenant { domain } } } } } }`, nil, &out)
			l := out.PurchaseOrders.Edges[0].Node.Lines[0]
			if l.Term == nil || *l.Term != "P1Y" || l.BillingCycle == nil || *l.BillingCycle != "ANNUAL" || l.Tenant == nil || l.Tenant.Domain != "contoso.example.com" {
				t.Errorf("%s reads the line as %s", org, describe(l))
			}
		}
	})
}
