package graph

import (
	"context"

	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// delegatedAdminPayload runs approveDelegatedAdmin or removeDelegatedAdmin
// on the privilege input names.
func delegatedAdminPayload(ctx context.Context, input model.DelegatedAdminIDInput, change func(context.Context, int64) (*domain.DelegatedAdmin, error)) (*model.DelegatedAdminPayload, error) {
	id, err := relay.ParseID("delegatedAdminId", relay.TypeDelegatedAdmin, input.DelegatedAdminID)
	payload := &model.DelegatedAdminPayload{}
	if err == nil {
		payload.DelegatedAdmin, err = change(ctx, id)
	}
	payload.UserErrors, err = payloadErrors(err)
	return payload, err
}
