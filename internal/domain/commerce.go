package domain

import (
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// CatalogEntry is how one partner arranges a product in its own catalog
// (SPEC §8.2): its category and recommended end price, and whether it lists
// the product at all.
type CatalogEntry struct {
	bun.BaseModel `bun:"table:catalog_entries,alias:ce"`

	SellerID                 int64     `bun:"seller_id,pk"`
	ProductID                int64     `bun:"product_id,pk"`
	Category                 *string   `bun:"category"`
	RecommendedPriceAmount   *string   `bun:"recommended_price_amount"`
	RecommendedPriceCurrency *string   `bun:"recommended_price_currency"`
	Listed                   bool      `bun:"listed"`
	UpdatedAt                time.Time `bun:"updated_at"`
}

// PriceRule is what the upstream side of an edge charges the downstream side
// (SPEC §8.3): a markup on its buy price or a set price, for one product or
// (ProductID nil) every product.
type PriceRule struct {
	bun.BaseModel `bun:"table:price_rules,alias:pr"`

	ID            int64     `bun:"id,pk,autoincrement"`
	ChannelEdgeID int64     `bun:"channel_edge_id"`
	ProductID     *int64    `bun:"product_id"`
	MarkupPercent *string   `bun:"markup_percent"`
	PriceAmount   *string   `bun:"price_amount"`
	PriceCurrency *string   `bun:"price_currency"`
	UpdatedAt     time.Time `bun:"updated_at"`
}

// LinePrices is the unit prices one viewer sees on a priced line (SPEC
// §8.3): what it pays, what it charges the next organization down, and the
// difference. Each is nil where the viewer has no such price.
type LinePrices struct {
	Buy, Sell, Margin *Money
}

// Cart is a partner's cart for one customer (SPEC §8.4).
type Cart struct {
	bun.BaseModel `bun:"table:carts,alias:c"`

	ID            int64      `bun:"id,pk,autoincrement"`
	SellerID      int64      `bun:"seller_id"`
	CustomerID    int64      `bun:"customer_id"`
	DistributorID *int64     `bun:"distributor_id"`
	Status        CartStatus `bun:"status"`
	CreatedAt     time.Time  `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at"`
	// Lines, when not nil, are the cart's lines as the viewer sees them,
	// read with a page of carts in one go.
	Lines []*CartLine `bun:"-" json:"-"`
}

// CartLine is one line of a cart, or of the quote made from it.
type CartLine struct {
	bun.BaseModel `bun:"table:cart_lines,alias:cl"`

	ID            int64        `bun:"id,pk,autoincrement"`
	CartID        int64        `bun:"cart_id"`
	ProductID     int64        `bun:"product_id"`
	Quantity      int          `bun:"quantity"`
	Term          Term         `bun:"term"`
	BillingCycle  BillingCycle `bun:"billing_cycle"`
	TenantID      *int64       `bun:"tenant_id"`
	TenantDomain  *string      `bun:"tenant_domain"`
	ParentLineID  *int64       `bun:"parent_line_id"`
	MarkupPercent *string      `bun:"markup_percent"`
	PriceAmount   *string      `bun:"price_amount"`
	PriceCurrency *string      `bun:"price_currency"`
	CreatedAt     time.Time    `bun:"created_at"`
	// Seen is the line's prices as the viewer that loaded it sees them.
	Seen LinePrices `bun:"-"`
}

// Quote is a cart sent to its customer at fixed prices (SPEC §8.4).
type Quote struct {
	bun.BaseModel `bun:"table:quotes,alias:q"`

	ID            int64       `bun:"id,pk,autoincrement"`
	Number        string      `bun:"number"`
	CartID        int64       `bun:"cart_id"`
	SellerID      int64       `bun:"seller_id"`
	CustomerID    int64       `bun:"customer_id"`
	Status        QuoteStatus `bun:"status"`
	ExpiresAt     time.Time   `bun:"expires_at"`
	DeclineReason *string     `bun:"decline_reason"`
	CreatedAt     time.Time   `bun:"created_at"`
	UpdatedAt     time.Time   `bun:"updated_at"`
	// Lines, when not nil, are the quote's lines as the viewer sees them,
	// read with a page of quotes in one go.
	Lines []*CartLine `bun:"-" json:"-"`
}

// Faults is every business-rule refusal of one request, for mutations that
// report one user error per fault (a cart's lines); it is itself a refusal,
// so code that expects one error still sees the first.
type Faults []*Error

func (f Faults) Error() string {
	msgs := make([]string, len(f))
	for i, e := range f {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap lets errors.As find the first refusal.
func (f Faults) Unwrap() []error {
	out := make([]error, len(f))
	for i, e := range f {
		out[i] = e
	}
	return out
}

// OrNil returns f as an error, or nil when it holds no fault.
func (f Faults) OrNil() error {
	if len(f) == 0 {
		return nil
	}
	return f
}
