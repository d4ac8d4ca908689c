// Package policy is the one home of "who may do what" (SPEC §1.2, §2, §3.1,
// §4, §5): every decision whether a viewer may take an action is a named
// function here, given the viewer and the facts of the object it acts on.
// Services load those facts, ask, and act; none decides FORBIDDEN itself.
//
// Who may SEE what is package visibility's: a policy is asked only about
// objects the viewer may already see, so a refusal here never reveals one.
//
// Each function returns nil when the action is allowed, or a FORBIDDEN
// *domain.Error that says what would be allowed.
package policy

import (
	"fmt"
	"strings"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Roles of SPEC §1.2, as the sets actions need.
var (
	// Managers manage customers, relationships, orders and tenants.
	Managers = []domain.Role{domain.RoleOwner, domain.RoleAdminAgent}
	// Buyers record orders: managers and sales agents.
	Buyers = []domain.Role{domain.RoleOwner, domain.RoleAdminAgent, domain.RoleSalesAgent}
	// Owners manage members, tokens and settings.
	Owners = []domain.Role{domain.RoleOwner}
)

func forbidden(format string, args ...any) error {
	return domain.Errorf(domain.CodeForbidden, format, args...)
}

func roleNames(roles []domain.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	switch len(names) {
	case 1:
		return names[0]
	case 2:
		return names[0] + " or " + names[1]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// hasRole reports whether the viewer holds one of roles (the platform
// administrator holds them all).
func hasRole(v *domain.Viewer, roles []domain.Role) bool {
	if v.IsPlatformAdmin {
		return true
	}
	for _, r := range roles {
		if v.Role == r {
			return true
		}
	}
	return false
}

// actsFor reports whether the viewer acts for organization org with one of
// roles (the platform administrator acts for every organization).
func actsFor(v *domain.Viewer, org int64, roles []domain.Role) bool {
	return v.IsPlatformAdmin || (v.OrganizationID == org && hasRole(v, roles))
}

// MayWithRole (SPEC §1.2) checks the viewer's role is one of roles, for an
// action whose description completes "… needs the X role".
func MayWithRole(v *domain.Viewer, action string, roles []domain.Role) error {
	if hasRole(v, roles) {
		return nil
	}
	return forbidden("%s needs the %s role", action, roleNames(roles))
}

// MayCreateOrganization (SPEC §1.2, §2.1): a platform administrator creates
// any organization; a partner's OWNER or ADMIN_AGENT creates one of a kind it
// may be upstream of, which joins its channel at once.
func MayCreateOrganization(v *domain.Viewer, kind domain.OrganizationKind) error {
	if err := MayWithRole(v, "creating organizations", Managers); err != nil {
		return err
	}
	if v.IsPlatformAdmin || domain.AllowedEdge(v.Kind, kind) {
		return nil
	}
	return &domain.Error{Code: domain.CodeForbidden, Field: "kind",
		Message: fmt.Sprintf("a %s may not create a %s", v.Kind, kind)}
}

// MayCreateChannelEdge (SPEC §2.2): the upstream side's OWNER or
// ADMIN_AGENT, or a platform administrator.
func MayCreateChannelEdge(v *domain.Viewer, upstreamID int64) error {
	if actsFor(v, upstreamID, Managers) {
		return nil
	}
	return forbidden("only the upstream organization's OWNER or ADMIN_AGENT, or a platform administrator, may create this edge")
}

// NewEdgeStatus (SPEC §2.2): an edge a platform administrator creates is
// ACTIVE at once; one the upstream side creates waits, INVITED, for the
// downstream side to accept it.
func NewEdgeStatus(v *domain.Viewer) domain.EdgeStatus {
	if v.IsPlatformAdmin {
		return domain.EdgeActive
	}
	return domain.EdgeInvited
}

// MayAcceptChannelEdge (SPEC §2.2): the downstream side's OWNER or
// ADMIN_AGENT, or a platform administrator.
func MayAcceptChannelEdge(v *domain.Viewer, e *domain.ChannelEdge) error {
	if actsFor(v, e.DownstreamID, Managers) {
		return nil
	}
	return forbidden("only the downstream organization's OWNER or ADMIN_AGENT may accept this edge")
}

// MaySetPurchaseOrderView (SPEC §2.3): only the upstream side's OWNER or
// ADMIN_AGENT, or a platform administrator, grants or withdraws view.
func MaySetPurchaseOrderView(v *domain.Viewer, e *domain.ChannelEdge) error {
	if actsFor(v, e.UpstreamID, Managers) {
		return nil
	}
	return forbidden("only the upstream organization's OWNER or ADMIN_AGENT may change purchaseOrderView")
}

// MayRemoveChannelEdge (SPEC §2.2): an OWNER or ADMIN_AGENT of either side,
// or a platform administrator.
func MayRemoveChannelEdge(v *domain.Viewer, e *domain.ChannelEdge) error {
	if actsFor(v, e.UpstreamID, Managers) || actsFor(v, e.DownstreamID, Managers) {
		return nil
	}
	return forbidden("only an OWNER or ADMIN_AGENT of either side may remove this edge")
}

// Parties are the organizations a purchase order names (zero for one it
// does not have).
type Parties struct {
	Vendor, Distributor, Reseller, Customer int64
}

// MayRecordPurchaseOrder (SPEC §3.1): an order is recorded by its vendor,
// distributor or reseller (OWNER, ADMIN_AGENT or SALES_AGENT) or by a
// platform administrator — never by its customer, who buys through quotes.
func MayRecordPurchaseOrder(v *domain.Viewer, p Parties) error {
	if err := MayWithRole(v, "recording orders", Buyers); err != nil {
		return err
	}
	if v.IsPlatformAdmin {
		return nil
	}
	switch v.OrganizationID {
	case p.Vendor, p.Distributor, p.Reseller:
		return nil
	case p.Customer:
		return forbidden("a customer does not record purchase orders; it buys through quotes")
	}
	return forbidden("only the order's vendor, distributor or reseller may record it")
}

// MayChangePurchaseOrderStatus (SPEC §1.2, §3.1): changing an order's
// status at all needs a role that records orders.
func MayChangePurchaseOrderStatus(v *domain.Viewer) error {
	return MayWithRole(v, "changing an order's status", Buyers)
}

// Transition is one status change of SPEC §3.1's lifecycle and who may make
// it.
type Transition struct {
	From, To domain.PurchaseOrderStatus
	// By names who may: "recorder", "vendor" or "recorder or vendor"; a
	// platform administrator always may.
	By string
}

// Transitions is SPEC §3.1's lifecycle: only forward moves, each by the
// party that owns it. The organization that recorded an order places or
// cancels its draft and may cancel it while it is PLACED; its vendor moves
// it through fulfilment.
var Transitions = []Transition{
	{domain.PODraft, domain.POPlaced, "recorder"},
	{domain.PODraft, domain.POCancelled, "recorder"},
	{domain.POPlaced, domain.POProcessing, "vendor"},
	{domain.POPlaced, domain.POCancelled, "recorder or vendor"},
	{domain.POPlaced, domain.POFailed, "vendor"},
	{domain.POProcessing, domain.POCompleted, "vendor"},
	{domain.POProcessing, domain.POCancelled, "vendor"},
	{domain.POProcessing, domain.POFailed, "vendor"},
}

// transition finds from → to in Transitions.
func transition(from, to domain.PurchaseOrderStatus) (Transition, bool) {
	for _, t := range Transitions {
		if t.From == from && t.To == to {
			return t, true
		}
	}
	return Transition{}, false
}

// CanMove reports whether from → to is a transition of the lifecycle at all,
// whoever asks.
func CanMove(from, to domain.PurchaseOrderStatus) bool {
	_, ok := transition(from, to)
	return ok
}

// Allowed lists the transitions out of from, as "TO (by WHO)".
func Allowed(from domain.PurchaseOrderStatus) string {
	var out []string
	for _, t := range Transitions {
		if t.From == from {
			out = append(out, fmt.Sprintf("%s (by the %s)", t.To, t.By))
		}
	}
	if len(out) == 0 {
		return "none: " + string(from) + " is final"
	}
	return strings.Join(out, ", ")
}

// MayMovePurchaseOrder (SPEC §3.1): whether the viewer may move po to next,
// given the move is a transition of the lifecycle (see CanMove). The
// recorder acts with a buying role; the vendor with a managing one.
func MayMovePurchaseOrder(v *domain.Viewer, po *domain.PurchaseOrder, next domain.PurchaseOrderStatus) error {
	if v.IsPlatformAdmin {
		return nil
	}
	t, ok := transition(po.Status, next)
	if !ok {
		return forbidden("the order is %s and cannot move to %s", po.Status, next)
	}
	recorder := po.RecordedByOrganizationID != nil && actsFor(v, *po.RecordedByOrganizationID, Buyers)
	vendor := actsFor(v, po.VendorID, Managers)
	switch t.By {
	case "recorder":
		if recorder {
			return nil
		}
	case "vendor":
		if vendor {
			return nil
		}
	default:
		if recorder || vendor {
			return nil
		}
	}
	return forbidden("your organization may not move this order from %s to %s: only the %s may", po.Status, next, t.By)
}

// MayCreateProduct (SPEC §4.1): the vendor's OWNER or ADMIN_AGENT, or a
// platform administrator, adds to its catalog.
func MayCreateProduct(v *domain.Viewer, vendorID int64) error {
	if actsFor(v, vendorID, Managers) {
		return nil
	}
	return forbidden("only the vendor's OWNER or ADMIN_AGENT may add products")
}

// MayCreateTenant (SPEC §5.1): an OWNER or ADMIN_AGENT of the customer or of
// a partner that may see it, or a platform administrator.
func MayCreateTenant(v *domain.Viewer) error {
	return MayWithRole(v, "creating tenants", Managers)
}

// MayReportTenantProvisioning (SPEC §5.1): an external fulfilment system
// reports steps with a vendor's OWNER or ADMIN_AGENT token, or a platform
// administrator does.
func MayReportTenantProvisioning(v *domain.Viewer) error {
	if v.IsPlatformAdmin || (v.Kind == domain.KindVendor && hasRole(v, Managers)) {
		return nil
	}
	return forbidden("provisioning is reported by a vendor's OWNER or ADMIN_AGENT")
}

// MayManageAPITokens (SPEC §1.2, §1.3): an organization's OWNER creates and
// revokes its API tokens; a platform administrator those of any.
func MayManageAPITokens(v *domain.Viewer, orgID int64) error {
	if actsFor(v, orgID, Owners) {
		return nil
	}
	return forbidden("only the organization's OWNER may create or revoke API tokens")
}

// MayAdvanceTestClock (SPEC §8.5): only a platform administrator, and only
// on a deployment started with the test clock on.
func MayAdvanceTestClock(v *domain.Viewer, testClockOn bool) error {
	switch {
	case !testClockOn:
		return forbidden("the test clock is off: start the server with CHANNELGRAPH_TEST_CLOCK=1 to move it")
	case !v.IsPlatformAdmin:
		return forbidden("only a platform administrator may move the test clock")
	}
	return nil
}
