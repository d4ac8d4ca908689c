package carts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/tenants"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// LineInput is what addCartLine takes (ids already parsed).
type LineInput struct {
	CartID        int64
	ProductID     int64
	Quantity      int
	Term          *domain.Term
	BillingCycle  *domain.BillingCycle
	TenantID      *int64
	TenantDomain  *string
	ParentLineID  *int64
	MarkupPercent *string
	Price         *domain.Money
}

// LineChange is what updateCartLine takes: nil keeps a value.
type LineChange struct {
	LineID        int64
	Quantity      *int
	Term          *domain.Term
	BillingCycle  *domain.BillingCycle
	MarkupPercent *string
	Price         *domain.Money
}

// Changed is a cart after a change of one of its lines.
type Changed struct {
	Cart *domain.Cart
	Line *domain.CartLine
}

// AddLine adds a line to an OPEN cart, checked against the catalog and
// priced as far as it can be (SPEC §8.4). Every fault is its own user error.
func (s *Service) AddLine(ctx context.Context, in LineInput) (*Changed, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var lineID int64
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		c, err := lockCart(ctx, tx, viewer, in.CartID, "cartId")
		if err != nil {
			return err
		}
		if err := c.mustBeOpen(); err != nil {
			return err
		}
		l := &domain.CartLine{CartID: c.ID, ProductID: in.ProductID, Quantity: in.Quantity,
			TenantID: in.TenantID, ParentLineID: in.ParentLineID, CreatedAt: s.Now()}
		var faults domain.Faults
		add := func(err error) error {
			var e *domain.Error
			if errors.As(err, &e) && domain.IsBusinessRule(e) {
				faults = append(faults, e)
				return nil
			}
			return err
		}
		p, err := s.product(ctx, in.ProductID)
		if err != nil {
			return err
		}
		l.Term, l.BillingCycle = firstOffered(p, in.Term, in.BillingCycle)
		if err := add(mayOrderAddOn(ctx, tx, &c.Cart, p)); err != nil {
			return err
		}
		if in.TenantID != nil && in.TenantDomain != nil {
			faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "tenantDomain", "give at most one of tenantId and tenantDomain"))
		} else if in.TenantDomain != nil {
			d, err := tenants.NormalizeDomain(*in.TenantDomain)
			if err != nil {
				faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "tenantDomain", "%s", err.(*domain.Error).Message))
			} else {
				l.TenantDomain = &d
			}
		}
		if err := add(adjust(l, in.MarkupPercent, in.Price)); err != nil {
			return err
		}
		if in.TenantID != nil {
			q := tx.NewSelect().TableExpr("tenants AS tn").Where("tn.id = ?", *in.TenantID)
			ok, err := visibility.RestrictOrganizations(q, viewer, "tn.customer_id").Exists(ctx)
			if err != nil {
				return fmt.Errorf("carts: reading tenant: %w", err)
			}
			if !ok {
				return domain.FieldErrorf(domain.CodeNotFound, "tenantId", "tenant not found")
			}
		}
		if in.ParentLineID != nil {
			if err := add(parentInCart(ctx, tx, viewer, c.ID, *in.ParentLineID)); err != nil {
				return err
			}
		}
		checked, _, err := s.check(ctx, tx, c, []*domain.CartLine{l}, func(int) string { return "" })
		if err := add(err); err != nil {
			return err
		}
		faults = append(faults, checked...)
		if len(faults) > 0 {
			return faults
		}
		if _, err := tx.NewInsert().Model(l).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("carts: storing line: %w", err)
		}
		lineID = l.ID
		if err := s.price(ctx, tx, c, []*domain.CartLine{l}, map[int64]int64{l.ProductID: p.VendorID}, false, nil); err != nil {
			return err
		}
		return s.touch(ctx, tx, c.ID, c.Status, s.Now())
	})
	if err != nil {
		return nil, err
	}
	return s.changed(ctx, in.CartID, lineID)
}

