package visibility

import (
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Partner relationships (SPEC §8.6): a customer's view of its partners —
// every channel edge into it, removed ones included, and every delegated
// admin privilege over its services — is read by the customer itself and
// the platform administrator, nobody else. It shows partners the customer
// may no longer see by SPEC §1.5 (an edge removed), because the history
// of its own relationships is the customer's.

// RestrictPartnerView keeps the rows of q (channel edges or delegated admin
// privileges) whose customer, in customerColumn, is the viewer's own
// organization (any for the platform administrator).
func RestrictPartnerView(q *bun.SelectQuery, viewer *domain.Viewer, customerColumn string) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	return q.Where("? = ?", bun.Safe(customerColumn), viewer.OrganizationID)
}
