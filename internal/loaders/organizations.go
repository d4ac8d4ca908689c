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

// OrgNeeds says what an operation selects below a list of organizations,
// so PrimeOrganizations loads only that.
type OrgNeeds struct {
	Tenants bool
	Edges   []EdgeNeeds
}

// EdgeNeeds is one channelEdges field below a list of organizations: its
// list, whether it asks for totalCount, and what it selects below each end
// of its edges (nil for an end it does not select).
type EdgeNeeds struct {
	List                            EdgeList
	Count                           bool
	Upstream, Downstream, RemovedBy *OrgNeeds
}

// PrimeOrganizations loads what a list of organizations will ask of the
// loaders — their tenants, their pages of channel edges with their counts,
// the organizations at the ends of those edges and, recursively, what is
// selected below those — one statement per relation and list for all the
// organizations at once, so the list costs the same statements at any size
// whatever the goroutine scheduling of gqlgen's list resolution (which can
// otherwise split a list across several batching windows). A load that
// fails primes nothing below it: those fields then load through the loaders
// and report the error where it belongs.
func (l *Loaders) PrimeOrganizations(ctx context.Context, orgIDs []int64, need OrgNeeds) {
	if len(orgIDs) == 0 {
		return
	}
	orgIDs = unique(orgIDs)
	if need.Tenants {
		if tenants, err := l.ten.OfCustomers(ctx, orgIDs); err == nil {
			for _, id := range orgIDs {
				l.Tenants.Prime(ctx, id, nonNil(tenants[id]))
			}
		}
	}
	for _, e := range need.Edges {
		l.primeEdges(ctx, orgIDs, e)
	}
}

func (l *Loaders) primeEdges(ctx context.Context, orgIDs []int64, need EdgeNeeds) {
	pages, err := l.edgePages(ctx, need.List, orgIDs)
	if err != nil {
		return
	}
	for id, p := range pages {
		l.ChannelEdges.Prime(ctx, EdgesKey{Org: id, List: need.List}, p)
	}
	if need.Count {
		if counts, err := l.ch.ChannelEdgeCounts(ctx, orgIDs, need.List.Filter); err == nil {
			for _, id := range orgIDs {
				l.ChannelEdgeCount.Prime(ctx, EdgeCountKey{Org: id, Filter: need.List.Filter}, counts[id])
			}
		}
	}
	ends := []struct {
		need *OrgNeeds
		id   func(*domain.ChannelEdge) *int64
	}{
		{need.Upstream, func(e *domain.ChannelEdge) *int64 { return &e.UpstreamID }},
		{need.Downstream, func(e *domain.ChannelEdge) *int64 { return &e.DownstreamID }},
		{need.RemovedBy, func(e *domain.ChannelEdge) *int64 { return e.RemovedByOrganizationID }},
	}
	all := map[int64]bool{}
	endIDs := make([][]int64, len(ends))
	for i, end := range ends {
		if end.need == nil {
			continue
		}
		set := map[int64]bool{}
		for _, p := range pages {
			for _, e := range p.Nodes {
				if id := end.id(e); id != nil {
					set[*id], all[*id] = true, true
				}
			}
		}
		endIDs[i] = keys(set)
	}
	if len(all) == 0 {
		return
	}
	// Trusted: an edge is visible only when the viewer may see both its ends
	// (visibility.RestrictEdges), and removedBy is one of them.
	orgs, err := l.ch.TrustedOrganizationsByID(ctx, keys(all))
	if err != nil {
		return
	}
	for id, o := range orgs {
		l.TrustedOrganization.Prime(ctx, id, o)
	}
	for i, end := range ends {
		if end.need != nil {
			l.PrimeOrganizations(ctx, endIDs[i], *end.need)
		}
	}
}

func unique(ids []int64) []int64 {
	set := make(map[int64]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return keys(set)
}
