package loaders

import (
	"context"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// EdgeList names one list of an organization's channel edges as a field
// asks for it: its filter, its page size (first, or last when Backward) and
// the cursors it lies between ("" for none). The organization's id
// completes a loader key.
type EdgeList struct {
	Filter   channel.EdgeFilter
	First    int
	Backward bool
	After    string
	Before   string
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
	args := relay.Args{First: &list.First, After: orNil(list.After), Before: orNil(list.Before)}
	if list.Backward {
		args.First, args.Last = nil, &list.First
	}
	page, err := args.Page()
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

// perArgs makes a batch function for keys that pair an organization with
// the arguments of its field: one load per distinct set of arguments among
// the keys, for every organization that asks with it, whatever their number.
func perArgs[K, A comparable, V any](split func(K) (int64, A), load func(context.Context, A, []int64) (map[int64]V, error)) dataloader.BatchFunc[K, V] {
	return func(ctx context.Context, keys []K) []*dataloader.Result[V] {
		orgs := map[A][]int64{}
		for _, k := range keys {
			org, args := split(k)
			orgs[args] = append(orgs[args], org)
		}
		type loaded struct {
			values map[int64]V
			err    error
		}
		got := make(map[A]loaded, len(orgs))
		for args, ids := range orgs {
			values, err := load(ctx, args, ids)
			got[args] = loaded{values, err}
		}
		out := make([]*dataloader.Result[V], len(keys))
		for i, k := range keys {
			org, args := split(k)
			out[i] = &dataloader.Result[V]{Data: got[args].values[org], Error: got[args].err}
		}
		return out
	}
}

func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
