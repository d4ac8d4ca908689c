package visibility_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testdb"
	"github.com/channelgraph/channelgraph/internal/visibility"
	"github.com/channelgraph/channelgraph/internal/visibility/model"
)

var audienceGraphs = flag.Int("audience-graphs", 40, "random channels per database in TestAudiencesMatchModel")

// TestAudiencesMatchModel builds random channels straight into the tables —
// random tiers, edges in every status with random grants (re-invited after
// removal too), direct and indirect orders in every status, drafts — derives
// the visibility index, and checks that the audience each kind of event
// records at commit is exactly the model's: for a purchase order, the
// organizations that see it; for an organization (a tenant's customer), the
// organizations whose SPEC §1.5 set holds it; for a channel edge, those that
// see both its ends.
func TestAudiencesMatchModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano() % 1e9)
	t.Logf("first seed %d", seed)
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		for i := 0; i < *audienceGraphs; i++ {
			g := randomAudienceChannel(seed+uint64(i), int64(i+1)*1000)
			g.insert(t, db)
			if err := visibility.Refresh(ctx, db, visibility.Everything()); err != nil {
				t.Fatal(err)
			}
			g.checkAudiences(t, db)
			if t.Failed() {
				t.Fatalf("seed %d: %s", g.seed, g.describe())
			}
		}
	})
}

type audienceChannel struct {
	seed uint64
	m    model.Channel
	orgs []int64
}

// randomAudienceChannel makes a channel whose ids start above base, so the channels
// of one database never share an organization.
func randomAudienceChannel(seed uint64, base int64) *audienceChannel {
	rng := rand.New(rand.NewPCG(seed, seed^0xa0d1e))
	g := &audienceChannel{seed: seed, m: model.Channel{Kinds: map[int64]domain.OrganizationKind{}}}
	next := base
	for _, kind := range []domain.OrganizationKind{domain.KindVendor, domain.KindDistributor, domain.KindReseller, domain.KindCustomer} {
		for n := 1 + rng.IntN(3); n > 0; n-- {
			next++
			g.m.Kinds[next] = kind
			g.orgs = append(g.orgs, next)
		}
	}
	statuses := []domain.EdgeStatus{domain.EdgeActive, domain.EdgeActive, domain.EdgeInvited, domain.EdgeRemoved}
	for _, up := range g.orgs {
		for _, down := range g.orgs {
			if !domain.AllowedEdge(g.m.Kinds[up], g.m.Kinds[down]) || rng.Float64() > 0.6 {
				continue
			}
			e := model.Edge{Up: up, Down: down, Status: statuses[rng.IntN(len(statuses))], View: rng.IntN(2) == 0}
			g.m.Edges = append(g.m.Edges, e)
			if e.Status == domain.EdgeRemoved && rng.IntN(2) == 0 {
				g.m.Edges = append(g.m.Edges, model.Edge{Up: up, Down: down, Status: domain.EdgeActive, View: rng.IntN(2) == 0})
			}
		}
	}
	of := func(kind domain.OrganizationKind) []int64 {
		var out []int64
		for _, id := range g.orgs {
			if g.m.Kinds[id] == kind {
				out = append(out, id)
			}
		}
		return out
	}
	pick := func(ids []int64) int64 { return ids[rng.IntN(len(ids))] }
	orderStatuses := []domain.PurchaseOrderStatus{domain.PODraft, domain.POPlaced, domain.POProcessing, domain.POCompleted, domain.POCancelled, domain.POFailed}
	for n := 2 + rng.IntN(10); n > 0; n-- {
		next++
		o := model.Order{ID: next, Vendor: pick(of(domain.KindVendor)), Customer: pick(of(domain.KindCustomer)),
			Status: orderStatuses[rng.IntN(len(orderStatuses))]}
		// A cancelled order may be a draft that was never placed.
		o.Placed = o.Status != domain.PODraft && (o.Status != domain.POCancelled || rng.IntN(2) == 0)
		switch rng.IntN(3) {
		case 1:
			o.Reseller = pick(of(domain.KindReseller))
		case 2:
			o.Reseller, o.Distributor = pick(of(domain.KindReseller)), pick(of(domain.KindDistributor))
		}
		o.RecordedBy = []int64{o.Vendor, o.Reseller, o.Distributor}[rng.IntN(3)]
		if o.RecordedBy == 0 {
			o.RecordedBy = o.Vendor
		}
		g.m.Orders = append(g.m.Orders, o)
	}
	return g
}

