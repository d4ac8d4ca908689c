package visibility

import "github.com/channelgraph/channelgraph/internal/domain"

// SeesInvitationOf reports whether the viewer may see organization org's
// invitation at all (SPEC §6.1): only the organization itself, and the
// platform administrator. Which of its members may read it is policy's
// (MayManageInvitation).
func SeesInvitationOf(viewer *domain.Viewer, org int64) bool {
	return viewer.IsPlatformAdmin || viewer.OrganizationID == org
}
