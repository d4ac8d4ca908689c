// Package model states the pricing rules of SPEC §4.2 and §8.3 in plain Go
// over in-memory values: what each edge of a sale charges, and which of
// those prices each organization sees. It exists only to test package
// pricing: nothing in the server imports it.
//
// It is written apart from package pricing on purpose — walking the chain
// by position, rounding by hand — so a slip in one is not copied into the
// other.
package model

import (
	"github.com/shopspring/decimal"
)

// Edge is a channel edge: rules belong to one edge, and only an ACTIVE one
// prices a sale (an edge removed and made again is a new edge, without the
// old one's rules).
type Edge struct {
	ID       int64
	Up, Down int64
	Active   bool
}

// Rule is what an edge's upstream side charges its downstream side: a
// markup percent or a set price (exactly one is non-empty). Product 0 is
// every product.
type Rule struct {
	Edge, Product int64
	Markup, Price string
}

// ListKey is a product's list price for one term and billing cycle.
type ListKey struct {
	Product     int64
	Term, Cycle string
}

// Prices is everything that decides a sale's prices.
type Prices struct {
	Edges []Edge
	// Default is each product's default list price ("" or missing: none).
	Default map[int64]string
	ByTerm  map[ListKey]string
	Rules   []Rule
}

// Line is one order line; Term and Cycle are "" when not given, Markup and
// Price the line's own adjustment of the last edge ("" when not given).
type Line struct {
	ID            int64
	Product       int64
	Term, Cycle   string
	Markup, Price string
}

// Chain returns the organizations of a sale: vendor, then the distributor
// and reseller when present (0 is absent), then the customer.
func Chain(vendor, distributor, reseller, customer int64) []int64 {
	out := []int64{vendor}
	if distributor != 0 {
		out = append(out, distributor)
	}
	if reseller != 0 {
		out = append(out, reseller)
	}
	return append(out, customer)
}

// EdgePrices returns the unit price on each edge of chain for line l —
// result[i] is what chain[i] charges chain[i+1] — or ok false when the line
// cannot be priced (no list price).
func (p *Prices) EdgePrices(chain []int64, l Line) (result []string, ok bool) {
	list := p.Default[l.Product]
	if l.Term != "" && l.Cycle != "" {
		if v, found := p.ByTerm[ListKey{l.Product, l.Term, l.Cycle}]; found {
			list = v
		}
	}
	if list == "" {
		return nil, false
	}
	buy := decimal.RequireFromString(list)
	for i := 0; i+1 < len(chain); i++ {
		markup, price, ruled := p.rule(chain[i], chain[i+1], l.Product)
		last := i+2 == len(chain)
		if last && (l.Markup != "" || l.Price != "") {
			markup, price, ruled = l.Markup, l.Price, true
		}
		var sell decimal.Decimal
		switch {
		case ruled && price != "":
			sell = decimal.RequireFromString(price)
		case ruled:
			sell = buy.Add(buy.Mul(decimal.RequireFromString(markup)).Div(decimal.NewFromInt(100)))
		case i == 0: // the vendor charges its list price
			sell = buy
		default: // a partner's buy price plus 10%
			sell = buy.Add(buy.Div(decimal.NewFromInt(10)))
		}
		sell = roundCents(sell)
		result = append(result, sell.StringFixed(2))
		buy = sell
	}
	return result, true
}

// rule finds the seller's rule on the ACTIVE edge up→down: the product's,
// else the every-product rule.
func (p *Prices) rule(up, down, product int64) (markup, price string, ok bool) {
	var edge int64
	for _, e := range p.Edges {
		if e.Up == up && e.Down == down && e.Active {
			edge = e.ID
		}
	}
	if edge == 0 {
		return "", "", false
	}
	var every *Rule
	for i, r := range p.Rules {
		if r.Edge != edge {
			continue
		}
		if r.Product == product {
			return r.Markup, r.Price, true
		}
		if r.Product == 0 {
			every = &p.Rules[i]
		}
	}
	if every != nil {
		return every.Markup, every.Price, true
	}
	return "", "", false
}

// roundCents rounds half away from zero to 2 places, by hand: shift two
// places, add a half away from zero, truncate, shift back.
func roundCents(d decimal.Decimal) decimal.Decimal {
	half := decimal.RequireFromString("0.5")
	shifted := d.Shift(2)
	if shifted.IsNegative() {
		shifted = shifted.Sub(half)
	} else {
		shifted = shifted.Add(half)
	}
	return shifted.Truncate(0).Shift(-2)
}

// Seen is the prices one organization sees on a line ("" for none).
type Seen struct{ Buy, Sell, Margin string }

// SeenBy returns what org sees of a line priced prices along chain (SPEC
// §8.3): as its position on the chain says, what it pays the one above
// (none for the vendor) and what it charges the one below (none for the
// customer), and the difference when it has both. An organization not on
// the chain — and the platform administrator, org 0 — sees nothing.
func SeenBy(org int64, chain []int64, prices []string) Seen {
	pos := -1
	for i, o := range chain {
		if o == org && org != 0 {
			pos = i
		}
	}
	var s Seen
	if pos < 0 || prices == nil {
		return s
	}
	if pos > 0 {
		s.Buy = prices[pos-1]
	}
	if pos < len(chain)-1 {
		s.Sell = prices[pos]
	}
	if s.Buy != "" && s.Sell != "" {
		s.Margin = decimal.RequireFromString(s.Sell).Sub(decimal.RequireFromString(s.Buy)).StringFixed(2)
	}
	return s
}
