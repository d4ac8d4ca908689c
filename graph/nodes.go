package graph

import (
	"context"

	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/loaders"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// organization loads an organization the viewer may see (SPEC §1.5), and
// NOT_FOUND for any other: the default for a field that names one.
func organization(ctx context.Context, id int64) (*domain.Organization, error) {
	return loaders.For(ctx).Organization.Load(ctx, id)()
}

// trustedOrganization loads an organization WITHOUT the visibility check,
// for a field whose object already vouches that the viewer may see it.
// Every call says why, next to it.
func trustedOrganization(ctx context.Context, id int64) (*domain.Organization, error) {
	return loaders.For(ctx).TrustedOrganization.Load(ctx, id)()
}

func optionalTrustedOrganization(ctx context.Context, id *int64) (*domain.Organization, error) {
	if id == nil {
		return nil, nil
	}
	return trustedOrganization(ctx, *id)
}

// nodes looks up global IDs, of any types, as the viewer may see them: one
// query per type named, whatever the number of ids. An id of an unknown
// type, or of an object the viewer may not see, gives null in its place.
func (r *queryResolver) nodes(ctx context.Context, gids []string) ([]model.Node, error) {
	types := make([]string, len(gids))
	ids := make([]int64, len(gids))
	byType := map[string][]int64{}
	for i, gid := range gids {
		typeName, id, err := relay.ParseGlobalID(gid)
		if err != nil {
			return nil, err
		}
		types[i], ids[i] = typeName, id
		byType[typeName] = append(byType[typeName], id)
	}
	found := map[string]map[int64]model.Node{}
	for typeName, of := range byType {
		var err error
		switch typeName {
		case relay.TypeOrganization:
			found[typeName], err = asNodes(ctx, of, r.Channel.VisibleOrganizations)
		case relay.TypeChannelEdge:
			found[typeName], err = asNodes(ctx, of, r.Channel.ChannelEdgesByID)
		case relay.TypeProduct:
			found[typeName], err = asNodes(ctx, of, r.Catalog.ProductsByID)
		case relay.TypePurchaseOrder:
			found[typeName], err = asNodes(ctx, of, r.Orders.PurchaseOrdersByID)
		case relay.TypeCart:
			found[typeName], err = asNodes(ctx, of, r.Resolver.Carts.CartsByID)
		case relay.TypeCartLine:
			found[typeName], err = asNodes(ctx, of, r.Resolver.Carts.CartLinesByID)
		case relay.TypeQuote:
			found[typeName], err = asNodes(ctx, of, r.Resolver.Carts.QuotesByID)
		case relay.TypeMember:
			found[typeName], err = asNodes(ctx, of, r.Resolver.Members.MembersByID)
		case relay.TypeProductSubscription:
			found[typeName], err = asNodes(ctx, of, r.Subscriptions.SubscriptionsByID)
		case relay.TypeAuditEntry:
			found[typeName], err = asNodes(ctx, of, r.Audit.EntriesByID)
		case relay.TypeDelegatedAdmin:
			found[typeName], err = asNodes(ctx, of, r.Delegation.DelegatedAdminsByID)
		case relay.TypeWebhookEndpoint:
			found[typeName], err = asNodes(ctx, of, r.Webhooks.EndpointsByID)
		case relay.TypeWebhookDelivery:
			found[typeName], err = asNodes(ctx, of, r.Webhooks.DeliveriesByID)
		}
		if err != nil {
			return nil, err
		}
	}
	out := make([]model.Node, len(gids))
	for i := range gids {
		if n, ok := found[types[i]][ids[i]]; ok {
			out[i] = n
		}
	}
	return out, nil
}

// asNodes runs one type's batch lookup and keeps its results as nodes.
func asNodes[V any](ctx context.Context, ids []int64, load func(context.Context, []int64) (map[int64]V, error)) (map[int64]model.Node, error) {
	found, err := load(ctx, ids)
	out := make(map[int64]model.Node, len(found))
	for id, v := range found {
		out[id] = v
	}
	return out, err
}
