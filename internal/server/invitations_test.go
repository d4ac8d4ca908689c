package server_test

import (
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/invitations"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

const (
	readInvitation = `query($org: ID!, $via: ID) { node(id: $org) { ... on Organization {
		invitation(indirectProviderId: $via) { url code organization { name } indirectProvider { name } createdAt } } } }`
	rotateInvitation = `mutation($org: ID!) { rotateInvitation(input: {organizationId: $org}) {
		invitation { code url organization { name } indirectProvider { name } } userErrors { field code message } } }`
	acceptInvitation = `mutation($code: String!) { acceptInvitation(input: {code: $code}) {
		channelEdges { id status upstream { name } downstream { name } } userErrors { field code message } } }`
)

type invitationOut struct {
	URL, Code        string
	Organization     struct{ Name string }
	IndirectProvider *struct{ Name string }
}

type acceptOut struct {
	AcceptInvitation struct {
		ChannelEdges []struct {
			ID, Status           string
			Upstream, Downstream struct{ Name string }
		}
		UserErrors []struct{ Field, Code, Message string }
	}
}

// invitationWorld: Dist sells to Reseller; Customer has a tenant and is
// joined to nobody; the server's links point at a public URL of its own.
type invitationWorld struct {
	a                                   *api
	dist, reseller, customer, customer2 string
	resellerOwner, resellerAdmin        string
	resellerSales, distOwner            string
	customerOwner, customerAdmin        string
	customer2Owner                      string
}

func newInvitationWorld(t *testing.T, db *bun.DB) *invitationWorld {
	a, _ := newServer(t, db, server.Config{PublicURL: "https://partners.example/", Clock: &clock.Adjustable{}})
	w := &invitationWorld{a: a}
	var d, r, c, c2 int64
	w.dist, d = a.MustOrg("Dist", domain.KindDistributor)
	w.reseller, r = a.MustOrg("Reseller", domain.KindReseller)
	w.customer, c = a.MustOrg("Customer", domain.KindCustomer)
	w.customer2, c2 = a.MustOrg("Customer 2", domain.KindCustomer)
	a.MustEdge(w.dist, w.reseller, false)
	a.Must(testapi.AdminToken, `mutation($c: ID!) { createTenant(input: {customerId: $c, domain: "customer.example.com"}) { tenant { id } } }`,
		map[string]any{"c": w.customer}, nil)
	w.resellerOwner, w.resellerAdmin, w.resellerSales = a.MustToken(r, domain.RoleOwner), a.MustToken(r, domain.RoleAdminAgent), a.MustToken(r, domain.RoleSalesAgent)
	w.distOwner = a.MustToken(d, domain.RoleOwner)
	w.customerOwner, w.customerAdmin = a.MustToken(c, domain.RoleOwner), a.MustToken(c, domain.RoleAdminAgent)
	w.customer2Owner = a.MustToken(c2, domain.RoleOwner)
	return w
}

// invitation reads org's invitation as token (via: "" for its own).
func (w *invitationWorld) invitation(token, org, via string) *invitationOut {
	w.a.TB.Helper()
	vars := map[string]any{"org": org}
	if via != "" {
		vars["via"] = via
	}
	var out struct {
		Node *struct{ Invitation *invitationOut }
	}
	w.a.Must(token, readInvitation, vars, &out)
	if out.Node == nil {
		return nil
	}
	return out.Node.Invitation
}

func (w *invitationWorld) accept(token, code string) *acceptOut {
	w.a.TB.Helper()
	var out acceptOut
	w.a.Must(token, acceptInvitation, map[string]any{"code": code}, &out)
	return &out
}

func TestInvitationsOverHTTP(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		w := newInvitationWorld(t, db)
		a := w.a
		own := w.invitation(w.resellerOwner, w.reseller, "")
		if own == nil || !strings.HasPrefix(own.Code, "cgi_") || own.URL != "https://partners.example/invitations/accept?code="+own.Code ||
			own.Organization.Name != "Reseller" || own.IndirectProvider != nil {
			t.Fatalf("the OWNER's read: %s", describe(own))
		}
		if admin := w.invitation(w.resellerAdmin, w.reseller, ""); admin == nil || admin.Code != own.Code {
			t.Errorf("the ADMIN_AGENT's read: %s", describe(admin))
		}
		if sales := w.invitation(w.resellerSales, w.reseller, ""); sales != nil {
			t.Errorf("a SALES_AGENT reads the invitation: %s", describe(sales))
		}
		if other := w.invitation(w.distOwner, w.reseller, ""); other != nil {
			t.Errorf("the distributor reads the reseller's invitation: %s", describe(other))
		}
		if cust := w.invitation(w.customerOwner, w.customer, ""); cust != nil {
			t.Errorf("a customer has an invitation: %s", describe(cust))
		}
		combined := w.invitation(w.resellerOwner, w.reseller, w.dist)
		if combined == nil || combined.Code == own.Code || combined.IndirectProvider == nil || combined.IndirectProvider.Name != "Dist" {
			t.Fatalf("the combined invitation: %s", describe(combined))
		}
		res := a.Do(w.resellerOwner, readInvitation, map[string]any{"org": w.reseller, "via": w.customer})
		if res.Code() != "BAD_USER_INPUT" {
			t.Errorf("a combined invitation with a customer as provider: %+v", res.Errors)
		}

		// Wrong roles and bad codes.
		for _, token := range []string{w.customerAdmin, w.resellerOwner, testapi.AdminToken} {
			if res := a.Do(token, acceptInvitation, map[string]any{"code": own.Code}); res.Code() != "FORBIDDEN" {
				t.Errorf("accepting as a non-OWNER or a partner: %+v", res.Errors)
			}
		}
		if ue := w.accept(w.customerOwner, "cgi_NOPE").AcceptInvitation.UserErrors; len(ue) != 1 || ue[0].Field != "code" ||
			ue[0].Code != "BAD_USER_INPUT" || ue[0].Message != "unknown or retired invitation code" {
			t.Errorf("an unknown code: %+v", ue)
		}

		// Rotating retires both codes at once; replaying the old ones is refused alike.
		var rotated struct {
			RotateInvitation struct {
				Invitation *invitationOut
				UserErrors []struct{ Field, Code string }
			}
		}
		a.Must(w.resellerAdmin, rotateInvitation, map[string]any{"org": w.reseller}, &rotated)
		fresh := rotated.RotateInvitation.Invitation
		if fresh == nil || fresh.Code == own.Code || fresh.IndirectProvider != nil {
			t.Fatalf("rotate: %s", describe(rotated))
		}
		for _, old := range []string{own.Code, combined.Code} {
			if ue := w.accept(w.customerOwner, old).AcceptInvitation.UserErrors; len(ue) != 1 || ue[0].Message != "unknown or retired invitation code" {
				t.Errorf("a retired code: %+v", ue)
			}
		}
		if res := a.Do(w.resellerSales, rotateInvitation, map[string]any{"org": w.reseller}); res.Code() != "FORBIDDEN" {
			t.Errorf("a SALES_AGENT rotates: %+v", res.Errors)
		}
		if res := a.Do(w.distOwner, rotateInvitation, map[string]any{"org": w.reseller}); res.Code() != "NOT_FOUND" {
			t.Errorf("another organization rotates: %+v", res.Errors)
		}

		// The reseller and the customer both hear of the new edge.
		resellerWS, customerWS := a.dialWS(w.resellerOwner, false), a.dialWS(w.customerOwner, false)
		for _, c := range []*wsClient{resellerWS, customerWS} {
			c.subscribe("edges", `subscription { channelEdgeUpdated { channelEdge { status upstream { name } downstream { name } } } }`, nil)
		}
		var before struct {
			Node struct{ Tenants []struct{ Domain string } }
		}
		a.Must(w.resellerOwner, `query($c: ID!) { node(id: $c) { ... on Organization { tenants { domain } } } }`, map[string]any{"c": w.customer}, &before)
		if len(before.Node.Tenants) != 0 {
			t.Fatalf("the reseller sees the customer's tenants before it joins: %s", describe(before))
		}
		acc := w.accept(w.customerOwner, fresh.Code).AcceptInvitation
		if len(acc.UserErrors) > 0 || len(acc.ChannelEdges) != 1 || acc.ChannelEdges[0].Status != "ACTIVE" ||
			acc.ChannelEdges[0].Upstream.Name != "Reseller" || acc.ChannelEdges[0].Downstream.Name != "Customer" {
			t.Fatalf("accept: %s", describe(acc))
		}
		for who, c := range map[string]*wsClient{"reseller": resellerWS, "customer": customerWS} {
			var ev struct {
				ChannelEdgeUpdated struct {
					ChannelEdge struct {
						Status               string
						Upstream, Downstream struct{ Name string }
					}
				}
			}
			c.next(&ev)
			if e := ev.ChannelEdgeUpdated.ChannelEdge; e.Status != "ACTIVE" || e.Upstream.Name != "Reseller" || e.Downstream.Name != "Customer" {
				t.Errorf("the %s heard %s", who, describe(ev))
			}
		}
		// The customer's tenant came along.
		var after struct {
			Node *struct{ Tenants []struct{ Domain string } }
		}
		a.Must(w.resellerOwner, `query($c: ID!) { node(id: $c) { ... on Organization { tenants { domain } } } }`, map[string]any{"c": w.customer}, &after)
		if after.Node == nil || len(after.Node.Tenants) != 1 || after.Node.Tenants[0].Domain != "customer.example.com" {
			t.Errorf("the reseller's view of its new customer's tenants: %s", describe(after))
		}
		if ue := w.accept(w.customerOwner, fresh.Code).AcceptInvitation.UserErrors; len(ue) != 1 || ue[0].Code != "CONFLICT" || ue[0].Field != "code" {
			t.Errorf("accepting again: %+v", ue)
		}
		// Removed, then joined again by the same code: a new ACTIVE edge.
		a.Must(w.customerOwner, `mutation($id: ID!) { removeChannelEdge(input: {channelEdgeId: $id, reason: "ended", acknowledgeNotice: true}) { channelEdge { status } } }`,
			map[string]any{"id": acc.ChannelEdges[0].ID}, nil)
		again := w.accept(w.customerOwner, fresh.Code).AcceptInvitation
		if len(again.UserErrors) > 0 || len(again.ChannelEdges) != 1 || again.ChannelEdges[0].ID == acc.ChannelEdges[0].ID {
			t.Errorf("re-activation after removal: %s", describe(again))
		}
	})
}

