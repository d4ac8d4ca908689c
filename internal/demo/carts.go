package demo

import (
	"context"

	"github.com/channelgraph/channelgraph/internal/carts"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// cartsInProgress gives Cobalt IT a day in progress: an open cart for Globex, a cart
// for Kestrel saved for later as a draft, and a quote Globex has yet to
// answer. Carts are a seller's own, so Cobalt's OWNER builds them.
func (b *builder) cartsInProgress() {
	if b.err != nil {
		return
	}
	cobalt := b.orgs["Cobalt IT"]
	ctx := domain.WithViewer(b.ctx, &domain.Viewer{OrganizationID: cobalt.ID, Role: domain.RoleOwner, Kind: cobalt.Kind})
	atlas := &b.orgs["Atlas Distribution"].ID
	year, month, annual := domain.TermYear, domain.BillMonthly, domain.BillAnnual

	open := b.cart(ctx, "Globex Manufacturing", atlas)
	b.line(ctx, carts.LineInput{CartID: open, ProductID: b.products["NW-SUITE-E3"].ID, Quantity: 40, Term: &year, BillingCycle: &month})
	b.line(ctx, carts.LineInput{CartID: open, ProductID: b.products["NW-SUITE-E5"].ID, Quantity: 5, Term: &year, BillingCycle: &annual})

	saved := b.cart(ctx, "Kestrel Retail", atlas)
	b.line(ctx, carts.LineInput{CartID: saved, ProductID: b.products["NW-ROUTER-X1"].ID, Quantity: 3})
	if b.err == nil {
		_, b.err = b.carts.Save(ctx, saved)
	}

	quoted := b.cart(ctx, "Globex Manufacturing", atlas)
	backup := b.line(ctx, carts.LineInput{CartID: quoted, ProductID: b.products["NW-BACKUP"].ID, Quantity: 25, Term: &year, BillingCycle: &annual})
	b.line(ctx, carts.LineInput{CartID: quoted, ProductID: b.products["NW-BACKUP-ARCHIVE"].ID, Quantity: 25, ParentLineID: &backup})
	if b.err == nil {
		_, b.err = b.carts.CreateQuote(ctx, quoted, b.carts.Now().AddDate(0, 0, 14))
	}
}

func (b *builder) cart(ctx context.Context, customer string, distributor *int64) int64 {
	if b.err != nil {
		return 0
	}
	var c *domain.Cart
	c, b.err = b.carts.CreateCart(ctx, b.orgs[customer].ID, distributor)
	if b.err != nil {
		return 0
	}
	return c.ID
}

func (b *builder) line(ctx context.Context, in carts.LineInput) int64 {
	if b.err != nil {
		return 0
	}
	var changed *carts.Changed
	changed, b.err = b.carts.AddLine(ctx, in)
	if b.err != nil {
		return 0
	}
	return changed.Line.ID
}
