package visibility_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testdb"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// TestMemberRule checks RestrictMembers against the plain rule of SPEC
// §8.1, for every viewer shape: an organization's OWNER (a member or the
// organization's own token) and the platform administrator see its current
// members; any other member sees only itself; an organization's own
// non-OWNER token and other organizations see none; a removed member is
// seen by no one.
func TestMemberRule(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for org := 1; org <= 2; org++ {
			exec(`INSERT INTO organizations (id, kind, name, created_at) VALUES (?, 'RESELLER', ?, ?)`, org, fmt.Sprint("org ", org), now)
		}
		type member struct {
			id, org int64
			role    domain.Role
			removed bool
		}
		members := []member{
			{1, 1, domain.RoleOwner, false}, {2, 1, domain.RoleAdminAgent, false},
			{3, 1, domain.RoleViewer, false}, {4, 1, domain.RoleOwner, true},
			{5, 2, domain.RoleOwner, false}, {6, 2, domain.RoleSalesAgent, false},
		}
		for _, m := range members {
			var removed *time.Time
			if m.removed {
				removed = &now
			}
			exec(`INSERT INTO members (id, organization_id, role, email, created_at, removed_at) VALUES (?, ?, ?, ?, ?, ?)`,
				m.id, m.org, m.role, fmt.Sprintf("m%d@example.com", m.id), now, removed)
		}
		viewers := []*domain.Viewer{{IsPlatformAdmin: true}}
		for _, m := range members {
			viewers = append(viewers, &domain.Viewer{OrganizationID: m.org, Role: m.role, MemberID: m.id})
		}
		for org := int64(1); org <= 2; org++ {
			for _, r := range []domain.Role{domain.RoleOwner, domain.RoleAdminAgent, domain.RoleViewer} {
				viewers = append(viewers, &domain.Viewer{OrganizationID: org, Role: r}) // the organization's own token
			}
		}
		// A member's VIEWER token: the token's role decides, not the member's.
		viewers = append(viewers, &domain.Viewer{OrganizationID: 1, Role: domain.RoleViewer, MemberID: 1})
		for _, v := range viewers {
			var want []int64
			for _, m := range members {
				sees := v.IsPlatformAdmin || (v.OrganizationID == m.org && v.Role == domain.RoleOwner) || v.MemberID == m.id
				if sees && !m.removed {
					want = append(want, m.id)
				}
			}
			var got []int64
			q := db.NewSelect().TableExpr("members AS m").Column("m.id").Order("m.id")
			if err := visibility.RestrictMembers(q, v, "m").Scan(ctx, &got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("viewer %+v sees members %v, want %v", *v, got, want)
			}
			for _, m := range members {
				if slices.Contains(got, m.id) && !visibility.MaySeeMembersOf(v, m.org) {
					t.Errorf("viewer %+v sees member %d, but MaySeeMembersOf(%d) is false", *v, m.id, m.org)
				}
			}
		}
	})
}
