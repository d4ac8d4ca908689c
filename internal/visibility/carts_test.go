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
)

// TestCartRulesMatchModel builds random carts, lines and quotes straight
// into the tables and checks, for every viewer (the platform administrator
// too), that RestrictCarts, RestrictQuotes and RestrictCartLines keep
// exactly what the plain rules of SPEC §8.4 say, and that a quote's event
// audience is exactly its seller and its customer:
//
//	cart       its seller
//	quote      its seller and its customer
//	cart line  its cart's seller, and the customer of a quote of its cart
func TestCartRulesMatchModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano() % 1e9)
	t.Logf("seed %d", seed)
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(seed, seed^0xca27))
		now := time.Now().UTC().Truncate(time.Microsecond)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		var orgs []int64
		for i := int64(1); i <= 8; i++ {
			kind := []domain.OrganizationKind{domain.KindVendor, domain.KindReseller, domain.KindCustomer}[i%3]
			exec(`INSERT INTO organizations (id, kind, name, created_at) VALUES (?, ?, ?, ?)`, i, kind, fmt.Sprint("org ", i), now)
			orgs = append(orgs, i)
		}
		exec(`INSERT INTO products (id, vendor_id, sku, name, type, created_at) VALUES (1, 3, 'P', 'P', 'LICENSE', ?)`, now)
		type cart struct{ id, seller, customer int64 }
		type quote struct{ id, cart, seller, customer int64 }
		var carts []cart
		var quotes []quote
		lines := map[int64]int64{} // line → cart
		for id := int64(1); id <= 30; id++ {
			c := cart{id, orgs[rng.IntN(len(orgs))], orgs[rng.IntN(len(orgs))]}
			carts = append(carts, c)
			exec(`INSERT INTO carts (id, seller_id, customer_id, status, created_at, updated_at) VALUES (?, ?, ?, 'OPEN', ?, ?)`,
				c.id, c.seller, c.customer, now, now)
			for n := rng.IntN(3); n > 0; n-- {
				line := int64(len(lines) + 1)
				lines[line] = c.id
				exec(`INSERT INTO cart_lines (id, cart_id, product_id, quantity, term, billing_cycle, created_at)
					VALUES (?, ?, 1, 1, 'P1Y', 'MONTHLY', ?)`, line, c.id, now)
			}
			if rng.IntN(2) == 0 {
				q := quote{int64(len(quotes) + 1), c.id, c.seller, c.customer}
				quotes = append(quotes, q)
				exec(`INSERT INTO quotes (id, number, cart_id, seller_id, customer_id, status, expires_at, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?, 'SENT', ?, ?, ?)`, q.id, fmt.Sprint("Q-", q.id), q.cart, q.seller, q.customer, now, now, now)
			}
		}
		viewers := []*domain.Viewer{{IsPlatformAdmin: true}}
		for _, o := range orgs {
			viewers = append(viewers, &domain.Viewer{OrganizationID: o})
		}
		ids := func(q *bun.SelectQuery, column string) []int64 {
			t.Helper()
			var out []int64
			if err := q.Column(column).Order(column).Scan(ctx, &out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		for _, v := range viewers {
			sees := func(org int64) bool { return v.IsPlatformAdmin || v.OrganizationID == org }
			var wantCarts, wantQuotes, wantLines []int64
			quotedTo := map[int64]bool{} // carts quoted to the viewer
			for _, c := range carts {
				if sees(c.seller) {
					wantCarts = append(wantCarts, c.id)
				}
			}
			for _, q := range quotes {
				if sees(q.seller) || sees(q.customer) {
					wantQuotes = append(wantQuotes, q.id)
				}
				if sees(q.customer) {
					quotedTo[q.cart] = true
				}
			}
			for line, c := range lines {
				if sees(carts[c-1].seller) || quotedTo[c] {
					wantLines = append(wantLines, line)
				}
			}
			slices.Sort(wantLines)
			name := fmt.Sprintf("viewer %+v", *v)
			if got := ids(visibility.RestrictCarts(db.NewSelect().TableExpr("carts AS c"), v, "c.seller_id"), "c.id"); !slices.Equal(got, wantCarts) {
				t.Errorf("%s: carts %v, model %v", name, got, wantCarts)
			}
			if got := ids(visibility.RestrictQuotes(db.NewSelect().TableExpr("quotes AS q"), v, "q.seller_id", "q.customer_id"), "q.id"); !slices.Equal(got, wantQuotes) {
				t.Errorf("%s: quotes %v, model %v", name, got, wantQuotes)
			}
			if got := ids(visibility.RestrictCartLines(db.NewSelect().TableExpr("cart_lines AS cl"), v, "cl.cart_id"), "cl.id"); !slices.Equal(got, wantLines) {
				t.Errorf("%s: lines %v, model %v", name, got, wantLines)
			}
		}
		for _, q := range quotes {
			var eventID int64
			if err := db.NewRaw(`INSERT INTO events (type, object_id, snapshot, created_at) VALUES ('QUOTE_UPDATED', ?, '{}', ?) RETURNING id`,
				q.id, now).Scan(ctx, &eventID); err != nil {
				t.Fatal(err)
			}
			if err := visibility.QuoteAudience(ctx, db, eventID, &domain.Quote{ID: q.id}); err != nil {
				t.Fatal(err)
			}
			var got []int64
			if err := db.NewSelect().TableExpr("event_audience").Column("organization_id").Where("event_id = ?", eventID).
				Order("organization_id").Scan(ctx, &got); err != nil {
				t.Fatal(err)
			}
			want := []int64{q.seller, q.customer}
			slices.Sort(want)
			want = slices.Compact(want)
			if !slices.Equal(got, want) {
				t.Errorf("quote %d: audience %v, model %v", q.id, got, want)
			}
		}
	})
}
