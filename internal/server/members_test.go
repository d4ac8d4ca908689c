package server_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

type memberOut struct {
	ID, Email, Role string
	Subject         *string
	Organization    struct{ ID string }
}

type memberPayload struct {
	Member     *memberOut
	UserErrors []userError
}

const memberFields = `member { id email role subject organization { id } } userErrors { field message code }`

// invite runs inviteMember as token and returns the payload, failing on a
// request error.
func (a *api) invite(token, org, email string, role domain.Role, subject string) memberPayload {
	a.TB.Helper()
	in := map[string]any{"organizationId": org, "email": email, "role": role}
	if subject != "" {
		in["subject"] = subject
	}
	var out struct{ InviteMember memberPayload }
	a.Must(token, `mutation($in: InviteMemberInput!) { inviteMember(input: $in) { `+memberFields+` } }`, map[string]any{"in": in}, &out)
	return out.InviteMember
}

func (a *api) mustInvite(token, org, email string, role domain.Role, subject string) string {
	a.TB.Helper()
	p := a.invite(token, org, email, role, subject)
	if p.Member == nil {
		a.TB.Fatalf("inviteMember %s: %+v", email, p.UserErrors)
	}
	return p.Member.ID
}

func (a *api) changeRole(token, member string, role domain.Role) (memberPayload, *testapi.Response) {
	a.TB.Helper()
	var out struct{ ChangeMemberRole memberPayload }
	res := a.Do(token, `mutation($in: ChangeMemberRoleInput!) { changeMemberRole(input: $in) { `+memberFields+` } }`,
		map[string]any{"in": map[string]any{"memberId": member, "role": role}})
	if len(res.Errors) == 0 {
		_ = jsonUnmarshal(res.Data, &out)
	}
	return out.ChangeMemberRole, res
}

func (a *api) removeMember(token, member string) (memberPayload, *testapi.Response) {
	a.TB.Helper()
	var out struct{ RemoveMember memberPayload }
	res := a.Do(token, `mutation($in: RemoveMemberInput!) { removeMember(input: $in) { `+memberFields+` } }`,
		map[string]any{"in": map[string]any{"memberId": member}})
	if len(res.Errors) == 0 {
		_ = jsonUnmarshal(res.Data, &out)
	}
	return out.RemoveMember, res
}

// memberToken issues an API token for a member as token.
func (a *api) memberToken(token, org, member string, role domain.Role) (string, []userError) {
	a.TB.Helper()
	var out struct {
		CreateApiToken struct {
			Token      *string
			UserErrors []userError
		}
	}
	a.Must(token, `mutation($in: CreateApiTokenInput!) { createApiToken(input: $in) { token userErrors { field message code } } }`,
		map[string]any{"in": map[string]any{"organizationId": org, "role": role, "name": "member token", "memberId": member}}, &out)
	if out.CreateApiToken.Token == nil {
		return "", out.CreateApiToken.UserErrors
	}
	return *out.CreateApiToken.Token, nil
}

func wantUserError(t *testing.T, what string, got []userError, field, code string) {
	t.Helper()
	if len(got) != 1 || got[0].Field != field || got[0].Code != code {
		t.Errorf("%s: userErrors %+v, want %s on %s", what, got, code, field)
	}
}

// membersSeen is the emails of an organization's members as token sees
// them (nil when the organization is hidden).
func (a *api) membersSeen(token, org string) []string {
	a.TB.Helper()
	var out struct {
		Node *struct{ Members []memberOut }
	}
	a.Must(token, `query($id: ID!) { node(id: $id) { ... on Organization { members { email } } } }`, map[string]any{"id": org}, &out)
	if out.Node == nil {
		return nil
	}
	emails := []string{}
	for _, m := range out.Node.Members {
		emails = append(emails, m.Email)
	}
	return emails
}

