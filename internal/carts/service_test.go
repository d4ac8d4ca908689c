package carts_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/carts"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// sale is a vendor selling straight to a customer, with one product, and
// the service on a clock the test moves.
type sale struct {
	svc              *carts.Service
	clock            *clock.Fixed
	vendor, customer int64
	product          int64
	seller, buyer    context.Context
}

func newSale(t *testing.T, db *bun.DB) *sale {
	t.Helper()
	admin := domain.WithViewer(context.Background(), &domain.Viewer{IsPlatformAdmin: true})
	ch := channel.New(db)
	vendor, err := ch.CreateOrganization(admin, channel.CreateOrganizationInput{Name: "Vendor", Kind: domain.KindVendor})
	if err != nil {
		t.Fatal(err)
	}
	customer, err := ch.CreateOrganization(admin, channel.CreateOrganizationInput{Name: "Customer", Kind: domain.KindCustomer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.CreateChannelEdge(admin, vendor.ID, customer.ID); err != nil {
		t.Fatal(err)
	}
	cat := catalog.New(db)
	p, err := cat.CreateProduct(admin, catalog.CreateProductInput{VendorID: vendor.ID, SKU: "SKU-1", Name: "Seat",
		Type: domain.ProductLicense, ListPrice: &domain.Money{Amount: "10.00", Currency: "EUR"}})
	if err != nil {
		t.Fatal(err)
	}
	s := &sale{svc: carts.New(db, cat), clock: clock.NewFixed(time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)),
		vendor: vendor.ID, customer: customer.ID, product: p.ID}
	s.svc.Now = s.clock.Now
	s.seller = domain.WithViewer(context.Background(), &domain.Viewer{OrganizationID: vendor.ID, Kind: domain.KindVendor, Role: domain.RoleSalesAgent})
	s.buyer = domain.WithViewer(context.Background(), &domain.Viewer{OrganizationID: customer.ID, Kind: domain.KindCustomer, Role: domain.RoleOwner})
	return s
}

func (s *sale) cart(t *testing.T, lines ...carts.LineInput) *domain.Cart {
	t.Helper()
	c, err := s.svc.CreateCart(s.seller, s.customer, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		l.CartID, l.ProductID = c.ID, s.product
		if _, err := s.svc.AddLine(s.seller, l); err != nil {
			t.Fatalf("AddLine: %v", err)
		}
	}
	return c
}

func fault(err error) string {
	var e *domain.Error
	if !errors.As(err, &e) {
		return ""
	}
	return string(e.Code) + " " + e.Field
}

// TestQuoteExpiryFollowsTheClock: a quote reads EXPIRED once the service's
// clock passes its expiry, and can then be neither accepted nor declined.
func TestQuoteExpiryFollowsTheClock(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		s := newSale(t, db)
		c := s.cart(t, carts.LineInput{Quantity: 2})
		q, err := s.svc.CreateQuote(s.seller, c.ID, s.clock.Now().Add(48*time.Hour))
		if err != nil || q.Status != domain.QuoteSent {
			t.Fatalf("CreateQuote: %v %+v", err, q)
		}
		s.clock.Set(q.ExpiresAt.Add(-time.Second))
		if got, _ := s.svc.Quote(s.buyer, q.ID); got.Status != domain.QuoteSent {
			t.Errorf("a second before its expiry the quote is %s", got.Status)
		}
		s.clock.Set(q.ExpiresAt)
		got, err := s.svc.Quote(s.buyer, q.ID)
		if err != nil || got.Status != domain.QuoteExpired {
			t.Errorf("at its expiry the quote is %+v (%v)", got, err)
		}
		_, err = s.svc.AcceptQuote(s.buyer, q.ID, "k")
		if fault(err) != "CONFLICT quoteId" || !strings.Contains(err.Error(), q.ExpiresAt.Format(time.RFC3339)) {
			t.Errorf("accepting an expired quote: %v", err)
		}
		if _, err := s.svc.DeclineQuote(s.buyer, q.ID, nil); fault(err) != "CONFLICT quoteId" {
			t.Errorf("declining an expired quote: %v", err)
		}
		// The expirer stores EXPIRED once, with one event; the refusal still gives the time.
		events := func() int {
			n, err := db.NewSelect().TableExpr("events").Where("type = 'QUOTE_UPDATED' AND object_id = ?", q.ID).Count(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
		for range 2 {
			if err := s.svc.ExpireDue(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		var stored string
		_ = db.NewSelect().TableExpr("quotes").Column("status").Where("id = ?", q.ID).Scan(context.Background(), &stored)
		if stored != "EXPIRED" || events() != 2 {
			t.Errorf("after the expirer the quote is stored %s with %d events, want EXPIRED and 2 (sent, expired)", stored, events())
		}
		if _, err = s.svc.AcceptQuote(s.buyer, q.ID, "k"); !strings.Contains(fmt.Sprint(err), q.ExpiresAt.Format(time.RFC3339)) {
			t.Errorf("accepting a stored-expired quote: %v", err)
		}
	})
}

// TestPlaceComposes: placing joins a caller's transaction, so an outer
// operation that fails takes the orders and the cart's status with it; and
// a second Place with the key answers with the first one's orders.
func TestPlaceComposes(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		s := newSale(t, db)
		c := s.cart(t, carts.LineInput{Quantity: 1})
		boom := errors.New("the outer operation fails")
		err := database.InTx(s.seller, db, func(ctx context.Context, tx bun.IDB) error {
			if _, err := s.svc.Place(ctx, c.ID, "k"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("outer transaction: %v", err)
		}
		if n, _ := db.NewSelect().TableExpr("purchase_orders").Where("cart_id = ?", c.ID).Count(context.Background()); n != 0 {
			t.Errorf("a rolled-back placement left %d orders", n)
		}
		first, err := s.svc.Place(s.seller, c.ID, "k")
		if err != nil || len(first.OrderIDs) != 1 || first.Cart.Status != domain.CartPlaced {
			t.Fatalf("Place: %v %+v", err, first)
		}
		again, err := s.svc.Place(s.seller, c.ID, "k")
		if err != nil || len(again.OrderIDs) != 1 || again.OrderIDs[0] != first.OrderIDs[0] {
			t.Errorf("the retry: %v %+v", err, again)
		}
		// The customer, which may see the order, may not see the cart.
		if _, err := s.svc.Cart(s.buyer, c.ID); domain.ErrorCode(err) != domain.CodeNotFound {
			t.Errorf("the customer reads the cart: %v", err)
		}
	})
}
