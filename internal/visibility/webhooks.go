package visibility

import (
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Webhook endpoints (SPEC §8.9) are seen by their organization's OWNER and
// ADMIN_AGENT members, who manage them, and by the platform administrator;
// by no one else, not even the organization's other members: an endpoint's
// URL and operation describe a partner's integration. Deliveries are seen
// with their endpoint.

// webhookManagers are the roles that see an organization's endpoints.
var webhookManagers = []domain.Role{domain.RoleOwner, domain.RoleAdminAgent}

// RestrictWebhookEndpoints keeps the endpoints (table alias in alias) the
// viewer may see.
func RestrictWebhookEndpoints(q *bun.SelectQuery, viewer *domain.Viewer, alias string) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	for _, r := range webhookManagers {
		if viewer.Role == r {
			return q.Where("?.organization_id = ?", bun.Safe(alias), viewer.OrganizationID)
		}
	}
	return q.Where("FALSE")
}