func TestCombinedInvitationOverHTTP(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		w := newInvitationWorld(t, db)
		combined := w.invitation(w.resellerOwner, w.reseller, w.dist)
		acc := w.accept(w.customerOwner, combined.Code).AcceptInvitation
		if len(acc.UserErrors) > 0 || len(acc.ChannelEdges) != 2 || acc.ChannelEdges[0].Upstream.Name != "Dist" || acc.ChannelEdges[1].Upstream.Name != "Reseller" {
			t.Fatalf("combined: %s", describe(acc))
		}
		var edges struct {
			Node struct {
				ChannelEdges struct{ TotalCount int } `json:"channelEdges"`
			}
		}
		w.a.Must(w.customerOwner, `query($c: ID!) { node(id: $c) { ... on Organization { channelEdges(direction: UPSTREAM, includeRemoved: true) { totalCount } } } }`,
			map[string]any{"c": w.customer}, &edges)
		if edges.Node.ChannelEdges.TotalCount != 2 {
			t.Errorf("the customer has %d upstream edges, want the 2 the invitation made", edges.Node.ChannelEdges.TotalCount)
		}
		// The distributor stops selling to the reseller: the combined code makes nothing.
		var dr struct {
			Node struct {
				ChannelEdges struct {
					Edges []struct{ Node struct{ ID string } }
				}
			}
		}
		w.a.Must(w.distOwner, `query($d: ID!) { node(id: $d) { ... on Organization { channelEdges(direction: DOWNSTREAM, kind: RESELLER) { edges { node { id } } } } } }`,
			map[string]any{"d": w.dist}, &dr)
		w.a.Must(w.distOwner, `mutation($id: ID!) { removeChannelEdge(input: {channelEdgeId: $id, reason: "ended", acknowledgeNotice: true}) { channelEdge { status } } }`,
			map[string]any{"id": dr.Node.ChannelEdges.Edges[0].Node.ID}, nil)
		refused := w.accept(w.customer2Owner, combined.Code).AcceptInvitation
		if len(refused.ChannelEdges) != 0 || len(refused.UserErrors) != 1 || refused.UserErrors[0].Code != "CONFLICT" {
			t.Errorf("a combined code whose distributor left: %s", describe(refused))
		}
		var none struct {
			Node *struct{ Name string }
		}
		w.a.Must(w.resellerOwner, `query($c: ID!) { node(id: $c) { ... on Organization { name } } }`, map[string]any{"c": w.customer2}, &none)
		if none.Node != nil {
			t.Errorf("the refused acceptance joined the reseller to the customer: %s", describe(none))
		}
	})
}

