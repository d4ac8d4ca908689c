// Package catalog manages vendors' products (SPEC §4.1), at the minimum a
// purchase order's lines need. Products are the public catalog: anyone may
// read them, but their list prices only as package pricing allows.
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

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

// CreateProductInput is what createProduct takes.
type CreateProductInput struct {
	VendorID  int64
	SKU       string
	Name      string
	Type      domain.ProductType
	ListPrice *domain.Money
}

var (
	skuPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	// amountPattern is a plain decimal: no sign, exponent or grouping.
	amountPattern = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,4})?$`)
)

// CreateProduct adds a product to a vendor's catalog; the vendor's OWNER or
// ADMIN_AGENT, or a platform administrator, may.
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
	p := &domain.Product{VendorID: vendor.ID, SKU: strings.TrimSpace(in.SKU), Name: strings.TrimSpace(in.Name),
		Type: in.Type, CreatedAt: s.Now()}
	switch {
	case vendor.Kind != domain.KindVendor:
		return nil, domain.FieldErrorf(domain.CodeInvalid, "vendorId", "only a VENDOR has products")
	case !skuPattern.MatchString(p.SKU):
		return nil, domain.FieldErrorf(domain.CodeInvalid, "sku", "sku must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	case p.Name == "" || len(p.Name) > 200:
		return nil, domain.FieldErrorf(domain.CodeInvalid, "name", "name must be 1 to 200 characters")
	}
	if in.ListPrice != nil {
		m, err := NormalizeMoney("listPrice", *in.ListPrice)
		if err != nil {
			return nil, err
		}
		p.ListPriceAmount, p.ListPriceCurrency = &m.Amount, &m.Currency
	}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewInsert().Model(p).Returning("id").Exec(ctx)
		return err
	})
	if database.IsUniqueViolation(err) {
		return nil, domain.FieldErrorf(domain.CodeConflict, "sku", "the vendor already has a product with SKU %q", p.SKU)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: storing product: %w", err)
	}
	return p, nil
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
// lets the viewer see it.
func (s *Service) ProductsByID(ctx context.Context, ids []int64) (map[int64]*domain.Product, error) {
	viewer, _ := domain.ViewerFrom(ctx) // the public catalog answers anonymous callers too
	var ps []domain.Product
	if len(ids) > 0 {
		shown := pricing.ListPriceVisible(viewer, "p.vendor_id")
		if err := database.Conn(ctx, s.db).NewSelect().Model(&ps).
			Column("p.id", "p.vendor_id", "p.sku", "p.name", "p.type", "p.created_at").
			ColumnExpr("CASE WHEN ? THEN p.list_price_amount END AS list_price_amount", shown).
			ColumnExpr("CASE WHEN ? THEN p.list_price_currency END AS list_price_currency", shown).
			Where("p.id IN (?)", database.IDs(ids)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("catalog: reading products: %w", err)
		}
	}
	out := make(map[int64]*domain.Product, len(ps))
	for i := range ps {
		out[ps[i].ID] = &ps[i]
	}
	return out, nil
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
