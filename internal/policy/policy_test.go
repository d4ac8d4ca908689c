package policy_test

import (
	"testing"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

var (
	admin = &domain.Viewer{IsPlatformAdmin: true}
	roles = []domain.Role{domain.RoleOwner, domain.RoleAdminAgent, domain.RoleSalesAgent, domain.RoleBillingAdmin, domain.RoleViewer}
)

func member(org int64, kind domain.OrganizationKind, role domain.Role) *domain.Viewer {
	return &domain.Viewer{OrganizationID: org, Kind: kind, Role: role}
}

// check fails unless err is nil when allowed, and FORBIDDEN otherwise.
func check(t *testing.T, what string, err error, allowed bool) {
	t.Helper()
	switch {
	case allowed && err != nil:
		t.Errorf("%s: refused (%v), want allowed", what, err)
	case !allowed && domain.ErrorCode(err) != domain.CodeForbidden:
		t.Errorf("%s: got %v, want FORBIDDEN", what, err)
	}
}

func manager(r domain.Role) bool { return r == domain.RoleOwner || r == domain.RoleAdminAgent }
func buyer(r domain.Role) bool   { return manager(r) || r == domain.RoleSalesAgent }

// TestChannelEdges: SPEC §2.2 and §2.3 — which side may create, accept,
// grant view on and remove an edge, by role.
func TestChannelEdges(t *testing.T) {
	const up, down, other = 1, 2, 3
	e := &domain.ChannelEdge{UpstreamID: up, DownstreamID: down}
	for _, r := range roles {
		for _, org := range []int64{up, down, other} {
			v := member(org, domain.KindReseller, r)
			name := string(r) + " of " + map[int64]string{up: "upstream", down: "downstream", other: "a third party"}[org]
			check(t, "create as "+name, policy.MayCreateChannelEdge(v, up), org == up && manager(r))
			check(t, "accept as "+name, policy.MayAcceptChannelEdge(v, e), org == down && manager(r))
			check(t, "set view as "+name, policy.MaySetPurchaseOrderView(v, e), org == up && manager(r))
			check(t, "remove as "+name, policy.MayRemoveChannelEdge(v, e), org != other && manager(r))
		}
	}
	check(t, "admin creates", policy.MayCreateChannelEdge(admin, up), true)
	check(t, "admin accepts", policy.MayAcceptChannelEdge(admin, e), true)
	check(t, "admin sets view", policy.MaySetPurchaseOrderView(admin, e), true)
	check(t, "admin removes", policy.MayRemoveChannelEdge(admin, e), true)
	if policy.NewEdgeStatus(admin) != domain.EdgeActive || policy.NewEdgeStatus(member(up, domain.KindVendor, domain.RoleOwner)) != domain.EdgeInvited {
		t.Error("an administrator's edge starts ACTIVE, a partner's INVITED")
	}
}

// TestCreateOrganization: SPEC §1.2, §2.1 — a manager creates only a kind
// its own kind may be upstream of.
func TestCreateOrganization(t *testing.T) {
	kinds := []domain.OrganizationKind{domain.KindVendor, domain.KindDistributor, domain.KindReseller, domain.KindCustomer}
	for _, own := range kinds {
		for _, kind := range kinds {
			for _, r := range roles {
				v := member(1, own, r)
				check(t, string(r)+" of a "+string(own)+" creates a "+string(kind),
					policy.MayCreateOrganization(v, kind), manager(r) && domain.AllowedEdge(own, kind))
			}
		}
		check(t, "admin creates a "+string(own), policy.MayCreateOrganization(admin, own), true)
	}
}

// TestRecordPurchaseOrder: SPEC §3.1 — its vendor, distributor or reseller
// records an order with a buying role; its customer and outsiders never.
func TestRecordPurchaseOrder(t *testing.T) {
	p := policy.Parties{Vendor: 1, Distributor: 2, Reseller: 3, Customer: 4}
	for _, r := range roles {
		for org, party := range map[int64]bool{1: true, 2: true, 3: true, 4: false, 5: false} {
			check(t, "recording as "+string(r), policy.MayRecordPurchaseOrder(member(org, domain.KindReseller, r), p), party && buyer(r))
		}
	}
	direct := policy.Parties{Vendor: 1, Customer: 4}
	check(t, "a reseller not on a direct sale", policy.MayRecordPurchaseOrder(member(3, domain.KindReseller, domain.RoleOwner), direct), false)
	check(t, "admin records", policy.MayRecordPurchaseOrder(admin, p), true)
}

// TestMovePurchaseOrder: SPEC §3.1's lifecycle — every transition, every
// party, every role.
func TestMovePurchaseOrder(t *testing.T) {
	const vendor, recorder, customer = 1, 2, 3
	statuses := []domain.PurchaseOrderStatus{domain.PODraft, domain.POPlaced, domain.POProcessing, domain.POCompleted, domain.POCancelled, domain.POFailed}
	// The lifecycle as SPEC §3.1 states it, written out independently of
	// the package's table: from → to → who.
	want := map[[2]domain.PurchaseOrderStatus]string{
		{domain.PODraft, domain.POPlaced}:         "recorder",
		{domain.PODraft, domain.POCancelled}:      "recorder",
		{domain.POPlaced, domain.POProcessing}:    "vendor",
		{domain.POPlaced, domain.POCancelled}:     "both",
		{domain.POPlaced, domain.POFailed}:        "vendor",
		{domain.POProcessing, domain.POCompleted}: "vendor",
		{domain.POProcessing, domain.POCancelled}: "vendor",
		{domain.POProcessing, domain.POFailed}:    "vendor",
	}
	rec := int64(recorder)
	for _, from := range statuses {
		for _, to := range statuses {
			who, exists := want[[2]domain.PurchaseOrderStatus{from, to}]
			if policy.CanMove(from, to) != exists {
				t.Errorf("CanMove(%s, %s) = %v", from, to, !exists)
			}
			if !exists {
				continue
			}
			po := &domain.PurchaseOrder{Status: from, VendorID: vendor, CustomerID: customer, RecordedByOrganizationID: &rec}
			for _, r := range roles {
				asVendor := policy.MayMovePurchaseOrder(member(vendor, domain.KindVendor, r), po, to)
				asRecorder := policy.MayMovePurchaseOrder(member(recorder, domain.KindReseller, r), po, to)
				asCustomer := policy.MayMovePurchaseOrder(member(customer, domain.KindCustomer, r), po, to)
				what := string(from) + "→" + string(to) + " as " + string(r)
				check(t, what+" of the vendor", asVendor, (who == "vendor" || who == "both") && manager(r))
				check(t, what+" of the recorder", asRecorder, (who == "recorder" || who == "both") && buyer(r))
				check(t, what+" of the customer", asCustomer, false)
			}
			check(t, string(from)+"→"+string(to)+" as admin", policy.MayMovePurchaseOrder(admin, po, to), true)
		}
	}
	if got := policy.Allowed(domain.POPlaced); got != "PROCESSING (by the vendor), CANCELLED (by the recorder or vendor), FAILED (by the vendor)" {
		t.Errorf("Allowed(PLACED) = %q", got)
	}
	if got := policy.Allowed(domain.POCompleted); got != "none: COMPLETED is final" {
		t.Errorf("Allowed(COMPLETED) = %q", got)
	}
}

// TestVendorActions: SPEC §4.1 and §5.1 — products by the vendor's
// managers, provisioning reports by any vendor's managers, tenants by
// managers.
func TestVendorActions(t *testing.T) {
	for _, r := range roles {
		for _, kind := range []domain.OrganizationKind{domain.KindVendor, domain.KindReseller} {
			v := member(1, kind, r)
			check(t, "product by "+string(r)+" of its vendor", policy.MayCreateProduct(v, 1), manager(r))
			check(t, "product by "+string(r)+" of another", policy.MayCreateProduct(v, 2), false)
			check(t, "provisioning report by "+string(r)+" of a "+string(kind), policy.MayReportTenantProvisioning(v), manager(r) && kind == domain.KindVendor)
			check(t, "tenant by "+string(r), policy.MayCreateTenant(v), manager(r))
		}
	}
	check(t, "admin reports provisioning", policy.MayReportTenantProvisioning(admin), true)
}

// TestTokensAndClock: SPEC §1.3 and §8.5.
func TestTokensAndClock(t *testing.T) {
	for _, r := range roles {
		check(t, "tokens of its own organization by "+string(r), policy.MayManageAPITokens(member(1, domain.KindVendor, r), 1), r == domain.RoleOwner)
		check(t, "tokens of another by "+string(r), policy.MayManageAPITokens(member(1, domain.KindVendor, r), 2), false)
		check(t, "test clock by "+string(r), policy.MayAdvanceTestClock(member(1, domain.KindVendor, r), true), false)
	}
	check(t, "test clock by admin", policy.MayAdvanceTestClock(admin, true), true)
	check(t, "test clock off", policy.MayAdvanceTestClock(admin, false), false)
}
