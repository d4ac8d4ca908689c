package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

const poSubscription = `subscription($after: String) { purchaseOrderUpdated(after: $after) {
	cursor purchaseOrder { number status customer { name } distributor { name } } } }`

type poEvent struct {
	PurchaseOrderUpdated struct {
		Cursor        string
		PurchaseOrder struct {
			Number      string
			Status      string
			Distributor *struct{ Name string }
		}
	}
}

func (c *wsClient) nextPO() poEvent {
	c.tb.Helper()
	var ev poEvent
	c.next(&ev)
	return ev
}

// TestSubscriptionsFollowVisibility: an event reaches exactly the viewers
// who may see its order, resolved as each (no distributor for the
// customer); turning a grant off stops delivery to subscriptions already
// open (SPEC §7.3, §2.3).
func TestSubscriptionsFollowVisibility(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		subs := map[string]*wsClient{}
		for _, org := range []string{f.vendor, f.dist, f.reseller, f.cust} {
			subs[org] = f.a.dialWS(f.tok[org], org == f.cust) // the customer uses the legacy protocol
			subs[org].subscribe("po", poSubscription, nil)
		}
		waitForSubscribers(t, f, 4)
		f.a.createOrder(f.tok[f.vendor], f.indirect("L-1"))
		for org, c := range subs {
			ev := c.nextPO()
			if ev.PurchaseOrderUpdated.PurchaseOrder.Number != "L-1" {
				t.Fatalf("%s got %+v", org, ev)
			}
			if hasDist := ev.PurchaseOrderUpdated.PurchaseOrder.Distributor != nil; hasDist != (org != f.cust) {
				t.Fatalf("%s: distributor present = %v", org, hasDist)
			}
		}
		f.a.MustSetView(f.tok[f.dist], f.drEdge, false)
		f.a.createOrder(f.tok[f.vendor], f.indirect("L-2")) // hidden from reseller and customer
		direct := order{Number: "L-3", Vendor: f.vendor, Customer: f.direct}
		f.a.createOrder(f.tok[f.vendor], direct)
		for _, org := range []string{f.vendor, f.dist} {
			if n := subs[org].nextPO().PurchaseOrderUpdated.PurchaseOrder.Number; n != "L-2" {
				t.Fatalf("%s got %s, want L-2", org, n)
			}
		}
		// The reseller's next event is a later one it may see, never L-2.
		f.a.MustSetView(f.tok[f.dist], f.drEdge, true)
		f.a.createOrder(f.tok[f.vendor], f.indirect("L-4"))
		if n := subs[f.reseller].nextPO().PurchaseOrderUpdated.PurchaseOrder.Number; n != "L-4" {
			t.Fatalf("the reseller got %s after its grant was turned off, want L-4", n)
		}
	})
}

func waitForSubscribers(t *testing.T, f *channelFixture, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if members, _ := f.app.Hub().Subscribers(); members >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers never joined", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReplayThenLive: resubscribing with the last cursor replays exactly
// what was missed, in commit order, then continues live with no gap and no
// duplicate at the seam.
func TestReplayThenLive(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		c := f.a.dialWS(f.tok[f.reseller], false)
		c.subscribe("1", poSubscription, nil)
		waitForSubscribers(t, f, 1)
		f.a.createOrder(f.tok[f.vendor], f.indirect("R-0"))
		cursor := c.nextPO().PurchaseOrderUpdated.Cursor
		c.conn.Close()
		for i := 1; i <= 5; i++ {
			f.a.createOrder(f.tok[f.vendor], f.indirect(fmt.Sprintf("R-%d", i)))
		}
		c = f.a.dialWS(f.tok[f.reseller], false)
		c.subscribe("2", poSubscription, map[string]any{"after": cursor})
		// Changes committed while the replay runs must appear once, after it.
		go func() {
			for i := 6; i <= 8; i++ {
				f.a.createOrder(f.tok[f.vendor], f.indirect(fmt.Sprintf("R-%d", i)))
			}
		}()
		for i := 1; i <= 8; i++ {
			if n := c.nextPO().PurchaseOrderUpdated.PurchaseOrder.Number; n != fmt.Sprintf("R-%d", i) {
				t.Fatalf("event %d: got %s", i, n)
			}
		}
		if m, err := c.readWithin(300 * time.Millisecond); err == nil {
			t.Fatalf("an extra message after the seam: %+v", m)
		}
	})
}

