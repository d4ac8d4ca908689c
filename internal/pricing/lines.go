package pricing

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// LineKind names the table a priced line lives in (line_prices.line_kind).
type LineKind string

const (
	// OrderLines are purchase_order_lines.
	OrderLines LineKind = "ORDER"
	// CartLines are cart_lines, a quote's included.
	CartLines LineKind = "CART"
)

// Sale is the organizations along a sale, the vendor first and the customer
// last: vendor→customer, vendor→reseller→customer or
// vendor→distributor→reseller→customer. Each neighbouring pair is an edge
// with a price.
type Sale []int64

// Line is one line to price. MarkupPercent or Price, when set, adjust the
// last edge's price (the seller's to the customer) over the seller's price
// rules. Field names the line in faults, such as "lines[2]".
type Line struct {
	ID            int64
	ProductID     int64
	Term          *domain.Term
	BillingCycle  *domain.BillingCycle
	MarkupPercent *string
	Price         *domain.Money
	Field         string
}

// Fix computes the unit price on every edge of each line's sale and stores
// it, replacing what the line had. A line that cannot be priced (no list
// price for its term and billing cycle) is a fault naming Field+".productId"
// when required is set; otherwise it is left unpriced. Faults come back as
// domain.Faults, one per line at fault; then nothing is stored.
//
// The price on each edge (SPEC §4.2, §8.3): the vendor charges its list
// price for the line's term and billing cycle (else the product's default
// list price), changed by the vendor's rule on the edge; every later seller
// charges its own buy price changed by its rule on the edge, or plus 10%
// without one. A rule for the product wins over the edge's every-product
// rule; the line's own adjustment wins over both on the last edge. Each
// price is rounded half away from zero to cents before the next edge
// builds on it.
func Fix(ctx context.Context, tx bun.IDB, kind LineKind, sale Sale, lines []Line, required bool) error {
	return fix(ctx, tx, kind, sale, lines, required, true)
}

// fix is Fix; replace is false for lines inserted in tx, which have no
// prices yet to clear.
func fix(ctx context.Context, tx bun.IDB, kind LineKind, sale Sale, lines []Line, required, replace bool) error {
	if len(sale) < 2 || len(sale) > 4 {
		return fmt.Errorf("pricing: a sale has 2 to 4 organizations, not %d", len(sale))
	}
	if len(lines) == 0 {
		return nil
	}
	in, err := loadInputs(ctx, tx, sale, lines)
	if err != nil {
		return err
	}
	var faults domain.Faults
	var rows []linePrice
	for _, l := range lines {
		priced, currency, fault := in.price(sale, l)
		switch {
		case fault != nil && (required || fault.Field != l.Field+".productId"):
			faults = append(faults, fault)
		case fault == nil:
			for i, p := range priced {
				rows = append(rows, linePrice{Kind: kind, LineID: l.ID, SellerID: sale[i], BuyerID: sale[i+1],
					Amount: p.StringFixed(2), Currency: currency})
			}
		}
	}
	if len(faults) > 0 {
		return faults
	}
	if replace {
		ids := make([]int64, len(lines))
		for i, l := range lines {
			ids[i] = l.ID
		}
		if _, err := tx.NewDelete().TableExpr("line_prices").
			Where("line_kind = ? AND line_id IN (?)", kind, database.IDs(ids)).Exec(ctx); err != nil {
			return fmt.Errorf("pricing: clearing line prices: %w", err)
		}
	}
	if len(rows) > 0 {
		if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return fmt.Errorf("pricing: storing line prices: %w", err)
		}
	}
	return nil
}

// linePrice is one row of line_prices: seller charges buyer Amount per unit.
type linePrice struct {
	bun.BaseModel `bun:"table:line_prices,alias:lp"`

	Kind     LineKind `bun:"line_kind"`
	LineID   int64    `bun:"line_id"`
	SellerID int64    `bun:"seller_id"`
	BuyerID  int64    `bun:"buyer_id"`
	Amount   string   `bun:"amount"`
	Currency string   `bun:"currency"`
}

// inputs is everything pricing a sale's lines reads, read once for them all.
type inputs struct {
	// base is the product's default list price, list its price per term and
	// billing cycle.
	base map[int64]*domain.Money
	list map[listKey]domain.Money
	// rules are the sellers' rules on the sale's ACTIVE edges, by the
	// edge's place in the sale.
	rules map[ruleKey]domain.PriceRule
}

type listKey struct {
	product int64
	term    domain.Term
	cycle   domain.BillingCycle
}

// ruleKey is a rule's edge, by its place in the sale (sale[i]→sale[i+1]),
// and its product, 0 for every product.
type ruleKey struct {
	edge    int
	product int64
}

// saleRule is a price rule with the ends of its edge.
type saleRule struct {
	domain.PriceRule `bun:",extend"`
	UpstreamID       int64 `bun:"upstream_id"`
	DownstreamID     int64 `bun:"downstream_id"`
}

