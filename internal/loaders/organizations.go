package loaders

import (
	"context"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// EdgeList names one list of an organization's channel edges as a field
// asks for it: its filter, its page size and the cursor it starts after (""
// for the first page). The organization's id completes a loader key.
type EdgeList struct {
	Filter channel.EdgeFilter
	First  int
	After  string
}

// EdgesKey is one organization's page of a list of its channel edges.
type EdgesKey struct {
	Org  int64
	List EdgeList
}

// EdgeCountKey is the length of one organization's list of channel edges.
type EdgeCountKey struct {
	Org    int64
	Filter channel.EdgeFilter
}

type edgePage = *relay.Connection[*domain.ChannelEdge]

// edgePages loads one page of the same list for each of orgIDs, in one
// statement, each page counting its list through the ChannelEdgeCount loader.
func (l *Loaders) edgePages(ctx context.Context, list EdgeList, orgIDs []int64) (map[int64]edgePage, error) {
	var after *string
	if list.After != "" {
		after = &list.After
	}
	page, err := relay.NewPage(&list.First, after)
	if err != nil {
		return nil, err
	}
	pages, err := l.ch.ChannelEdgesOf(ctx, orgIDs, list.Filter, page)
	if err != nil {
		return nil, err
	}
	for id, p := range pages {
		key := EdgeCountKey{Org: id, Filter: list.Filter}
		p.Count = func(ctx context.Context) (int, error) { return l.ChannelEdgeCount.Load(ctx, key)() }
	}
	return pages, nil
}

// loadEdgePages is the ChannelEdges batch function: one statement per
// distinct list among the keys, whatever the number of organizations.
func (l *Loaders) loadEdgePages(ctx context.Context, keys []EdgesKey) []*dataloader.Result[edgePage] {
	byList := map[EdgeList][]int64{}
	for _, k := range keys {
		byList[k.List] = append(byList[k.List], k.Org)
	}
	type loaded struct {
		pages map[int64]edgePage
		err   error
	}
	lists := make(map[EdgeList]loaded, len(byList))
	for list, ids := range byList {
		pages, err := l.edgePages(ctx, list, ids)
		lists[list] = loaded{pages, err}
	}
	out := make([]*dataloader.Result[edgePage], len(keys))
	for i, k := range keys {
		got := lists[k.List]
		out[i] = &dataloader.Result[edgePage]{Data: got.pages[k.Org], Error: got.err}
	}
	return out
}

// loadEdgeCounts is the ChannelEdgeCount batch function: one GROUP BY per
// distinct filter among the keys.
func (l *Loaders) loadEdgeCounts(ctx context.Context, keys []EdgeCountKey) []*dataloader.Result[int] {
	byFilter := map[channel.EdgeFilter][]int64{}
	for _, k := range keys {
		byFilter[k.Filter] = append(byFilter[k.Filter], k.Org)
	}
	type loaded struct {
		counts map[int64]int
		err    error
	}
	filters := make(map[channel.EdgeFilter]loaded, len(byFilter))
	for f, ids := range byFilter {
		counts, err := l.ch.ChannelEdgeCounts(ctx, ids, f)
		filters[f] = loaded{counts, err}
	}
	out := make([]*dataloader.Result[int], len(keys))
	for i, k := range keys {
		got := filters[k.Filter]
		out[i] = &dataloader.Result[int]{Data: got.counts[k.Org], Error: got.err}
	}
	return out
}
