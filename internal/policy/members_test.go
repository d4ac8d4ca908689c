package policy_test

import (
	"testing"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// TestMembers (SPEC §1.2, §8.1): only an organization's OWNER, or the
// platform administrator, manages its members.
func TestMembers(t *testing.T) {
	for _, r := range roles {
		check(t, "members of its own organization by "+string(r), policy.MayManageMembers(member(1, domain.KindReseller, r), 1), r == domain.RoleOwner)
		check(t, "members of another by "+string(r), policy.MayManageMembers(member(1, domain.KindReseller, r), 2), false)
	}
	check(t, "members by admin", policy.MayManageMembers(admin, 2), true)
}
