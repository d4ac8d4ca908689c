package domain

import (
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
	RecordedByOrganizationID *int64    `bun:"recorded_by_organization_id"`
	IdempotencyKey           *string   `bun:"idempotency_key"`
	RequestHash              string    `bun:"request_hash"`
	CreatedAt                time.Time `bun:"created_at"`
	UpdatedAt                time.Time `bun:"updated_at"`
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
