package policy

import "github.com/channelgraph/channelgraph/internal/domain"

// MayManageInvitation (SPEC §6.1, §8.6): a reseller's or distributor's
// OWNER or ADMIN_AGENT reads and rotates its invitation; a platform
// administrator any partner's.
func MayManageInvitation(v *domain.Viewer, orgID int64) error {
	if actsFor(v, orgID, Managers) {
		return nil
	}
	return forbidden("only the organization's OWNER or ADMIN_AGENT may read or rotate its invitation")
}

// MayAcceptInvitation (SPEC §6.1): a customer's OWNER accepts a partner's
// invitation for the customer. Nobody else may, not even a platform
// administrator, who acts for no customer (it joins organizations with
// createChannelEdge).
func MayAcceptInvitation(v *domain.Viewer) error {
	if !v.IsPlatformAdmin && v.Kind == domain.KindCustomer && v.Role == domain.RoleOwner {
		return nil
	}
	return forbidden("only a customer's OWNER may accept an invitation")
}