// TestSharedResolution: subscribers of one organization, role and
// operation share one resolution per event, so the SQL an event costs does
// not grow with them.
func TestSharedResolution(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		counter := &testapi.StatementCounter{} // hooks must be added before the server runs
		db.AddQueryHook(counter)
		f := newChannelFixture(t, db)
		statementsFor := func(subscribers int, number string) int64 {
			var clients []*wsClient
			for i := 0; i < subscribers; i++ {
				c := f.a.dialWS(f.tok[f.vendor], false)
				c.subscribe("s", poSubscription, nil)
				clients = append(clients, c)
			}
			waitForSubscribers(t, f, subscribers)
			before := counter.N()
			f.a.createOrder(f.tok[f.vendor], f.indirect(number))
			for _, c := range clients {
				if n := c.nextPO().PurchaseOrderUpdated.PurchaseOrder.Number; n != number {
					t.Fatalf("got %s", n)
				}
			}
			time.Sleep(50 * time.Millisecond) // let the tailer settle
			n := counter.N() - before
			for _, c := range clients {
				c.conn.Close()
			}
			waitForNoSubscribers(t, f)
			return n
		}
		one := statementsFor(1, "S-1")
		many := statementsFor(40, "S-40")
		if many > one+4 {
			t.Fatalf("an event cost %d statements with 1 subscriber and %d with 40", one, many)
		}
		t.Logf("statements per event: %d with 1 subscriber, %d with 40", one, many)
	})
}

func waitForNoSubscribers(t *testing.T, f *channelFixture) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if members, _ := f.app.Hub().Subscribers(); members == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscribers never left")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTenantProvisioning: createTenant validates its domain, the built-in
// provisioner walks it to ACTIVE (or FAILED), each step is pushed to the
// partner and the customer, and completion leaves them notifications.
func TestTenantProvisioning(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixtureWith(t, db, server.Config{ProvisionStep: 20 * time.Millisecond})
		const sub = `subscription { tenantProvisioningUpdated { cursor tenant { domain status failureReason } } }`
		watchers := []*wsClient{f.a.dialWS(f.tok[f.reseller], false), f.a.dialWS(f.tok[f.cust], true)}
		for _, c := range watchers {
			c.subscribe("t", sub, nil)
		}
		waitForSubscribers(t, f, 2)
		create := func(d string) (string, string) {
			var out struct {
				CreateTenant struct {
					Tenant     *struct{ ID, Domain, Status string }
					UserErrors []struct{ Field, Code string }
				}
			}
			f.a.Must(f.tok[f.reseller], `mutation($c: ID!, $d: String!) { createTenant(input: {customerId: $c, domain: $d}) {
				tenant { id domain status } userErrors { field code } } }`, map[string]any{"c": f.cust, "d": d}, &out)
			if len(out.CreateTenant.UserErrors) > 0 {
				return "", out.CreateTenant.UserErrors[0].Code
			}
			return out.CreateTenant.Tenant.Domain, out.CreateTenant.Tenant.Status
		}
		if d, status := create("Contoso.Example.COM"); d != "contoso.example.com" || status != "REQUESTED" {
			t.Fatalf("createTenant: %s %s", d, status)
		}
		for _, bad := range []string{"contoso", "-bad.example.com", "under_score.example.com", "a..b"} {
			if _, code := create(bad); code != "BAD_USER_INPUT" {
				t.Errorf("domain %q: %s", bad, code)
			}
		}
		if _, code := create("CONTOSO.example.com"); code != "CONFLICT" {
			t.Errorf("a taken domain in other case: %s", code)
		}
		for _, c := range watchers {
			var seen []string
			for len(seen) < 4 {
				var ev struct {
					TenantProvisioningUpdated struct{ Tenant struct{ Status string } }
				}
				c.next(&ev)
				seen = append(seen, ev.TenantProvisioningUpdated.Tenant.Status)
			}
			if got := fmt.Sprint(seen); got != "[REQUESTED PROVISIONING VERIFYING ACTIVE]" {
				t.Fatalf("steps pushed: %s", got)
			}
		}
		create("fail-fabrikam.example.com")
		var out struct {
			Notifications []struct{ Kind, Message string }
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(out.Notifications) < 2 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			f.a.Must(f.tok[f.cust], `{ notifications { kind message } }`, nil, &out)
		}
		if len(out.Notifications) != 2 || out.Notifications[0].Kind != "TENANT_FAILED" || out.Notifications[1].Kind != "TENANT_ACTIVE" {
			t.Fatalf("the customer's notifications: %+v", out.Notifications)
		}
	})
}

