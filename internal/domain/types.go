package domain

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Organization is a party of the channel (SPEC §1.1).
type Organization struct {
	bun.BaseModel `bun:"table:organizations,alias:o"`

	ID        int64            `bun:"id,pk,autoincrement"`
	Kind      OrganizationKind `bun:"kind"`
	Name      string           `bun:"name"`
	Country   string           `bun:"country"`
	Industry  string           `bun:"industry"`
	Segment   string           `bun:"segment"`
	CreatedAt time.Time        `bun:"created_at"`
}

// ChannelEdge joins an upstream organization to a downstream one (SPEC §2).
type ChannelEdge struct {
	bun.BaseModel `bun:"table:channel_edges,alias:e"`

	ID                int64      `bun:"id,pk,autoincrement"`
	UpstreamID        int64      `bun:"upstream_id"`
	DownstreamID      int64      `bun:"downstream_id"`
	Status            EdgeStatus `bun:"status"`
	PurchaseOrderView bool       `bun:"purchase_order_view"`
	CreatedAt         time.Time  `bun:"created_at"`
	UpdatedAt         time.Time  `bun:"updated_at"`
	AcceptedAt        *time.Time `bun:"accepted_at"`
	RemovedAt         *time.Time `bun:"removed_at"`
	// RemovedByOrganizationID is null when a platform administrator removed it.
	RemovedByOrganizationID *int64 `bun:"removed_by_organization_id"`
	RemovalReason           string `bun:"removal_reason"`
}

// Product is something a vendor sells (SPEC §4.1, at its minimum).
type Product struct {
	bun.BaseModel `bun:"table:products,alias:p"`

	ID       int64       `bun:"id,pk,autoincrement"`
	VendorID int64       `bun:"vendor_id"`
	SKU      string      `bun:"sku"`
	Name     string      `bun:"name"`
	Type     ProductType `bun:"type"`
	// ListPriceAmount and ListPriceCurrency are the vendor's list price, if set.
	ListPriceAmount   *string   `bun:"list_price_amount"`
	ListPriceCurrency *string   `bun:"list_price_currency"`
	CreatedAt         time.Time `bun:"created_at"`
	// Description, Category, TrialDays, ParentID and the recommended end
	// price are the catalog's plain fields (SPEC §8.2). Read through a
	// seller's catalog, Category and the recommended price are the seller's
	// where it set them.
	Description              string  `bun:"description"`
	Category                 *string `bun:"category"`
	TrialDays                *int    `bun:"trial_days"`
	ParentID                 *int64  `bun:"parent_id"`
	RecommendedPriceAmount   *string `bun:"recommended_price_amount"`
	RecommendedPriceCurrency *string `bun:"recommended_price_currency"`
	// LandingPageURL is a SaaS product's publisher page, where activation
	// links point.
	LandingPageURL *string `bun:"landing_page_url"`
	// The offer's sets (SPEC §8.2); an empty Industries is every industry.
	// Segments, Terms and BillingCycles are stored as the delimited columns
	// below and decoded when a row is scanned (AfterScanRow); package
	// catalog reads Industries, which have rows of their own.
	Segments      []Segment      `bun:"-"`
	Industries    []string       `bun:"-"`
	Terms         []Term         `bun:"-"`
	BillingCycles []BillingCycle `bun:"-"`
	// StoredSegments, StoredTerms and StoredBillingCycles are those sets as
	// stored: ",A,B," (see EncodeSet).
	StoredSegments      string `bun:"segments"`
	StoredTerms         string `bun:"terms"`
	StoredBillingCycles string `bun:"billing_cycles"`
}

// AfterScanRow decodes the stored sets of a product just read.
func (p *Product) AfterScanRow(context.Context) error {
	p.Segments = decodeSet[Segment](p.StoredSegments)
	p.Terms = decodeSet[Term](p.StoredTerms)
	p.BillingCycles = decodeSet[BillingCycle](p.StoredBillingCycles)
	return nil
}

// EncodeSet stores a set of enum values as one delimited TEXT column,
// ",A,B,", so that "holds X" is the condition LIKE '%,X,%' on any database.
func EncodeSet[T ~string](values []T) string {
	var b strings.Builder
	b.WriteString(",")
	for _, v := range values {
		b.WriteString(string(v) + ",")
	}
	return b.String()
}

func decodeSet[T ~string](stored string) []T {
	out := []T{}
	for _, v := range strings.Split(strings.Trim(stored, ","), ",") {
		if v != "" {
			out = append(out, T(v))
		}
	}
	return out
}

// RecommendedPrice returns the recommended end price, or nil when none.
func (p *Product) RecommendedPrice() *Money {
	if p.RecommendedPriceAmount == nil || p.RecommendedPriceCurrency == nil {
		return nil
	}
	return &Money{Amount: *p.RecommendedPriceAmount, Currency: *p.RecommendedPriceCurrency}
}

// ListPrice returns the product's list price, or nil when it has none.
func (p *Product) ListPrice() *Money {
	if p.ListPriceAmount == nil || p.ListPriceCurrency == nil {
		return nil
	}
	return &Money{Amount: *p.ListPriceAmount, Currency: *p.ListPriceCurrency}
}

