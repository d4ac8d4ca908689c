package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

type auditEntryOut struct {
	ID, Action, ObjectID, Detail string
	ActorIsPlatformAdmin         bool
	Organizations                []orgRef
	ActorOrganization            *orgRef
	ActorMember                  *struct{ ID string }
}

type auditLogOut struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	Edges []struct {
		Cursor string
		Node   auditEntryOut
	}
}

const auditLogQuery = `query($org: ID!, $first: Int, $after: String, $last: Int, $before: String) {
	node(id: $org) { ... on Organization { auditLog(first: $first, after: $after, last: $last, before: $before) {
		totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
		edges { cursor node { id action objectId detail actorIsPlatformAdmin organizations { id }
			actorOrganization { id } actorMember { id } } } } } } }`

// auditLog reads org's audit log as token; nil when token may not see org.
func (a *api) auditLog(token, org string, vars map[string]any) *auditLogOut {
	a.TB.Helper()
	var out struct {
		Node *struct{ AuditLog auditLogOut }
	}
	all := map[string]any{"org": org}
	for k, v := range vars {
		all[k] = v
	}
	a.Must(token, auditLogQuery, all, &out)
	if out.Node == nil {
		return nil
	}
	return &out.Node.AuditLog
}

// actions is the log's actions, newest first.
func (l *auditLogOut) actions() []string {
	out := []string{}
	for _, e := range l.Edges {
		out = append(out, e.Node.Action)
	}
	return out
}

// edgeMutation runs one of the edge mutations as token, failing on a
// request error, and returns its userErrors.
func (a *api) edgeMutation(token, name, inputType string, in map[string]any) (string, []userError) {
	a.TB.Helper()
	var out map[string]struct {
		ChannelEdge *struct{ ID string }
		UserErrors  []userError
	}
	a.Must(token, `mutation($in: `+inputType+`!) { `+name+`(input: $in) { channelEdge { id } userErrors { field message code } } }`,
		map[string]any{"in": in}, &out)
	p := out[name]
	if p.ChannelEdge == nil {
		return "", p.UserErrors
	}
	return p.ChannelEdge.ID, p.UserErrors
}

