package policy_test

import (
	"testing"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// TestActivateSaaS: SPEC §6.4, §8.5 — only a vendor's OWNER or ADMIN_AGENT
// (a publisher) or the platform administrator activates SaaS subscriptions.
func TestActivateSaaS(t *testing.T) {
	for _, k := range []domain.OrganizationKind{domain.KindVendor, domain.KindDistributor, domain.KindReseller, domain.KindCustomer} {
		for _, r := range roles {
			check(t, "activate as "+string(r)+" of a "+string(k), policy.MayActivateSaaS(member(1, k, r)),
				k == domain.KindVendor && manager(r))
		}
	}
	check(t, "admin activates", policy.MayActivateSaaS(admin), true)
}
