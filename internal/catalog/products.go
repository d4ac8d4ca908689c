package catalog

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// ProductFilter narrows Products; every condition given must hold.
type ProductFilter struct {
	VendorID *int64
	Type     *domain.ProductType
	// Category is matched exactly but case-insensitively; with SellerID,
	// against the seller's category where it set one.
	Category *string
	Segment  *domain.Segment
	Industry *string
	// Search is contained in the name or SKU, case-insensitively.
	Search string
	// SellerID shows the catalog as that partner arranged it (SPEC §8.2).
	SellerID *int64
}

var productsOrder = relay.Keyset{List: "products", Columns: []string{"p.name", "p.id"}}

// inSellerCatalog is the condition that product p belongs in seller's
// catalog (seller: an id value or a column): the seller is a reseller or
// distributor, which may sell any vendor's products (through a distributor
// when not directly), or the product's own vendor. An organization of
// another kind, or no organization, has no catalog.
func inSellerCatalog(seller any) schema.QueryWithArgs {
	return bun.SafeQuery(`EXISTS (SELECT 1 FROM organizations AS seller WHERE seller.id = ?
		AND (seller.kind IN ('RESELLER', 'DISTRIBUTOR') OR (seller.kind = 'VENDOR' AND seller.id = p.vendor_id)))`, seller)
}

// Products lists the catalog by name (then id), a page of it either way. It
// answers anonymous callers too: the catalog is public. A customer viewer
// sees only the products AvailableTo it. With a seller, the catalog is the
// one it arranged: anyone may read a partner's storefront, and an id that is
// no seller's gives an empty list.
func (s *Service) Products(ctx context.Context, f ProductFilter, page relay.Page) (*relay.Connection[*domain.Product], error) {
	viewer, _ := domain.ViewerFrom(ctx) // the public catalog answers anonymous callers too
	var faults domain.Faults
	for _, c := range []struct {
		field string
		value *string
	}{{"filter.search", &f.Search}, {"filter.category", f.Category}, {"filter.industry", f.Industry}} {
		if c.value != nil && utf8.RuneCountInString(*c.value) > 100 {
			faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, c.field, "%s must be at most 100 characters", c.field))
		}
	}
	if err := faults.OrNil(); err != nil {
		return nil, err
	}
	filtered := func(q *bun.SelectQuery) *bun.SelectQuery {
		category := "p.category"
		if f.SellerID != nil {
			q = q.Join("LEFT JOIN catalog_entries AS ce ON ce.product_id = p.id AND ce.seller_id = ?", *f.SellerID).
				Where("?", inSellerCatalog(*f.SellerID)).
				Where("(ce.listed IS NULL OR ce.listed)") // an unlisted product leaves the seller's catalog
			category = "COALESCE(ce.category, p.category)"
		}
		if viewer != nil && !viewer.IsPlatformAdmin && viewer.Kind == domain.KindCustomer {
			q = q.Where("?", AvailableTo(viewer.OrganizationID))
		}
		if f.VendorID != nil {
			q = q.Where("p.vendor_id = ?", *f.VendorID)
		}
		if f.Type != nil {
			q = q.Where("p.type = ?", *f.Type)
		}
		if f.Category != nil {
			q = q.Where("LOWER(?) = LOWER(?)", bun.Safe(category), *f.Category)
		}
		if f.Segment != nil {
			q = q.Where("?", offeredToSegment(string(*f.Segment)))
		}
		if f.Industry != nil {
			q = q.Where("?", offeredToIndustry(*f.Industry))
		}
		if f.Search != "" {
			pattern := database.ContainsPattern(f.Search)
			q = q.Where("(LOWER(p.name) LIKE ? ESCAPE '\\' OR LOWER(p.sku) LIKE ? ESCAPE '\\')", pattern, pattern)
		}
		return q
	}
	db := database.Conn(ctx, s.db)
	var ps []*domain.Product
	q, err := page.Seek(filtered(productColumns(db.NewSelect().Model(&ps), viewer, f.SellerID != nil)),
		productsOrder, func() []any { return []any{new(string), new(int64)} })
	if err != nil {
		return nil, err
	}
	if err := q.OrderExpr(page.OrderBy(productsOrder)).Limit(page.Limit()).Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: listing products: %w", err)
	}
	cursor := func(p *domain.Product) string { return relay.Cursor("products", p.Name, p.ID) }
	return relay.NewConnection(page, ps, cursor, func(ctx context.Context) (int, error) {
		n, err := filtered(database.Conn(ctx, s.db).NewSelect().TableExpr("products AS p")).Count(ctx)
		return int(n), err
	}), nil
}

// AddOnsOf loads the add-ons of products, by name, keyed by parent id.
func (s *Service) AddOnsOf(ctx context.Context, parents []int64) (map[int64][]*domain.Product, error) {
	viewer, _ := domain.ViewerFrom(ctx) // the public catalog answers anonymous callers too
	out := make(map[int64][]*domain.Product, len(parents))
	if len(parents) == 0 {
		return out, nil
	}
	db := database.Conn(ctx, s.db)
	var ps []*domain.Product
	if err := productColumns(db.NewSelect().Model(&ps), viewer, false).
		Where("p.parent_id IN (?)", database.IDs(parents)).Order("p.name", "p.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: reading add-ons: %w", err)
	}
	for _, p := range ps {
		out[*p.ParentID] = append(out[*p.ParentID], p)
	}
	return out, nil
}
