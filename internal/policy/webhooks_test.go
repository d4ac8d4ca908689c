package policy_test

import (
	"testing"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// TestWebhooks (SPEC §8.9): an organization's OWNER or ADMIN_AGENT, or the
// platform administrator, manages its webhook endpoints; nobody manages
// another organization's.
func TestWebhooks(t *testing.T) {
	for _, r := range roles {
		manager := r == domain.RoleOwner || r == domain.RoleAdminAgent
		check(t, "webhooks of its own organization by "+string(r), policy.MayManageWebhooks(member(1, domain.KindCustomer, r), 1), manager)
		check(t, "webhooks of another by "+string(r), policy.MayManageWebhooks(member(1, domain.KindVendor, r), 2), false)
	}
	check(t, "webhooks by admin", policy.MayManageWebhooks(admin, 2), true)
}
