package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// CatalogEntryInput is what setCatalogEntry takes: nil Category and
// RecommendedPrice leave the vendor's, nil Listed lists the product.
type CatalogEntryInput struct {
	SellerID         int64
	ProductID        int64
	Category         *string
	RecommendedPrice *domain.Money
	Listed           *bool
}

// SetCatalogEntry arranges a product in a seller's own catalog (SPEC §8.2),
// replacing any entry it had. The seller is one the viewer may see, a
// reseller, distributor or vendor, arranged by its OWNER or ADMIN_AGENT (or
// a platform administrator); the product is one whose vendor the seller may
// name, and a vendor arranges only its own products.
func (s *Service) SetCatalogEntry(ctx context.Context, in CatalogEntryInput) (*domain.CatalogEntry, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	db := database.Conn(ctx, s.db)
	var seller domain.Organization
	q := db.NewSelect().Model(&seller).Where("o.id = ?", in.SellerID)
	if err := visibility.RestrictOrganizations(q, viewer, "o.id").Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, domain.FieldErrorf(domain.CodeNotFound, "sellerId", "organization not found")
		}
		return nil, fmt.Errorf("catalog: reading seller: %w", err)
	}
	if err := policy.MaySetCatalogEntry(viewer, seller.ID); err != nil {
		return nil, err
	}
	if seller.Kind == domain.KindCustomer {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "sellerId", "a customer has no catalog of its own: name a reseller, distributor or vendor")
	}
	// The product, whose vendor the seller may name (any vendor: vendors
	// publish the public catalog), and whether it belongs in the seller's
	// catalog at all, by the rule the catalog is listed with.
	var p struct {
		ID        int64 `bun:"id"`
		InCatalog bool  `bun:"in_catalog"`
	}
	pq := db.NewSelect().TableExpr("products AS p").Column("p.id").
		ColumnExpr("CASE WHEN ? THEN 1 ELSE 0 END AS in_catalog", inSellerCatalog(seller.ID)).
		Join("JOIN organizations AS v ON v.id = p.vendor_id").Where("p.id = ?", in.ProductID)
	asSeller := &domain.Viewer{OrganizationID: seller.ID, Kind: seller.Kind}
	if err := visibility.RestrictNameable(pq, asSeller, "v.id", "v.kind").Scan(ctx, &p); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, domain.FieldErrorf(domain.CodeNotFound, "productId", "product not found")
		}
		return nil, fmt.Errorf("catalog: reading product: %w", err)
	}
	entry := &domain.CatalogEntry{SellerID: seller.ID, ProductID: p.ID, Listed: in.Listed == nil || *in.Listed,
		UpdatedAt: s.Now()}
	var faults domain.Faults
	if !p.InCatalog {
		faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "productId", "a vendor's catalog holds only its own products"))
	}
	if c := strings.TrimSpace(deref(in.Category)); c != "" {
		if utf8.RuneCountInString(c) > maxCategory {
			faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "category", "category must be at most %d characters", maxCategory))
		}
		entry.Category = &c
	}
	if in.RecommendedPrice != nil {
		m, err := NormalizeMoney("recommendedPrice", *in.RecommendedPrice)
		if err != nil {
			faults = append(faults, err.(*domain.Error))
		}
		entry.RecommendedPriceAmount, entry.RecommendedPriceCurrency = &m.Amount, &m.Currency
	}
	if err := faults.OrNil(); err != nil {
		return nil, err
	}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewInsert().Model(entry).
			On("CONFLICT (seller_id, product_id) DO UPDATE").
			Set("category = EXCLUDED.category").
			Set("recommended_price_amount = EXCLUDED.recommended_price_amount").
			Set("recommended_price_currency = EXCLUDED.recommended_price_currency").
			Set("listed = EXCLUDED.listed").
			Set("updated_at = EXCLUDED.updated_at").
			Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("catalog: storing catalog entry: %w", err)
	}
	return entry, nil
}