// TestAuditLog (SPEC §8.6): every edge mutation leaves an entry, in its
// transaction, naming the acting organization, member and token; an
// organization's log is read by that organization and the platform
// administrator only — not by a third organization that sees both ends.
func TestAuditLog(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		counter := &testapi.StatementCounter{} // hooked before the server starts
		db.AddQueryHook(counter)
		a, _ := newServer(t, db, server.Config{})
		vendor, vendorID := a.MustOrg("Vendor", domain.KindVendor)
		dist, distID := a.MustOrg("Distributor", domain.KindDistributor)
		reseller, resellerID := a.MustOrg("Reseller", domain.KindReseller)
		_, otherID := a.MustOrg("Other reseller", domain.KindReseller)
		vdEdge := a.MustEdge(vendor, dist, false)
		a.MustEdge(dist, reseller, false) // the vendor sees the reseller downstream; the distributor sees both

		vendorOwner := a.MustToken(vendorID, domain.RoleOwner)
		resellerOwner := a.MustToken(resellerID, domain.RoleOwner)
		distOwner := a.MustToken(distID, domain.RoleOwner)
		otherOwner := a.MustToken(otherID, domain.RoleOwner)
		ada := a.mustInvite(vendorOwner, vendor, "ada@example.com", domain.RoleAdminAgent, "")
		adaToken, errs := a.memberToken(vendorOwner, vendor, ada, domain.RoleAdminAgent)
		if errs != nil {
			t.Fatalf("member token: %+v", errs)
		}

		// Ada (a member's token) invites the reseller, the reseller's own
		// token accepts, Ada grants the view, the reseller removes the edge.
		edge, errs := a.edgeMutation(adaToken, "createChannelEdge", "CreateChannelEdgeInput",
			map[string]any{"upstreamId": vendor, "downstreamId": reseller})
		if len(errs) > 0 {
			t.Fatalf("createChannelEdge: %+v", errs)
		}
		if _, errs := a.edgeMutation(resellerOwner, "acceptChannelEdge", "AcceptChannelEdgeInput", map[string]any{"channelEdgeId": edge}); len(errs) > 0 {
			t.Fatalf("acceptChannelEdge: %+v", errs)
		}
		// A refused change records nothing: its transaction rolls back.
		if _, errs := a.edgeMutation(resellerOwner, "acceptChannelEdge", "AcceptChannelEdgeInput", map[string]any{"channelEdgeId": edge}); len(errs) != 1 || errs[0].Code != "CONFLICT" {
			t.Fatalf("accepting twice: %+v", errs)
		}
		if _, errs := a.edgeMutation(adaToken, "setPurchaseOrderView", "SetPurchaseOrderViewInput", map[string]any{"channelEdgeId": edge, "enabled": true}); len(errs) > 0 {
			t.Fatalf("setPurchaseOrderView: %+v", errs)
		}
		remove := map[string]any{"channelEdgeId": edge, "reason": " buying through the distributor ", "acknowledgeNotice": true}
		if _, errs := a.edgeMutation(resellerOwner, "removeChannelEdge", "RemoveChannelEdgeInput", remove); len(errs) > 0 {
			t.Fatalf("removeChannelEdge: %+v", errs)
		}

		t.Run("each mutation is recorded with its actor", func(t *testing.T) {
			log := a.auditLog(vendorOwner, vendor, map[string]any{"first": 100})
			want := []string{"CHANNEL_EDGE_REMOVED", "PURCHASE_ORDER_VIEW_SET", "CHANNEL_EDGE_ACCEPTED", "CHANNEL_EDGE_CREATED", "CHANNEL_EDGE_CREATED"}
			if got := log.actions(); !slices.Equal(got, want) || log.TotalCount != 5 {
				t.Fatalf("the vendor's log: %v (total %d), want %v", got, log.TotalCount, want)
			}
			e := func(i int) auditEntryOut { return log.Edges[i].Node }
			for i := range 4 {
				if e(i).ObjectID != edge || !sameOrgs(e(i).Organizations, vendor, reseller) {
					t.Errorf("entry %d (%s) names %s and %+v, want the edge and its two ends", i, e(i).Action, e(i).ObjectID, e(i).Organizations)
				}
			}
			if e(0).Detail != "buying through the distributor" || e(1).Detail != "on" {
				t.Errorf("details: removal %q, grant %q", e(0).Detail, e(1).Detail)
			}
			// The reseller's organization token acted, no member.
			for _, i := range []int{0, 2} {
				if act := e(i); act.ActorOrganization == nil || act.ActorOrganization.ID != reseller || act.ActorMember != nil || act.ActorIsPlatformAdmin {
					t.Errorf("%s: actor %+v member %+v", act.Action, act.ActorOrganization, act.ActorMember)
				}
			}
			// Ada acted, and the vendor's OWNER sees its own member.
			for _, i := range []int{1, 3} {
				if act := e(i); act.ActorOrganization == nil || act.ActorOrganization.ID != vendor || act.ActorMember == nil || act.ActorMember.ID != ada {
					t.Errorf("%s: actor %+v member %+v, want Ada of the vendor", act.Action, act.ActorOrganization, act.ActorMember)
				}
			}
			if admin := e(4); !admin.ActorIsPlatformAdmin || admin.ActorOrganization != nil || admin.ObjectID != vdEdge || !sameOrgs(admin.Organizations, vendor, dist) {
				t.Errorf("the administrator's edge: %+v", admin)
			}
			// The token is stored with each entry: Ada's, then the reseller's.
			var tokens []struct {
				Action       string `bun:"action"`
				TokenOrg     *int64 `bun:"token_org"`
				TokenMember  *int64 `bun:"token_member"`
				ActorTokenID *int64 `bun:"actor_token_id"`
			}
			if err := db.NewSelect().TableExpr("audit_entries AS ae").ColumnExpr("ae.action, ae.actor_token_id, t.organization_id AS token_org, t.member_id AS token_member").
				Join("LEFT JOIN api_tokens AS t ON t.id = ae.actor_token_id").Where("ae.object_id = ?", rowID(t, edge)).
				Where("ae.object_type = 'ChannelEdge'").OrderExpr("ae.id").Scan(context.Background(), &tokens); err != nil {
				t.Fatal(err)
			}
			wantOrg := []int64{vendorID, resellerID, vendorID, resellerID}
			for i, tok := range tokens {
				byAda := tok.TokenMember != nil && *tok.TokenMember == rowID(t, ada)
				if tok.ActorTokenID == nil || tok.TokenOrg == nil || *tok.TokenOrg != wantOrg[i] || (wantOrg[i] == vendorID) != byAda {
					t.Errorf("%s: token %v of organization %v, member %v", tok.Action, tok.ActorTokenID, tok.TokenOrg, tok.TokenMember)
				}
			}
			if len(tokens) != 4 {
				t.Errorf("%d entries stored for the edge, want 4", len(tokens))
			}
		})

		t.Run("the parties read it, nobody else", func(t *testing.T) {
			resellerLog := a.auditLog(resellerOwner, reseller, map[string]any{"first": 100})
			if got := resellerLog.actions(); len(got) != 5 || resellerLog.TotalCount != 5 {
				t.Fatalf("the reseller's log: %v (total %d)", got, resellerLog.TotalCount)
			}
			// Ada is the vendor's member: the reseller may not see her.
			if m := resellerLog.Edges[1].Node.ActorMember; m != nil || resellerLog.Edges[1].Node.Action != "PURCHASE_ORDER_VIEW_SET" {
				t.Errorf("the reseller sees the vendor's member: %+v", resellerLog.Edges[1].Node)
			}
			// The distributor sees both ends (and is party to its own edges
			// with them) but not to this edge: it reads nothing of either log.
			for name, org := range map[string]string{"vendor": vendor, "reseller": reseller} {
				if log := a.auditLog(distOwner, org, map[string]any{"first": 100}); log == nil || len(log.Edges) != 0 || log.TotalCount != 0 {
					t.Errorf("the distributor reads the %s's log: %+v", name, log)
				}
			}
			if log := a.auditLog(distOwner, dist, map[string]any{"first": 100}); !slices.Equal(log.actions(), []string{"CHANNEL_EDGE_CREATED", "CHANNEL_EDGE_CREATED"}) {
				t.Errorf("the distributor's own log: %v", log.actions())
			}
			if log := a.auditLog(otherOwner, gidOf("Organization", otherID), nil); len(log.Edges) != 0 {
				t.Errorf("an unrelated organization's log: %v", log.actions())
			}
			if log := a.auditLog(testapi.AdminToken, reseller, map[string]any{"first": 100}); log.TotalCount != 5 || len(log.Edges) != 5 {
				t.Errorf("the administrator reads the reseller's log: %v", log.actions())
			}
			// node(id) of an entry: its parties and the administrator.
			entry := resellerLog.Edges[0].Node.ID
			for name, tc := range map[string]struct {
				token string
				seen  bool
			}{"vendor": {vendorOwner, true}, "reseller": {resellerOwner, true}, "admin": {testapi.AdminToken, true},
				"distributor": {distOwner, false}, "other": {otherOwner, false}} {
				var out struct{ Node *struct{ Action string } }
				a.Must(tc.token, `query($id: ID!) { node(id: $id) { ... on AuditEntry { action } } }`, map[string]any{"id": entry}, &out)
				if (out.Node != nil) != tc.seen {
					t.Errorf("node(entry) as the %s: %+v, want seen %v", name, out.Node, tc.seen)
				}
			}
		})

		t.Run("paging", func(t *testing.T) {
			full := a.auditLog(vendorOwner, vendor, map[string]any{"first": 100})
			var ids []string
			var after any
			for page := 0; page < 10; page++ {
				log := a.auditLog(vendorOwner, vendor, map[string]any{"first": 2, "after": after})
				for _, e := range log.Edges {
					ids = append(ids, e.Node.ID)
				}
				if log.TotalCount != 5 || log.PageInfo.HasPreviousPage != (page > 0) {
					t.Errorf("page %d: total %d, %+v", page, log.TotalCount, log.PageInfo)
				}
				if !log.PageInfo.HasNextPage {
					break
				}
				after = *log.PageInfo.EndCursor
			}
			var want []string
			for _, e := range full.Edges {
				want = append(want, e.Node.ID)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("paged forward: %v, want %v", ids, want)
			}
			last := a.auditLog(vendorOwner, vendor, map[string]any{"last": 2})
			if len(last.Edges) != 2 || len(want) != 5 || last.Edges[0].Node.ID != want[3] || last.Edges[1].Node.ID != want[4] || !last.PageInfo.HasPreviousPage {
				t.Fatalf("the last two: %+v", last)
			}
			before := a.auditLog(vendorOwner, vendor, map[string]any{"last": 10, "before": last.Edges[0].Cursor})
			if len(before.Edges) != 3 || before.Edges[0].Node.ID != want[0] {
				t.Errorf("before the last two: %+v", before)
			}
			if res := a.Do(vendorOwner, auditLogQuery, map[string]any{"org": vendor, "after": "bogus"}); res.Code() != "BAD_USER_INPUT" {
				t.Errorf("a bad cursor: %+v", res.Errors)
			}
		})

		t.Run("a page costs the same at any size", func(t *testing.T) {
			const query = `query($org: ID!, $first: Int) { node(id: $org) { ... on Organization { auditLog(first: $first) {
				edges { node { action organizations { name } actorOrganization { name } } } } } } }`
			cost := func(first int) int64 {
				before := counter.N()
				var out struct {
					Node struct{ AuditLog struct{ Edges []any } }
				}
				a.Must(resellerOwner, query, map[string]any{"org": reseller, "first": first}, &out)
				if len(out.Node.AuditLog.Edges) != first {
					t.Fatalf("got %d entries, want %d", len(out.Node.AuditLog.Edges), first)
				}
				return counter.N() - before
			}
			if small, large := cost(1), cost(5); small != large {
				t.Errorf("a page of 1 entry cost %d statements, a page of 5 cost %d", small, large)
			}
		})
	})
}

