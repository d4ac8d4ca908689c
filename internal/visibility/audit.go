package visibility

import (
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Audit trail (SPEC §8.6): an entry is read by the organizations it
// involves (its first and second party) and the platform administrator;
// an organization's log is read by that organization alone (and the
// platform administrator) — never by a third organization, even one that
// sees both parties, such as the vendor above a reseller and its customer.

// RestrictAuditEntries keeps the audit entries (aliased ae) the viewer may
// read: those naming its organization as a party.
func RestrictAuditEntries(q *bun.SelectQuery, viewer *domain.Viewer) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	return q.Where("(ae.first_party_id = ? OR ae.second_party_id = ?)", viewer.OrganizationID, viewer.OrganizationID)
}

// RestrictAuditLog keeps the entries of organization orgID's log the viewer
// may read: every entry involving orgID when orgID is the viewer's own
// organization (any for the platform administrator), none otherwise.
func RestrictAuditLog(q *bun.SelectQuery, viewer *domain.Viewer, orgID int64) *bun.SelectQuery {
	q = q.Where("(ae.first_party_id = ? OR ae.second_party_id = ?)", orgID, orgID)
	if !viewer.IsPlatformAdmin && viewer.OrganizationID != orgID {
		return q.Where("1 = 0")
	}
	return RestrictAuditEntries(q, viewer)
}