// TestExternalProvisioning: with the built-in provisioner off, a vendor's
// fulfilment system reports each step; steps only move forward.
func TestExternalProvisioning(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		var created struct {
			CreateTenant struct{ Tenant struct{ ID string } }
		}
		f.a.Must(f.tok[f.cust], `mutation($c: ID!) { createTenant(input: {customerId: $c, domain: "woodgrove.example.com"}) { tenant { id } } }`,
			map[string]any{"c": f.cust}, &created)
		id := created.CreateTenant.Tenant.ID
		report := func(token, status, reason string) string {
			res := f.a.Do(token, `mutation($id: ID!, $s: TenantStatus!, $r: String) { reportTenantProvisioning(input: {tenantId: $id, status: $s, failureReason: $r}) {
				tenant { status } userErrors { code } } }`, map[string]any{"id": id, "s": status, "r": reason})
			var out struct {
				ReportTenantProvisioning struct {
					Tenant     *struct{ Status string }
					UserErrors []struct{ Code string }
				}
			}
			_ = jsonUnmarshal(res.Data, &out)
			switch {
			case res.Code() != "":
				return res.Code()
			case len(out.ReportTenantProvisioning.UserErrors) > 0:
				return out.ReportTenantProvisioning.UserErrors[0].Code
			}
			return out.ReportTenantProvisioning.Tenant.Status
		}
		steps := []struct{ token, status, reason, want string }{
			{f.tok[f.reseller], "PROVISIONING", "", "FORBIDDEN"},
			{f.tok[f.vendor], "ACTIVE", "", "CONFLICT"},
			{f.tok[f.vendor], "PROVISIONING", "", "PROVISIONING"},
			{f.tok[f.vendor], "FAILED", "", "BAD_USER_INPUT"},
			{f.tok[f.vendor], "VERIFYING", "", "VERIFYING"},
			{f.tok[f.vendor], "FAILED", "DNS record missing", "FAILED"},
			{f.tok[f.vendor], "ACTIVE", "", "CONFLICT"},
		}
		for i, s := range steps {
			if got := report(s.token, s.status, s.reason); got != s.want {
				t.Errorf("step %d → %s: got %s, want %s", i, s.status, got, s.want)
			}
		}
	})
}

// TestRevokedTokenEndsSubscriptions: revoking the token a subscription was
// opened with closes it with 4403.
func TestRevokedTokenEndsSubscriptions(t *testing.T) {
	db := testdb.MustOpen(t, "sqlite")
	cfg := server.Config{}
	cfg.Websocket.AuthCheckInterval = 50 * time.Millisecond
	f := newChannelFixtureWith(t, db, cfg)
	var out struct {
		CreateApiToken struct {
			Token    string
			ApiToken struct{ ID string }
		}
	}
	f.a.Must(f.tok[f.vendor], `mutation($o: ID!) { createApiToken(input: {organizationId: $o, role: VIEWER, name: "wall"}) { token apiToken { id } } }`,
		map[string]any{"o": f.vendor}, &out)
	c := f.a.dialWS(out.CreateApiToken.Token, false)
	c.subscribe("1", poSubscription, nil)
	waitForSubscribers(t, f, 1)
	f.a.Must(f.tok[f.vendor], `mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id } } }`,
		map[string]any{"id": out.CreateApiToken.ApiToken.ID}, nil)
	if code := c.closeCode(); code != 4403 {
		t.Fatalf("close code %d, want 4403", code)
	}
	waitForNoSubscribers(t, f)
}
