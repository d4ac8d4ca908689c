package visibility

import (
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// RestrictToPublisher keeps the subscriptions (their vendor in
// vendorColumn) whose activation code the viewer may use (SPEC §6.4): its
// own products' as their publisher, every one for the platform
// administrator. Another vendor's code is then simply unknown, so a refusal
// never tells a vendor that a code exists elsewhere.
func RestrictToPublisher(q *bun.SelectQuery, viewer *domain.Viewer, vendorColumn string) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	return q.Where("? = ?", bun.Safe(vendorColumn), viewer.OrganizationID)
}