func loadInputs(ctx context.Context, tx bun.IDB, sale Sale, lines []Line) (*inputs, error) {
	in := &inputs{base: map[int64]*domain.Money{}, list: map[listKey]domain.Money{}, rules: map[ruleKey]domain.PriceRule{}}
	var products []int64
	for _, l := range lines {
		products = append(products, l.ProductID)
	}
	// Only the ACTIVE edge between two neighbours of the sale carries rules:
	// an edge removed (and perhaps made again) keeps its old rules, unused.
	var rules []saleRule
	if err := tx.NewSelect().Model(&rules).ColumnExpr("pr.*, e.upstream_id, e.downstream_id").
		Join("JOIN channel_edges AS e ON e.id = pr.channel_edge_id").
		Where("e.status = ?", domain.EdgeActive).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			for i := 0; i+1 < len(sale); i++ {
				q = q.WhereOr("e.upstream_id = ? AND e.downstream_id = ?", sale[i], sale[i+1])
			}
			return q
		}).
		Where("pr.product_id IS NULL OR pr.product_id IN (?)", database.IDs(products)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("pricing: reading price rules: %w", err)
	}
	for _, r := range rules {
		var product int64
		if r.ProductID != nil {
			product = *r.ProductID
		}
		for i := 0; i+1 < len(sale); i++ {
			if r.UpstreamID == sale[i] && r.DownstreamID == sale[i+1] {
				in.rules[ruleKey{i, product}] = r.PriceRule
			}
		}
	}
	var ps []domain.Product
	if err := tx.NewSelect().Model(&ps).Column("p.id", "p.list_price_amount", "p.list_price_currency").
		Where("p.id IN (?)", database.IDs(products)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("pricing: reading products: %w", err)
	}
	for i := range ps {
		in.base[ps[i].ID] = ps[i].ListPrice()
	}
	var termed []int64 // only a line with a term and a billing cycle has a list price of its own
	for _, l := range lines {
		if l.Term != nil && l.BillingCycle != nil {
			termed = append(termed, l.ProductID)
		}
	}
	var lps []listPrice
	if len(termed) > 0 {
		if err := tx.NewSelect().Model(&lps).Where("lp.product_id IN (?)", database.IDs(termed)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("pricing: reading list prices: %w", err)
		}
	}
	for _, lp := range lps {
		in.list[listKey{lp.ProductID, lp.Term, lp.BillingCycle}] = domain.Money{Amount: lp.Amount, Currency: lp.Currency}
	}
	return in, nil
}

// listPrice is one row of list_prices.
type listPrice struct {
	bun.BaseModel `bun:"table:list_prices,alias:lp"`

	ProductID    int64               `bun:"product_id,pk"`
	Term         domain.Term         `bun:"term,pk"`
	BillingCycle domain.BillingCycle `bun:"billing_cycle,pk"`
	Amount       string              `bun:"amount"`
	Currency     string              `bun:"currency"`
}

// adjustment is a markup percent or a set price: a rule, or a line's own.
type adjustment struct {
	markup *string
	price  *domain.Money
}

// price returns the unit price on each edge of the sale for l and their
// currency (the list price's), or the fault that keeps l from being priced.
func (in *inputs) price(sale Sale, l Line) ([]decimal.Decimal, string, *domain.Error) {
	base := in.base[l.ProductID]
	if l.Term != nil && l.BillingCycle != nil {
		if m, ok := in.list[listKey{l.ProductID, *l.Term, *l.BillingCycle}]; ok {
			base = &m
		}
	}
	if base == nil {
		return nil, "", domain.FieldErrorf(domain.CodeInvalid, l.Field+".productId",
			"the vendor has set no list price for this product, term and billing cycle")
	}
	buy, err := decimal.NewFromString(base.Amount)
	if err != nil {
		return nil, "", domain.FieldErrorf(domain.CodeInvalid, l.Field+".productId", "the product's list price is not a decimal")
	}
	prices := make([]decimal.Decimal, len(sale)-1)
	for i := range prices {
		adj, field := in.rule(i, l.ProductID), l.Field+".productId"
		if i == len(prices)-1 && (l.MarkupPercent != nil || l.Price != nil) {
			adj, field = &adjustment{markup: l.MarkupPercent, price: l.Price}, l.Field+".price.currency"
		}
		var sell decimal.Decimal
		switch {
		case adj == nil && i == 0:
			sell = buy // the vendor's list price
		case adj == nil:
			sell = buy.Mul(defaultMarkup)
		case adj.price != nil:
			if adj.price.Currency != base.Currency {
				return nil, "", domain.FieldErrorf(domain.CodeInvalid, field,
					"a set price in %s cannot price a product listed in %s", adj.price.Currency, base.Currency)
			}
			sell, err = decimal.NewFromString(adj.price.Amount)
		default:
			var pct decimal.Decimal
			pct, err = decimal.NewFromString(*adj.markup)
			sell = buy.Mul(hundred.Add(pct)).Div(hundred)
		}
		if err != nil {
			return nil, "", domain.FieldErrorf(domain.CodeInvalid, field, "the price adjustment is not a decimal")
		}
		prices[i] = Round(sell)
		buy = prices[i]
	}
	return prices, base.Currency, nil
}

