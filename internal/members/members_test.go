package members_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/members"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func ptr[T any](v T) *T { return &v }

// setup makes organizations 1 and 2 and returns the service and an OWNER
// (the organization's own token) of each.
func setup(t *testing.T, db *bun.DB) (*members.Service, context.Context, context.Context) {
	t.Helper()
	ctx := context.Background()
	for org := 1; org <= 2; org++ {
		if _, err := db.ExecContext(ctx, `INSERT INTO organizations (id, kind, name, created_at) VALUES (?, 'RESELLER', ?, ?)`,
			org, fmt.Sprint("org ", org), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	as := func(org int64) context.Context {
		return domain.WithViewer(ctx, &domain.Viewer{OrganizationID: org, Role: domain.RoleOwner, Kind: domain.KindReseller})
	}
	return members.New(db), as(1), as(2)
}

func wantCode(t *testing.T, what string, err error, code domain.Code, field string) {
	t.Helper()
	var de *domain.Error
	ok := domain.ErrorCode(err) == code
	if ok && field != "" {
		de, _ = err.(*domain.Error)
		ok = de != nil && de.Field == field
	}
	if !ok {
		t.Errorf("%s: got %v, want %s on %q", what, err, code, field)
	}
}

func TestInvite(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		s, owner1, owner2 := setup(t, db)
		m, err := s.Invite(owner1, members.InviteInput{OrganizationID: 1, Email: "  Ada@Example.COM ", Role: domain.RoleAdminAgent,
			Name: ptr(" Ada "), Subject: ptr("idp|ada")})
		if err != nil {
			t.Fatal(err)
		}
		if m.ID == 0 || m.Email != "ada@example.com" || m.Name != "Ada" || *m.Subject != "idp|ada" || m.Role != domain.RoleAdminAgent {
			t.Fatalf("invited %+v", m)
		}
		cases := []struct {
			what  string
			ctx   context.Context
			in    members.InviteInput
			code  domain.Code
			field string
		}{
			{"the same address in another case", owner1, members.InviteInput{OrganizationID: 1, Email: "ADA@example.com", Role: domain.RoleViewer}, domain.CodeConflict, "email"},
			{"a subject another organization's member signs in with", owner2, members.InviteInput{OrganizationID: 2, Email: "x@example.com", Role: domain.RoleViewer, Subject: ptr("idp|ada")}, domain.CodeConflict, "subject"},
			{"a malformed address", owner1, members.InviteInput{OrganizationID: 1, Email: "ada at example", Role: domain.RoleViewer}, domain.CodeInvalid, "email"},
			{"an address with a display name", owner1, members.InviteInput{OrganizationID: 1, Email: "Ada <b@example.com>", Role: domain.RoleViewer}, domain.CodeInvalid, "email"},
			{"an empty subject", owner1, members.InviteInput{OrganizationID: 1, Email: "b@example.com", Role: domain.RoleViewer, Subject: ptr("")}, domain.CodeInvalid, "subject"},
			{"a subject of 256 characters", owner1, members.InviteInput{OrganizationID: 1, Email: "b@example.com", Role: domain.RoleViewer, Subject: ptr(string(make([]byte, 256)))}, domain.CodeInvalid, "subject"},
			{"an unknown role", owner1, members.InviteInput{OrganizationID: 1, Email: "b@example.com", Role: "KING"}, domain.CodeInvalid, "role"},
			{"another organization", owner1, members.InviteInput{OrganizationID: 2, Email: "b@example.com", Role: domain.RoleViewer}, domain.CodeNotFound, ""},
			{"a non-OWNER", domain.WithViewer(context.Background(), &domain.Viewer{OrganizationID: 1, Role: domain.RoleAdminAgent}),
				members.InviteInput{OrganizationID: 1, Email: "b@example.com", Role: domain.RoleViewer}, domain.CodeForbidden, ""},
			{"the admin, a missing organization", domain.WithViewer(context.Background(), &domain.Viewer{IsPlatformAdmin: true}),
				members.InviteInput{OrganizationID: 99, Email: "b@example.com", Role: domain.RoleViewer}, domain.CodeNotFound, ""},
		}
		for _, c := range cases {
			_, err := s.Invite(c.ctx, c.in)
			wantCode(t, c.what, err, c.code, c.field)
		}
		var count int
		if err := db.NewSelect().TableExpr("members").ColumnExpr("count(*)").Scan(context.Background(), &count); err != nil || count != 1 {
			t.Fatalf("refusals changed something: %d members (%v)", count, err)
		}
		// The same address is free again once its member is removed.
		if _, err := s.Invite(owner1, members.InviteInput{OrganizationID: 1, Email: "boss@example.com", Role: domain.RoleOwner}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Remove(owner1, m.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Invite(owner1, members.InviteInput{OrganizationID: 1, Email: "ada@example.com", Role: domain.RoleViewer, Subject: ptr("idp|ada")}); err != nil {
			t.Fatalf("re-inviting a removed member's address and subject: %v", err)
		}
	})
}

// TestLastOwner: an organization keeps at least one OWNER, whatever order
// the changes come in.
func TestLastOwner(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		s, owner1, owner2 := setup(t, db)
		first, err := s.Invite(owner1, members.InviteInput{OrganizationID: 1, Email: "first@example.com", Role: domain.RoleOwner})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.ChangeRole(owner1, first.ID, domain.RoleViewer)
		wantCode(t, "demoting the only OWNER", err, domain.CodeConflict, "role")
		_, err = s.Remove(owner1, first.ID)
		wantCode(t, "removing the only OWNER", err, domain.CodeConflict, "memberId")
		_, err = s.Remove(owner2, first.ID)
		wantCode(t, "another organization's member", err, domain.CodeNotFound, "")
		if m, err := s.ChangeRole(owner1, first.ID, domain.RoleOwner); err != nil || m.Role != domain.RoleOwner {
			t.Fatalf("OWNER to OWNER: %v", err)
		}
		second, err := s.Invite(owner1, members.InviteInput{OrganizationID: 1, Email: "second@example.com", Role: domain.RoleOwner})
		if err != nil {
			t.Fatal(err)
		}
		if m, err := s.ChangeRole(owner1, first.ID, domain.RoleSalesAgent); err != nil || m.Role != domain.RoleSalesAgent {
			t.Fatalf("demoting one of two OWNERs: %+v, %v", m, err)
		}
		_, err = s.Remove(owner1, second.ID)
		wantCode(t, "removing the OWNER left", err, domain.CodeConflict, "memberId")
		if _, err := s.Remove(owner1, first.ID); err != nil {
			t.Fatalf("removing a SALES_AGENT: %v", err)
		}
		_, err = s.ChangeRole(owner1, first.ID, domain.RoleOwner)
		wantCode(t, "a removed member", err, domain.CodeNotFound, "")
	})
}

