package visibility_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testdb"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// TestDelegatedAdminRule (SPEC §6.2): a privilege is seen by its partner
// and its customer, and the platform administrator; not by the partner's
// upstream nor another partner of the same customer. Its event audience is
// the same two.
func TestDelegatedAdminRule(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// 1 distributor → 2 reseller → 4 customer ← 3 reseller.
		for id, kind := range map[int64]string{1: "DISTRIBUTOR", 2: "RESELLER", 3: "RESELLER", 4: "CUSTOMER"} {
			exec(`INSERT INTO organizations (id, kind, name, created_at) VALUES (?, ?, ?, ?)`, id, kind, kind, now)
		}
		exec(`INSERT INTO channel_edges (upstream_id, downstream_id, status, created_at, updated_at) VALUES (1, 2, 'ACTIVE', ?, ?), (2, 4, 'ACTIVE', ?, ?), (3, 4, 'ACTIVE', ?, ?)`,
			now, now, now, now, now, now)
		exec(`INSERT INTO delegated_admins (id, partner_id, customer_id, service, roles, status, created_at) VALUES
			(1, 2, 4, 'EMAIL', ',A,', 'ACTIVE', ?), (2, 3, 4, 'EMAIL', ',A,', 'REQUESTED', ?)`, now, now)
		want := map[int64][]int64{0: {1, 2}, 1: nil, 2: {1}, 3: {2}, 4: {1, 2}}
		for org, ids := range want {
			v := &domain.Viewer{OrganizationID: org, IsPlatformAdmin: org == 0}
			var got []int64
			q := db.NewSelect().TableExpr("delegated_admins AS da").Column("da.id").Order("da.id")
			if err := visibility.RestrictDelegatedAdmins(q, v, "da").Scan(ctx, &got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, ids) {
				t.Errorf("organization %d sees privileges %v, want %v", org, got, ids)
			}
		}
		// An organization's own list: the organization itself and the
		// administrator read it; the other party of its privileges does not.
		for _, c := range []struct {
			viewer, org int64
			want        []int64
		}{{4, 4, []int64{1, 2}}, {2, 2, []int64{1}}, {0, 2, []int64{1}}, {4, 2, nil}, {2, 4, nil}, {1, 2, nil}} {
			v := &domain.Viewer{OrganizationID: c.viewer, IsPlatformAdmin: c.viewer == 0}
			var got []int64
			q := db.NewSelect().TableExpr("delegated_admins AS da").Column("da.id").Order("da.id")
			if err := visibility.RestrictDelegatedAdminsOf(q, v, "da", c.org).Scan(ctx, &got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("organization %d reads %v in organization %d's list, want %v", c.viewer, got, c.org, c.want)
			}
		}
		got := audience(t, db, func(ctx context.Context, tx bun.IDB, ev int64) error {
			return visibility.DelegatedAdminAudience(ctx, tx, ev, &domain.DelegatedAdmin{ID: 1, PartnerID: 2, CustomerID: 4})
		})
		if !slices.Equal(got, []int64{2, 4}) {
			t.Errorf("audience %v, want the partner and the customer [2 4]", got)
		}
	})
}
