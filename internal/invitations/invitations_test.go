package invitations_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/invitations"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// fixture: distributor D sells to reseller R by an ACTIVE edge; customers
// C and C2 are joined to nobody; vendor V.
type fixture struct {
	db                *bun.DB
	s                 *invitations.Service
	ch                *channel.Service
	clock             *clock.Adjustable
	admin             context.Context
	d, r, c, c2, v    int64
	dOwner, rOwner    context.Context
	rAdmin, rSales    context.Context
	cOwner, c2Owner   context.Context
	cAdmin, vendorOwn context.Context
}

func setup(t *testing.T, db *bun.DB) *fixture {
	t.Helper()
	f := &fixture{db: db, s: invitations.New(db), ch: channel.New(db), clock: &clock.Adjustable{}}
	f.s.Now, f.ch.Now = f.clock.Now, f.clock.Now
	f.admin = domain.WithViewer(context.Background(), &domain.Viewer{IsPlatformAdmin: true})
	org := func(name string, kind domain.OrganizationKind) int64 {
		o, err := f.ch.CreateOrganization(f.admin, channel.CreateOrganizationInput{Name: name, Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	f.d, f.r = org("Dist", domain.KindDistributor), org("Reseller", domain.KindReseller)
	f.c, f.c2, f.v = org("Customer", domain.KindCustomer), org("Customer 2", domain.KindCustomer), org("Vendor", domain.KindVendor)
	f.edge(t, f.admin, f.d, f.r)
	as := func(org int64, kind domain.OrganizationKind, role domain.Role) context.Context {
		return domain.WithViewer(context.Background(), &domain.Viewer{OrganizationID: org, Kind: kind, Role: role})
	}
	f.dOwner, f.rOwner = as(f.d, domain.KindDistributor, domain.RoleOwner), as(f.r, domain.KindReseller, domain.RoleOwner)
	f.rAdmin, f.rSales = as(f.r, domain.KindReseller, domain.RoleAdminAgent), as(f.r, domain.KindReseller, domain.RoleSalesAgent)
	f.cOwner, f.c2Owner = as(f.c, domain.KindCustomer, domain.RoleOwner), as(f.c2, domain.KindCustomer, domain.RoleOwner)
	f.cAdmin, f.vendorOwn = as(f.c, domain.KindCustomer, domain.RoleAdminAgent), as(f.v, domain.KindVendor, domain.RoleOwner)
	return f
}

func (f *fixture) edge(t *testing.T, ctx context.Context, up, down int64) *domain.ChannelEdge {
	t.Helper()
	e, err := f.ch.CreateChannelEdge(ctx, up, down)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fixture) code(t *testing.T, ctx context.Context, org int64, provider *int64) string {
	t.Helper()
	inv, err := f.s.Invitation(ctx, org, provider)
	if err != nil || inv == nil {
		t.Fatalf("invitation of %d: %v %v", org, inv, err)
	}
	return inv.Code
}

// edges lists up→down's edges, oldest first, as "STATUS".
func (f *fixture) edges(t *testing.T, up, down int64) string {
	t.Helper()
	var st []string
	if err := f.db.NewSelect().TableExpr("channel_edges").Column("status").Where("upstream_id = ? AND downstream_id = ?", up, down).
		Order("id").Scan(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	return strings.Join(st, ",")
}

func (f *fixture) audits(t *testing.T, action string) int {
	t.Helper()
	n, err := f.db.NewSelect().TableExpr("audit_entries").Where("action = ?", action).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func wantCode(t *testing.T, what string, err error, code domain.Code, field string) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != code || de.Field != field {
		t.Errorf("%s: got %v, want %s on %q", what, err, code, field)
	}
}

func TestInvitationRead(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := setup(t, db)
		own := f.code(t, f.rOwner, f.r, nil)
		if !strings.HasPrefix(own, "cgi_") || len(own) != 4+52 {
			t.Fatalf("code %q", own)
		}
		// The same code for every reader until it is rotated.
		for _, ctx := range []context.Context{f.rOwner, f.rAdmin, f.admin} {
			if again := f.code(t, ctx, f.r, nil); again != own {
				t.Errorf("a second read gives another code: %q, %q", own, again)
			}
		}
		if u := f.s.URL(own); u != "http://127.0.0.1:8080/invitations/accept?code="+own {
			t.Errorf("url %q", u)
		}
		combined := f.code(t, f.rOwner, f.r, &f.d)
		if combined == own || f.code(t, f.dOwner, f.d, nil) == own {
			t.Error("a combined or another partner's code equals the reseller's own")
		}
		// Null, not an error, for everyone else and for other kinds.
		for what, c := range map[string]struct {
			ctx context.Context
			org int64
		}{
			"a SALES_AGENT": {f.rSales, f.r}, "another organization's OWNER": {f.dOwner, f.r},
			"a customer reading a partner's": {f.cOwner, f.r}, "a customer's own": {f.cOwner, f.c},
			"a vendor's own": {f.vendorOwn, f.v},
		} {
			if inv, err := f.s.Invitation(c.ctx, c.org, nil); inv != nil || err != nil {
				t.Errorf("%s: %+v %v", what, inv, err)
			}
		}
		// A combined invitation needs a distributor selling to the reseller.
		for what, c := range map[string]struct {
			org, provider int64
			ctx           context.Context
		}{
			"no edge": {f.r, f.c, f.rOwner}, "a distributor's own": {f.d, f.d, f.dOwner}, "a vendor as provider": {f.r, f.v, f.rOwner},
		} {
			_, err := f.s.Invitation(c.ctx, c.org, &c.provider)
			wantCode(t, what, err, domain.CodeInvalid, "indirectProviderId")
		}
	})
}

func TestRotate(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := setup(t, db)
		own, combined := f.code(t, f.rOwner, f.r, nil), f.code(t, f.rOwner, f.r, &f.d)
		fresh, err := f.s.Rotate(f.rAdmin, f.r)
		if err != nil || fresh.Code == own || fresh.IndirectProviderID != nil {
			t.Fatalf("rotate: %+v %v", fresh, err)
		}
		if now := f.code(t, f.rOwner, f.r, nil); now != fresh.Code {
			t.Errorf("after rotating, the invitation reads %q, not the new %q", now, fresh.Code)
		}
		if again := f.code(t, f.rOwner, f.r, &f.d); again == combined {
			t.Error("the combined code survived the rotation")
		}
		// Old codes are refused at once, with the unknown code's answer.
		for _, old := range []string{own, combined} {
			_, err := f.s.Accept(f.cOwner, old)
			wantCode(t, "replaying a retired code", err, domain.CodeInvalid, "code")
		}
		if n := f.audits(t, "INVITATION_ROTATED"); n != 1 {
			t.Errorf("%d rotation audit entries", n)
		}
		_, err = f.s.Rotate(f.rSales, f.r)
		wantCode(t, "a SALES_AGENT", err, domain.CodeForbidden, "")
		_, err = f.s.Rotate(f.dOwner, f.r)
		wantCode(t, "another organization", err, domain.CodeNotFound, "organizationId")
		_, err = f.s.Rotate(f.cOwner, f.c)
		wantCode(t, "a customer", err, domain.CodeInvalid, "organizationId")
	})
}