// TestMembers (SPEC §1.2, §8.1): an OWNER invites, changes roles and
// removes members, never the last OWNER; members are seen by the OWNER and
// themselves; a member's tokens follow its role and die with it.
func TestMembers(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		cfg := server.Config{}
		cfg.Websocket.AuthCheckInterval = 50 * time.Millisecond
		a, app := newServer(t, db, cfg)
		vendor, vendorID := a.MustOrg("Vendor", domain.KindVendor)
		reseller, resellerID := a.MustOrg("Reseller", domain.KindReseller)
		_, otherID := a.MustOrg("Other reseller", domain.KindReseller)
		a.MustEdge(vendor, reseller, false) // the vendor sees the reseller, not its members
		owner := a.MustToken(resellerID, domain.RoleOwner)
		agent := a.MustToken(resellerID, domain.RoleAdminAgent)
		vendorOwner := a.MustToken(vendorID, domain.RoleOwner)
		otherOwner := a.MustToken(otherID, domain.RoleOwner)

		ada := a.mustInvite(owner, reseller, "Ada@Example.com", domain.RoleOwner, "idp|ada")
		bob := a.mustInvite(owner, reseller, "bob@example.com", domain.RoleAdminAgent, "")
		cy := a.mustInvite(testapi.AdminToken, reseller, "cy@example.com", domain.RoleViewer, "")

		t.Run("who may invite", func(t *testing.T) {
			if res := a.Do(agent, `mutation($o: ID!) { inviteMember(input: {organizationId: $o, email: "x@example.com", role: VIEWER}) { member { id } } }`,
				map[string]any{"o": reseller}); res.Code() != "FORBIDDEN" {
				t.Errorf("an ADMIN_AGENT invites: %+v", res.Errors)
			}
			if res := a.Do(otherOwner, `mutation($o: ID!) { inviteMember(input: {organizationId: $o, email: "x@example.com", role: VIEWER}) { member { id } } }`,
				map[string]any{"o": reseller}); res.Code() != "NOT_FOUND" {
				t.Errorf("another organization's OWNER invites: %+v", res.Errors)
			}
			wantUserError(t, "the same address in capitals", a.invite(owner, reseller, "ADA@example.com", domain.RoleViewer, "").UserErrors, "email", "CONFLICT")
			wantUserError(t, "a subject in use", a.invite(otherOwner, gidOf("Organization", otherID), "z@example.com", domain.RoleViewer, "idp|ada").UserErrors, "subject", "CONFLICT")
			wantUserError(t, "a malformed address", a.invite(owner, reseller, "not-an-address", domain.RoleViewer, "").UserErrors, "email", "BAD_USER_INPUT")
			if _, res := a.changeRole(agent, bob, domain.RoleViewer); res.Code() != "FORBIDDEN" {
				t.Errorf("an ADMIN_AGENT changes a role: %+v", res.Errors)
			}
			if _, res := a.removeMember(otherOwner, bob); res.Code() != "NOT_FOUND" {
				t.Errorf("another organization's OWNER removes: %+v", res.Errors)
			}
		})

		bobToken, errs := a.memberToken(owner, reseller, bob, domain.RoleAdminAgent)
		if errs != nil {
			t.Fatal(errs)
		}
		bobViewerToken, errs := a.memberToken(owner, reseller, bob, domain.RoleViewer)
		if errs != nil {
			t.Fatal(errs)
		}
		t.Run("member tokens", func(t *testing.T) {
			_, errs := a.memberToken(owner, reseller, bob, domain.RoleOwner)
			wantUserError(t, "a token above the member's role", errs, "role", "BAD_USER_INPUT")
			otherMember := a.mustInvite(otherOwner, gidOf("Organization", otherID), "o@example.com", domain.RoleOwner, "")
			_, errs = a.memberToken(owner, reseller, otherMember, domain.RoleViewer)
			wantUserError(t, "another organization's member", errs, "memberId", "BAD_USER_INPUT")
			var out struct {
				Viewer struct {
					Role   string
					Member *memberOut
				}
			}
			a.Must(bobToken, `{ viewer { role member { id email } } }`, nil, &out)
			if out.Viewer.Role != "ADMIN_AGENT" || out.Viewer.Member == nil || out.Viewer.Member.ID != bob {
				t.Fatalf("bob's viewer: %+v", out.Viewer)
			}
			a.Must(owner, `{ viewer { member { id } } }`, nil, &out)
			if out.Viewer.Member != nil {
				t.Fatalf("the organization's own token is a member: %+v", out.Viewer.Member)
			}
		})

		t.Run("who sees members", func(t *testing.T) {
			all := []string{"ada@example.com", "bob@example.com", "cy@example.com"}
			for _, c := range []struct {
				who, token string
				want       []string
			}{
				{"the OWNER", owner, all},
				{"the platform administrator", testapi.AdminToken, all},
				{"a member", bobToken, []string{"bob@example.com"}},
				{"a member's VIEWER token", bobViewerToken, []string{"bob@example.com"}},
				{"the organization's ADMIN_AGENT token", agent, []string{}},
				{"an organization that sees the reseller", vendorOwner, []string{}},
			} {
				if got := a.membersSeen(c.token, reseller); !slices.Equal(got, c.want) {
					t.Errorf("%s sees %v, want %v", c.who, got, c.want)
				}
			}
			node := func(token, id string) bool {
				var out struct{ Node *struct{ ID string } }
				a.Must(token, `query($id: ID!) { node(id: $id) { ... on Member { id } } }`, map[string]any{"id": id}, &out)
				return out.Node != nil
			}
			if !node(owner, ada) || !node(bobToken, bob) || node(bobToken, ada) || node(vendorOwner, bob) || node(otherOwner, cy) {
				t.Error("node(id) of a member does not follow the member rule")
			}
		})

		t.Run("a member token follows the member's role", func(t *testing.T) {
			before := a.dialWS(bobToken, false)
			before.subscribe("1", poSubscription, nil)
			waitUntil(t, func() bool { n, _ := app.Hub().Subscribers(); return n >= 1 })
			if p, _ := a.changeRole(owner, bob, domain.RoleSalesAgent); p.Member == nil || p.Member.Role != "SALES_AGENT" {
				t.Fatalf("changeMemberRole: %+v", p)
			}
			role := func(token string) string {
				var out struct{ Viewer struct{ Role string } }
				a.Must(token, `{ viewer { role } }`, nil, &out)
				return out.Viewer.Role
			}
			if r := role(bobToken); r != "SALES_AGENT" {
				t.Errorf("bob's ADMIN_AGENT token after bob became SALES_AGENT acts as %s", r)
			}
			if r := role(bobViewerToken); r != "VIEWER" {
				t.Errorf("bob's VIEWER token acts as %s", r)
			}
			if code := before.closeCode(); code != 4403 {
				t.Errorf("a socket opened as ADMIN_AGENT closed with %d after the role changed, want 4403", code)
			}
			waitUntil(t, func() bool { n, _ := app.Hub().Subscribers(); return n == 0 })
		})

		t.Run("the last OWNER", func(t *testing.T) {
			p, _ := a.changeRole(owner, ada, domain.RoleViewer)
			wantUserError(t, "demoting the last OWNER", p.UserErrors, "role", "CONFLICT")
			p, _ = a.removeMember(owner, ada)
			wantUserError(t, "removing the last OWNER", p.UserErrors, "memberId", "CONFLICT")
			if p, _ := a.changeRole(owner, cy, domain.RoleOwner); p.Member == nil {
				t.Fatalf("promoting: %+v", p)
			}
			if p, _ := a.changeRole(testapi.AdminToken, ada, domain.RoleBillingAdmin); p.Member == nil || p.Member.Role != "BILLING_ADMIN" {
				t.Fatalf("demoting one of two OWNERs: %+v", p)
			}
			p, _ = a.removeMember(owner, cy)
			wantUserError(t, "removing the OWNER left", p.UserErrors, "memberId", "CONFLICT")
		})

		t.Run("a token dies with its member", func(t *testing.T) {
			ws := a.dialWS(bobToken, false)
			ws.subscribe("1", poSubscription, nil)
			waitUntil(t, func() bool { n, _ := app.Hub().Subscribers(); return n >= 1 })
			p, res := a.removeMember(owner, bob)
			if p.Member == nil || p.Member.ID != bob {
				t.Fatalf("removeMember: %+v %+v", p, res.Errors)
			}
			for _, tok := range []string{bobToken, bobViewerToken} {
				if res := a.Do(tok, `{ viewer { role } }`, nil); res.Status != http.StatusUnauthorized || res.Code() != "UNAUTHENTICATED" {
					t.Errorf("a removed member's token: %d %+v", res.Status, res.Errors)
				}
			}
			if code := ws.closeCode(); code != 4403 {
				t.Errorf("a removed member's websocket closed with %d, want 4403", code)
			}
			if got := a.membersSeen(owner, reseller); slices.Contains(got, "bob@example.com") {
				t.Errorf("a removed member is still listed: %v", got)
			}
		})
	})
}

