package domain

import (
	"fmt"
	"io"
	"strconv"
)

// OrganizationKind is an organization's place in the channel (SPEC §1.1).
type OrganizationKind string

const (
	KindVendor      OrganizationKind = "VENDOR"
	KindDistributor OrganizationKind = "DISTRIBUTOR"
	KindReseller    OrganizationKind = "RESELLER"
	KindCustomer    OrganizationKind = "CUSTOMER"
)

// Role is a member's role in its organization (SPEC §1.2).
type Role string

const (
	RoleOwner        Role = "OWNER"
	RoleAdminAgent   Role = "ADMIN_AGENT"
	RoleSalesAgent   Role = "SALES_AGENT"
	RoleBillingAdmin Role = "BILLING_ADMIN"
	RoleViewer       Role = "VIEWER"
)

// EdgeStatus is a channel edge's lifecycle state (SPEC §2.2).
type EdgeStatus string

const (
	EdgeInvited EdgeStatus = "INVITED"
	EdgeActive  EdgeStatus = "ACTIVE"
	EdgeRemoved EdgeStatus = "REMOVED"
)

// PurchaseOrderKind says why a purchase order exists (SPEC §3.1).
type PurchaseOrderKind string

const (
	POKindNew          PurchaseOrderKind = "NEW"
	POKindChange       PurchaseOrderKind = "CHANGE"
	POKindCancellation PurchaseOrderKind = "CANCELLATION"
	POKindRenewal      PurchaseOrderKind = "RENEWAL"
)

// PurchaseOrderStatus is a purchase order's state (SPEC §3.1).
type PurchaseOrderStatus string

const (
	PODraft      PurchaseOrderStatus = "DRAFT"
	POPlaced     PurchaseOrderStatus = "PLACED"
	POProcessing PurchaseOrderStatus = "PROCESSING"
	POCompleted  PurchaseOrderStatus = "COMPLETED"
	POCancelled  PurchaseOrderStatus = "CANCELLED"
	POFailed     PurchaseOrderStatus = "FAILED"
)

// ProductType is a product's kind of offer (SPEC §4.1).
type ProductType string

const (
	ProductLicense  ProductType = "LICENSE"
	ProductUsage    ProductType = "USAGE"
	ProductSaaS     ProductType = "SAAS"
	ProductHardware ProductType = "HARDWARE"
)

// TenantStatus is a tenant's provisioning state (SPEC §5).
type TenantStatus string

const (
	TenantRequested    TenantStatus = "REQUESTED"
	TenantProvisioning TenantStatus = "PROVISIONING"
	TenantVerifying    TenantStatus = "VERIFYING"
	TenantActive       TenantStatus = "ACTIVE"
	TenantFailed       TenantStatus = "FAILED"
)

// CanMoveTo reports whether s → next is a forward provisioning step: one
// step along REQUESTED → PROVISIONING → VERIFYING → ACTIVE, or FAILED from
// any unfinished state.
func (s TenantStatus) CanMoveTo(next TenantStatus) bool {
	switch s {
	case TenantRequested:
		return next == TenantProvisioning || next == TenantFailed
	case TenantProvisioning:
		return next == TenantVerifying || next == TenantFailed
	case TenantVerifying:
		return next == TenantActive || next == TenantFailed
	}
	return false
}

func (s TenantStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }
func (s *TenantStatus) UnmarshalGQL(v any) error {
	str, err := parseEnum("TenantStatus", v)
	*s = TenantStatus(str)
	return err
}

var enumValues = map[string][]string{
	"TenantStatus":              {"REQUESTED", "PROVISIONING", "VERIFYING", "ACTIVE", "FAILED"},
	"OrganizationKind":          {"VENDOR", "DISTRIBUTOR", "RESELLER", "CUSTOMER"},
	"Role":                      {"OWNER", "ADMIN_AGENT", "SALES_AGENT", "BILLING_ADMIN", "VIEWER"},
	"ChannelEdgeStatus":         {"INVITED", "ACTIVE", "REMOVED"},
	"PurchaseOrderKind":         {"NEW", "CHANGE", "CANCELLATION", "RENEWAL"},
	"PurchaseOrderStatus":       {"DRAFT", "PLACED", "PROCESSING", "COMPLETED", "CANCELLED", "FAILED"},
	"ProductType":               {"LICENSE", "USAGE", "SAAS", "HARDWARE"},
	"Segment":                   {"COMMERCIAL", "EDUCATION", "GOVERNMENT", "NONPROFIT"},
	"Term":                      {"P1M", "P1Y"},
	"BillingCycle":              {"MONTHLY", "ANNUAL"},
	"CartStatus":                {"OPEN", "SAVED", "QUOTED", "PLACED"},
	"QuoteStatus":               {"SENT", "ACCEPTED", "DECLINED", "EXPIRED"},
	"ProductSubscriptionStatus": {"PENDING_FULFILLMENT", "ACTIVE", "SUSPENDED", "CANCELLED", "EXPIRED"},
	"DelegatedAdminStatus":      {"REQUESTED", "ACTIVE", "REMOVED"},
}

func parseEnum(name string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s must be a string", name)
	}
	for _, allowed := range enumValues[name] {
		if s == allowed {
			return s, nil
		}
	}
	return "", fmt.Errorf("%q is not a valid %s", s, name)
}

func writeEnum(w io.Writer, s string) { _, _ = io.WriteString(w, strconv.Quote(s)) }

