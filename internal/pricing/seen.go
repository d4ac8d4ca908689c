package pricing

import (
	"context"
	"fmt"
	"regexp"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// LinePriceVisible is the rule of who sees which price on a line (SPEC
// §4.2, §8.3), a condition on the line_prices row aliased alias: a viewer
// sees a row iff its organization is the row's seller or its buyer. So a
// customer sees only what it pays (the last edge), a reseller what it pays
// and charges, a distributor its own two edges, a vendor only what it
// charges, and nobody an edge it is not party to: in particular a customer
// never sees a row whose seller or buyer is a distributor, since a
// distributor is never a customer's seller.
//
// A platform administrator sees no line price: it is no party to any sale,
// and buyPrice/sellPrice/margin are "as the viewer". An anonymous caller
// sees none either.
func LinePriceVisible(viewer *domain.Viewer, alias string) schema.QueryWithArgs {
	if viewer == nil || viewer.IsPlatformAdmin || viewer.OrganizationID == 0 {
		return bun.SafeQuery("FALSE")
	}
	return bun.SafeQuery("(?.seller_id = ? OR ?.buyer_id = ?)",
		bun.Ident(alias), viewer.OrganizationID, bun.Ident(alias), viewer.OrganizationID)
}

// Seen returns the prices viewer sees on each of lineIDs (only the edges it
// is party to): lines without a price the viewer may see are missing. The
// caller has read the lines as the viewer may see them (an order's lines
// through its visibility); Seen decides only which of their prices it sees,
// in one statement for them all.
func Seen(ctx context.Context, db bun.IDB, viewer *domain.Viewer, kind LineKind, lineIDs []int64) (map[int64]domain.LinePrices, error) {
	out := map[int64]domain.LinePrices{}
	if len(lineIDs) == 0 || viewer == nil {
		return out, nil
	}
	var rows []linePrice
	if err := db.NewSelect().Model(&rows).
		Where("lp.line_kind = ? AND lp.line_id IN (?)", kind, database.IDs(lineIDs)).
		Where("?", LinePriceVisible(viewer, "lp")).Scan(ctx); err != nil {
		return nil, fmt.Errorf("pricing: reading line prices: %w", err)
	}
	for _, r := range rows {
		seen := out[r.LineID]
		m := &domain.Money{Amount: cents(r.Amount), Currency: r.Currency}
		// LinePriceVisible let only the viewer's own edges through: the one
		// it buys on, else the one it sells on.
		if r.BuyerID == viewer.OrganizationID {
			seen.Buy = m
		} else {
			seen.Sell = m
		}
		out[r.LineID] = seen
	}
	for id, seen := range out {
		if seen.Buy != nil && seen.Sell != nil && seen.Buy.Currency == seen.Sell.Currency {
			margin := decimal.RequireFromString(seen.Sell.Amount).Sub(decimal.RequireFromString(seen.Buy.Amount))
			seen.Margin = &domain.Money{Amount: margin.StringFixed(2), Currency: seen.Sell.Currency}
			out[id] = seen
		}
	}
	return out, nil
}

// cents writes a stored amount with exactly two decimals.
func cents(amount string) string {
	d, err := decimal.NewFromString(amount)
	if err != nil {
		return amount
	}
	return d.StringFixed(2)
}

var markupPattern = regexp.MustCompile(`^-?[0-9]{1,4}(\.[0-9]{1,4})?$`)

var (
	minMarkup = decimal.NewFromInt(-100)
	maxMarkup = decimal.NewFromInt(1000)
)

// NormalizeMarkup checks a markup percent (a decimal from -100 to 1000 with
// at most 4 places) and returns its canonical form; field names it in the
// fault.
func NormalizeMarkup(field, percent string) (string, error) {
	if !markupPattern.MatchString(percent) {
		return "", domain.FieldErrorf(domain.CodeInvalid, field,
			"markupPercent must be a plain decimal such as \"12.5\" with at most 4 decimal places")
	}
	d := decimal.RequireFromString(percent)
	if d.LessThan(minMarkup) || d.GreaterThan(maxMarkup) {
		return "", domain.FieldErrorf(domain.CodeInvalid, field, "markupPercent must be between -100 and 1000")
	}
	return d.String(), nil
}
