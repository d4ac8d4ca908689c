package server_test

import (
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

type edgePayload struct {
	ChannelEdge *struct {
		ID                string
		Status            string
		PurchaseOrderView bool
		RemovedBy         *orgRef
		RemovalReason     *string
	}
	UserErrors []struct{ Field, Message, Code string }
}

const edgeFields = `channelEdge { id status purchaseOrderView removedBy { id } removalReason } userErrors { field message code }`

func TestChannelEdgeLifecycle(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		vendor, vendorID := a.MustOrg("Vendor", domain.KindVendor)
		dist, _ := a.MustOrg("Distributor", domain.KindDistributor)
		reseller, resellerID := a.MustOrg("Reseller", domain.KindReseller)
		a.MustEdge(vendor, dist, false)
		a.MustEdge(dist, reseller, false)
		vendorOwner := a.MustToken(vendorID, domain.RoleOwner)
		resellerOwner := a.MustToken(resellerID, domain.RoleOwner)

		mutate := func(token, name, input string, vars map[string]any) (edgePayload, *testapi.Response) {
			t.Helper()
			res := a.Do(token, `mutation($in: `+input+`!) { `+name+`(input: $in) { `+edgeFields+` } }`, vars)
			var out map[string]edgePayload
			if res.Data != nil && string(res.Data) != "null" {
				if err := jsonUnmarshal(res.Data, &out); err != nil {
					t.Fatal(err)
				}
			}
			return out[name], res
		}
		create := func(token, up, down string) (edgePayload, *testapi.Response) {
			return mutate(token, "createChannelEdge", "CreateChannelEdgeInput", map[string]any{"in": map[string]any{"upstreamId": up, "downstreamId": down}})
		}

		// The vendor sees the reseller downstream of its distributor, so it may invite it.
		invited, _ := create(vendorOwner, vendor, reseller)
		if invited.ChannelEdge == nil || invited.ChannelEdge.Status != "INVITED" {
			t.Fatalf("vendor's edge: %+v", invited)
		}
		edge := invited.ChannelEdge.ID
		for _, tc := range []struct {
			name, token, up, down, code string
		}{
			{"disallowed pair", testapi.AdminToken, reseller, dist, "BAD_USER_INPUT"},
			{"self edge", testapi.AdminToken, vendor, vendor, "BAD_USER_INPUT"},
			{"duplicate", testapi.AdminToken, vendor, reseller, "CONFLICT"},
			{"downstream side may not create", resellerOwner, dist, reseller, "FORBIDDEN"},
		} {
			out, res := create(tc.token, tc.up, tc.down)
			got := res.Code()
			if len(out.UserErrors) > 0 {
				got = out.UserErrors[0].Code
			}
			if got != tc.code || out.ChannelEdge != nil {
				t.Errorf("%s: got %q %+v %+v, want %s", tc.name, got, out, res.Errors, tc.code)
			}
		}
		if _, res := create(a.MustToken(vendorID, domain.RoleSalesAgent), vendor, dist); res.Code() != "FORBIDDEN" {
			t.Errorf("a SALES_AGENT created an edge: %+v", res.Errors)
		}

		accept := map[string]any{"in": map[string]any{"channelEdgeId": edge}}
		if _, res := mutate(vendorOwner, "acceptChannelEdge", "AcceptChannelEdgeInput", accept); res.Code() != "FORBIDDEN" {
			t.Errorf("upstream accepted its own invitation: %+v", res.Errors)
		}
		if out, _ := mutate(resellerOwner, "acceptChannelEdge", "AcceptChannelEdgeInput", accept); out.ChannelEdge == nil || out.ChannelEdge.Status != "ACTIVE" {
			t.Fatalf("accept: %+v", out)
		}
		if out, _ := mutate(resellerOwner, "acceptChannelEdge", "AcceptChannelEdgeInput", accept); len(out.UserErrors) == 0 || out.UserErrors[0].Code != "CONFLICT" {
			t.Errorf("accepting twice: %+v", out)
		}

		view := map[string]any{"in": map[string]any{"channelEdgeId": edge, "enabled": true}}
		if _, res := mutate(resellerOwner, "setPurchaseOrderView", "SetPurchaseOrderViewInput", view); res.Code() != "FORBIDDEN" {
			t.Errorf("downstream changed the grant: %+v", res.Errors)
		}
		if out, _ := mutate(vendorOwner, "setPurchaseOrderView", "SetPurchaseOrderViewInput", view); out.ChannelEdge == nil || !out.ChannelEdge.PurchaseOrderView {
			t.Fatalf("setPurchaseOrderView: %+v", out)
		}

		removeAs := func(token string, ack bool, reason string) (edgePayload, *testapi.Response) {
			return mutate(token, "removeChannelEdge", "RemoveChannelEdgeInput",
				map[string]any{"in": map[string]any{"channelEdgeId": edge, "reason": reason, "acknowledgeNotice": ack}})
		}
		remove := func(ack bool, reason string) (edgePayload, *testapi.Response) {
			return removeAs(resellerOwner, ack, reason)
		}
		if out, _ := remove(false, "moving on"); len(out.UserErrors) == 0 || out.UserErrors[0].Field != "acknowledgeNotice" {
			t.Errorf("removal without acknowledging notice: %+v", out)
		}
		if out, _ := remove(true, "  "); len(out.UserErrors) == 0 || out.UserErrors[0].Field != "reason" {
			t.Errorf("removal without a reason: %+v", out)
		}
		out, _ := remove(true, "moving on")
		if e := out.ChannelEdge; e == nil || e.Status != "REMOVED" || e.RemovedBy == nil || e.RemovedBy.ID != reseller || *e.RemovalReason != "moving on" {
			t.Fatalf("removal: %+v", out)
		}
		// The reseller no longer sees the vendor (SPEC §1.5), so the edge is gone for it.
		if _, res := remove(true, "again"); res.Code() != "NOT_FOUND" {
			t.Errorf("the reseller still sees the removed edge: %+v", res.Errors)
		}
		if out, _ := removeAs(testapi.AdminToken, true, "again"); len(out.UserErrors) == 0 || out.UserErrors[0].Code != "CONFLICT" {
			t.Errorf("removing twice: %+v", out)
		}
		// After removal a new edge may join the pair again.
		if again, _ := create(vendorOwner, vendor, reseller); again.ChannelEdge == nil || again.ChannelEdge.Status != "INVITED" {
			t.Errorf("re-inviting after removal: %+v", again)
		}
	})
}

