package policy_test

import (
	"testing"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// TestDelegatedAdminActions: SPEC §6.2, §8.6 — who requests, approves and
// removes a delegated admin privilege.
func TestDelegatedAdminActions(t *testing.T) {
	const partner, customer, other = 1, 2, 3
	d := &domain.DelegatedAdmin{PartnerID: partner, CustomerID: customer}
	for _, kind := range []domain.OrganizationKind{domain.KindVendor, domain.KindDistributor, domain.KindReseller, domain.KindCustomer} {
		for _, r := range roles {
			want := (kind == domain.KindDistributor || kind == domain.KindReseller) && (r == domain.RoleOwner || r == domain.RoleAdminAgent)
			if err := policy.MayRequestDelegatedAdmin(member(partner, kind, r)); (err == nil) != want || (err != nil && domain.ErrorCode(err) != domain.CodeForbidden) {
				t.Errorf("a %s's %s requests: %v, want allowed %v", kind, r, err, want)
			}
		}
	}
	if policy.MayRequestDelegatedAdmin(admin) == nil {
		t.Error("the platform administrator, no partner, requests")
	}
	for _, org := range []int64{partner, customer, other} {
		for _, r := range roles {
			approve := org == customer && r == domain.RoleOwner
			remove := org != other && (r == domain.RoleOwner || r == domain.RoleAdminAgent)
			if err := policy.MayApproveDelegatedAdmin(member(org, "", r), d); (err == nil) != approve {
				t.Errorf("org %d's %s approves: %v, want allowed %v", org, r, err, approve)
			}
			if err := policy.MayRemoveDelegatedAdmin(member(org, "", r), d); (err == nil) != remove {
				t.Errorf("org %d's %s removes: %v, want allowed %v", org, r, err, remove)
			}
		}
	}
}

// TestMayOrderAddOn: SPEC §6.2 — a delegated admin that is not the
// partner of record of the parent's subscription orders no add-on for it.
func TestMayOrderAddOn(t *testing.T) {
	const seller, por = 1, 2
	for _, c := range []struct {
		delegated bool
		pors      []int64
		refused   bool
	}{
		{false, []int64{por}, false},        // no privilege: the ordinary channel's business
		{true, nil, false},                  // no subscription to the parent: bought with it
		{true, []int64{por}, true},          // another partner's subscription
		{true, []int64{por, seller}, false}, // the seller is a partner of record too
	} {
		err := policy.MayOrderAddOn(seller, c.delegated, c.pors)
		if got := err != nil; got != c.refused || (err != nil && domain.ErrorCode(err) != domain.CodeNotPartnerOfRecord) {
			t.Errorf("%+v: %v, want refused %v", c, err, c.refused)
		}
	}
}
