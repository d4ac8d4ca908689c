package server

import (
	"context"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/push"
	"github.com/channelgraph/channelgraph/internal/webhooks"
)

// storedOperations runs webhook endpoints' operations on the push hub: the
// executor, limits, visibility and price rules of live subscriptions.
type storedOperations struct{ hub *push.Hub }

func (o storedOperations) Check(ctx context.Context, viewer *domain.Viewer, document string) (string, events.Type, error) {
	return o.hub.CheckStored(ctx, viewer, document)
}

func (o storedOperations) Open(ctx context.Context, viewer *domain.Viewer, document string) (webhooks.Execution, error) {
	e, err := o.hub.OpenStored(ctx, viewer, document)
	if err != nil {
		return nil, err
	}
	return e, nil
}