// The Marshal/Unmarshal pairs below let gqlgen bind the GraphQL enums to
// these types directly, so resolvers never convert between two copies.

func (k OrganizationKind) MarshalGQL(w io.Writer) { writeEnum(w, string(k)) }
func (k *OrganizationKind) UnmarshalGQL(v any) error {
	s, err := parseEnum("OrganizationKind", v)
	*k = OrganizationKind(s)
	return err
}

func (r Role) MarshalGQL(w io.Writer) { writeEnum(w, string(r)) }
func (r *Role) UnmarshalGQL(v any) error {
	s, err := parseEnum("Role", v)
	*r = Role(s)
	return err
}

func (s EdgeStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }
func (s *EdgeStatus) UnmarshalGQL(v any) error {
	str, err := parseEnum("ChannelEdgeStatus", v)
	*s = EdgeStatus(str)
	return err
}

func (k PurchaseOrderKind) MarshalGQL(w io.Writer) { writeEnum(w, string(k)) }
func (k *PurchaseOrderKind) UnmarshalGQL(v any) error {
	s, err := parseEnum("PurchaseOrderKind", v)
	*k = PurchaseOrderKind(s)
	return err
}

func (s PurchaseOrderStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }
func (s *PurchaseOrderStatus) UnmarshalGQL(v any) error {
	str, err := parseEnum("PurchaseOrderStatus", v)
	*s = PurchaseOrderStatus(str)
	return err
}

func (t ProductType) MarshalGQL(w io.Writer) { writeEnum(w, string(t)) }
func (t *ProductType) UnmarshalGQL(v any) error {
	s, err := parseEnum("ProductType", v)
	*t = ProductType(s)
	return err
}

// Valid reports whether k is one of the four kinds.
func (k OrganizationKind) Valid() bool {
	_, err := parseEnum("OrganizationKind", string(k))
	return err == nil
}

// Valid reports whether r is one of the five roles.
func (r Role) Valid() bool {
	_, err := parseEnum("Role", string(r))
	return err == nil
}

// Tier orders kinds from the top of the channel down; an edge always runs
// from a lower tier number to a higher one.
func (k OrganizationKind) Tier() int {
	switch k {
	case KindVendor:
		return 0
	case KindDistributor:
		return 1
	case KindReseller:
		return 2
	default:
		return 3
	}
}

// AllowedEdge reports whether an edge from an upstream of kind up to a
// downstream of kind down is one of the pairs SPEC §2.1 allows.
func AllowedEdge(up, down OrganizationKind) bool {
	switch up {
	case KindVendor:
		return down == KindDistributor || down == KindReseller || down == KindCustomer
	case KindDistributor:
		return down == KindReseller || down == KindCustomer
	case KindReseller:
		return down == KindCustomer
	}
	return false
}

// Segment is a customer's segment, which with its industry decides what it
// may buy (SPEC §4.1, §8.2).
type Segment string

const (
	SegmentCommercial Segment = "COMMERCIAL"
	SegmentEducation  Segment = "EDUCATION"
	SegmentGovernment Segment = "GOVERNMENT"
	SegmentNonprofit  Segment = "NONPROFIT"
)

// Segments lists every segment, in the schema's order.
var Segments = []Segment{SegmentCommercial, SegmentEducation, SegmentGovernment, SegmentNonprofit}

// Term is a subscription's commitment (SPEC §8.2).
type Term string

const (
	TermMonth Term = "P1M"
	TermYear  Term = "P1Y"
)

// BillingCycle is how often a customer is billed (SPEC §8.2).
type BillingCycle string

const (
	BillMonthly BillingCycle = "MONTHLY"
	BillAnnual  BillingCycle = "ANNUAL"
)

// CartStatus is where a cart stands (SPEC §8.4).
type CartStatus string

const (
	CartOpen   CartStatus = "OPEN"
	CartSaved  CartStatus = "SAVED"
	CartQuoted CartStatus = "QUOTED"
	CartPlaced CartStatus = "PLACED"
)

// QuoteStatus is where a quote stands (SPEC §8.4).
type QuoteStatus string

const (
	QuoteSent     QuoteStatus = "SENT"
	QuoteAccepted QuoteStatus = "ACCEPTED"
	QuoteDeclined QuoteStatus = "DECLINED"
	QuoteExpired  QuoteStatus = "EXPIRED"
)

func (s Segment) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }
func (s *Segment) UnmarshalGQL(v any) error {
	str, err := parseEnum("Segment", v)
	*s = Segment(str)
	return err
}
func (t Term) MarshalGQL(w io.Writer) { writeEnum(w, string(t)) }
func (t *Term) UnmarshalGQL(v any) error {
	str, err := parseEnum("Term", v)
	*t = Term(str)
	return err
}
func (c BillingCycle) MarshalGQL(w io.Writer) { writeEnum(w, string(c)) }
func (c *BillingCycle) UnmarshalGQL(v any) error {
	str, err := parseEnum("BillingCycle", v)
	*c = BillingCycle(str)
	return err
}
func (s CartStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }
func (s *CartStatus) UnmarshalGQL(v any) error {
	str, err := parseEnum("CartStatus", v)
	*s = CartStatus(str)
	return err
}
func (s QuoteStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }
func (s *QuoteStatus) UnmarshalGQL(v any) error {
	str, err := parseEnum("QuoteStatus", v)
	*s = QuoteStatus(str)
	return err
}
