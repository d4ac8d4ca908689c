package domain

import (
	"io"
	"time"

	"github.com/uptrace/bun"
)

// SubscriptionStatus is a product subscription's state (SPEC §6.3).
type SubscriptionStatus string

const (
	SubscriptionPendingFulfillment SubscriptionStatus = "PENDING_FULFILLMENT"
	SubscriptionActive             SubscriptionStatus = "ACTIVE"
	SubscriptionSuspended          SubscriptionStatus = "SUSPENDED"
	SubscriptionCancelled          SubscriptionStatus = "CANCELLED"
	SubscriptionExpired            SubscriptionStatus = "EXPIRED"
)

// Valid reports whether s is one of the statuses.
func (s SubscriptionStatus) Valid() bool {
	switch s {
	case SubscriptionPendingFulfillment, SubscriptionActive, SubscriptionSuspended, SubscriptionCancelled, SubscriptionExpired:
		return true
	}
	return false
}

// The codes of a refused subscription change (SPEC §8.5), reported as user
// errors on the field that asked for it.
const (
	CodeWindowClosed       Code = "WINDOW_CLOSED"
	CodeBelowAssigned      Code = "BELOW_ASSIGNED"
	CodeRoleNotAllowed     Code = "ROLE_NOT_ALLOWED"
	CodeNotPartnerOfRecord Code = "NOT_PARTNER_OF_RECORD"
	CodeVersionConflict    Code = "VERSION_CONFLICT"
)

// ChangeWindow is how long licenses added, and a purchase or renewal, may
// be taken back (SPEC §6.3).
const ChangeWindow = 168 * time.Hour

// ProductSubscription is a customer's subscription to a product, created
// when the order line that bought it completed (SPEC §6.3, §8.5).
type ProductSubscription struct {
	bun.BaseModel `bun:"table:product_subscriptions,alias:s"`

	ID                  int64              `bun:"id,pk,autoincrement"`
	PurchaseOrderID     int64              `bun:"purchase_order_id"`
	PurchaseOrderLineID int64              `bun:"purchase_order_line_id"`
	PriceLineID         int64              `bun:"price_line_id"`
	ProductID           int64              `bun:"product_id"`
	VendorID            int64              `bun:"vendor_id"`
	CustomerID          int64              `bun:"customer_id"`
	DistributorID       *int64             `bun:"distributor_id"`
	ResellerID          *int64             `bun:"reseller_id"`
	TenantID            *int64             `bun:"tenant_id"`
	PartnerOfRecordID   int64              `bun:"partner_of_record_id"`
	IndirectResellerID  *int64             `bun:"indirect_reseller_id"`
	Quantity            int                `bun:"quantity"`
	AssignedLicenses    int                `bun:"assigned_licenses"`
	Term                Term               `bun:"term"`
	BillingCycle        BillingCycle       `bun:"billing_cycle"`
	AutoRenew           bool               `bun:"auto_renew"`
	Nickname            string             `bun:"nickname"`
	Trial               bool               `bun:"trial"`
	Status              SubscriptionStatus `bun:"status"`
	StartedAt           time.Time          `bun:"started_at"`
	TermStartedAt       time.Time          `bun:"term_started_at"`
	CommitmentEndsAt    time.Time          `bun:"commitment_ends_at"`
	BillingStartedAt    *time.Time         `bun:"billing_started_at"`
	ActivationCode      *string            `bun:"activation_code"`
	ActivationExpiresAt *time.Time         `bun:"activation_expires_at"`
	ActivatedAt         *time.Time         `bun:"activated_at"`
	Version             int                `bun:"version"`
	CreatedAt           time.Time          `bun:"created_at"`
	UpdatedAt           time.Time          `bun:"updated_at"`
}

// LicenseAdditionKind says how licenses were added to a subscription.
type LicenseAdditionKind string

const (
	AddedAtPurchase LicenseAdditionKind = "PURCHASE"
	AddedAtRenewal  LicenseAdditionKind = "RENEWAL"
	AddedAtIncrease LicenseAdditionKind = "INCREASE"
)

// LicenseAddition is one addition of licenses and how many of them remain
// to be taken back within its window.
type LicenseAddition struct {
	bun.BaseModel `bun:"table:subscription_license_additions,alias:la"`

	ID                    int64               `bun:"id,pk,autoincrement"`
	ProductSubscriptionID int64               `bun:"product_subscription_id"`
	Kind                  LicenseAdditionKind `bun:"kind"`
	Quantity              int                 `bun:"quantity"`
	Remaining             int                 `bun:"remaining"`
	AddedAt               time.Time           `bun:"added_at"`
}

func (s SubscriptionStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }
func (s *SubscriptionStatus) UnmarshalGQL(v any) error {
	str, err := parseEnum("ProductSubscriptionStatus", v)
	*s = SubscriptionStatus(str)
	return err
}