func TestAccept(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := setup(t, db)
		code := f.code(t, f.rOwner, f.r, nil)
		for what, ctx := range map[string]context.Context{"a customer's ADMIN_AGENT": f.cAdmin, "a reseller's OWNER": f.rOwner, "the platform administrator": f.admin} {
			_, err := f.s.Accept(ctx, code)
			wantCode(t, what, err, domain.CodeForbidden, "")
		}
		for _, bad := range []string{"", "cgi_", "nope", code[:len(code)-1], strings.ToLower(code), code + "A"} {
			_, err := f.s.Accept(f.cOwner, bad)
			wantCode(t, "code "+bad, err, domain.CodeInvalid, "code")
		}
		f.clock.Advance(time.Hour) // past the wrong guesses above
		edges, err := f.s.Accept(f.cOwner, " "+code+" ")
		if err != nil || len(edges) != 1 || edges[0].Status != domain.EdgeActive || edges[0].UpstreamID != f.r || edges[0].DownstreamID != f.c {
			t.Fatalf("accept: %+v %v", edges, err)
		}
		_, err = f.s.Accept(f.cOwner, code)
		wantCode(t, "accepting again", err, domain.CodeConflict, "code")
		// Reusable: another customer joins by the same code.
		if _, err := f.s.Accept(f.c2Owner, code); err != nil {
			t.Fatal(err)
		}
		// Removed, then ACTIVE again by a new edge; the removed one stays.
		if _, err := f.ch.RemoveChannelEdge(f.admin, edges[0].ID, "ended", true); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.Accept(f.cOwner, code); err != nil {
			t.Fatal(err)
		}
		if got := f.edges(t, f.r, f.c); got != "REMOVED,ACTIVE" {
			t.Errorf("after removal and a second acceptance: %s", got)
		}
		// An INVITED edge is accepted, not duplicated.
		f.edge(t, f.dOwner, f.d, f.c)
		if got := f.edges(t, f.d, f.c); got != "INVITED" {
			t.Fatalf("invited: %s", got)
		}
		if _, err := f.s.Accept(f.cOwner, f.code(t, f.dOwner, f.d, nil)); err != nil {
			t.Fatal(err)
		}
		if got := f.edges(t, f.d, f.c); got != "ACTIVE" {
			t.Errorf("after accepting the distributor's invitation: %s", got)
		}
		if n := f.audits(t, "INVITATION_ACCEPTED"); n != 4 {
			t.Errorf("%d acceptance audit entries, want 4", n)
		}
		events, err := db.NewSelect().TableExpr("events").Where("type = 'CHANNEL_EDGE_UPDATED'").Count(context.Background())
		if err != nil || events < 7 { // 1 setup, 1 invited, 4 activations, 1 removal
			t.Errorf("%d edge events (%v)", events, err)
		}
	})
}

