package catalog

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/channelgraph/channelgraph/internal/database"
)

// The rule of who may buy what (SPEC §4.1, §8.2), written once as SQL
// conditions on a product aliased p: AvailableTo for a customer, built from
// offeredToSegment and offeredToIndustry, which the products list's filters
// use as they are.

// AvailableTo is the condition that the customer may buy product p: the
// product is offered to the customer's segment (a customer without one buys
// as COMMERCIAL) and to its industry (compared case-insensitively; a product
// without industries is offered to every industry). customer is the
// customer's id: a value, or a column wrapped in bun.Ident or bun.Safe. An
// organization that is not a customer may buy nothing under this rule.
func AvailableTo(customer any) schema.QueryWithArgs {
	return bun.SafeQuery(`EXISTS (SELECT 1 FROM organizations AS buyer
		WHERE buyer.id = ? AND buyer.kind = 'CUSTOMER' AND ? AND ?)`,
		customer,
		offeredToSegment(bun.Safe("COALESCE(NULLIF(buyer.segment, ''), 'COMMERCIAL')")),
		offeredToIndustry(bun.Safe("buyer.industry")))
}

// offeredToSegment is the condition that product p is offered to segment: a
// domain.Segment value or a column expression.
func offeredToSegment(segment any) schema.QueryWithArgs {
	return bun.SafeQuery(`p.segments LIKE '%,' || ? || ',%'`, segment)
}

// offeredToIndustry is the condition that product p is offered to industry
// (a string or a column expression), case-insensitively; a product without
// industries is offered to all.
func offeredToIndustry(industry any) schema.QueryWithArgs {
	return bun.SafeQuery(`(NOT EXISTS (SELECT 1 FROM product_industries AS pi WHERE pi.product_id = p.id)
		OR EXISTS (SELECT 1 FROM product_industries AS pi WHERE pi.product_id = p.id AND LOWER(pi.industry) = LOWER(?)))`,
		industry)
}

// productIndustry is one industry a product is offered to; position keeps
// the vendor's order.
type productIndustry struct {
	bun.BaseModel `bun:"table:product_industries,alias:pi"`

	ProductID int64  `bun:"product_id,pk"`
	Position  int    `bun:"position,pk"`
	Industry  string `bun:"industry"`
}

// IndustriesOf loads the industries products are offered to, in the
// vendor's order, keyed by product id (a product without any is missing:
// it is offered to every industry). The catalog is public.
func (s *Service) IndustriesOf(ctx context.Context, productIDs []int64) (map[int64][]string, error) {
	return industriesOf(ctx, database.Conn(ctx, s.db), productIDs)
}

func industriesOf(ctx context.Context, db bun.IDB, productIDs []int64) (map[int64][]string, error) {
	out := make(map[int64][]string, len(productIDs))
	if len(productIDs) == 0 {
		return out, nil
	}
	var rows []productIndustry
	if err := db.NewSelect().Model(&rows).Where("pi.product_id IN (?)", database.IDs(productIDs)).
		Order("pi.product_id", "pi.position").Scan(ctx); err != nil {
		return nil, fmt.Errorf("catalog: reading industries: %w", err)
	}
	for _, r := range rows {
		out[r.ProductID] = append(out[r.ProductID], r.Industry)
	}
	return out, nil
}
