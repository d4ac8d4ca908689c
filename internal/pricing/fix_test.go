package pricing_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestRound(t *testing.T) {
	for in, want := range map[string]string{
		"10.989": "10.99", "10.985": "10.99", "10.984": "10.98", "10.995": "11.00",
		"-10.985": "-10.99", "0.005": "0.01", "12.089": "12.09", "7": "7.00",
	} {
		if got := pricing.Round(decimal.RequireFromString(in)).StringFixed(2); got != want {
			t.Errorf("Round(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestNormalizeMarkup(t *testing.T) {
	for in, want := range map[string]string{"12.5": "12.5", "12.50": "12.5", "-100": "-100", "1000": "1000",
		"0": "0", "-0": "0", "0.0001": "0.0001", "999.9999": "999.9999"} {
		if got, err := pricing.NormalizeMarkup("m", in); err != nil || got != want {
			t.Errorf("NormalizeMarkup(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "1e2", "-100.0001", "1000.0001", "10.12345", "+5", "1,5", " 5", "NaN", "12."} {
		_, err := pricing.NormalizeMarkup("lines[1].markupPercent", bad)
		var e *domain.Error
		if !errors.As(err, &e) || e.Code != domain.CodeInvalid || e.Field != "lines[1].markupPercent" {
			t.Errorf("NormalizeMarkup(%q) = %v, want BAD_USER_INPUT on lines[1].markupPercent", bad, err)
		}
	}
}

// chain is vendor→distributor→reseller→customer, every edge ACTIVE, with
// products sold along it.
type chain struct {
	vendor, dist, res, cust int64
	edges                   map[[2]int64]int64
}

var admin = domain.WithViewer(context.Background(), &domain.Viewer{IsPlatformAdmin: true})

func mustChain(t *testing.T, db *bun.DB) chain {
	t.Helper()
	ch := channel.New(db)
	org := func(kind domain.OrganizationKind) int64 {
		o, err := ch.CreateOrganization(admin, channel.CreateOrganizationInput{Name: string(kind), Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	c := chain{vendor: org(domain.KindVendor), dist: org(domain.KindDistributor), res: org(domain.KindReseller),
		cust: org(domain.KindCustomer), edges: map[[2]int64]int64{}}
	for _, e := range [][2]int64{{c.vendor, c.dist}, {c.dist, c.res}, {c.res, c.cust}, {c.vendor, c.res}, {c.vendor, c.cust}} {
		edge, err := ch.CreateChannelEdge(admin, e[0], e[1])
		if err != nil {
			t.Fatal(err)
		}
		c.edges[e] = edge.ID
	}
	return c
}

func mustProduct(t *testing.T, db *bun.DB, vendor int64, sku string, list *domain.Money) int64 {
	t.Helper()
	p, err := catalog.New(db).CreateProduct(admin, catalog.CreateProductInput{VendorID: vendor, SKU: sku, Name: sku,
		Type: domain.ProductLicense, ListPrice: list, Terms: []domain.Term{domain.TermMonth, domain.TermYear}})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func mustRule(t *testing.T, s *pricing.Service, edge int64, product *int64, markup string, price *domain.Money) {
	t.Helper()
	in := pricing.SetPriceRuleInput{ChannelEdgeID: edge, ProductID: product, Price: price}
	if markup != "" {
		in.MarkupPercent = &markup
	}
	if _, err := s.SetPriceRule(admin, in); err != nil {
		t.Fatal(err)
	}
}

// edgePrices reads a line's stored prices, seller→buyer → amount.
func edgePrices(t *testing.T, db bun.IDB, line int64) map[[2]int64]string {
	t.Helper()
	var rows []struct {
		SellerID int64  `bun:"seller_id"`
		BuyerID  int64  `bun:"buyer_id"`
		Amount   string `bun:"amount"`
		Currency string `bun:"currency"`
	}
	if err := db.NewSelect().TableExpr("line_prices").Column("seller_id", "buyer_id", "amount", "currency").
		Where("line_kind = 'CART' AND line_id = ?", line).Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[[2]int64]string{}
	for _, r := range rows {
		out[[2]int64{r.SellerID, r.BuyerID}] = r.Amount + " " + r.Currency
	}
	return out
}

func money(amount string) *domain.Money { return &domain.Money{Amount: amount, Currency: "EUR"} }

// TestFix: the price on every edge of a sale (SPEC §4.2, §8.3) — list price,
// default +10%, rules by product over every-product, markups on the buy
// price, set prices, the line's own adjustment on the last edge, rounding at
// each edge, list prices per term and billing cycle, and replacing.
func TestFix(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		c := mustChain(t, db)
		svc := pricing.New(db)
		plain := mustProduct(t, db, c.vendor, "PLAIN", money("10"))
		odd := mustProduct(t, db, c.vendor, "ODD", money("9.99"))
		ruled := mustProduct(t, db, c.vendor, "RULED", money("100"))
		unlisted := mustProduct(t, db, c.vendor, "UNLISTED", nil)
		year, annual := domain.TermYear, domain.BillAnnual
		if _, err := svc.SetListPrice(admin, pricing.SetListPriceInput{ProductID: plain, Term: year, BillingCycle: annual,
			Price: domain.Money{Amount: "100", Currency: "EUR"}}); err != nil {
			t.Fatal(err)
		}
		// Rules: on distributor→reseller every product +50%, RULED +20%;
		// on vendor→distributor RULED -10%; on reseller→customer RULED set 150.
		mustRule(t, svc, c.edges[[2]int64{c.dist, c.res}], nil, "50", nil)
		mustRule(t, svc, c.edges[[2]int64{c.dist, c.res}], &ruled, "20", nil)
		mustRule(t, svc, c.edges[[2]int64{c.vendor, c.dist}], &ruled, "-10", nil)
		mustRule(t, svc, c.edges[[2]int64{c.res, c.cust}], &ruled, "", money("150"))

		long := pricing.Sale{c.vendor, c.dist, c.res, c.cust}
		viaRes := pricing.Sale{c.vendor, c.res, c.cust}
		direct := pricing.Sale{c.vendor, c.cust}
		vd, dr, rc := [2]int64{c.vendor, c.dist}, [2]int64{c.dist, c.res}, [2]int64{c.res, c.cust}
		vr, vc := [2]int64{c.vendor, c.res}, [2]int64{c.vendor, c.cust}
		markup := "5"
		for _, tc := range []struct {
			name string
			sale pricing.Sale
			line pricing.Line
			want map[[2]int64]string
		}{
			{"every-product rule, default +10%", long, pricing.Line{ProductID: plain},
				map[[2]int64]string{vd: "10.00 EUR", dr: "15.00 EUR", rc: "16.50 EUR"}},
			{"list price for the term and cycle", long, pricing.Line{ProductID: plain, Term: &year, BillingCycle: &annual},
				map[[2]int64]string{vd: "100.00 EUR", dr: "150.00 EUR", rc: "165.00 EUR"}},
			{"product rules over every-product rule; a set price", long, pricing.Line{ProductID: ruled},
				map[[2]int64]string{vd: "90.00 EUR", dr: "108.00 EUR", rc: "150.00 EUR"}},
			{"rounded at each edge", viaRes, pricing.Line{ProductID: odd},
				// 9.99; 9.99 × 1.1 = 10.989 → 10.99 (not 10.989 × … unrounded)
				map[[2]int64]string{vr: "9.99 EUR", rc: "10.99 EUR"}},
			{"rounded at each edge, three edges", long, pricing.Line{ProductID: odd},
				// 9.99; ×1.5 = 14.985 → 14.99; ×1.1 = 16.489 → 16.49
				map[[2]int64]string{vd: "9.99 EUR", dr: "14.99 EUR", rc: "16.49 EUR"}},
			{"the line's markup over the rules on the last edge", long, pricing.Line{ProductID: ruled, MarkupPercent: &markup},
				map[[2]int64]string{vd: "90.00 EUR", dr: "108.00 EUR", rc: "113.40 EUR"}},
			{"the line's set price", direct, pricing.Line{ProductID: plain, Price: money("12.345")},
				map[[2]int64]string{vc: "12.35 EUR"}},
			{"a vendor without a rule charges its list price", direct, pricing.Line{ProductID: odd},
				map[[2]int64]string{vc: "9.99 EUR"}},
		} {
			tc.line.ID, tc.line.Field = 1, "lines[0]"
			if err := pricing.Fix(ctx, db, pricing.CartLines, tc.sale, []pricing.Line{tc.line}, true); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got := edgePrices(t, db, 1)
			if len(got) != len(tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: edge %v got %q, want %q (all: %v)", tc.name, k, got[k], v, got)
				}
			}
		}

		// A rule on a removed edge prices nothing: only the ACTIVE edge
		// between two organizations carries rules.
		ch := channel.New(db)
		former, err := ch.CreateOrganization(admin, channel.CreateOrganizationInput{Name: "Former", Kind: domain.KindCustomer})
		if err != nil {
			t.Fatal(err)
		}
		gone, err := ch.CreateChannelEdge(admin, c.vendor, former.ID)
		if err != nil {
			t.Fatal(err)
		}
		mustRule(t, svc, gone.ID, nil, "", money("1"))
		if _, err := ch.RemoveChannelEdge(admin, gone.ID, "ended", true); err != nil {
			t.Fatal(err)
		}
		if err := pricing.Fix(ctx, db, pricing.CartLines, pricing.Sale{c.vendor, former.ID},
			[]pricing.Line{{ID: 5, ProductID: plain, Field: "lines[0]"}}, true); err != nil {
			t.Fatal(err)
		}
		if got := edgePrices(t, db, 5); got[[2]int64{c.vendor, former.ID}] != "10.00 EUR" {
			t.Errorf("across a removed edge with a rule: %v, want the list price 10.00 EUR", got)
		}

		// An unpriceable line: a fault naming it when required, and then
		// nothing changes; skipped otherwise.
		lines := []pricing.Line{{ID: 2, ProductID: plain, Field: "lines[0]"}, {ID: 3, ProductID: unlisted, Field: "lines[1]"}}
		err = pricing.Fix(ctx, db, pricing.CartLines, long, lines, true)
		var faults domain.Faults
		if !errors.As(err, &faults) || len(faults) != 1 || faults[0].Field != "lines[1].productId" || faults[0].Code != domain.CodeInvalid {
			t.Fatalf("an unlisted product: got %v, want one BAD_USER_INPUT on lines[1].productId", err)
		}
		if got := edgePrices(t, db, 2); len(got) != 0 {
			t.Errorf("a refused Fix stored prices: %v", got)
		}
		if err := pricing.Fix(ctx, db, pricing.CartLines, long, lines, false); err != nil {
			t.Fatal(err)
		}
		if len(edgePrices(t, db, 2)) != 3 || len(edgePrices(t, db, 3)) != 0 {
			t.Errorf("not required: line 2 has %v, line 3 %v", edgePrices(t, db, 2), edgePrices(t, db, 3))
		}
		// A set price in another currency is a fault on the line's price.
		err = pricing.Fix(ctx, db, pricing.CartLines, direct, []pricing.Line{{ID: 4, ProductID: plain, Field: "lines[3]",
			Price: &domain.Money{Amount: "5", Currency: "USD"}}}, false)
		if !errors.As(err, &faults) || faults[0].Field != "lines[3].price.currency" {
			t.Errorf("a USD price on a EUR product: got %v, want a fault on lines[3].price.currency", err)
		}
		// Fixing again replaces: a shorter sale leaves no row of the longer one.
		if err := pricing.Fix(ctx, db, pricing.CartLines, direct, lines[:1], true); err != nil {
			t.Fatal(err)
		}
		if got := edgePrices(t, db, 2); len(got) != 1 || got[vc] != "10.00 EUR" {
			t.Errorf("after fixing again: %v, want only %v 10.00 EUR", got, vc)
		}
	})
}

func countLinePrices(t *testing.T, db *bun.DB, order int64) int {
	t.Helper()
	n, err := db.NewSelect().TableExpr("line_prices AS lp").
		Join("JOIN purchase_order_lines AS l ON l.id = lp.line_id AND lp.line_kind = 'ORDER'").
		Where("l.purchase_order_id = ?", order).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestOrdersFixPricesWhenPlaced: an order recorded as PLACED has its prices
// fixed on every edge at once; a draft has none until it is placed.
func TestOrdersFixPricesWhenPlaced(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		c := mustChain(t, db)
		mustProduct(t, db, c.vendor, "SKU-1", money("10"))
		ord := orders.New(db)
		reseller := domain.WithViewer(context.Background(), &domain.Viewer{OrganizationID: c.res, Kind: domain.KindReseller, Role: domain.RoleOwner})
		in := orders.CreateInput{Number: "PLACED", VendorID: c.vendor, ResellerID: &c.res, DistributorID: &c.dist, CustomerID: c.cust,
			Lines: []orders.LineInput{{SKU: "SKU-1", Quantity: 2}, {SKU: "SKU-1", Quantity: 1}}}
		placed, err := ord.CreatePurchaseOrder(reseller, in)
		if err != nil {
			t.Fatal(err)
		}
		if n := countLinePrices(t, db, placed.ID); n != 6 {
			t.Errorf("a placed order of 2 lines along 3 edges has %d prices, want 6", n)
		}
		in.Number, in.Draft, in.DistributorID = "DRAFT", true, nil
		draft, err := ord.CreatePurchaseOrder(reseller, in)
		if err != nil {
			t.Fatal(err)
		}
		if n := countLinePrices(t, db, draft.ID); n != 0 {
			t.Errorf("a draft has %d prices, want none", n)
		}
		if _, err := ord.UpdatePurchaseOrderStatus(reseller, draft.ID, domain.POPlaced); err != nil {
			t.Fatal(err)
		}
		if n := countLinePrices(t, db, draft.ID); n != 4 {
			t.Errorf("the draft once placed has %d prices, want 4", n)
		}
		seen, err := pricing.Seen(context.Background(), db, &domain.Viewer{OrganizationID: c.res}, pricing.OrderLines, []int64{1, 2, 3, 4})
		if err != nil {
			t.Fatal(err)
		}
		// Along vendor→distributor→reseller: buys at 11.00; along vendor→reseller: at 10.00.
		if str(seen[1].Buy) != "11.00" || str(seen[3].Buy) != "10.00" || str(seen[3].Sell) != "11.00" || str(seen[3].Margin) != "1.00" {
			t.Errorf("the reseller sees %+v on line 1, %+v on line 3", seen[1], seen[3])
		}
	})
}