// Money is an exact decimal amount in a currency (SPEC §7.1). Amount is kept
// as its canonical decimal string, never a float.
type Money struct {
	Amount   string
	Currency string
}

// PurchaseOrder is an order along the channel (SPEC §3.1). When a viewer
// loads it, DistributorID is already nil for a customer viewer (SPEC §3.3):
// the storage layer takes it from the viewer's visibility row.
type PurchaseOrder struct {
	bun.BaseModel `bun:"table:purchase_orders,alias:p"`

	ID            int64               `bun:"id,pk,autoincrement"`
	Number        string              `bun:"number"`
	Kind          PurchaseOrderKind   `bun:"kind"`
	Status        PurchaseOrderStatus `bun:"status"`
	VendorID      int64               `bun:"vendor_id"`
	DistributorID *int64              `bun:"distributor_id"`
	ResellerID    *int64              `bun:"reseller_id"`
	CustomerID    int64               `bun:"customer_id"`
	// RecordedByOrganizationID is null when a platform administrator recorded it.
	RecordedByOrganizationID *int64  `bun:"recorded_by_organization_id"`
	IdempotencyKey           *string `bun:"idempotency_key"`
	RequestHash              string  `bun:"request_hash"`
	// CartID is the cart the order was placed or saved from, if any.
	CartID    *int64    `bun:"cart_id"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
	// PlacedAt is when the order was placed; nil while it never was (a
	// draft, or a draft cancelled unplaced), which only its recorder sees.
	PlacedAt *time.Time `bun:"placed_at"`
	// ProductSubscriptionID is the subscription a CHANGE, CANCELLATION or
	// RENEWAL order was made for.
	ProductSubscriptionID *int64 `bun:"product_subscription_id"`
}

// PurchaseOrderLine is one product and quantity on a purchase order.
type PurchaseOrderLine struct {
	bun.BaseModel `bun:"table:purchase_order_lines,alias:l"`

	ID              int64  `bun:"id,pk,autoincrement"`
	PurchaseOrderID int64  `bun:"purchase_order_id"`
	Position        int    `bun:"position"`
	ProductID       int64  `bun:"product_id"`
	SKU             string `bun:"sku"`
	Quantity        int    `bun:"quantity"`
	// Term, BillingCycle and TenantID are nil on lines recorded without them.
	Term         *Term         `bun:"term"`
	BillingCycle *BillingCycle `bun:"billing_cycle"`
	TenantID     *int64        `bun:"tenant_id"`
	// MarkupPercent or PriceAmount/PriceCurrency adjust the last edge's price
	// (the seller's to the customer) when the line is priced.
	MarkupPercent *string `bun:"markup_percent"`
	PriceAmount   *string `bun:"price_amount"`
	PriceCurrency *string `bun:"price_currency"`
	// LicenseChange is, on a CHANGE order's line, the licenses the change
	// added (positive) or took back (negative); Quantity is its size.
	LicenseChange *int `bun:"license_change"`
}

// APIToken is the stored metadata of an opaque API token; the secret itself
// is shown once and only its hash is kept.
type APIToken struct {
	bun.BaseModel `bun:"table:api_tokens,alias:t"`

	ID             int64      `bun:"id,pk,autoincrement"`
	OrganizationID int64      `bun:"organization_id"`
	Role           Role       `bun:"role"`
	Name           string     `bun:"name"`
	Prefix         string     `bun:"prefix"`
	SecretHash     string     `bun:"secret_hash"`
	CreatedAt      time.Time  `bun:"created_at"`
	ExpiresAt      *time.Time `bun:"expires_at"`
	RevokedAt      *time.Time `bun:"revoked_at"`
	// MemberID is the member the token belongs to, if any: removing the
	// member revokes it.
	MemberID *int64 `bun:"member_id"`
}

// Usable reports whether the token is neither revoked nor expired at now.
func (t *APIToken) Usable(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || t.ExpiresAt.After(now))
}

// Tenant is a customer's tenant, provisioned asynchronously (SPEC §5).
type Tenant struct {
	bun.BaseModel `bun:"table:tenants,alias:tn"`

	ID                        int64        `bun:"id,pk,autoincrement"`
	CustomerID                int64        `bun:"customer_id"`
	Domain                    string       `bun:"domain"`
	Status                    TenantStatus `bun:"status"`
	FailureReason             string       `bun:"failure_reason"`
	RequestedByOrganizationID *int64       `bun:"requested_by_organization_id"`
	CreatedAt                 time.Time    `bun:"created_at"`
	UpdatedAt                 time.Time    `bun:"updated_at"`
}

// Notification is a message left for an organization.
type Notification struct {
	bun.BaseModel `bun:"table:notifications,alias:n"`

	ID             int64     `bun:"id,pk,autoincrement"`
	OrganizationID int64     `bun:"organization_id"`
	Kind           string    `bun:"kind"`
	Message        string    `bun:"message"`
	TenantID       *int64    `bun:"tenant_id"`
	CreatedAt      time.Time `bun:"created_at"`
}