// UpdateLine changes a line of an OPEN cart, checked and priced as AddLine.
func (s *Service) UpdateLine(ctx context.Context, in LineChange) (*Changed, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var cartID int64
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		l, c, err := lockOpenLine(ctx, tx, viewer, in.LineID)
		if err != nil {
			return err
		}
		cartID = l.CartID
		if in.Quantity != nil {
			l.Quantity = *in.Quantity
		}
		if in.Term != nil {
			l.Term = *in.Term
		}
		if in.BillingCycle != nil {
			l.BillingCycle = *in.BillingCycle
		}
		var faults domain.Faults
		if in.MarkupPercent != nil || in.Price != nil {
			l.MarkupPercent, l.PriceAmount, l.PriceCurrency = nil, nil, nil
			var e *domain.Error
			if err := adjust(l, in.MarkupPercent, in.Price); errors.As(err, &e) {
				faults = append(faults, e)
			} else if err != nil {
				return err
			}
		}
		checked, _, err := s.check(ctx, tx, c, []*domain.CartLine{l}, func(int) string { return "" })
		var fs domain.Faults
		if errors.As(err, &fs) {
			faults = append(faults, fs...)
		} else if err != nil {
			return err
		}
		faults = append(faults, checked...)
		if len(faults) > 0 {
			return faults
		}
		if _, err := tx.NewUpdate().Model(l).WherePK().
			Column("quantity", "term", "billing_cycle", "markup_percent", "price_amount", "price_currency").Exec(ctx); err != nil {
			return fmt.Errorf("carts: storing line: %w", err)
		}
		p, err := s.product(ctx, l.ProductID)
		if err != nil {
			return err
		}
		if err := s.price(ctx, tx, c, []*domain.CartLine{l}, map[int64]int64{l.ProductID: p.VendorID}, false, nil); err != nil {
			return err
		}
		return s.touch(ctx, tx, c.ID, c.Status, s.Now())
	})
	if err != nil {
		return nil, err
	}
	return s.changed(ctx, cartID, in.LineID)
}

// RemoveLine removes a line of an OPEN cart, with the add-on lines bought
// with it.
func (s *Service) RemoveLine(ctx context.Context, lineID int64) (*domain.Cart, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var cartID int64
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		l, c, err := lockOpenLine(ctx, tx, viewer, lineID)
		if err != nil {
			return err
		}
		cartID = l.CartID
		gone := []int64{lineID}
		if err := tx.NewSelect().TableExpr("cart_lines").Column("id").Where("parent_line_id = ?", lineID).
			Scan(ctx, &gone); err != nil {
			return fmt.Errorf("carts: reading add-on lines: %w", err)
		}
		gone = append(gone, lineID)
		// The prices fixed on the removed lines go with them (line ids are
		// never reused, but a stale price row would be nobody's).
		if _, err := tx.NewDelete().TableExpr("line_prices").
			Where("line_kind = ? AND line_id IN (?)", pricing.CartLines, database.IDs(gone)).Exec(ctx); err != nil {
			return fmt.Errorf("carts: removing line prices: %w", err)
		}
		if _, err := tx.NewDelete().TableExpr("cart_lines").Where("parent_line_id = ?", lineID).Exec(ctx); err != nil {
			return fmt.Errorf("carts: removing add-on lines: %w", err)
		}
		if _, err := tx.NewDelete().TableExpr("cart_lines").Where("id = ?", lineID).Exec(ctx); err != nil {
			return fmt.Errorf("carts: removing line: %w", err)
		}
		return s.touch(ctx, tx, c.ID, c.Status, s.Now())
	})
	if err != nil {
		return nil, err
	}
	return s.Cart(ctx, cartID)
}

func (s *Service) changed(ctx context.Context, cartID, lineID int64) (*Changed, error) {
	c, err := s.Cart(ctx, cartID)
	if err != nil {
		return nil, err
	}
	lines, err := s.CartLinesByID(ctx, []int64{lineID})
	if err != nil {
		return nil, err
	}
	return &Changed{Cart: c, Line: lines[lineID]}, nil
}

// lineOf reads a cart line the viewer may change: one of its carts' lines
// (NOT_FOUND on lineId otherwise).
func lineOf(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, id int64) (*domain.CartLine, error) {
	var l domain.CartLine
	q := tx.NewSelect().Model(&l).Where("cl.id = ?", id).
		Where("cl.cart_id IN (?)", visibility.RestrictCarts(tx.NewSelect().TableExpr("carts AS c").Column("c.id"), viewer, "c.seller_id"))
	err := q.Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.FieldErrorf(domain.CodeNotFound, "lineId", "cart line not found")
	}
	if err != nil {
		return nil, fmt.Errorf("carts: reading line: %w", err)
	}
	return &l, nil
}

