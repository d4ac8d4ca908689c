package policy

import "github.com/channelgraph/channelgraph/internal/domain"

// MayManageMembers (SPEC §1.2, §8.1): an organization's OWNER invites its
// members, changes their roles and removes them; a platform administrator
// those of any organization.
func MayManageMembers(v *domain.Viewer, orgID int64) error {
	if actsFor(v, orgID, Owners) {
		return nil
	}
	return forbidden("only the organization's OWNER may invite, change or remove its members")
}