func (g *audienceChannel) insert(t *testing.T, db *bun.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, id := range g.orgs {
		exec(`INSERT INTO organizations (id, kind, name, created_at) VALUES (?, ?, ?, ?)`, id, g.m.Kinds[id], fmt.Sprint("org ", id), now)
	}
	for _, e := range g.m.Edges {
		exec(`INSERT INTO channel_edges (upstream_id, downstream_id, status, purchase_order_view, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, e.Up, e.Down, e.Status, e.View, now, now)
	}
	for _, o := range g.m.Orders {
		var placedAt *time.Time
		if o.Placed {
			placedAt = &now
		}
		exec(`INSERT INTO purchase_orders (id, number, kind, status, vendor_id, distributor_id, reseller_id, customer_id,
			recorded_by_organization_id, created_at, updated_at, placed_at) VALUES (?, ?, 'NEW', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, fmt.Sprint("PO-", o.ID), o.Status, o.Vendor, nullableID(o.Distributor), nullableID(o.Reseller), o.Customer,
			o.RecordedBy, now, now, placedAt)
	}
}

func nullableID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// audience records an event's audience with record and reads it back.
func audience(t *testing.T, db *bun.DB, record func(ctx context.Context, tx bun.IDB, eventID int64) error) []int64 {
	t.Helper()
	ctx := context.Background()
	var got []int64
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var eventID int64
		if err := tx.NewRaw(`INSERT INTO events (type, object_id, snapshot, created_at) VALUES ('TEST', 0, '{}', ?) RETURNING id`,
			time.Now().UTC()).Scan(ctx, &eventID); err != nil {
			return err
		}
		if err := record(ctx, tx, eventID); err != nil {
			return err
		}
		return tx.NewRaw(`SELECT organization_id FROM event_audience WHERE event_id = ? ORDER BY organization_id`, eventID).Scan(ctx, &got)
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (g *audienceChannel) checkAudiences(t *testing.T, db *bun.DB) {
	t.Helper()
	sees := map[int64]map[int64]bool{}
	for _, v := range g.orgs {
		sees[v] = g.m.VisibleOrganizations(v)
	}
	want := func(visible func(viewer int64) bool) []int64 {
		var out []int64
		for _, v := range g.orgs {
			if visible(v) {
				out = append(out, v)
			}
		}
		return out
	}
	for _, x := range g.orgs {
		got := audience(t, db, func(ctx context.Context, tx bun.IDB, ev int64) error {
			return visibility.OrganizationAudience(ctx, tx, ev, x)
		})
		if exp := want(func(v int64) bool { return sees[v][x] }); !slices.Equal(got, exp) {
			t.Errorf("organization %d (%s): audience %v, the model says %v", x, g.m.Kinds[x], got, exp)
		}
	}
	for _, e := range g.m.Edges {
		got := audience(t, db, func(ctx context.Context, tx bun.IDB, ev int64) error {
			return visibility.EdgeAudience(ctx, tx, ev, e.Up, e.Down)
		})
		if exp := want(func(v int64) bool { return sees[v][e.Up] && sees[v][e.Down] }); !slices.Equal(got, exp) {
			t.Errorf("edge %d→%d: audience %v, the model says %v", e.Up, e.Down, got, exp)
		}
	}
	for _, o := range g.m.Orders {
		got := audience(t, db, func(ctx context.Context, tx bun.IDB, ev int64) error {
			return visibility.PurchaseOrderAudience(ctx, tx, ev, o.ID)
		})
		if exp := want(func(v int64) bool { ok, _ := g.m.Sees(v, o); return ok }); !slices.Equal(got, exp) {
			t.Errorf("order %d %+v: audience %v, the model says %v", o.ID, o, got, exp)
		}
	}
}

func (g *audienceChannel) describe() string {
	return fmt.Sprintf("kinds %v\nedges %+v\norders %+v", g.m.Kinds, g.m.Edges, g.m.Orders)
}