// parentInCart checks a parent line is a line of the same cart: NOT_FOUND
// on parentLineId when the viewer may not see it at all, BAD_USER_INPUT when
// it is a line of another of its carts.
func parentInCart(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, cartID, parentID int64) error {
	var l domain.CartLine
	q := tx.NewSelect().Model(&l).Where("cl.id = ?", parentID)
	err := visibility.RestrictCartLines(q, viewer, "cl.cart_id").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.FieldErrorf(domain.CodeNotFound, "parentLineId", "cart line not found")
	}
	if err != nil {
		return fmt.Errorf("carts: reading the parent line: %w", err)
	}
	if l.CartID != cartID {
		return domain.FieldErrorf(domain.CodeInvalid, "parentLineId", "the parent line must be a line of the same cart")
	}
	return nil
}

// product reads a product of the public catalog (NOT_FOUND on productId).
func (s *Service) product(ctx context.Context, id int64) (*domain.Product, error) {
	ps, err := s.catalog.ProductsByID(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	p, ok := ps[id]
	if !ok {
		return nil, domain.FieldErrorf(domain.CodeNotFound, "productId", "product not found")
	}
	return p, nil
}

// firstOffered fills an omitted term or billing cycle with the product's
// first offered one. A product that lists none gets P1M and MONTHLY, which
// the catalog check then refuses by name if they are not offered.
func firstOffered(p *domain.Product, term *domain.Term, cycle *domain.BillingCycle) (domain.Term, domain.BillingCycle) {
	t, c := domain.TermMonth, domain.BillMonthly
	switch {
	case term != nil:
		t = *term
	case len(p.Terms) > 0:
		t = p.Terms[0]
	}
	switch {
	case cycle != nil:
		c = *cycle
	case len(p.BillingCycles) > 0:
		c = p.BillingCycles[0]
	}
	return t, c
}

// adjust sets a line's price adjustment: at most one of a markup and a price.
func adjust(l *domain.CartLine, markup *string, price *domain.Money) error {
	switch {
	case markup != nil && price != nil:
		return domain.FieldErrorf(domain.CodeInvalid, "price", "give at most one of markupPercent and price")
	case markup != nil:
		m, err := pricing.NormalizeMarkup("markupPercent", *markup)
		if err != nil {
			return err
		}
		l.MarkupPercent = &m
	case price != nil:
		m, err := catalog.NormalizeMoney("price", *price)
		if err != nil {
			return err
		}
		l.PriceAmount, l.PriceCurrency = &m.Amount, &m.Currency
	}
	return nil
}

// check checks lines of cart c against the catalog and the customer (SPEC
// §8.4): quantity, the product's term and billing cycle offered and the
// customer allowed to buy it (catalog.CheckPurchasable, which also checks an
// add-on is bought with its parent), a vendor's cart selling only its own
// products, an existing tenant of the customer, a new domain free. field
// names line i in faults ("" for the line of addCartLine, "lines[i]" when
// placing). It returns every fault as business-rule errors; other errors
// come back as err.
func (s *Service) check(ctx context.Context, tx bun.IDB, c *cartRow, lines []*domain.CartLine, field func(i int) string) (domain.Faults, map[int64]*domain.Product, error) {
	var faults domain.Faults
	name := func(i int, f string) string { return strings.TrimPrefix(field(i)+"."+f, ".") }
	parents, err := parentProducts(ctx, tx, lines)
	if err != nil {
		return nil, nil, err
	}
	wants := make([]catalog.Want, len(lines))
	var tenantIDs []int64
	for i, l := range lines {
		if l.Quantity < 1 || l.Quantity > 1_000_000 {
			faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, name(i, "quantity"), "quantity must be between 1 and 1000000"))
		}
		wants[i] = catalog.Want{Field: field(i), ProductID: l.ProductID, Term: l.Term, BillingCycle: l.BillingCycle,
			ParentProductID: parents[l.ID]}
		if l.ParentLineID != nil && l.ID == 0 {
			wants[i].ParentProductID = parents[-*l.ParentLineID]
		}
		if l.TenantID != nil {
			tenantIDs = append(tenantIDs, *l.TenantID)
		}
	}
	products, err := catalog.CheckPurchasable(ctx, tx, c.CustomerID, wants)
	var fs domain.Faults
	var one *domain.Error
	switch {
	case errors.As(err, &fs):
		for _, f := range fs {
			f.Field = strings.TrimPrefix(f.Field, ".")
		}
		faults = append(faults, fs...)
	case errors.As(err, &one) && domain.IsBusinessRule(one):
		one.Field = strings.TrimPrefix(one.Field, ".")
		faults = append(faults, one)
	case err != nil:
		return nil, nil, err
	}
	ofCustomer, err := tenants.OfCustomer(ctx, tx, c.CustomerID, tenantIDs)
	if err != nil {
		return nil, nil, err
	}
	for i, l := range lines {
		if p, ok := products[l.ProductID]; ok && c.SellerKind == domain.KindVendor && p.VendorID != c.SellerID {
			faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, name(i, "productId"), "a vendor's cart holds only the vendor's own products"))
		}
		if l.TenantID != nil && !ofCustomer[*l.TenantID] {
			faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, name(i, "tenantId"), "the tenant is not one of the cart's customer's"))
		}
		if l.TenantDomain != nil {
			taken, err := tenants.DomainTaken(ctx, tx, *l.TenantDomain)
			if err != nil {
				return nil, nil, err
			}
			if taken {
				faults = append(faults, domain.FieldErrorf(domain.CodeConflict, name(i, "tenantDomain"), "the domain %q is already taken", *l.TenantDomain))
			}
		}
	}
	return faults, products, nil
}

