package graph

import (
	"context"

	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// webhookEndpointPayload runs a change on the endpoint gid names.
func webhookEndpointPayload(ctx context.Context, gid string, change func(context.Context, int64) (*domain.WebhookEndpoint, error)) (*model.WebhookEndpointPayload, error) {
	id, err := relay.ParseID("id", relay.TypeWebhookEndpoint, gid)
	payload := &model.WebhookEndpointPayload{}
	if err == nil {
		payload.WebhookEndpoint, err = change(ctx, id)
	}
	payload.UserErrors, err = payloadErrors(err)
	return payload, err
}

// nonEmpty is nil for "", for fields that are null when there is nothing to say.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// webhookComplexity weighs the webhook lists by their page size.
func webhookComplexity(c *ComplexityRoot) {
	c.Organization.WebhookEndpoints = func(child int, first *int, _ *string, last *int, _ *string) int {
		return 1 + child*pageSize(first, last)
	}
	c.WebhookEndpoint.Deliveries = func(child int, first *int, _ *string, last *int, _ *string) int {
		return 1 + child*pageSize(first, last)
	}
}
