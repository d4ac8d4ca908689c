// Package catalog manages vendors' products (SPEC §4.1), at the minimum a
// purchase order's lines need. Products are the public catalog: anyone may
// read them, but their list prices only as package pricing allows.
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Service manages products.
type Service struct {
	db *bun.DB
	// Now is the clock that stamps new products.
	Now func() time.Time
}

// New returns a Service on db, on the system clock.
func New(db *bun.DB) *Service { return &Service{db: db, Now: clock.System{}.Now} }

// CreateProductInput is what createProduct takes. Nil sets take their
// defaults (every segment, every industry, P1Y, MONTHLY and ANNUAL).
type CreateProductInput struct {
	VendorID         int64
	SKU              string
	Name             string
	Type             domain.ProductType
	ListPrice        *domain.Money
	Description      *string
	Category         *string
	Segments         []domain.Segment
	Industries       []string
	Terms            []domain.Term
	BillingCycles    []domain.BillingCycle
	TrialDays        *int
	ParentID         *int64
	RecommendedPrice *domain.Money
	// LandingPageURL is a SaaS publisher's https page, where activation
	// links point (SPEC §6.4).
	LandingPageURL *string
}

var (
	skuPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	// amountPattern is a plain decimal: no sign, exponent or grouping.
	amountPattern = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,4})?$`)
)

// The terms and billing cycles, in the schema's order.
var (
	allTerms         = []domain.Term{domain.TermMonth, domain.TermYear}
	allBillingCycles = []domain.BillingCycle{domain.BillMonthly, domain.BillAnnual}
)

// Limits of the catalog's free text.
const (
	maxDescription = 2000
	maxCategory    = 100
	maxIndustry    = 100
	maxIndustries  = 50
)

// CreateProduct adds a product to a vendor's catalog; the vendor's OWNER or
// ADMIN_AGENT, or a platform administrator, may. Every bad field is
// reported, each as its own fault.
func (s *Service) CreateProduct(ctx context.Context, in CreateProductInput) (*domain.Product, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	db := database.Conn(ctx, s.db)
	var vendor domain.Organization
	q := db.NewSelect().Model(&vendor).Where("o.id = ?", in.VendorID)
	if err := visibility.RestrictOrganizations(q, viewer, "o.id").Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, domain.FieldErrorf(domain.CodeNotFound, "vendorId", "organization not found")
		}
		return nil, fmt.Errorf("catalog: reading vendor: %w", err)
	}
	if err := policy.MayCreateProduct(viewer, vendor.ID); err != nil {
		return nil, err
	}
	if vendor.Kind != domain.KindVendor {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "vendorId", "only a VENDOR has products")
	}
	p, err := newProduct(in)
	if err != nil {
		return nil, err
	}
	p.VendorID, p.CreatedAt = vendor.ID, s.Now()
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if in.ParentID != nil {
			if err := checkParent(ctx, tx, vendor.ID, *in.ParentID); err != nil {
				return err
			}
		}
		if _, err := tx.NewInsert().Model(p).Returning("id").Exec(ctx); err != nil {
			return err
		}
		if len(p.Industries) == 0 {
			return nil
		}
		rows := make([]productIndustry, len(p.Industries))
		for i, industry := range p.Industries {
			rows[i] = productIndustry{ProductID: p.ID, Position: i, Industry: industry}
		}
		_, err := tx.NewInsert().Model(&rows).Exec(ctx)
		return err
	})
	if database.IsUniqueViolation(err) {
		return nil, domain.FieldErrorf(domain.CodeConflict, "sku", "the vendor already has a product with SKU %q", p.SKU)
	}
	var refusal *domain.Error
	if errors.As(err, &refusal) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: storing product: %w", err)
	}
	return p, nil
}

// newProduct checks createProduct's fields and returns the product they
// describe, with the defaults for what was omitted; every bad field is a
// fault of its own.
func newProduct(in CreateProductInput) (*domain.Product, error) {
	var faults domain.Faults
	fault := func(field, format string, args ...any) {
		faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, field, format, args...))
	}
	p := &domain.Product{SKU: strings.TrimSpace(in.SKU), Name: strings.TrimSpace(in.Name), Type: in.Type,
		Description: strings.TrimSpace(deref(in.Description)), TrialDays: in.TrialDays, ParentID: in.ParentID}
	if !skuPattern.MatchString(p.SKU) {
		fault("sku", "sku must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if p.Name == "" || len(p.Name) > 200 {
		fault("name", "name must be 1 to 200 characters")
	}
	if utf8.RuneCountInString(p.Description) > maxDescription {
		fault("description", "description must be at most %d characters", maxDescription)
	}
	if c := strings.TrimSpace(deref(in.Category)); c != "" {
		if utf8.RuneCountInString(c) > maxCategory {
			fault("category", "category must be at most %d characters", maxCategory)
		}
		p.Category = &c
	}
	if in.LandingPageURL != nil {
		u, err := landingPage(*in.LandingPageURL)
		if err != nil {
			faults = append(faults, err)
		}
		p.LandingPageURL = u
	}
	if p.TrialDays != nil && (*p.TrialDays < 1 || *p.TrialDays > 365) {
		fault("trialDays", "trialDays must be 1 to 365; omit it for no trial")
	}
	var err error
	if p.Segments, err = enumSet("segments", in.Segments, domain.Segments, domain.Segments); err != nil {
		faults = append(faults, err.(*domain.Error))
	}
	if p.Terms, err = enumSet("terms", in.Terms, []domain.Term{domain.TermYear}, allTerms); err != nil {
		faults = append(faults, err.(*domain.Error))
	}
	if p.BillingCycles, err = enumSet("billingCycles", in.BillingCycles, allBillingCycles, allBillingCycles); err != nil {
		faults = append(faults, err.(*domain.Error))
	}
	p.StoredSegments = domain.EncodeSet(p.Segments)
	p.StoredTerms = domain.EncodeSet(p.Terms)
	p.StoredBillingCycles = domain.EncodeSet(p.BillingCycles)
	p.Industries = []string{}
	if len(in.Industries) > maxIndustries {
		fault("industries", "a product lists at most %d industries", maxIndustries)
	}
	seen := map[string]bool{}
	for i, industry := range in.Industries {
		industry = strings.TrimSpace(industry)
		field := fmt.Sprintf("industries[%d]", i)
		switch key := strings.ToLower(industry); {
		case industry == "" || utf8.RuneCountInString(industry) > maxIndustry:
			fault(field, "an industry must be 1 to %d characters", maxIndustry)
		case seen[key]:
			fault(field, "industry %q is listed twice", industry)
		default:
			seen[key] = true
			p.Industries = append(p.Industries, industry)
		}
	}
	for _, m := range []struct {
		field            string
		in               *domain.Money
		amount, currency **string
	}{
		{"listPrice", in.ListPrice, &p.ListPriceAmount, &p.ListPriceCurrency},
		{"recommendedPrice", in.RecommendedPrice, &p.RecommendedPriceAmount, &p.RecommendedPriceCurrency},
	} {
		if m.in == nil {
			continue
		}
		money, err := NormalizeMoney(m.field, *m.in)
		if err != nil {
			faults = append(faults, err.(*domain.Error))
			continue
		}
		*m.amount, *m.currency = &money.Amount, &money.Currency
	}
	if err := faults.OrNil(); err != nil {
		return nil, err
	}
	return p, nil
}

// enumSet is the set given for field, without repeats and in the order of
// all (the schema's); def when omitted (nil). An empty set is refused: a
// product is offered to at least one of each.
func enumSet[T ~string](field string, given, def, all []T) ([]T, error) {
	if given == nil {
		return def, nil
	}
	if len(given) == 0 {
		return nil, domain.FieldErrorf(domain.CodeInvalid, field, "%s must hold at least one value; omit it for the default", field)
	}
	out := []T{}
	for _, v := range all {
		if slices.Contains(given, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// checkParent checks that parent, which a new product of vendor is an add-on
// of, is a product of that vendor and not itself an add-on.
func checkParent(ctx context.Context, tx bun.IDB, vendorID, parentID int64) error {
	var parent domain.Product
	err := tx.NewSelect().Model(&parent).Column("p.id", "p.vendor_id", "p.parent_id").
		Where("p.id = ?", parentID).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return domain.FieldErrorf(domain.CodeNotFound, "parentId", "product not found")
	case err != nil:
		return fmt.Errorf("catalog: reading parent product: %w", err)
	case parent.VendorID != vendorID:
		return domain.FieldErrorf(domain.CodeInvalid, "parentId", "an add-on's parent must be a product of the same vendor")
	case parent.ParentID != nil:
		return domain.FieldErrorf(domain.CodeInvalid, "parentId", "the parent is itself an add-on; name its parent instead")
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// NormalizeMoney checks an amount is a plain decimal of at most 15 digits
// and 4 places and the currency an ISO 4217 code, and returns their
// canonical form.
func NormalizeMoney(field string, m domain.Money) (domain.Money, error) {
	if !amountPattern.MatchString(m.Amount) {
		return m, domain.FieldErrorf(domain.CodeInvalid, field+".amount",
			"amount must be a plain decimal such as \"12.50\": zero or more, at most 15 digits and 4 decimal places")
	}
	d, err := decimal.NewFromString(m.Amount)
	if err != nil {
		return m, domain.FieldErrorf(domain.CodeInvalid, field+".amount", "amount must be a decimal number such as \"12.50\"")
	}
	if !currencyPattern.MatchString(m.Currency) {
		return m, domain.FieldErrorf(domain.CodeInvalid, field+".currency", "currency must be an ISO 4217 code such as EUR")
	}
	// Keep at least cents, so "40" reads back as "40.00" and "1.125" as "1.125".
	return domain.Money{Amount: d.StringFixed(max(2, -d.Exponent())), Currency: m.Currency}, nil
}

// Product returns a product by id.
func (s *Service) Product(ctx context.Context, id int64) (*domain.Product, error) {
	ps, err := s.ProductsByID(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if p, ok := ps[id]; ok {
		return p, nil
	}
	return nil, domain.NotFound("product")
}

// ProductsByID loads products by id, as the viewer in ctx (or an anonymous
// caller) sees them: the list price only where pricing.ListPriceVisible
// lets the viewer see it. Industries are left nil: IndustriesOf loads them
// when asked. The catalog is public, so a customer reads here
// also a product its segment or industry does not allow (the products list
// leaves those out, and CheckPurchasable refuses them).
func (s *Service) ProductsByID(ctx context.Context, ids []int64) (map[int64]*domain.Product, error) {
	viewer, _ := domain.ViewerFrom(ctx) // the public catalog answers anonymous callers too
	var ps []*domain.Product
	if len(ids) > 0 {
		db := database.Conn(ctx, s.db)
		q := productColumns(db.NewSelect().Model(&ps), viewer, false)
		if err := q.Where("p.id IN (?)", database.IDs(ids)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("catalog: reading products: %w", err)
		}
	}
	out := make(map[int64]*domain.Product, len(ps))
	for _, p := range ps {
		out[p.ID] = p
	}
	return out, nil
}

// productColumns selects a product's columns (aliased p) as viewer sees
// them: the list price only where pricing lets it see that; with seller, the
// category and recommended price of the seller's catalog entry (aliased
// ce) where it set them.
func productColumns(q *bun.SelectQuery, viewer *domain.Viewer, seller bool) *bun.SelectQuery {
	shown := pricing.ListPriceVisible(viewer, "p.vendor_id")
	q = q.Column("p.id", "p.vendor_id", "p.sku", "p.name", "p.type", "p.created_at", "p.description",
		"p.trial_days", "p.parent_id", "p.segments", "p.terms", "p.billing_cycles", "p.landing_page_url").
		ColumnExpr("CASE WHEN ? THEN p.list_price_amount END AS list_price_amount", shown).
		ColumnExpr("CASE WHEN ? THEN p.list_price_currency END AS list_price_currency", shown)
	if !seller {
		return q.Column("p.category", "p.recommended_price_amount", "p.recommended_price_currency")
	}
	// The seller's price replaces the vendor's whole, amount and currency.
	return q.ColumnExpr("COALESCE(ce.category, p.category) AS category").
		ColumnExpr(`CASE WHEN ce.recommended_price_amount IS NOT NULL THEN ce.recommended_price_amount
			ELSE p.recommended_price_amount END AS recommended_price_amount`).
		ColumnExpr(`CASE WHEN ce.recommended_price_amount IS NOT NULL THEN ce.recommended_price_currency
			ELSE p.recommended_price_currency END AS recommended_price_currency`)
}

// VendorProductsBySKU loads a vendor's products with the given SKUs, keyed by
// SKU, inside tx.
func VendorProductsBySKU(ctx context.Context, tx bun.IDB, vendorID int64, skus []string) (map[string]*domain.Product, error) {
	var ps []domain.Product
	if len(skus) > 0 {
		if err := tx.NewSelect().Model(&ps).
			Where("p.vendor_id = ? AND p.sku IN (?)", vendorID, bun.In(skus)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("catalog: reading products by SKU: %w", err)
		}
	}
	out := make(map[string]*domain.Product, len(ps))
	for i := range ps {
		out[ps[i].SKU] = &ps[i]
	}
	return out, nil
}

// maxLandingPage bounds a landing page URL, in bytes.
const maxLandingPage = 2000

// landingPage checks a publisher's landing page (SPEC §6.4): an absolute
// https URL with a host and no fragment, since activation links append
// "?code=…" (or "&code=…") to it; an empty string sets none.
func landingPage(raw string) (*string, *domain.Error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxLandingPage || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "landingPageUrl",
			"landingPageUrl must be an https URL with a host, without credentials or #fragment, at most %d characters", maxLandingPage)
	}
	return &raw, nil
}
