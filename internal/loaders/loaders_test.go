package loaders_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/loaders"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/tenants"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}
func (c *statementCounter) AfterQuery(context.Context, *bun.QueryEvent) { c.n.Add(1) }

// TestEdgeLoadersBatch drives the channel-edge loaders without a list to
// prime them (as a field outside any primed list does): keys asked for
// together load in one statement per distinct set of arguments, and each
// organization gets its own page and count.
func TestEdgeLoadersBatch(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open("sqlite:" + testdb.NewSQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	// Three resellers with 1, 2 and 3 customers.
	exec := func(q string, args ...any) {
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	now := clock.System{}.Now()
	customer := int64(100)
	for r := int64(1); r <= 3; r++ {
		exec(`INSERT INTO organizations (id, kind, name, created_at) VALUES (?, 'RESELLER', ?, ?)`, r, fmt.Sprint("R", r), now)
		for i := int64(0); i < r; i++ {
			customer++
			exec(`INSERT INTO organizations (id, kind, name, created_at) VALUES (?, 'CUSTOMER', ?, ?)`, customer, fmt.Sprint("C", customer), now)
			exec(`INSERT INTO channel_edges (upstream_id, downstream_id, status, purchase_order_view, created_at, updated_at)
				VALUES (?, ?, 'ACTIVE', FALSE, ?, ?)`, r, customer, now, now)
		}
	}
	counter := &statementCounter{}
	db.AddQueryHook(counter)
	ch := channel.New(db)
	l := loaders.New(ch, catalog.New(db), orders.New(db), tenants.New(db), pricing.New(db), time.Millisecond)
	ctx = domain.WithViewer(ctx, &domain.Viewer{IsPlatformAdmin: true})

	down := channel.EdgeFilter{Downstream: true}
	first := loaders.EdgeList{Filter: down, First: 2}
	all := loaders.EdgeList{Filter: down, First: 10}
	type want struct {
		key        loaders.EdgesKey
		edges      int
		hasNext    bool
		totalCount int
	}
	cases := []want{
		{loaders.EdgesKey{Org: 1, List: first}, 1, false, 1},
		{loaders.EdgesKey{Org: 2, List: first}, 2, false, 2},
		{loaders.EdgesKey{Org: 3, List: first}, 2, true, 3},
		{loaders.EdgesKey{Org: 3, List: all}, 3, false, 3},
	}
	thunks := make([]func() (*relay.Connection[*domain.ChannelEdge], error), len(cases))
	for i, c := range cases {
		thunks[i] = l.ChannelEdges.Load(ctx, c.key)
	}
	for i, c := range cases {
		page, err := thunks[i]()
		if err != nil {
			t.Fatal(err)
		}
		if page == nil || len(page.Nodes) != c.edges || page.HasNextPage != c.hasNext {
			t.Fatalf("%+v: got %+v", c.key, page)
		}
		for _, e := range page.Nodes {
			if e.UpstreamID != c.key.Org {
				t.Fatalf("%+v: an edge of organization %d", c.key, e.UpstreamID)
			}
		}
	}
	if n := counter.n.Load(); n != 2 {
		t.Fatalf("four pages in two lists cost %d statements, want 2", n)
	}
	before := counter.n.Load()
	counts := make([]func() (int, error), len(cases))
	for i, c := range cases {
		counts[i] = l.ChannelEdgeCount.Load(ctx, loaders.EdgeCountKey{Org: c.key.Org, Filter: c.key.List.Filter})
	}
	for i, c := range cases {
		if n, err := counts[i](); err != nil || n != c.totalCount {
			t.Fatalf("%+v: count %d (%v), want %d", c.key, n, err, c.totalCount)
		}
	}
	if n := counter.n.Load() - before; n != 1 {
		t.Fatalf("three organizations' counts cost %d statements, want 1", n)
	}
}