// sameOrgs reports whether orgs are exactly want, in any order.
func sameOrgs(orgs []orgRef, want ...string) bool {
	var got []string
	for _, o := range orgs {
		got = append(got, o.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

type partnerRelationshipOut struct {
	Partner      orgRef
	ChannelEdges []struct {
		ID, Status    string
		RemovalReason *string
	}
	DelegatedAdmins []struct {
		Service, Status string
		Transacting     bool
	}
}

const partnerRelationshipsQuery = `query($org: ID!) { node(id: $org) { ... on Organization { partnerRelationships {
	partner { id name } channelEdges { id status removalReason upstream { name } downstream { name } }
	delegatedAdmins { service status transacting createdAt } } } } }`

func (a *api) partnerRelationships(token, org string) []partnerRelationshipOut {
	a.TB.Helper()
	var out struct {
		Node *struct{ PartnerRelationships []partnerRelationshipOut }
	}
	a.Must(token, partnerRelationshipsQuery, map[string]any{"org": org}, &out)
	if out.Node == nil {
		return nil
	}
	return out.Node.PartnerRelationships
}

// TestPartnerRelationships (SPEC §8.6): a customer sees every partner — by
// an edge, removed ones included, or by a delegated admin privilege — with
// its edges and privileges, newest first, in a fixed number of statements;
// nobody else sees the view.
func TestPartnerRelationships(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		counter := &testapi.StatementCounter{} // hooked before the server starts
		db.AddQueryHook(counter)
		a, _ := newServer(t, db, server.Config{})
		vendor, vendorID := a.MustOrg("Vendor", domain.KindVendor)
		r1, r1ID := a.MustOrg("Reseller One", domain.KindReseller)
		r2, r2ID := a.MustOrg("Reseller Two", domain.KindReseller)
		cust, custID := a.MustOrg("Customer", domain.KindCustomer)
		_, otherCustID := a.MustOrg("Other customer", domain.KindCustomer)
		a.MustEdge(vendor, r1, false) // the vendor sees the customer downstream
		custOwner := a.MustToken(custID, domain.RoleOwner)
		old := a.MustEdge(r1, cust, false)
		if _, errs := a.edgeMutation(custOwner, "removeChannelEdge", "RemoveChannelEdgeInput",
			map[string]any{"channelEdgeId": old, "reason": "renegotiating", "acknowledgeNotice": true}); len(errs) > 0 {
			t.Fatalf("removeChannelEdge: %+v", errs)
		}
		current := a.MustEdge(r1, cust, false)
		r2Edge := a.MustEdge(r2, cust, false)

		base := time.Now().UTC().Truncate(time.Second)
		privilege := func(partner, customer int64, service string, status domain.DelegatedAdminStatus, minutes int) {
			t.Helper()
			row := &domain.DelegatedAdmin{PartnerID: partner, CustomerID: customer, Service: service, StoredRoles: ",ADMIN,",
				Status: status, Transacting: status == domain.DelegatedAdminActive, CreatedAt: base.Add(time.Duration(minutes) * time.Minute)}
			if _, err := db.NewInsert().Model(row).Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		privilege(r1ID, custID, "EMAIL", domain.DelegatedAdminActive, 1)
		privilege(r2ID, custID, "EMAIL", domain.DelegatedAdminRemoved, 2)
		privilege(r2ID, custID, "BACKUP", domain.DelegatedAdminRequested, 3)
		privilege(r1ID, otherCustID, "CRM", domain.DelegatedAdminActive, 4) // another customer's

		byPartner := func(rels []partnerRelationshipOut) map[string]partnerRelationshipOut {
			out := map[string]partnerRelationshipOut{}
			for _, r := range rels {
				out[r.Partner.ID] = r
			}
			return out
		}
		t.Run("the customer sees every partner", func(t *testing.T) {
			rels := byPartner(a.partnerRelationships(custOwner, cust))
			if len(rels) != 2 {
				t.Fatalf("partners: %+v", rels)
			}
			one := rels[r1]
			if e := one.ChannelEdges; len(e) != 2 || e[0].ID != current || e[0].Status != "ACTIVE" ||
				e[1].ID != old || e[1].Status != "REMOVED" || e[1].RemovalReason == nil || *e[1].RemovalReason != "renegotiating" {
				t.Errorf("Reseller One's edges: %+v", e)
			}
			if d := one.DelegatedAdmins; len(d) != 1 || d[0].Service != "EMAIL" || !d[0].Transacting {
				t.Errorf("Reseller One's privileges: %+v", d)
			}
			two := rels[r2]
			if e := two.ChannelEdges; len(e) != 1 || e[0].ID != r2Edge {
				t.Errorf("Reseller Two's edges: %+v", e)
			}
			if d := two.DelegatedAdmins; len(d) != 2 || d[0].Service != "BACKUP" || d[0].Status != "REQUESTED" || d[1].Status != "REMOVED" {
				t.Errorf("Reseller Two's privileges, newest first: %+v", d)
			}
			if admin := byPartner(a.partnerRelationships(testapi.AdminToken, cust)); len(admin) != 2 {
				t.Errorf("the administrator sees %d partners", len(admin))
			}
		})

		t.Run("nobody else sees it", func(t *testing.T) {
			for name, token := range map[string]string{
				"the partner":                         a.MustToken(r1ID, domain.RoleOwner),
				"the vendor, which sees the customer": a.MustToken(vendorID, domain.RoleOwner),
			} {
				if rels := a.partnerRelationships(token, cust); rels == nil || len(rels) != 0 {
					t.Errorf("%s: %+v", name, rels)
				}
			}
			// The view is a customer's: a reseller's own is empty, even with
			// an upstream edge.
			if rels := a.partnerRelationships(a.MustToken(r1ID, domain.RoleOwner), r1); len(rels) != 0 {
				t.Errorf("a reseller's own view: %+v", rels)
			}
		})

		t.Run("a fixed number of statements", func(t *testing.T) {
			cost := func(partners int) int64 {
				before := counter.N()
				if got := a.partnerRelationships(custOwner, cust); len(got) != partners {
					t.Fatalf("got %d partners, want %d", len(got), partners)
				}
				return counter.N() - before
			}
			two := cost(2)
			for i := range 4 {
				gid, id := a.MustOrg("More reseller "+strings.Repeat("I", i+1), domain.KindReseller)
				if i > 0 { // the first is a partner by its privileges alone
					a.MustEdge(gid, cust, false)
				}
				privilege(id, custID, "EMAIL", domain.DelegatedAdminRequested, 10+i)
				privilege(id, custID, "BACKUP", domain.DelegatedAdminRequested, 20+i)
			}
			if six := cost(6); six != two {
				t.Errorf("the view cost %d statements with 2 partners and %d with 6", two, six)
			}
		})
	})
}
