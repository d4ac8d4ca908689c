package pricing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Service sets list prices and price rules and reads them as a viewer may.
type Service struct {
	db *bun.DB
	// Now is the clock that stamps prices and rules.
	Now func() time.Time
}

// New returns a Service on db, on the system clock.
func New(db *bun.DB) *Service { return &Service{db: db, Now: clock.System{}.Now} }

var (
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	// amountPattern is a plain decimal: no sign, exponent or grouping, as
	// catalog.NormalizeMoney takes it.
	amountPattern = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,4})?$`)
)

// normalizeMoney checks an amount and currency as catalog.NormalizeMoney
// does (package catalog imports this one, so it cannot be called from here).
func normalizeMoney(field string, m domain.Money) (domain.Money, error) {
	if !amountPattern.MatchString(m.Amount) {
		return m, domain.FieldErrorf(domain.CodeInvalid, field+".amount",
			"amount must be a plain decimal such as \"12.50\": zero or more, at most 15 digits and 4 decimal places")
	}
	if !currencyPattern.MatchString(m.Currency) {
		return m, domain.FieldErrorf(domain.CodeInvalid, field+".currency", "currency must be an ISO 4217 code such as EUR")
	}
	d := decimal.RequireFromString(m.Amount)
	return domain.Money{Amount: d.StringFixed(max(2, -d.Exponent())), Currency: m.Currency}, nil
}

// product reads a product's vendor and default list price regardless of the
// viewer: the catalog is public, only its prices are not (and this is never
// shown).
func product(ctx context.Context, db bun.IDB, id int64, field string) (*domain.Product, error) {
	var p domain.Product
	err := db.NewSelect().Model(&p).Column("p.id", "p.vendor_id", "p.list_price_amount", "p.list_price_currency", "p.terms", "p.billing_cycles").
		Where("p.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.FieldErrorf(domain.CodeNotFound, field, "product not found")
	}
	if err != nil {
		return nil, fmt.Errorf("pricing: reading product: %w", err)
	}
	return &p, nil
}

// SetListPriceInput is what setListPrice takes.
type SetListPriceInput struct {
	ProductID    int64
	Term         domain.Term
	BillingCycle domain.BillingCycle
	Price        domain.Money
}

// SetListPrice sets the vendor's list price of a product for one term and
// billing cycle, replacing any before it (SPEC §8.3).
// The term and billing cycle must be ones the product offers.
func (s *Service) SetListPrice(ctx context.Context, in SetListPriceInput) (*domain.Product, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	p, err := product(ctx, database.Conn(ctx, s.db), in.ProductID, "productId")
	if err != nil {
		return nil, err
	}
	if err := policy.MaySetListPrice(viewer, p.VendorID); err != nil {
		return nil, err
	}
	var faults domain.Faults
	if !slices.Contains(p.Terms, in.Term) {
		faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "term", "the product is offered on the terms %v, not %s", p.Terms, in.Term))
	}
	if !slices.Contains(p.BillingCycles, in.BillingCycle) {
		faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "billingCycle", "the product is billed %v, not %s", p.BillingCycles, in.BillingCycle))
	}
	price, err := normalizeMoney("price", in.Price)
	if err != nil {
		faults = append(faults, err.(*domain.Error))
	}
	if err := faults.OrNil(); err != nil {
		return nil, err
	}
	row := &listPriceRow{listPrice: listPrice{ProductID: p.ID, Term: in.Term, BillingCycle: in.BillingCycle,
		Amount: price.Amount, Currency: price.Currency}, UpdatedAt: s.Now()}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewInsert().Model(row).
			On("CONFLICT (product_id, term, billing_cycle) DO UPDATE").
			Set("amount = EXCLUDED.amount, currency = EXCLUDED.currency, updated_at = EXCLUDED.updated_at").Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pricing: storing list price: %w", err)
	}
	return p, nil
}

type listPriceRow struct {
	bun.BaseModel `bun:"table:list_prices,alias:lp"`
	listPrice
	UpdatedAt time.Time `bun:"updated_at"`
}

// ListPrice returns the vendor's list price of a product as the viewer may
// see it; see ListPrices.
func (s *Service) ListPrice(ctx context.Context, productID int64, term *domain.Term, cycle *domain.BillingCycle) (*domain.Money, error) {
	found, err := s.ListPrices(ctx, PricePair{}.Of(term, cycle), []int64{productID})
	return found[productID], err
}

// PricePair is the term and billing cycle a list price is asked for; the
// zero PricePair asks for the default list price.
type PricePair struct {
	Term  domain.Term
	Cycle domain.BillingCycle
}

// Of returns the pair of term and cycle: the zero pair unless both are given.
func (PricePair) Of(term *domain.Term, cycle *domain.BillingCycle) PricePair {
	if term == nil || cycle == nil {
		return PricePair{}
	}
	return PricePair{*term, *cycle}
}

// ListPrices returns, in one statement, the vendor's list price of each of
// productIDs as the viewer in ctx may see it (ListPriceVisible, evaluated by
// the database): the price set for pair when it is given and the vendor set
// one, else the product's default list price. A product whose price the
// viewer may not see, or that has none, is missing. No viewer is an
// anonymous caller.
func (s *Service) ListPrices(ctx context.Context, pair PricePair, productIDs []int64) (map[int64]*domain.Money, error) {
	viewer, _ := domain.ViewerFrom(ctx)
	out := map[int64]*domain.Money{}
	if len(productIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ID       int64   `bun:"id"`
		Amount   *string `bun:"amount"`
		Currency *string `bun:"currency"`
	}
	q := database.Conn(ctx, s.db).NewSelect().TableExpr("products AS p").Column("p.id")
	if pair != (PricePair{}) {
		q = q.Join("LEFT JOIN list_prices AS lp ON lp.product_id = p.id AND lp.term = ? AND lp.billing_cycle = ?", pair.Term, pair.Cycle).
			ColumnExpr("COALESCE(lp.amount, p.list_price_amount) AS amount").
			ColumnExpr("CASE WHEN lp.amount IS NOT NULL THEN lp.currency ELSE p.list_price_currency END AS currency")
	} else {
		q = q.ColumnExpr("p.list_price_amount AS amount, p.list_price_currency AS currency")
	}
	if err := q.Where("p.id IN (?)", database.IDs(productIDs)).Where("?", ListPriceVisible(viewer, "p.vendor_id")).
		Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("pricing: reading list prices: %w", err)
	}
	for _, r := range rows {
		if r.Amount != nil && r.Currency != nil {
			out[r.ID] = &domain.Money{Amount: *r.Amount, Currency: *r.Currency}
		}
	}
	return out, nil
}

// SetPriceRuleInput is what setPriceRule takes; ProductID nil is every
// product.
type SetPriceRuleInput struct {
	ChannelEdgeID int64
	ProductID     *int64
	MarkupPercent *string
	Price         *domain.Money
}

// SetPriceRule sets what the upstream side of an edge charges the
// downstream side, for one product or every product, replacing the rule
// the edge had for it (SPEC §8.3).
func (s *Service) SetPriceRule(ctx context.Context, in SetPriceRuleInput) (*domain.PriceRule, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	db := database.Conn(ctx, s.db)
	var e domain.ChannelEdge
	err = visibility.RestrictEdges(db.NewSelect().Model(&e).Where("e.id = ?", in.ChannelEdgeID), viewer).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.FieldErrorf(domain.CodeNotFound, "channelEdgeId", "channel edge not found")
	}
	if err != nil {
		return nil, fmt.Errorf("pricing: reading channel edge: %w", err)
	}
	var p *domain.Product
	if in.ProductID != nil {
		if p, err = product(ctx, db, *in.ProductID, "productId"); err != nil {
			return nil, err
		}
	}
	if err := policy.MaySetPriceRule(viewer, &e); err != nil {
		return nil, err
	}
	if e.Status == domain.EdgeRemoved {
		return nil, domain.FieldErrorf(domain.CodeConflict, "channelEdgeId", "the channel edge was removed")
	}
	if p != nil && p.VendorID != e.UpstreamID {
		// A vendor sells only its own products along its edges.
		var kind domain.OrganizationKind
		if err := db.NewSelect().TableExpr("organizations").Column("kind").Where("id = ?", e.UpstreamID).Scan(ctx, &kind); err != nil {
			return nil, fmt.Errorf("pricing: reading the edge's upstream side: %w", err)
		}
		if kind == domain.KindVendor {
			return nil, domain.FieldErrorf(domain.CodeInvalid, "productId", "the edge's upstream vendor does not sell this product")
		}
	}
	r := &domain.PriceRule{ChannelEdgeID: e.ID, ProductID: in.ProductID, UpdatedAt: s.Now()}
	switch {
	case (in.MarkupPercent == nil) == (in.Price == nil):
		return nil, domain.FieldErrorf(domain.CodeInvalid, "markupPercent", "give exactly one of markupPercent and price")
	case in.MarkupPercent != nil:
		m, err := NormalizeMarkup("markupPercent", *in.MarkupPercent)
		if err != nil {
			return nil, err
		}
		r.MarkupPercent = &m
	default:
		m, err := normalizeMoney("price", *in.Price)
		if err != nil {
			return nil, err
		}
		if p != nil && p.ListPriceCurrency != nil && *p.ListPriceCurrency != m.Currency {
			return nil, domain.FieldErrorf(domain.CodeInvalid, "price.currency",
				"the product is listed in %s; a set price must be in %s too", *p.ListPriceCurrency, *p.ListPriceCurrency)
		}
		r.PriceAmount, r.PriceCurrency = &m.Amount, &m.Currency
	}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		// Replace: the unique index is on an expression (COALESCE(product_id, 0)),
		// which ON CONFLICT cannot name on both databases alike.
		q := tx.NewDelete().TableExpr("price_rules").Where("channel_edge_id = ?", e.ID)
		if in.ProductID == nil {
			q = q.Where("product_id IS NULL")
		} else {
			q = q.Where("product_id = ?", *in.ProductID)
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewInsert().Model(r).Returning("id").Exec(ctx)
		return err
	})
	if database.IsUniqueViolation(err) {
		return nil, domain.FieldErrorf(domain.CodeConflict, "channelEdgeId", "another rule for this edge and product was set at the same time; try again")
	}
	if err != nil {
		return nil, fmt.Errorf("pricing: storing price rule: %w", err)
	}
	return r, nil
}

// PriceRulesOf returns the price rules of each of edgeIDs that the viewer
// may see: only an edge's two sides and the platform administrator see its
// rules (a condition the database evaluates); every-product rule first,
// then by product.
func (s *Service) PriceRulesOf(ctx context.Context, edgeIDs []int64) (map[int64][]*domain.PriceRule, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	out := map[int64][]*domain.PriceRule{}
	if len(edgeIDs) == 0 {
		return out, nil
	}
	var rules []*domain.PriceRule
	if err := database.Conn(ctx, s.db).NewSelect().Model(&rules).
		Join("JOIN channel_edges AS e ON e.id = pr.channel_edge_id").
		Where("pr.channel_edge_id IN (?)", database.IDs(edgeIDs)).
		Where("?", PriceRulesVisible(viewer, "e")).
		OrderExpr("pr.channel_edge_id, pr.product_id IS NOT NULL, pr.product_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("pricing: reading price rules: %w", err)
	}
	for _, r := range rules {
		out[r.ChannelEdgeID] = append(out[r.ChannelEdgeID], r)
	}
	return out, nil
}

// PriceRulesVisible is the condition, on the channel edge aliased alias,
// under which viewer sees the edge's price rules: it is one of the edge's
// two sides, or the platform administrator. A rule is what one side charges
// the other, so nobody else — not the vendor above a reseller, not the
// customer below — learns it.
func PriceRulesVisible(viewer *domain.Viewer, alias string) schema.QueryWithArgs {
	switch {
	case viewer == nil:
		return bun.SafeQuery("FALSE")
	case viewer.IsPlatformAdmin:
		return bun.SafeQuery("TRUE")
	}
	return bun.SafeQuery("(?.upstream_id = ? OR ?.downstream_id = ?)",
		bun.Ident(alias), viewer.OrganizationID, bun.Ident(alias), viewer.OrganizationID)
}

// OrderLinePrices returns the prices the viewer in ctx sees on each of
// lineIDs, lines of purchase orders it was allowed to see (see Seen).
func (s *Service) OrderLinePrices(ctx context.Context, lineIDs []int64) (map[int64]domain.LinePrices, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	return Seen(ctx, database.Conn(ctx, s.db), viewer, OrderLines, lineIDs)
}
