package catalog

import (
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// Want is one line a customer means to buy. Field names it in faults, such
// as "lines[2]"; ParentProductID is the product of the line it is an add-on
// to, nil when it names no parent line.
type Want struct {
	Field           string
	ProductID       int64
	Term            domain.Term
	BillingCycle    domain.BillingCycle
	ParentProductID *int64
}

// purchasable is a product read with whether the customer may buy it, by
// the one rule AvailableTo.
type purchasable struct {
	domain.Product `bun:",extend"`
	Available      bool `bun:"available"`
}

// CheckPurchasable checks each line against the catalog for the customer:
// the term and billing cycle offered, the customer's segment and industry
// allowed (AvailableTo, evaluated by the database), an add-on bought with
// its parent and nothing else given a parent. It returns the products by id
// (as stored: the vendor's list price included, for the caller to price
// with); faults come back as domain.Faults, one per fault, each naming Field
// plus the input field (".productId", ".term", ".billingCycle",
// ".parentLineId"). It reads in one query, inside tx; the products come
// without their industries, which AvailableTo has already weighed and no
// caller needs.
func CheckPurchasable(ctx context.Context, tx bun.IDB, customerID int64, wants []Want) (map[int64]*domain.Product, error) {
	ids := make([]int64, 0, len(wants))
	for _, w := range wants {
		ids = append(ids, w.ProductID)
	}
	var rows []purchasable
	if len(ids) > 0 {
		bound, customer := database.Bind(ctx, tx, customerID)
		if err := tx.NewSelect().Model(&rows).
			ColumnExpr("p.*").
			ColumnExpr("CASE WHEN ? THEN 1 ELSE 0 END AS available", AvailableTo(customer[0])).
			Where("p.id IN (?)", database.IDs(ids)).Scan(bound); err != nil {
			return nil, fmt.Errorf("catalog: reading products to buy: %w", err)
		}
	}
	products := make(map[int64]*domain.Product, len(rows))
	available := make(map[int64]bool, len(rows))
	for i := range rows {
		p := &rows[i].Product
		products[p.ID], available[p.ID] = p, rows[i].Available
	}
	var faults domain.Faults
	fault := func(code domain.Code, field, format string, args ...any) {
		faults = append(faults, domain.FieldErrorf(code, field, format, args...))
	}
	for _, w := range wants {
		p, ok := products[w.ProductID]
		if !ok {
			fault(domain.CodeNotFound, w.Field+".productId", "product not found")
			continue
		}
		if !available[p.ID] {
			fault(domain.CodeInvalid, w.Field+".productId", "%s is not offered to this customer's segment and industry", p.SKU)
		}
		if !slices.Contains(p.Terms, w.Term) {
			fault(domain.CodeInvalid, w.Field+".term", "%s is offered for the terms %v, not %s", p.SKU, p.Terms, w.Term)
		}
		if !slices.Contains(p.BillingCycles, w.BillingCycle) {
			fault(domain.CodeInvalid, w.Field+".billingCycle", "%s is offered with the billing cycles %v, not %s", p.SKU, p.BillingCycles, w.BillingCycle)
		}
		switch {
		case p.ParentID == nil && w.ParentProductID != nil:
			fault(domain.CodeInvalid, w.Field+".parentLineId", "%s is not an add-on: it takes no parent line", p.SKU)
		case p.ParentID != nil && w.ParentProductID == nil:
			fault(domain.CodeInvalid, w.Field+".parentLineId", "%s is an add-on: it is bought only with a line of its parent product", p.SKU)
		case p.ParentID != nil && *p.ParentID != *w.ParentProductID:
			fault(domain.CodeInvalid, w.Field+".parentLineId", "%s is an add-on of another product than the parent line's", p.SKU)
		}
	}
	if err := faults.OrNil(); err != nil {
		return nil, err
	}
	return products, nil
}