// TestPartnerViews covers SPEC §3.5: a reseller's customers with their
// toggles, and a distributor's resellers with theirs and its customers
// grouped by reseller; a removed customer leaves the list.
func TestPartnerViews(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		vendor, _ := a.MustOrg("Vendor", domain.KindVendor)
		dist, distID := a.MustOrg("Distributor", domain.KindDistributor)
		r1, r1ID := a.MustOrg("Reseller One", domain.KindReseller)
		r2, _ := a.MustOrg("Reseller Two", domain.KindReseller)
		c1, _ := a.MustOrg("Customer One", domain.KindCustomer)
		c2, _ := a.MustOrg("Customer Two", domain.KindCustomer)
		c3, _ := a.MustOrg("Customer Three", domain.KindCustomer)
		a.MustEdge(vendor, dist, false)
		a.MustEdge(dist, r1, true)
		a.MustEdge(dist, r2, false)
		a.MustEdge(r1, c1, true)
		gone := a.MustEdge(r1, c2, false)
		a.MustEdge(r2, c3, true)
		a.Must(testapi.AdminToken, `mutation($id: ID!) { removeChannelEdge(input: {channelEdgeId: $id, reason: "ended", acknowledgeNotice: true}) { channelEdge { id } } }`,
			map[string]any{"id": gone}, nil)

		type view struct {
			Organization struct {
				ChannelEdges struct {
					TotalCount int
					Edges      []struct {
						Node struct {
							PurchaseOrderView bool
							Downstream        struct {
								Name         string
								ChannelEdges struct {
									Edges []struct {
										Node struct {
											PurchaseOrderView bool
											Downstream        struct{ Name string }
										}
									}
								}
							}
						}
					}
				}
			}
		}
		const query = `query($id: ID!, $kind: OrganizationKind) { organization(id: $id) {
			channelEdges(direction: DOWNSTREAM, kind: $kind) { totalCount edges { node { purchaseOrderView downstream {
				name channelEdges(direction: DOWNSTREAM, kind: CUSTOMER) { edges { node { purchaseOrderView downstream { name } } } } } } } } } }`
		var resellerView view
		a.Must(a.MustToken(r1ID, domain.RoleViewer), query, map[string]any{"id": r1}, &resellerView)
		got := summarize(resellerView.Organization.ChannelEdges.Edges, func(n struct {
			PurchaseOrderView bool
			Downstream        struct {
				Name         string
				ChannelEdges struct {
					Edges []struct {
						Node struct {
							PurchaseOrderView bool
							Downstream        struct{ Name string }
						}
					}
				}
			}
		}) string {
			return n.Downstream.Name + ":" + map[bool]string{true: "on", false: "off"}[n.PurchaseOrderView]
		})
		if got != "Customer One:on" || resellerView.Organization.ChannelEdges.TotalCount != 1 {
			t.Fatalf("reseller's customers: %s (the removed Customer Two must be gone)", got)
		}

		var distView view
		a.Must(a.MustToken(distID, domain.RoleViewer), query, map[string]any{"id": dist, "kind": "RESELLER"}, &distView)
		var lines []string
		for _, e := range distView.Organization.ChannelEdges.Edges {
			var customers []string
			for _, c := range e.Node.Downstream.ChannelEdges.Edges {
				customers = append(customers, c.Node.Downstream.Name)
			}
			lines = append(lines, e.Node.Downstream.Name+"("+map[bool]string{true: "on", false: "off"}[e.Node.PurchaseOrderView]+"): "+strings.Join(customers, ","))
		}
		if strings.Join(lines, "; ") != "Reseller One(on): Customer One; Reseller Two(off): Customer Three" {
			t.Fatalf("distributor's resellers and their customers: %v", lines)
		}
	})
}

func summarize[T any](edges []struct{ Node T }, line func(T) string) string {
	var out []string
	for _, e := range edges {
		out = append(out, line(e.Node))
	}
	return strings.Join(out, "; ")
}
