package visibility_test

import (
	"fmt"
	"slices"
	"time"

	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/visibility/model"
)

const listQuery = `query($first: Int, $after: String, $last: Int, $before: String, $filter: PurchaseOrderFilter, $orderBy: PurchaseOrderOrder) {
  list: purchaseOrders(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) { ` + pageFields + ` }
}`

const orgPagesQuery = `query($first: Int, $after: String, $last: Int, $before: String) {
  list: organizations(first: $first, after: $after, last: $last, before: $before) { ` + pageFields + ` }
}`

const edgePagesQuery = `query($org: ID!, $dir: EdgeDirection!, $first: Int, $after: String, $last: Int, $before: String) {
  node(id: $org) { ... on Organization {
    list: channelEdges(direction: $dir, includeRemoved: true, first: $first, after: $after, last: $last, before: $before) { ` + pageFields + ` } } }
}`

const pageFields = `totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { id } }`

// pageOf is one page of any list, as the queries above select it.
type pageOf struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	Edges []struct{ Node struct{ ID string } }
}

// pageThrough reads a whole list of n items a page of size at a time:
// forward with first/after, or backward from the end with last/before.
// It checks each page's pageInfo and totalCount, and returns the ids in
// the list's order (a backward read's pages put back front to back).
func (g *randomChannel) pageThrough(viewer int64, what string, n, size int, backward bool, read func(vars map[string]any) pageOf) []int64 {
	var ids []int64
	var cursor *string
	for {
		if len(ids) > n {
			g.fail(viewer, what+" paging does not end", ids, n)
		}
		vars := map[string]any{"first": size, "after": cursor}
		if backward {
			vars = map[string]any{"last": size, "before": cursor}
		}
		got := read(vars)
		info := got.PageInfo
		if got.TotalCount != n {
			g.fail(viewer, what+" totalCount", got.TotalCount, n)
		}
		if len(got.Edges) > size {
			g.fail(viewer, what+" page longer than asked", len(got.Edges), size)
		}
		page := make([]int64, len(got.Edges))
		for i, e := range got.Edges {
			page[i] = rowID(g.t, e.Node.ID)
		}
		more, cursorSide := info.HasNextPage, info.HasPreviousPage
		next := info.EndCursor
		if backward {
			more, cursorSide, next = info.HasPreviousPage, info.HasNextPage, info.StartCursor
			ids = append(page, ids...)
		} else {
			ids = append(ids, page...)
		}
		if cursorSide != (cursor != nil) {
			g.fail(viewer, fmt.Sprintf("%s (backward %v) pageInfo on the cursor's side", what, backward), cursorSide, cursor != nil)
		}
		if !more {
			return ids
		}
		cursor = next
	}
}