func TestAcceptCombined(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := setup(t, db)
		code := f.code(t, f.rOwner, f.r, &f.d)
		// A failure after the first edge is written leaves no half pair.
		invitations.FailBetweenEdges(f.s, errors.New("the second edge fails"))
		if _, err := f.s.Accept(f.cOwner, code); err == nil {
			t.Fatal("the forced failure did not fail the acceptance")
		}
		if d, r := f.edges(t, f.d, f.c), f.edges(t, f.r, f.c); d != "" || r != "" {
			t.Fatalf("a failed combined acceptance left edges: distributor %q, reseller %q", d, r)
		}
		if n := f.audits(t, "INVITATION_ACCEPTED"); n != 0 {
			t.Fatalf("%d audit entries of a failed acceptance", n)
		}
		invitations.FailBetweenEdges(f.s, nil)
		edges, err := f.s.Accept(f.cOwner, code)
		if err != nil || len(edges) != 2 || edges[0].UpstreamID != f.d || edges[1].UpstreamID != f.r {
			t.Fatalf("combined: %+v %v", edges, err)
		}
		// A customer already ACTIVE with the distributor keeps that edge.
		f.edge(t, f.admin, f.d, f.c2)
		edges, err = f.s.Accept(f.c2Owner, code)
		if err != nil || len(edges) != 1 || edges[0].UpstreamID != f.r {
			t.Fatalf("combined, the distributor already joined: %+v %v", edges, err)
		}
		// Once the distributor no longer sells to the reseller, nothing is made.
		c3, err := f.ch.CreateOrganization(f.admin, channel.CreateOrganizationInput{Name: "Customer 3", Kind: domain.KindCustomer})
		if err != nil {
			t.Fatal(err)
		}
		var dr int64
		if err := db.NewSelect().TableExpr("channel_edges").Column("id").Where("upstream_id = ? AND downstream_id = ?", f.d, f.r).Scan(context.Background(), &dr); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ch.RemoveChannelEdge(f.admin, dr, "ended", true); err != nil {
			t.Fatal(err)
		}
		c3Owner := domain.WithViewer(context.Background(), &domain.Viewer{OrganizationID: c3.ID, Kind: domain.KindCustomer, Role: domain.RoleOwner})
		_, err = f.s.Accept(c3Owner, code)
		wantCode(t, "the distributor no longer sells to the reseller", err, domain.CodeConflict, "code")
		if d, r := f.edges(t, f.d, c3.ID), f.edges(t, f.r, c3.ID); d != "" || r != "" {
			t.Errorf("a refused combined acceptance left edges: %q %q", d, r)
		}
	})
}

