package pagebench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// partyOnlySQL fills the visibility index by a plain "is a party" filter
// instead of SPEC §3.2's rule: every party sees every order, no grant is
// checked (the customer's row still carries no distributor, which is §3.3,
// not the rule). The server is not changed: it reads the index either way,
// so (d) against (a) is what the rule costs a reader.
var partyOnlySQL = []string{
	`TRUNCATE purchase_order_visibility, purchase_order_visibility_counts`,
	`INSERT INTO purchase_order_visibility (viewer_organization_id, purchase_order_id, party, created_at, status, vendor_id, customer_id, reseller_id, distributor_id)
	 SELECT vendor_id, id, 'VENDOR', created_at, status, vendor_id, customer_id, reseller_id, distributor_id FROM purchase_orders
	 UNION ALL SELECT distributor_id, id, 'DISTRIBUTOR', created_at, status, vendor_id, customer_id, reseller_id, distributor_id FROM purchase_orders WHERE distributor_id IS NOT NULL
	 UNION ALL SELECT reseller_id, id, 'RESELLER', created_at, status, vendor_id, customer_id, reseller_id, distributor_id FROM purchase_orders WHERE reseller_id IS NOT NULL
	 UNION ALL SELECT customer_id, id, 'CUSTOMER', created_at, status, vendor_id, customer_id, reseller_id, NULL FROM purchase_orders`,
	`INSERT INTO purchase_order_visibility_counts (viewer_organization_id, shard, purchase_orders) SELECT viewer_organization_id, 0, COUNT(*) FROM purchase_order_visibility GROUP BY 1`,
	`VACUUM ANALYZE purchase_order_visibility`,
	`VACUUM ANALYZE purchase_order_visibility_counts`,
	`CHECKPOINT`,
}

func (b *bench) derivePartyOnly(ctx context.Context) {
	start := time.Now()
	b.execAll(ctx, partyOnlySQL)
	b.t.Logf("visibility index derived by the plain party filter in %v", time.Since(start).Round(time.Millisecond))
}

// deriveRule puts the real rule's index back.
func (b *bench) deriveRule(ctx context.Context) {
	start := time.Now()
	b.execAll(ctx, []string{`TRUNCATE purchase_order_visibility, purchase_order_visibility_counts`})
	db, err := database.Open(b.oursURL)
	if err != nil {
		b.t.Fatal(err)
	}
	defer db.Close()
	if err := deriveVisibility(ctx, db); err != nil {
		b.t.Fatal(err)
	}
	b.execAll(ctx, []string{`VACUUM ANALYZE purchase_order_visibility`, `VACUUM ANALYZE purchase_order_visibility_counts`, `CHECKPOINT`})
	b.t.Logf("visibility index derived by the rule again in %v", time.Since(start).Round(time.Millisecond))
}

func (b *bench) execAll(ctx context.Context, stmts []string) {
	conn, err := pgx.Connect(ctx, b.oursURL)
	if err != nil {
		b.t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.t.Fatalf("%s: %v", q, err)
		}
	}
}

// writeResult is one kind of write, timed end to end, on both systems.
type writeResult struct {
	what               string
	system             string
	n                  int
	p50, p90, p99, max float64
	note               string
}

func latencies(d []time.Duration) (p50, p90, p99, mx float64) {
	ms := make([]float64, len(d))
	for i, x := range d {
		ms[i] = float64(x.Microseconds()) / 1000
	}
	slices.Sort(ms)
	return quantile(ms, 0.5), quantile(ms, 0.9), quantile(ms, 0.99), ms[len(ms)-1]
}