// rule returns the rule of the seller on edge i of the sale for product:
// the product's, else the edge's every-product rule, else nil.
func (in *inputs) rule(i int, product int64) *adjustment {
	for _, k := range []ruleKey{{i, product}, {i, 0}} {
		if r, ok := in.rules[k]; ok {
			adj := &adjustment{markup: r.MarkupPercent}
			if r.PriceAmount != nil {
				adj.price = &domain.Money{Amount: *r.PriceAmount, Currency: deref(r.PriceCurrency)}
			}
			return adj
		}
	}
	return nil
}

var (
	hundred = decimal.NewFromInt(100)
	// defaultMarkup is a partner's sell price without a rule: buy + 10%.
	defaultMarkup = decimal.RequireFromString("1.10")
)

// Round rounds a unit price half away from zero to cents (10.985 → 10.99,
// -10.985 → -10.99).
func Round(d decimal.Decimal) decimal.Decimal { return d.Round(2) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// FixOrder prices the lines of a purchase order from its parties and its
// lines' terms and adjustments, as it is placed (lines it cannot price stay
// unpriced).
func FixOrder(ctx context.Context, tx bun.IDB, purchaseOrderID int64) error {
	// One read: the lines, each with its order's parties.
	var rows []struct {
		domain.PurchaseOrderLine `bun:",extend"`
		VendorID                 int64  `bun:"vendor_id"`
		DistributorID            *int64 `bun:"distributor_id"`
		ResellerID               *int64 `bun:"reseller_id"`
		CustomerID               int64  `bun:"customer_id"`
	}
	if err := tx.NewSelect().Model(&rows).ColumnExpr("l.*, p.vendor_id, p.distributor_id, p.reseller_id, p.customer_id").
		Join("JOIN purchase_orders AS p ON p.id = l.purchase_order_id").
		Where("l.purchase_order_id = ?", purchaseOrderID).Order("l.position").Scan(ctx); err != nil {
		return fmt.Errorf("pricing: reading the order's lines: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	po := &domain.PurchaseOrder{VendorID: rows[0].VendorID, DistributorID: rows[0].DistributorID,
		ResellerID: rows[0].ResellerID, CustomerID: rows[0].CustomerID}
	ls := make([]*domain.PurchaseOrderLine, len(rows))
	for i := range rows {
		ls[i] = &rows[i].PurchaseOrderLine
	}
	return fixOrder(ctx, tx, po, ls, true)
}

// FixNewOrder is FixOrder for an order and its lines inserted in tx, at
// hand: nothing to read, and no earlier prices to clear.
func FixNewOrder(ctx context.Context, tx bun.IDB, po *domain.PurchaseOrder, ls []*domain.PurchaseOrderLine) error {
	return fixOrder(ctx, tx, po, ls, false)
}

func fixOrder(ctx context.Context, tx bun.IDB, po *domain.PurchaseOrder, ls []*domain.PurchaseOrderLine, replace bool) error {
	if len(ls) == 0 {
		return nil
	}
	sale := Sale{po.VendorID}
	for _, id := range []*int64{po.DistributorID, po.ResellerID} {
		if id != nil {
			sale = append(sale, *id)
		}
	}
	sale = append(sale, po.CustomerID)
	lines := make([]Line, len(ls))
	for i, l := range ls {
		lines[i] = Line{ID: l.ID, ProductID: l.ProductID, Term: l.Term, BillingCycle: l.BillingCycle,
			MarkupPercent: l.MarkupPercent, Field: fmt.Sprintf("lines[%d]", i)}
		if l.PriceAmount != nil {
			lines[i].Price = &domain.Money{Amount: *l.PriceAmount, Currency: deref(l.PriceCurrency)}
		}
	}
	return fix(ctx, tx, OrderLines, sale, lines, false, replace)
}

// CopyPrices gives each line of kind to (the pairs' values) the prices fixed
// on its line of kind from (the keys), in one statement: a cart's lines
// priced in the transaction that places them become its orders' prices.
func CopyPrices(ctx context.Context, tx bun.IDB, from, to LineKind, pairs map[int64]int64) error {
	if len(pairs) == 0 {
		return nil
	}
	froms := make([]int64, 0, len(pairs))
	for id := range pairs {
		froms = append(froms, id)
	}
	slices.Sort(froms)
	values := make([]string, len(froms))
	args := []any{to}
	for i, id := range froms {
		values[i] = "(CAST(? AS BIGINT), CAST(? AS BIGINT))"
		args = append(args, id, pairs[id])
	}
	args = append(args, from)
	// VALUES names its columns column1, column2 on both databases.
	_, err := tx.NewRaw(`INSERT INTO line_prices (line_kind, line_id, seller_id, buyer_id, amount, currency)
		SELECT ?, m.column2, lp.seller_id, lp.buyer_id, lp.amount, lp.currency
		FROM line_prices AS lp JOIN (VALUES `+strings.Join(values, ", ")+`) AS m ON lp.line_id = m.column1
		WHERE lp.line_kind = ?`, args...).Exec(ctx)
	if err != nil {
		return fmt.Errorf("pricing: copying line prices: %w", err)
	}
	return nil
}
