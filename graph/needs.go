package graph

import (
	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/loaders"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// edgeList is the list of channel edges a channelEdges field names by its
// arguments: the key the resolver loads.
func edgeList(direction model.EdgeDirection, kind *domain.OrganizationKind, includeRemoved *bool, first *int, after *string) (loaders.EdgeList, error) {
	page, err := relay.NewPage(first, after)
	if err != nil {
		return loaders.EdgeList{}, err
	}
	return loaders.EdgeList{
		Filter: channel.EdgeFilter{Downstream: direction == model.EdgeDirectionDownstream,
			Kind: deref(kind), IncludeRemoved: deref(includeRemoved)},
		First: page.First, After: deref(after),
	}, nil
}