// TestWrongInvitationCodesRateLimited: after WrongCodeBurst wrong codes the
// customer is refused with RATE_LIMITED, the right code too, until the
// window passes.
func TestWrongInvitationCodesRateLimited(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		w := newInvitationWorld(t, db)
		code := w.invitation(w.resellerOwner, w.reseller, "").Code
		for i := 0; i < invitations.WrongCodeBurst; i++ {
			if ue := w.accept(w.customerOwner, "cgi_GUESS").AcceptInvitation.UserErrors; len(ue) != 1 || ue[0].Code != "BAD_USER_INPUT" {
				t.Fatalf("wrong code %d: %+v", i, ue)
			}
		}
		for _, c := range []string{"cgi_GUESS", code} {
			if res := w.a.Do(w.customerOwner, acceptInvitation, map[string]any{"code": c}); res.Code() != "RATE_LIMITED" {
				t.Errorf("after %d wrong codes, %s: %+v", invitations.WrongCodeBurst, c, res.Errors)
			}
		}
		w.a.Must(testapi.AdminToken, advance, map[string]any{"h": 1}, nil)
		if acc := w.accept(w.customerOwner, code).AcceptInvitation; len(acc.UserErrors) > 0 || len(acc.ChannelEdges) != 1 {
			t.Errorf("after the window: %s", describe(acc))
		}
	})
}
