package visibility

import (
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Members (SPEC §8.1): an organization's OWNER and the platform
// administrator see every current member of it; any other member sees only
// itself; other organizations see none. A removed member is seen by no one
// (it stays in the table only so what it did stays attributable).

// RestrictMembers keeps the members (table alias in alias) the viewer may
// see.
func RestrictMembers(q *bun.SelectQuery, viewer *domain.Viewer, alias string) *bun.SelectQuery {
	a := bun.Safe(alias)
	switch {
	case viewer.IsPlatformAdmin:
		return q.Where("?.removed_at IS NULL", a)
	case viewer.Role == domain.RoleOwner:
		return q.Where("?.removed_at IS NULL AND (?.organization_id = ? OR ?.id = ?)",
			a, a, viewer.OrganizationID, a, viewer.MemberID)
	}
	// MemberID is 0 for an organization's own token: no member has id 0.
	return q.Where("?.removed_at IS NULL AND ?.id = ?", a, a, viewer.MemberID)
}

// MaySeeMembersOf reports whether RestrictMembers can keep any member of
// organization org for the viewer (only its own organization's, or any for
// the platform administrator), so a list of organizations does not query
// the members of each organization whose members it could never see.
func MaySeeMembersOf(viewer *domain.Viewer, org int64) bool {
	return viewer.IsPlatformAdmin || viewer.OrganizationID == org
}