// parentProducts maps each line with a parent line to the parent line's
// product; a line not stored yet (id 0) is keyed by minus its parent line's
// id.
func parentProducts(ctx context.Context, tx bun.IDB, lines []*domain.CartLine) (map[int64]*int64, error) {
	var parentIDs []int64
	for _, l := range lines {
		if l.ParentLineID != nil {
			parentIDs = append(parentIDs, *l.ParentLineID)
		}
	}
	out := map[int64]*int64{}
	if len(parentIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ID        int64 `bun:"id"`
		ProductID int64 `bun:"product_id"`
	}
	if err := tx.NewSelect().TableExpr("cart_lines").Column("id", "product_id").
		Where("id IN (?)", database.IDs(parentIDs)).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("carts: reading parent lines: %w", err)
	}
	product := map[int64]int64{}
	for _, r := range rows {
		product[r.ID] = r.ProductID
	}
	for _, l := range lines {
		if l.ParentLineID == nil {
			continue
		}
		if p, ok := product[*l.ParentLineID]; ok {
			key := l.ID
			if key == 0 {
				key = -*l.ParentLineID
			}
			out[key] = &p
		}
	}
	return out, nil
}

// price fixes the unit prices of lines on every edge of their sales
// (pricing.Fix), one sale per vendor. vendorOf maps each line's product to
// its vendor. With required, a line that cannot be priced is a fault named
// by field.
func (s *Service) price(ctx context.Context, tx bun.IDB, c *cartRow, lines []*domain.CartLine, vendorOf map[int64]int64, required bool, field func(i int) string) error {
	byVendor := map[int64][]pricing.Line{}
	var vendors []int64
	for i, l := range lines {
		v := vendorOf[l.ProductID]
		if _, ok := byVendor[v]; !ok {
			vendors = append(vendors, v)
		}
		pl := pricing.Line{ID: l.ID, ProductID: l.ProductID, Term: &l.Term, BillingCycle: &l.BillingCycle,
			MarkupPercent: l.MarkupPercent}
		if l.PriceAmount != nil && l.PriceCurrency != nil {
			pl.Price = &domain.Money{Amount: *l.PriceAmount, Currency: *l.PriceCurrency}
		}
		if field != nil {
			pl.Field = field(i)
		}
		byVendor[v] = append(byVendor[v], pl)
	}
	var faults domain.Faults
	for _, v := range vendors {
		err := pricing.Fix(ctx, tx, pricing.CartLines, c.sale(v), byVendor[v], required)
		var fs domain.Faults
		switch {
		case errors.As(err, &fs):
			faults = append(faults, fs...)
		case err != nil:
			return err
		}
	}
	return faults.OrNil()
}

// lockOpenLine reads a line the viewer may change and locks its cart, which
// must be OPEN: what changing or removing a line starts with.
func lockOpenLine(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, lineID int64) (*domain.CartLine, *cartRow, error) {
	l, err := lineOf(ctx, tx, viewer, lineID)
	if err != nil {
		return nil, nil, err
	}
	c, err := lockCart(ctx, tx, viewer, l.CartID, "lineId")
	if err != nil {
		return nil, nil, err
	}
	return l, c, c.mustBeOpen()
}