// checkListing lists the viewer's orders (viewer 0: the platform
// administrator's) in a random order (orderBy field and direction) under a
// random date filter, whose bound is one of the orders' own times, so
// exclusive and inclusive bounds differ; it pages forward with a random
// first, then backward from the end with a random last, and compares both
// with the model's list.
func (g *randomChannel) checkListing(a *testapi.Client, viewer int64) {
	field := []string{"CREATED_AT", "UPDATED_AT", "NUMBER"}[g.rng.IntN(3)]
	asc, dir := g.rng.IntN(2) == 0, "DESC"
	if asc {
		dir = "ASC"
	}
	var f model.ListFilter
	filter := map[string]any{}
	if n := len(g.m.Orders); n > 0 {
		o := g.m.Orders[g.rng.IntN(n)]
		switch g.rng.IntN(4) {
		case 1:
			f.CreatedAfter, filter["createdAfter"] = o.CreatedAt, o.CreatedAt.Format(time.RFC3339Nano)
		case 2:
			f.CreatedBefore, filter["createdBefore"] = o.CreatedAt, o.CreatedAt.Format(time.RFC3339Nano)
		case 3:
			f.UpdatedSince, filter["updatedSince"] = o.UpdatedAt, o.UpdatedAt.Format(time.RFC3339Nano)
		}
	}
	want := g.m.List(viewer, f, field, asc)
	if _, ok := filter["createdAfter"]; viewer == 0 && !ok {
		// The administrator also sees the graphs before this one, whose
		// clocks ran hours earlier: keep this graph's orders.
		filter["createdAfter"] = g.start.Add(-time.Second).Format(time.RFC3339Nano)
	}
	what := fmt.Sprintf("purchaseOrders(orderBy: %s %s, filter: %v)", field, dir, filter)
	orderBy := map[string]any{"field": field, "direction": dir}
	read := func(vars map[string]any) pageOf {
		vars["filter"], vars["orderBy"] = filter, orderBy
		var got struct{ List pageOf }
		a.Must(g.tokens[viewer], listQuery, vars, &got)
		if after, ok := vars["after"].(*string); ok && after != nil && g.rng.IntN(4) == 0 {
			// The same cursor in the opposite direction is refused.
			other := map[string]any{"field": field, "direction": map[bool]string{true: "DESC", false: "ASC"}[asc]}
			if r := a.Do(g.tokens[viewer], listQuery, map[string]any{"after": *after, "orderBy": other}); r.Code() != "BAD_USER_INPUT" {
				g.fail(viewer, what+" took a cursor of the opposite direction", r.Errors, "BAD_USER_INPUT")
			}
		}
		return got.List
	}
	if got := g.pageThrough(viewer, what, len(want), 1+g.rng.IntN(len(want)+2), false, read); !slices.Equal(got, want) {
		g.fail(viewer, what+" paging forward", got, want)
	}
	if got := g.pageThrough(viewer, what, len(want), 1+g.rng.IntN(len(want)+2), true, read); !slices.Equal(got, want) {
		g.fail(viewer, what+" paging backward from the end", got, want)
	}
}

// checkOtherListsBothWays reads the viewer's organizations, and its own
// channel edges in a random direction, forward with a random first and
// backward with a random last: both reads give the same list, of what the
// model lets it see (edges in id order).
func (g *randomChannel) checkOtherListsBothWays(a *testapi.Client, viewer int64) {
	wantOrgs := keys(g.m.VisibleOrganizations(viewer))
	readOrgs := func(vars map[string]any) pageOf {
		var got struct{ List pageOf }
		a.Must(g.tokens[viewer], orgPagesQuery, vars, &got)
		return got.List
	}
	forward := g.pageThrough(viewer, "organizations", len(wantOrgs), 1+g.rng.IntN(len(wantOrgs)+1), false, readOrgs)
	backward := g.pageThrough(viewer, "organizations", len(wantOrgs), 1+g.rng.IntN(len(wantOrgs)+1), true, readOrgs)
	if !slices.Equal(forward, backward) {
		g.fail(viewer, "organizations read forward and backward", forward, backward)
	}
	g.sameSet(viewer, "organizations paged", forward, wantOrgs)

	downstream := g.rng.IntN(2) == 0
	dir := map[bool]string{true: "DOWNSTREAM", false: "UPSTREAM"}[downstream]
	var wantEdges []int64
	for i, e := range g.m.Edges {
		if ((downstream && e.Up == viewer) || (!downstream && e.Down == viewer)) && g.m.SeesEdge(viewer, e) {
			wantEdges = append(wantEdges, g.edgeIDs[i])
		}
	}
	slices.Sort(wantEdges)
	readEdges := func(vars map[string]any) pageOf {
		vars["org"], vars["dir"] = gidOf(relay.TypeOrganization, viewer), dir
		var got struct{ Node struct{ List pageOf } }
		a.Must(g.tokens[viewer], edgePagesQuery, vars, &got)
		return got.Node.List
	}
	what := "channelEdges(" + dir + ")"
	for _, backward := range []bool{false, true} {
		if got := g.pageThrough(viewer, what, len(wantEdges), 1+g.rng.IntN(len(wantEdges)+1), backward, readEdges); !slices.Equal(got, wantEdges) {
			g.fail(viewer, fmt.Sprintf("%s paged (backward %v)", what, backward), got, wantEdges)
		}
	}
}
