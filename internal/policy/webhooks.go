package policy

import "github.com/channelgraph/channelgraph/internal/domain"

// MayManageWebhooks (SPEC §8.9): an organization's OWNER or ADMIN_AGENT
// registers, changes, rotates, pauses, resumes, replays and deletes its
// webhook endpoints (and the platform administrator). Who may SEE an
// endpoint is visibility's (RestrictWebhookEndpoints).
func MayManageWebhooks(v *domain.Viewer, orgID int64) error {
	if actsFor(v, orgID, Managers) {
		return nil
	}
	return forbidden("managing webhook endpoints needs the organization's %s role", roleNames(Managers))
}
