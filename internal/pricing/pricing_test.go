package pricing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type edge struct {
	up, down int64
	status   domain.EdgeStatus
}

// seesListPrice is SPEC §8.3 in plain Go: the vendor, and whoever an ACTIVE
// edge from the vendor reaches directly.
func seesListPrice(edges []edge, viewer, vendor int64) bool {
	if viewer == vendor {
		return true
	}
	for _, e := range edges {
		if e.up == vendor && e.down == viewer && e.status == domain.EdgeActive {
			return true
		}
	}
	return false
}

// TestListPriceVisibleMatchesModel evaluates the rule in the database for
// every (viewer, vendor) pair of random channels — edges in every status,
// removed ones re-invited — on both databases, against the plain-Go rule.
func TestListPriceVisibleMatchesModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(seed, 7))
		now := time.Now().UTC()
		kinds := map[int64]domain.OrganizationKind{}
		for id := int64(1); id <= 12; id++ {
			kinds[id] = []domain.OrganizationKind{domain.KindVendor, domain.KindDistributor, domain.KindReseller, domain.KindCustomer}[rng.IntN(4)]
			if _, err := db.ExecContext(ctx, `INSERT INTO organizations (id, kind, name, created_at) VALUES (?, ?, ?, ?)`,
				id, kinds[id], fmt.Sprint("org ", id), now); err != nil {
				t.Fatal(err)
			}
		}
		var edges []edge
		statuses := []domain.EdgeStatus{domain.EdgeActive, domain.EdgeInvited, domain.EdgeRemoved}
		for up := int64(1); up <= 12; up++ {
			for down := int64(1); down <= 12; down++ {
				if !domain.AllowedEdge(kinds[up], kinds[down]) || rng.IntN(2) == 0 {
					continue
				}
				e := edge{up, down, statuses[rng.IntN(len(statuses))]}
				edges = append(edges, e)
				if e.status == domain.EdgeRemoved && rng.IntN(2) == 0 {
					edges = append(edges, edge{up, down, statuses[rng.IntN(2)]})
				}
			}
		}
		for _, e := range edges {
			if _, err := db.ExecContext(ctx, `INSERT INTO channel_edges (upstream_id, downstream_id, status, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?)`, e.up, e.down, e.status, now, now); err != nil {
				t.Fatal(err)
			}
		}
		visible := func(viewer *domain.Viewer, vendor int64) bool {
			var ok bool
			if err := db.NewSelect().ColumnExpr("CASE WHEN ? THEN 1 ELSE 0 END = 1", pricing.ListPriceVisible(viewer, "vendor.id")).
				TableExpr("(SELECT CAST(? AS BIGINT) AS id) AS vendor", vendor).Scan(ctx, &ok); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		for vendor := int64(1); vendor <= 12; vendor++ {
			if kinds[vendor] != domain.KindVendor {
				continue
			}
			for viewer := int64(1); viewer <= 12; viewer++ {
				v := &domain.Viewer{OrganizationID: viewer, Kind: kinds[viewer], Role: domain.RoleViewer}
				if got, want := visible(v, vendor), seesListPrice(edges, viewer, vendor); got != want {
					t.Errorf("viewer %d (%s), vendor %d: sees the list price %v, the model says %v; edges %v",
						viewer, kinds[viewer], vendor, got, want, edges)
				}
			}
			if visible(nil, vendor) {
				t.Errorf("an anonymous caller sees vendor %d's list price", vendor)
			}
			if !visible(&domain.Viewer{IsPlatformAdmin: true}, vendor) {
				t.Errorf("the platform administrator does not see vendor %d's list price", vendor)
			}
		}
	})
}
