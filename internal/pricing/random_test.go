package pricing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/pricing/model"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
	vmodel "github.com/channelgraph/channelgraph/internal/visibility/model"
)

// randomChannel is a channel built through the services, with its
// reference models: vis (who sees which order) and prices (what each edge
// charges).
type randomChannel struct {
	kinds    map[int64]domain.OrganizationKind
	vis      vmodel.Channel
	prices   model.Prices
	products map[int64][]product // by vendor
	orders   []placed
}

type product struct {
	id  int64
	sku string
}

type placed struct {
	id, vendor, dist, res, cust int64
	number                      string
	lines                       []model.Line
}

func amount(rng *rand.Rand) string {
	return fmt.Sprintf("%d.%03d", rng.IntN(300), rng.IntN(1000))
}

func markup(rng *rand.Rand) string {
	return fmt.Sprintf("%d.%02d", rng.IntN(150)-50, rng.IntN(100))
}

// buildRandomChannel makes organizations, ACTIVE edges with random grants
// (some removed and made again, leaving a rule on the removed one), products
// with random list prices, random rules (replaced at times), and orders
// along random ACTIVE chains placed through the orders service; some lines
// then get a term, a billing cycle or an adjustment and are priced again
// with FixOrder.
func buildRandomChannel(t *testing.T, db *bun.DB, rng *rand.Rand) *randomChannel {
	t.Helper()
	ctx := admin
	ch, cat, pri, ord := channel.New(db), catalog.New(db), pricing.New(db), orders.New(db)
	rc := &randomChannel{kinds: map[int64]domain.OrganizationKind{},
		prices:   model.Prices{Default: map[int64]string{}, ByTerm: map[model.ListKey]string{}},
		products: map[int64][]product{}}
	rc.vis.Kinds = rc.kinds
	var orgs []int64
	for _, kind := range []domain.OrganizationKind{domain.KindVendor, domain.KindDistributor, domain.KindReseller, domain.KindCustomer} {
		for i := 0; i < map[domain.OrganizationKind]int{domain.KindVendor: 2, domain.KindDistributor: 2, domain.KindReseller: 3, domain.KindCustomer: 4}[kind]; i++ {
			o, err := ch.CreateOrganization(ctx, channel.CreateOrganizationInput{Name: fmt.Sprint(kind, i), Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			rc.kinds[o.ID] = kind
			orgs = append(orgs, o.ID)
		}
	}
	slices.Sort(orgs)
	for _, v := range orgs {
		if rc.kinds[v] != domain.KindVendor {
			continue
		}
		for i := 0; i < 3; i++ {
			var list *domain.Money
			if rng.IntN(6) > 0 {
				list = &domain.Money{Amount: amount(rng), Currency: "EUR"}
			}
			sku := fmt.Sprintf("V%d-P%d", v, i)
			p, err := cat.CreateProduct(ctx, catalog.CreateProductInput{VendorID: v, SKU: sku, Name: sku, Type: domain.ProductLicense, ListPrice: list,
				Terms: []domain.Term{domain.TermMonth, domain.TermYear}})
			if err != nil {
				t.Fatal(err)
			}
			rc.products[v] = append(rc.products[v], product{p.ID, sku})
			if list != nil {
				rc.prices.Default[p.ID] = list.Amount
			}
			for _, term := range []domain.Term{domain.TermMonth, domain.TermYear} {
				for _, cycle := range []domain.BillingCycle{domain.BillMonthly, domain.BillAnnual} {
					if rng.IntN(3) > 0 {
						continue
					}
					a := amount(rng)
					if _, err := pri.SetListPrice(ctx, pricing.SetListPriceInput{ProductID: p.ID, Term: term, BillingCycle: cycle,
						Price: domain.Money{Amount: a, Currency: "EUR"}}); err != nil {
						t.Fatal(err)
					}
					rc.prices.ByTerm[model.ListKey{Product: p.ID, Term: string(term), Cycle: string(cycle)}] = a
				}
			}
		}
	}
	var allProducts []int64
	for _, ps := range rc.products {
		for _, p := range ps {
			allProducts = append(allProducts, p.id)
		}
	}
	slices.Sort(allProducts)
	rules := map[[2]int64]model.Rule{} // (edge, product) → the rule as last set
	setRule := func(edge, product int64) {
		in := pricing.SetPriceRuleInput{ChannelEdgeID: edge}
		r := model.Rule{Edge: edge, Product: product}
		if product != 0 {
			in.ProductID = &product
		}
		if rng.IntN(3) == 0 {
			r.Price = amount(rng)
			in.Price = &domain.Money{Amount: r.Price, Currency: "EUR"}
		} else {
			r.Markup = markup(rng)
			in.MarkupPercent = &r.Markup
		}
		if _, err := pri.SetPriceRule(ctx, in); err != nil {
			t.Fatal(err)
		}
		rules[[2]int64{edge, product}] = r
	}
	for _, up := range orgs {
		for _, down := range orgs {
			if !domain.AllowedEdge(rc.kinds[up], rc.kinds[down]) || rng.IntN(3) == 0 {
				continue
			}
			e, err := ch.CreateChannelEdge(ctx, up, down)
			if err != nil {
				t.Fatal(err)
			}
			if rng.IntN(4) == 0 { // a rule, then the edge removed (and maybe made again)
				setRule(e.ID, 0)
				if _, err := ch.RemoveChannelEdge(ctx, e.ID, "test", true); err != nil {
					t.Fatal(err)
				}
				rc.prices.Edges = append(rc.prices.Edges, model.Edge{ID: e.ID, Up: up, Down: down})
				rc.vis.Edges = append(rc.vis.Edges, vmodel.Edge{Up: up, Down: down, Status: domain.EdgeRemoved})
				if rng.IntN(2) == 0 {
					continue
				}
				if e, err = ch.CreateChannelEdge(ctx, up, down); err != nil {
					t.Fatal(err)
				}
			}
			view := rng.IntN(2) == 0
			if view {
				if _, err := ch.SetPurchaseOrderView(ctx, e.ID, true); err != nil {
					t.Fatal(err)
				}
			}
			rc.prices.Edges = append(rc.prices.Edges, model.Edge{ID: e.ID, Up: up, Down: down, Active: true})
			rc.vis.Edges = append(rc.vis.Edges, vmodel.Edge{Up: up, Down: down, Status: domain.EdgeActive, View: view})
			if rng.IntN(2) == 0 {
				setRule(e.ID, 0)
			}
			for _, p := range allProducts {
				if rc.kinds[up] == domain.KindVendor && !slices.ContainsFunc(rc.products[up], func(own product) bool { return own.id == p }) {
					continue // a vendor's edge prices only its own products
				}
				if rng.IntN(4) == 0 {
					setRule(e.ID, p)
					if rng.IntN(3) == 0 {
						setRule(e.ID, p) // replaces
					}
				}
			}
		}
	}
	for _, r := range rules {
		rc.prices.Rules = append(rc.prices.Rules, r)
	}

	active := func(up, down int64) bool {
		for _, e := range rc.prices.Edges {
			if e.Up == up && e.Down == down && e.Active {
				return true
			}
		}
		return false
	}
	var chains [][4]int64 // vendor, distributor, reseller, customer
	for _, v := range orgs {
		for _, c := range orgs {
			if rc.kinds[v] != domain.KindVendor || rc.kinds[c] != domain.KindCustomer {
				continue
			}
			if active(v, c) {
				chains = append(chains, [4]int64{v, 0, 0, c})
			}
			for _, r := range orgs {
				if rc.kinds[r] != domain.KindReseller || !active(r, c) {
					continue
				}
				if active(v, r) {
					chains = append(chains, [4]int64{v, 0, r, c})
				}
				for _, d := range orgs {
					if rc.kinds[d] == domain.KindDistributor && active(v, d) && active(d, r) {
						chains = append(chains, [4]int64{v, d, r, c})
					}
				}
			}
		}
	}
	if len(chains) == 0 {
		return rc
	}
	terms, cycles := []string{"", "P1M", "P1Y"}, []string{"", "MONTHLY", "ANNUAL"}
	for i := 0; i < 14; i++ {
		c := chains[rng.IntN(len(chains))]
		in := orders.CreateInput{Number: fmt.Sprint("PO-", i), VendorID: c[0], CustomerID: c[3]}
		if c[2] != 0 {
			in.ResellerID = &c[2]
		}
		if c[1] != 0 {
			in.DistributorID = &c[1]
		}
		for n := 1 + rng.IntN(3); n > 0; n-- {
			in.Lines = append(in.Lines, orders.LineInput{SKU: rc.products[c[0]][rng.IntN(3)].sku, Quantity: 1 + rng.IntN(5)})
		}
		rec, err := ord.CreatePurchaseOrder(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := ord.LinesByOrder(ctx, []int64{rec.ID})
		if err != nil {
			t.Fatal(err)
		}
		po := placed{id: rec.ID, vendor: c[0], dist: c[1], res: c[2], cust: c[3], number: in.Number}
		adjusted := false
		for _, l := range lines[rec.ID] {
			ml := model.Line{ID: l.ID, Product: l.ProductID}
			if rng.IntN(2) == 0 {
				ml.Term, ml.Cycle = terms[rng.IntN(3)], cycles[rng.IntN(3)]
				switch rng.IntN(4) {
				case 0:
					ml.Markup = markup(rng)
				case 1:
					ml.Price = amount(rng)
				}
				q := db.NewUpdate().TableExpr("purchase_order_lines").Where("id = ?", l.ID).
					Set("term = ?", nullable(ml.Term)).Set("billing_cycle = ?", nullable(ml.Cycle)).
					Set("markup_percent = ?", nullable(ml.Markup)).Set("price_amount = ?", nullable(ml.Price))
				if ml.Price != "" {
					q = q.Set("price_currency = 'EUR'")
				}
				if _, err := q.Exec(context.Background()); err != nil {
					t.Fatal(err)
				}
				adjusted = true
			}
			po.lines = append(po.lines, ml)
		}
		if adjusted {
			if err := database.InTx(ctx, db, func(ctx context.Context, tx bun.IDB) error {
				return pricing.FixOrder(ctx, tx, rec.ID)
			}); err != nil {
				t.Fatal(err)
			}
		}
		rc.orders = append(rc.orders, po)
		rc.vis.Orders = append(rc.vis.Orders, vmodel.Order{ID: rec.ID, Vendor: c[0], Distributor: c[1], Reseller: c[2],
			Customer: c[3], Status: domain.POPlaced, Placed: true, Number: in.Number})
	}
	return rc
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func str(m *domain.Money) string {
	if m == nil {
		return ""
	}
	return m.Amount
}

// expected is what the model says viewer org sees on every line of every
// order it may see, by line id (only lines with a price it sees).
func (rc *randomChannel) expected(org int64) (visible map[int64]bool, seen map[int64]model.Seen) {
	visible, seen = map[int64]bool{}, map[int64]model.Seen{}
	for _, o := range rc.orders {
		if org != 0 {
			if ok, _ := rc.vis.Sees(org, vmodel.Order{Vendor: o.vendor, Distributor: o.dist, Reseller: o.res,
				Customer: o.cust, Status: domain.POPlaced, Placed: true}); !ok {
				continue
			}
		}
		visible[o.id] = true
		chain := model.Chain(o.vendor, o.dist, o.res, o.cust)
		for _, l := range o.lines {
			prices, ok := rc.prices.EdgePrices(chain, l)
			if !ok {
				continue
			}
			if s := model.SeenBy(org, chain, prices); s != (model.Seen{}) {
				seen[l.ID] = s
			}
		}
	}
	return visible, seen
}

// TestPricesMatchModel: over random channels, rules and orders on both
// databases, every viewer — each organization and the platform
// administrator — reads through the orders service and pricing.Seen
// exactly the prices the model gives it on every line of every order it may
// see: a customer what it pays, a reseller and a distributor their buy,
// sell and margin, a vendor its sell, nobody an edge it is not party to.
// Along each chain one side's sell is the next side's buy. A sample of
// viewers reads the same through GraphQL.
func TestPricesMatchModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		rng := rand.New(rand.NewPCG(seed, 11))
		rc := buildRandomChannel(t, db, rng)
		ord := orders.New(db)
		viewers := []*domain.Viewer{{IsPlatformAdmin: true}}
		for id, kind := range rc.kinds {
			viewers = append(viewers, &domain.Viewer{OrganizationID: id, Kind: kind, Role: domain.RoleViewer})
		}
		priced := 0
		for _, v := range viewers {
			ctx := domain.WithViewer(context.Background(), v)
			first := 100
			page, _ := relay.NewPage(&first, nil)
			conn, err := ord.PurchaseOrders(ctx, orders.Filter{}, orders.Sort{}, page)
			if err != nil {
				t.Fatal(err)
			}
			wantVisible, want := rc.expected(v.OrganizationID)
			var ids []int64
			for _, po := range conn.Nodes {
				ids = append(ids, po.ID)
			}
			if len(ids) != len(wantVisible) {
				t.Fatalf("viewer %d sees %d orders, the model %d", v.OrganizationID, len(ids), len(wantVisible))
			}
			lines, err := ord.LinesByOrder(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			var lineIDs []int64
			for _, ls := range lines {
				for _, l := range ls {
					lineIDs = append(lineIDs, l.ID)
				}
			}
			got, err := pricing.Seen(ctx, db, v, pricing.OrderLines, lineIDs)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range lineIDs {
				g, w := got[id], want[id]
				if str(g.Buy) != w.Buy || str(g.Sell) != w.Sell || str(g.Margin) != w.Margin {
					t.Errorf("viewer %d (%s) on line %d: buy %q sell %q margin %q; the model: %+v",
						v.OrganizationID, v.Kind, id, str(g.Buy), str(g.Sell), str(g.Margin), w)
				}
				if g.Buy != nil {
					priced++
				}
			}
			for id := range got {
				if !slices.Contains(lineIDs, id) {
					t.Errorf("viewer %d got prices of line %d it did not ask for", v.OrganizationID, id)
				}
			}
		}
		checkChainsAgree(t, db, rc)
		checkRowsSeen(t, db, rc, viewers)
		t.Logf("%d orders, %d prices bought as seen by their buyers", len(rc.orders), priced)
		checkGraphQLSample(t, db, rc, rng)
	})
}

// checkChainsAgree reads each order's lines as each party on its chain and
// checks that what one party sells for is what the next one buys for, that
// the vendor buys nothing and the customer sells nothing.
func checkChainsAgree(t *testing.T, db *bun.DB, rc *randomChannel) {
	t.Helper()
	for _, o := range rc.orders {
		chain := model.Chain(o.vendor, o.dist, o.res, o.cust)
		var ids []int64
		for _, l := range o.lines {
			ids = append(ids, l.ID)
		}
		seen := make([]map[int64]domain.LinePrices, len(chain))
		for i, org := range chain {
			var err error
			v := &domain.Viewer{OrganizationID: org, Kind: rc.kinds[org], Role: domain.RoleViewer}
			if seen[i], err = pricing.Seen(context.Background(), db, v, pricing.OrderLines, ids); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range ids {
			if seen[0][id].Buy != nil || seen[len(chain)-1][id].Sell != nil || seen[len(chain)-1][id].Margin != nil {
				t.Errorf("order %s line %d: the vendor buys %v or the customer sells %v", o.number, id, seen[0][id].Buy, seen[len(chain)-1][id].Sell)
			}
			for i := 0; i+1 < len(chain); i++ {
				if s, b := str(seen[i][id].Sell), str(seen[i+1][id].Buy); s != b {
					t.Errorf("order %s line %d: %d sells for %q, %d buys for %q", o.number, id, chain[i], s, chain[i+1], b)
				}
			}
		}
	}
}

// checkGraphQLSample reads PurchaseOrderLine's prices through the real API
// as a few viewers, against the model.
func checkGraphQLSample(t *testing.T, db *bun.DB, rc *randomChannel, rng *rand.Rand) {
	t.Helper()
	api := testapi.New(t, db)
	var orgs []int64
	for id := range rc.kinds {
		orgs = append(orgs, id)
	}
	slices.Sort(orgs)
	rng.Shuffle(len(orgs), func(i, j int) { orgs[i], orgs[j] = orgs[j], orgs[i] })
	byNumber := map[string]placed{}
	for _, o := range rc.orders {
		byNumber[o.number] = o
	}
	type price struct{ Amount, Currency string }
	for _, org := range append(orgs[:4], 0) {
		token := testapi.AdminToken
		if org != 0 {
			token = api.MustToken(org, domain.RoleBillingAdmin)
		}
		var out struct {
			PurchaseOrders struct {
				Edges []struct {
					Node struct {
						Number string
						Lines  []struct {
							Position                    int
							BuyPrice, SellPrice, Margin *price
						}
					}
				}
			}
		}
		api.Must(token, `{ purchaseOrders(first: 50) { edges { node { number lines { position buyPrice { amount currency }
			sellPrice { amount currency } margin { amount currency } } } } } }`, nil, &out)
		_, want := rc.expected(org)
		amt := func(p *price) string {
			if p == nil {
				return ""
			}
			return p.Amount
		}
		for _, e := range out.PurchaseOrders.Edges {
			o := byNumber[e.Node.Number]
			for _, l := range e.Node.Lines {
				w := want[o.lines[l.Position-1].ID]
				if amt(l.BuyPrice) != w.Buy || amt(l.SellPrice) != w.Sell || amt(l.Margin) != w.Margin {
					t.Errorf("GraphQL as %d (%s), order %s line %d: buy %v sell %v margin %v; the model %+v",
						org, rc.kinds[org], o.number, l.Position, l.BuyPrice, l.SellPrice, l.Margin, w)
				}
			}
		}
	}
}

// checkRowsSeen evaluates LinePriceVisible itself for every viewer: the
// line_prices rows it lets through are exactly the edges the viewer is
// party to on priced lines, so a customer never reads a row with a
// distributor on it, and the administrator reads none.
func checkRowsSeen(t *testing.T, db *bun.DB, rc *randomChannel, viewers []*domain.Viewer) {
	t.Helper()
	for _, v := range viewers {
		want := map[[3]int64]bool{}
		for _, o := range rc.orders {
			chain := model.Chain(o.vendor, o.dist, o.res, o.cust)
			for _, l := range o.lines {
				if _, ok := rc.prices.EdgePrices(chain, l); !ok {
					continue
				}
				for i := 0; i+1 < len(chain); i++ {
					if v.OrganizationID == chain[i] || v.OrganizationID == chain[i+1] {
						want[[3]int64{l.ID, chain[i], chain[i+1]}] = true
					}
				}
			}
		}
		var rows []struct {
			LineID   int64 `bun:"line_id"`
			SellerID int64 `bun:"seller_id"`
			BuyerID  int64 `bun:"buyer_id"`
		}
		if err := db.NewSelect().TableExpr("line_prices AS lp").Column("line_id", "seller_id", "buyer_id").
			Where("?", pricing.LinePriceVisible(v, "lp")).Scan(context.Background(), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(want) {
			t.Errorf("viewer %d (%s) reads %d line prices, the model %d", v.OrganizationID, v.Kind, len(rows), len(want))
		}
		for _, r := range rows {
			if !want[[3]int64{r.LineID, r.SellerID, r.BuyerID}] {
				t.Errorf("viewer %d (%s) reads line %d's price %d→%d (a %s→%s edge), not its own",
					v.OrganizationID, v.Kind, r.LineID, r.SellerID, r.BuyerID, rc.kinds[r.SellerID], rc.kinds[r.BuyerID])
			}
			if v.Kind == domain.KindCustomer && (rc.kinds[r.SellerID] == domain.KindDistributor || rc.kinds[r.BuyerID] == domain.KindDistributor) {
				t.Errorf("customer %d reads a price involving a distributor on line %d", v.OrganizationID, r.LineID)
			}
		}
	}
}