// TestConcurrentDemotions: two OWNERs demoted at once — exactly one
// demotion passes, every time.
func TestConcurrentDemotions(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		s, owner1, _ := setup(t, db)
		for round := range 15 {
			var ids [2]int64
			for i := range ids {
				m, err := s.Invite(owner1, members.InviteInput{OrganizationID: 1, Email: fmt.Sprintf("o%d-%d@example.com", round, i), Role: domain.RoleOwner})
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = m.ID
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			start := make(chan struct{})
			for i, id := range ids {
				wg.Go(func() {
					<-start
					if i == 0 {
						_, errs[i] = s.ChangeRole(owner1, id, domain.RoleViewer)
					} else {
						_, errs[i] = s.Remove(owner1, id)
					}
				})
			}
			close(start)
			wg.Wait()
			var owners int
			if err := db.NewSelect().TableExpr("members").ColumnExpr("count(*)").
				Where("organization_id = 1 AND removed_at IS NULL AND role = 'OWNER'").Scan(context.Background(), &owners); err != nil {
				t.Fatal(err)
			}
			if owners != 1 || (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("round %d: %d OWNERs left; demotion: %v, removal: %v", round, owners, errs[0], errs[1])
			}
			// Clear the organization for the next round.
			if _, err := db.NewUpdate().TableExpr("members").Set("removed_at = ?", time.Now()).Where("organization_id = 1").Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestRemoveRevokesTokens: a member's API tokens die with it, in the same
// transaction.
func TestRemoveRevokesTokens(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		s, owner1, _ := setup(t, db)
		a := auth.New(db, "")
		if _, err := s.Invite(owner1, members.InviteInput{OrganizationID: 1, Email: "boss@example.com", Role: domain.RoleOwner}); err != nil {
			t.Fatal(err)
		}
		m, err := s.Invite(owner1, members.InviteInput{OrganizationID: 1, Email: "agent@example.com", Role: domain.RoleAdminAgent})
		if err != nil {
			t.Fatal(err)
		}
		token, _, err := a.CreateToken(owner1, auth.CreateTokenInput{OrganizationID: 1, Role: domain.RoleAdminAgent, Name: "agent", MemberID: &m.ID})
		if err != nil {
			t.Fatal(err)
		}
		v, err := a.Authenticate(context.Background(), token)
		if err != nil || v.MemberID != m.ID || v.Role != domain.RoleAdminAgent {
			t.Fatalf("the member's token: %+v, %v", v, err)
		}
		s.Changed = a.ForgetMember
		if _, err := s.Remove(owner1, m.ID); err != nil {
			t.Fatal(err)
		}
		var revoked int
		if err := db.NewSelect().TableExpr("api_tokens").ColumnExpr("count(*)").Where("member_id = ? AND revoked_at IS NOT NULL", m.ID).Scan(context.Background(), &revoked); err != nil || revoked != 1 {
			t.Fatalf("%d tokens revoked (%v)", revoked, err)
		}
		if _, err := a.Authenticate(context.Background(), token); domain.ErrorCode(err) != domain.CodeUnauthenticated {
			t.Fatalf("a removed member's token: %v", err)
		}
	})
}
