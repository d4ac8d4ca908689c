package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// visibleEndpoints starts a query over the endpoints the viewer may see.
func visibleEndpoints(db bun.IDB, viewer *domain.Viewer, model any) *bun.SelectQuery {
	return visibility.RestrictWebhookEndpoints(db.NewSelect().Model(model), viewer, "we")
}

// visibleDeliveries starts a query over the deliveries the viewer may see:
// those of the endpoints it may see.
func visibleDeliveries(db bun.IDB, viewer *domain.Viewer, model any) *bun.SelectQuery {
	endpoints := visibility.RestrictWebhookEndpoints(db.NewSelect().TableExpr("webhook_endpoints AS we").Column("we.id"), viewer, "we")
	return db.NewSelect().Model(model).Where("wd.endpoint_id IN (?)", endpoints)
}

// EndpointsByID loads those of ids the viewer may see.
func (s *Service) EndpointsByID(ctx context.Context, ids []int64) (map[int64]*domain.WebhookEndpoint, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var found []*domain.WebhookEndpoint
	if len(ids) > 0 {
		if err := visibleEndpoints(database.Conn(ctx, s.db), viewer, &found).Where("we.id IN (?)", database.IDs(ids)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("webhooks: reading endpoints: %w", err)
		}
	}
	out := make(map[int64]*domain.WebhookEndpoint, len(found))
	for _, e := range found {
		out[e.ID] = e
	}
	return out, nil
}

var listKeyset = relay.Keyset{List: "webhookEndpoints", Columns: []string{"we.created_at", "we.id"}, Desc: true}

// List pages an organization's endpoints the viewer may see, newest first.
func (s *Service) List(ctx context.Context, orgID int64, page relay.Page) (*relay.Connection[*domain.WebhookEndpoint], error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	db := database.Conn(ctx, s.db)
	ofOrg := func(model any) *bun.SelectQuery {
		return visibleEndpoints(db, viewer, model).Where("we.organization_id = ?", orgID)
	}
	var found []*domain.WebhookEndpoint
	q, err := page.Seek(ofOrg(&found), listKeyset, func() []any { return []any{new(time.Time), new(int64)} })
	if err != nil {
		return nil, err
	}
	if err := q.OrderExpr(page.OrderBy(listKeyset)).Limit(page.Limit()).Scan(ctx); err != nil {
		return nil, fmt.Errorf("webhooks: listing endpoints: %w", err)
	}
	cursor := func(e *domain.WebhookEndpoint) string { return relay.Cursor(listKeyset.List, e.CreatedAt, e.ID) }
	return relay.NewConnection(page, found, cursor, func(ctx context.Context) (int, error) {
		n, err := ofOrg((*domain.WebhookEndpoint)(nil)).Count(ctx)
		return int(n), err
	}), nil
}

var deliveriesKeyset = relay.Keyset{List: "webhookDeliveries", Columns: []string{"wd.id"}, Desc: true}

// Deliveries pages an endpoint's deliveries, newest first (the endpoint
// was read as the viewer).
func (s *Service) Deliveries(ctx context.Context, endpoint *domain.WebhookEndpoint, page relay.Page) (*relay.Connection[*domain.WebhookDelivery], error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	db := database.Conn(ctx, s.db)
	ofEndpoint := func(model any) *bun.SelectQuery {
		return visibleDeliveries(db, viewer, model).Where("wd.endpoint_id = ?", endpoint.ID)
	}
	var found []*domain.WebhookDelivery
	q, err := page.Seek(ofEndpoint(&found), deliveriesKeyset, func() []any { return []any{new(int64)} })
	if err != nil {
		return nil, err
	}
	if err := q.OrderExpr(page.OrderBy(deliveriesKeyset)).Limit(page.Limit()).Scan(ctx); err != nil {
		return nil, fmt.Errorf("webhooks: listing deliveries: %w", err)
	}
	cursor := func(d *domain.WebhookDelivery) string { return relay.Cursor(deliveriesKeyset.List, d.ID) }
	return relay.NewConnection(page, found, cursor, func(ctx context.Context) (int, error) {
		n, err := ofEndpoint((*domain.WebhookDelivery)(nil)).Count(ctx)
		return int(n), err
	}), nil
}

// DeliveriesByID loads those of ids the viewer may see.
func (s *Service) DeliveriesByID(ctx context.Context, ids []int64) (map[int64]*domain.WebhookDelivery, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var found []*domain.WebhookDelivery
	if len(ids) > 0 {
		if err := visibleDeliveries(database.Conn(ctx, s.db), viewer, &found).Where("wd.id IN (?)", database.IDs(ids)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("webhooks: reading deliveries: %w", err)
		}
	}
	out := make(map[int64]*domain.WebhookDelivery, len(found))
	for _, d := range found {
		out[d.ID] = d
	}
	return out, nil
}
