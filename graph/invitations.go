package graph

import (
	"context"

	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// invitation presents a code with its link and organizations. Trusted:
// only the partner itself reads its code, and a combined code's
// distributor sells to it by an ACTIVE edge, so it sees both.
func (r *Resolver) invitation(ctx context.Context, code *domain.InvitationCode) (*model.Invitation, error) {
	org, err := trustedOrganization(ctx, code.OrganizationID)
	if err != nil {
		return nil, err
	}
	provider, err := optionalTrustedOrganization(ctx, code.IndirectProviderID)
	if err != nil {
		return nil, err
	}
	return &model.Invitation{URL: r.Invitations.URL(code.Code), Code: code.Code, Organization: org,
		IndirectProvider: provider, CreatedAt: code.CreatedAt}, nil
}