func TestWrongCodesRateLimited(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := setup(t, db)
		code := f.code(t, f.rOwner, f.r, nil)
		for i := 0; i < invitations.WrongCodeBurst; i++ {
			_, err := f.s.Accept(f.cOwner, "cgi_WRONG")
			wantCode(t, "a wrong code", err, domain.CodeInvalid, "code")
		}
		_, err := f.s.Accept(f.cOwner, "cgi_WRONG")
		wantCode(t, "one wrong code too many", err, domain.CodeRateLimited, "")
		_, err = f.s.Accept(f.cOwner, code)
		wantCode(t, "the right code while limited", err, domain.CodeRateLimited, "")
		// Another customer has its own allowance.
		if _, err := f.s.Accept(f.c2Owner, code); err != nil {
			t.Fatalf("another customer: %v", err)
		}
		f.clock.Advance(invitations.WrongCodeWindow)
		if _, err := f.s.Accept(f.cOwner, code); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		// Right codes do not count: a customer joining many partners is not limited.
		for i := 0; i < invitations.WrongCodeBurst+2; i++ {
			_, err := f.s.Accept(f.cOwner, code)
			wantCode(t, "already joined", err, domain.CodeConflict, "code")
		}
	})
}

// TestConcurrentFirstReads: readers racing to make the first code all get
// the one code that was made.
func TestConcurrentFirstReads(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := setup(t, db)
		codes := make(chan string, 8)
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			go func() {
				inv, err := f.s.Invitation(f.rOwner, f.r, nil)
				if err != nil {
					errs <- err
					return
				}
				codes <- inv.Code
			}()
		}
		seen := map[string]bool{}
		for i := 0; i < 8; i++ {
			select {
			case c := <-codes:
				seen[c] = true
			case err := <-errs:
				t.Fatal(err)
			}
		}
		if len(seen) != 1 {
			t.Errorf("racing first reads made %d codes", len(seen))
		}
	})
}

// TestConcurrentAccepts: a customer's OWNER pressing accept eight times at
// once joins the partner once; the other tries are CONFLICTs.
func TestConcurrentAccepts(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := setup(t, db)
		code := f.code(t, f.rOwner, f.r, &f.d)
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			go func() {
				_, err := f.s.Accept(f.cOwner, code)
				errs <- err
			}()
		}
		joined := 0
		for i := 0; i < 8; i++ {
			err := <-errs
			switch domain.ErrorCode(err) {
			case domain.CodeConflict:
			default:
				if err != nil {
					t.Fatal(err)
				}
				joined++
			}
		}
		if joined != 1 || f.edges(t, f.r, f.c) != "ACTIVE" || f.edges(t, f.d, f.c) != "ACTIVE" {
			t.Errorf("%d acceptances succeeded; edges %q and %q", joined, f.edges(t, f.d, f.c), f.edges(t, f.r, f.c))
		}
	})
}
