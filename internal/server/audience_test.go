package server_test

import (
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/push"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestReplayReachesOnlyTheAudienceAtCommit: a tenant or channel-edge event
// that committed while a viewer could not see its object never reaches
// that viewer, not even replayed with `after` once it can see the object
// (SPEC §7.3, §8.8); what it could see at commit it replays.
//
// A reseller and its customer are joined, and the customer gets a tenant,
// before the distributor has any edge; then the distributor joins the
// reseller, which puts the reseller, its customer, their edge and the
// customer's tenants in the distributor's sight. Replaying from the first
// cursor, the distributor receives only what happened after it joined.
func TestReplayReachesOnlyTheAudienceAtCommit(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		dist, distID := a.MustOrg("Distributor", domain.KindDistributor)
		reseller, _ := a.MustOrg("Reseller", domain.KindReseller)
		customer, _ := a.MustOrg("Customer", domain.KindCustomer)
		createTenant := func(d string) {
			var out struct {
				CreateTenant struct{ UserErrors []struct{ Code string } }
			}
			a.Must(testapi.AdminToken, `mutation($c: ID!, $d: String!) { createTenant(input: {customerId: $c, domain: $d}) { userErrors { code } } }`,
				map[string]any{"c": customer, "d": d}, &out)
			if len(out.CreateTenant.UserErrors) > 0 {
				t.Fatalf("createTenant %s: %v", d, out.CreateTenant.UserErrors)
			}
		}
		before := a.MustEdge(reseller, customer, false) // the distributor is in nobody's channel yet
		createTenant("before.example.com")
		a.MustEdge(dist, reseller, false)
		createTenant("after.example.com")
		a.MustSetView(testapi.AdminToken, before, true) // the old edge changes again, now in the distributor's sight

		token := a.MustToken(distID, domain.RoleOwner)
		from := map[string]any{"after": push.Cursor(events.Event{})}
		c := a.dialWS(token, false)
		c.subscribe("tenants", `subscription($after: String) { tenantProvisioningUpdated(after: $after) { tenant { domain } } }`, from)
		c.subscribe("edges", `subscription($after: String) { channelEdgeUpdated(after: $after) {
			channelEdge { purchaseOrderView upstream { name } downstream { name } } } }`, from)
		var tenants, edges []string
		for len(tenants)+len(edges) < 3 {
			var ev struct {
				TenantProvisioningUpdated *struct{ Tenant struct{ Domain string } }
				ChannelEdgeUpdated        *struct {
					ChannelEdge struct {
						PurchaseOrderView    bool
						Upstream, Downstream struct{ Name string }
					}
				}
			}
			switch c.next(&ev) {
			case "tenants":
				tenants = append(tenants, ev.TenantProvisioningUpdated.Tenant.Domain)
			case "edges":
				e := ev.ChannelEdgeUpdated.ChannelEdge
				edges = append(edges, e.Upstream.Name+"→"+e.Downstream.Name+map[bool]string{true: " (view on)", false: ""}[e.PurchaseOrderView])
			}
		}
		if len(tenants) != 1 || tenants[0] != "after.example.com" {
			t.Errorf("replayed tenant events: %v, want only after.example.com", tenants)
		}
		if len(edges) != 2 || edges[0] != "Distributor→Reseller" || edges[1] != "Reseller→Customer (view on)" {
			t.Errorf("replayed edge events: %v, want the distributor's own edge, then the reseller's view change", edges)
		}
		// Nothing else is waiting: the next event is one made now.
		createTenant("live.example.com")
		var ev struct {
			TenantProvisioningUpdated struct{ Tenant struct{ Domain string } }
		}
		if id := c.next(&ev); id != "tenants" || ev.TenantProvisioningUpdated.Tenant.Domain != "live.example.com" {
			t.Errorf("after the replay: %s %+v, want the live tenant", id, ev)
		}
	})
}