// waitFor polls cond for up to 10 seconds.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPushedMembersPerMember: two members with one role subscribed to the
// same operation each see only themselves among the members of a pushed
// object (they never share one execution).
func TestPushedMembersPerMember(t *testing.T) {
	db := testdb.MustOpen(t, "sqlite")
	f := newChannelFixture(t, db)
	a, owner := f.a, f.tok[f.reseller]
	a.mustInvite(owner, f.reseller, "boss@example.com", domain.RoleOwner, "")
	const sub = `subscription { purchaseOrderUpdated { purchaseOrder { reseller { members { email } } } } }`
	var sockets []*wsClient
	for _, email := range []string{"ann@example.com", "ben@example.com"} {
		m := a.mustInvite(owner, f.reseller, email, domain.RoleViewer, "")
		token, errs := a.memberToken(owner, f.reseller, m, domain.RoleViewer)
		if errs != nil {
			t.Fatal(errs)
		}
		ws := a.dialWS(token, false)
		ws.subscribe("1", sub, nil)
		sockets = append(sockets, ws)
	}
	waitUntil(t, func() bool { n, _ := f.app.Hub().Subscribers(); return n >= 2 })
	if p := a.createOrder(owner, f.indirect("PO-M1")); p.CreatePurchaseOrder.PurchaseOrder == nil {
		t.Fatalf("createPurchaseOrder: %+v", p.CreatePurchaseOrder.UserErrors)
	}
	for i, want := range []string{"ann@example.com", "ben@example.com"} {
		var out struct {
			PurchaseOrderUpdated struct {
				PurchaseOrder struct {
					Reseller struct{ Members []struct{ Email string } }
				}
			}
		}
		sockets[i].next(&out)
		got := out.PurchaseOrderUpdated.PurchaseOrder.Reseller.Members
		if len(got) != 1 || got[0].Email != want {
			t.Errorf("%s was pushed members %+v", want, got)
		}
	}
}