// measureWrites times the writes the design makes dearer: placing an order
// (its visibility rows, counts and event in the same transaction), and
// turning a distributor→reseller grant off and on again (re-deriving every
// order through that edge). Each through the API, one at a time, beside the
// peer's plain SQL doing the same change.
func (b *bench) measureWrites(ctx context.Context, ours *process) []writeResult {
	t := b.t
	conn, err := pgx.Connect(ctx, b.oursURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	// An order chain vendor→distributor→reseller→customer with every edge
	// ACTIVE, recorded by its reseller, and a SKU of its vendor.
	var vendor, distributor, reseller, customer int64
	var sku string
	var productID int64
	err = conn.QueryRow(ctx, `SELECT p.vendor_id, p.distributor_id, p.reseller_id, p.customer_id, pr.sku, pr.id
		FROM purchase_orders p
		JOIN channel_edges vd ON vd.upstream_id = p.vendor_id AND vd.downstream_id = p.distributor_id AND vd.status = 'ACTIVE'
		JOIN channel_edges dr ON dr.upstream_id = p.distributor_id AND dr.downstream_id = p.reseller_id AND dr.status = 'ACTIVE' AND dr.purchase_order_view
		JOIN channel_edges rc ON rc.upstream_id = p.reseller_id AND rc.downstream_id = p.customer_id AND rc.status = 'ACTIVE' AND rc.purchase_order_view
		JOIN products pr ON pr.vendor_id = p.vendor_id
		WHERE p.reseller_id = 223 ORDER BY p.id LIMIT 1`).Scan(&vendor, &distributor, &reseller, &customer, &sku, &productID)
	if err != nil {
		t.Fatalf("finding an order chain: %v", err)
	}
	// Both writes price their line: give the product a list price.
	b.execAll(ctx, []string{fmt.Sprintf(`UPDATE products SET list_price_amount = '10.00', list_price_currency = 'EUR' WHERE id = %d`, productID)})
	// The distributor→reseller edge with its grant on whose orders are
	// closest to 2,000.
	var edgeID, edgeUp, edgeDown int64
	var edgeOrders int
	err = conn.QueryRow(ctx, `SELECT e.id, e.upstream_id, e.downstream_id, COUNT(*) FROM channel_edges e
		JOIN purchase_orders p ON p.distributor_id = e.upstream_id AND p.reseller_id = e.downstream_id
		WHERE e.status = 'ACTIVE' AND e.purchase_order_view
		GROUP BY e.id ORDER BY abs(COUNT(*) - 2000), e.id LIMIT 1`).Scan(&edgeID, &edgeUp, &edgeDown, &edgeOrders)
	if err != nil {
		t.Fatalf("finding a grant: %v", err)
	}
	var hidden int
	err = conn.QueryRow(ctx, `SELECT COUNT(*) FROM purchase_order_visibility v JOIN purchase_orders p ON p.id = v.purchase_order_id
		WHERE p.distributor_id = $1 AND p.reseller_id = $2 AND v.viewer_organization_id IN (p.reseller_id, p.customer_id)`,
		edgeUp, edgeDown).Scan(&hidden)
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(b.oursURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	resellerToken, err := auth.IssueForSetup(ctx, db, reseller, domain.RoleOwner, "page benchmark writes")
	if err != nil {
		t.Fatal(err)
	}
	distributorToken, err := auth.IssueForSetup(ctx, db, edgeUp, domain.RoleOwner, "page benchmark writes")
	if err != nil {
		t.Fatal(err)
	}

	const orders, toggles = 200, 10
	var out []writeResult
	gid := func(id int64) string { return relay.GlobalID(relay.TypeOrganization, id) }
	var placed []time.Duration
	for i := 0; i < orders+10; i++ {
		q := fmt.Sprintf(`mutation { createPurchaseOrder(input: {number: "BENCH-%d-%d", vendorId: %q, distributorId: %q,
			resellerId: %q, customerId: %q, lines: [{sku: %q, quantity: 3}]}) { purchaseOrder { id } userErrors { message } } }`,
			time.Now().UnixNano(), i, gid(vendor), gid(distributor), gid(reseller), gid(customer), sku)
		body, _ := json.Marshal(map[string]string{"query": q})
		start := time.Now()
		raw, err := post(ours.url, string(body), "Authorization", "Bearer "+resellerToken)
		d := time.Since(start)
		if err != nil || strings.Contains(string(raw), `"message"`) || strings.Contains(string(raw), `"errors"`) {
			t.Fatalf("createPurchaseOrder: %v %s", err, raw)
		}
		if i >= 10 { // the first ten warm up
			placed = append(placed, d)
		}
	}
	r := writeResult{what: "place a purchase order (createPurchaseOrder, one line)", system: "Channelgraph (HTTP)", n: len(placed),
		note: "order, line, visibility rows and counts, event and its audience: one transaction"}
	r.p50, r.p90, r.p99, r.max = latencies(placed)
	out = append(out, r)
	if *cartWrites {
		out = append(out, b.measureCartPlacing(ctx, ours, resellerToken, distributor, customer, productID, orders))
	}

	var toggled []time.Duration
	for i := 0; i < 2*toggles; i++ {
		q := fmt.Sprintf(`mutation { setPurchaseOrderView(input: {channelEdgeId: %q, enabled: %v}) { channelEdge { purchaseOrderView } userErrors { message } } }`,
			relay.GlobalID(relay.TypeChannelEdge, edgeID), i%2 == 1)
		body, _ := json.Marshal(map[string]string{"query": q})
		start := time.Now()
		raw, err := post(ours.url, string(body), "Authorization", "Bearer "+distributorToken)
		d := time.Since(start)
		if err != nil || strings.Contains(string(raw), `"message"`) || strings.Contains(string(raw), `"errors"`) {
			t.Fatalf("setPurchaseOrderView: %v %s", err, raw)
		}
		if i%2 == 0 {
			toggled = append(toggled, d)
		}
	}
	r = writeResult{what: fmt.Sprintf("turn off the grant distributor %d → reseller %d (%d orders through it; %d visibility rows of reseller and customers go)",
		edgeUp, edgeDown, edgeOrders, hidden), system: "Channelgraph (HTTP)", n: len(toggled),
		note: "re-derives every order through the edge, its counts, the edge's event: one transaction"}
	r.p50, r.p90, r.p99, r.max = latencies(toggled)
	out = append(out, r)

	out = append(out, b.peerWrites(ctx, edgeUp, edgeDown, vendor, distributor, reseller, customer, orders, toggles)...)
	// Take the benchmark's orders out again, so a reused database still
	// serves the peer's data set.
	b.execAll(ctx, []string{
		`DELETE FROM line_prices WHERE line_kind = 'CART' OR line_id IN (SELECT l.id FROM purchase_order_lines l
		   JOIN purchase_orders p ON p.id = l.purchase_order_id WHERE p.number LIKE 'BENCH-%' OR p.cart_id IS NOT NULL)`,
		`DELETE FROM purchase_orders WHERE number LIKE 'BENCH-%' OR cart_id IS NOT NULL`,
		`DELETE FROM cart_lines`, `DELETE FROM carts`,
		`TRUNCATE purchase_order_visibility_counts`,
		`INSERT INTO purchase_order_visibility_counts (viewer_organization_id, shard, purchase_orders) SELECT viewer_organization_id, 0, COUNT(*) FROM purchase_order_visibility GROUP BY 1`,
	})
	return out
}

// peerWrites times the same changes as plain SQL on the peer's database
// (PostGraphile as configured has no mutations): with RLS the rule is
// evaluated at read time, so a write is an insert or a one-row update.
func (b *bench) peerWrites(ctx context.Context, up, down, vendor, distributor, reseller, customer int64, orders, toggles int) []writeResult {
	t := b.t
	conn, err := pgx.Connect(ctx, b.peerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var placed []time.Duration
	for i := 0; i < orders+10; i++ {
		start := time.Now()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO purchase_orders (id, number, vendor_id, customer_id, reseller_id, distributor_id, status, created_at)
			SELECT max(id) + 1, 'BENCH-' || (max(id) + 1), $1, $2, $3, $4, 'SUBMITTED', now() FROM purchase_orders RETURNING id`,
			vendor, customer, reseller, distributor).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO purchase_order_lines (id, purchase_order_id, sku, quantity)
			SELECT max(id) + 1, $1, 'SKU-00001', 3 FROM purchase_order_lines`, id); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if i >= 10 {
			placed = append(placed, time.Since(start))
		}
	}
	r1 := writeResult{what: "place a purchase order", system: "peer (SQL: INSERT order and line)", n: len(placed)}
	r1.p50, r1.p90, r1.p99, r1.max = latencies(placed)
	var toggled []time.Duration
	for i := 0; i < 2*toggles; i++ {
		start := time.Now()
		if _, err := conn.Exec(ctx, `UPDATE channel_edges SET purchase_order_view = $3 WHERE upstream_id = $1 AND downstream_id = $2`,
			up, down, i%2 == 1); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			toggled = append(toggled, time.Since(start))
		}
	}
	r2 := writeResult{what: "turn off the same grant", system: "peer (SQL: UPDATE one edge)", n: len(toggled)}
	r2.p50, r2.p90, r2.p99, r2.max = latencies(toggled)
	if _, err := conn.Exec(ctx, `DELETE FROM purchase_order_lines WHERE purchase_order_id IN (SELECT id FROM purchase_orders WHERE number LIKE 'BENCH-%')`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM purchase_orders WHERE number LIKE 'BENCH-%'`); err != nil {
		t.Fatal(err)
	}
	return []writeResult{r1, r2}
}

// priceLines gives every order line of the data set the prices placing it
// would have fixed, once per database (a reused one keeps them): a list
// price of 10.00 EUR and the default 10% markup on each later edge, one
// line_prices row per edge of the order's chain, so the priced page reads
// as many price rows as a real deployment would.
func (b *bench) priceLines(ctx context.Context) {
	conn, err := pgx.Connect(ctx, b.oursURL)
	if err != nil {
		b.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var priced bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM line_prices WHERE line_kind = 'ORDER')`).Scan(&priced); err != nil {
		b.t.Fatal(err)
	}
	if priced {
		return
	}
	start := time.Now()
	b.execAll(ctx, []string{
		`INSERT INTO line_prices (line_kind, line_id, seller_id, buyer_id, amount, currency)
		 SELECT 'ORDER', l.id, e.seller, e.buyer, e.amount, 'EUR'
		 FROM purchase_order_lines l
		 JOIN purchase_orders p ON p.id = l.purchase_order_id
		 CROSS JOIN LATERAL (VALUES
		   (p.vendor_id, COALESCE(p.distributor_id, p.reseller_id, p.customer_id), '10.00'),
		   (p.distributor_id, p.reseller_id, '11.00'),
		   (p.reseller_id, p.customer_id, CASE WHEN p.distributor_id IS NULL THEN '11.00' ELSE '12.10' END)
		 ) AS e (seller, buyer, amount)
		 WHERE e.seller IS NOT NULL AND e.buyer IS NOT NULL`,
		`UPDATE purchase_order_lines SET term = 'P1Y', billing_cycle = 'MONTHLY' WHERE term IS NULL`,
		`VACUUM ANALYZE line_prices`, `VACUUM ANALYZE purchase_order_lines`, `CHECKPOINT`,
	})
	b.t.Logf("priced every order line in %v", time.Since(start).Round(time.Millisecond))
}

// measureCartPlacing times placeCart for one-line carts along the same
// chain createPurchaseOrder used, each cart built beforehand (createCart and
// addCartLine are not timed): the order, its priced line (a line_prices row
// per edge), visibility rows, counts and event, and the cart's status, in
// one transaction.
func (b *bench) measureCartPlacing(ctx context.Context, ours *process, token string, distributor, customer, productID int64, n int) writeResult {
	t := b.t
	gid := relay.GlobalID
	call := func(q string) map[string]any {
		body, _ := json.Marshal(map[string]string{"query": q})
		raw, err := post(ours.url, string(body), "Authorization", "Bearer "+token)
		var out struct {
			Data   map[string]any
			Errors []any
		}
		if err == nil {
			err = json.Unmarshal(raw, &out)
		}
		if err != nil || len(out.Errors) > 0 || strings.Contains(string(raw), `"message"`) {
			t.Fatalf("%s: %v %s", q, err, raw)
		}
		return out.Data
	}
	var placed []time.Duration
	for i := 0; i < n+10; i++ {
		data := call(fmt.Sprintf(`mutation { createCart(input: {customerId: %q, distributorId: %q}) { cart { id } userErrors { message } } }`,
			gid(relay.TypeOrganization, customer), gid(relay.TypeOrganization, distributor)))
		cartID := data["createCart"].(map[string]any)["cart"].(map[string]any)["id"].(string)
		call(fmt.Sprintf(`mutation { addCartLine(input: {cartId: %q, productId: %q, quantity: 3}) { cartLine { id } userErrors { message } } }`,
			cartID, gid(relay.TypeProduct, productID)))
		q := fmt.Sprintf(`mutation { placeCart(input: {cartId: %q, idempotencyKey: "bench-%d-%d"}) { purchaseOrders { id } userErrors { message } } }`,
			cartID, time.Now().UnixNano(), i)
		start := time.Now()
		call(q)
		if i >= 10 { // the first ten warm up
			placed = append(placed, time.Since(start))
		}
	}
	r := writeResult{what: "place a one-line cart (placeCart)", system: "Channelgraph (HTTP)", n: len(placed),
		note: "order, priced line (a price per edge), visibility rows and counts, event, cart status: one transaction"}
	r.p50, r.p90, r.p99, r.max = latencies(placed)
	return r
}
