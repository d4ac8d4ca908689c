package policy_test

import (
	"errors"
	"testing"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// TestSubscriptionChanges: SPEC §1.2, §6.2, §8.5, seed 003 — which party
// and role may change which field of a subscription, each refusal on its
// field; a partner with delegated admin privileges (delegated) only the
// nickname and license assignment.
func TestSubscriptionChanges(t *testing.T) {
	const vendor, dist, reseller, customer, other = 1, 2, 3, 4, 5
	d := int64(dist)
	sub := &domain.ProductSubscription{VendorID: vendor, DistributorID: &d, ResellerID: new(int64), CustomerID: customer, PartnerOfRecordID: reseller}
	*sub.ResellerID = reseller
	fields := []string{policy.SubNickname, policy.SubQuantity, policy.SubQuantityChange, policy.SubAssignedLicenses,
		policy.SubAutoRenew, policy.SubBillingCycle, policy.SubStatus, policy.SubConvertTrial}
	for _, c := range []struct{ saas, delegated bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		saas := c.saas
		for _, org := range []int64{vendor, dist, reseller, customer, other} {
			for _, r := range roles {
				for _, f := range fields {
					var want domain.Code
					provisioning := f == policy.SubNickname || f == policy.SubAssignedLicenses
					switch {
					case org == vendor && !(c.delegated && provisioning),
						org == other && !(c.delegated && provisioning),
						org == customer && !provisioning:
						want = domain.CodeNotPartnerOfRecord
					case !buyer(r):
						want = domain.CodeRoleNotAllowed
					case r == domain.RoleSalesAgent && saas && (f == policy.SubQuantity || f == policy.SubQuantityChange || f == policy.SubStatus || f == policy.SubBillingCycle):
						want = domain.CodeRoleNotAllowed
					}
					err := policy.MayChangeSubscription(member(org, "", r), sub, saas, c.delegated, []string{f})
					var e *domain.Error
					switch {
					case want == "" && err != nil:
						t.Errorf("org %d %s changes %s (%+v): refused %v", org, r, f, c, err)
					case want != "" && (!errors.As(err, &e) || e.Code != want || e.Field != f):
						t.Errorf("org %d %s changes %s (%+v): %v, want %s on %s", org, r, f, c, err, want, f)
					}
				}
			}
		}
	}
	if err := policy.MayChangeSubscription(admin, sub, true, false, fields); err != nil {
		t.Errorf("the platform administrator is refused: %v", err)
	}
	// A direct sale: the vendor is the partner of record.
	direct := &domain.ProductSubscription{VendorID: vendor, CustomerID: customer, PartnerOfRecordID: vendor}
	if err := policy.MayChangeSubscription(member(vendor, domain.KindVendor, domain.RoleOwner), direct, false, false, fields); err != nil {
		t.Errorf("the vendor of a direct sale is refused: %v", err)
	}
	for org, sees := range map[int64]bool{vendor: false, dist: false, reseller: true, customer: true, other: false} {
		if got := policy.SeesActivationCode(member(org, "", domain.RoleViewer), sub); got != sees {
			t.Errorf("org %d sees the activation code: %v, want %v", org, got, sees)
		}
	}
	if !policy.SeesActivationCode(admin, sub) {
		t.Errorf("the platform administrator does not see the activation code")
	}
}
