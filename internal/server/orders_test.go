package server_test

import (
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// channelFixture is V→D→R→C with every grant on, plus a direct customer.
type channelFixture struct {
	a                            *api
	app                          *server.Server
	vendor, dist, reseller, cust string
	direct                       string
	drEdge, rcEdge               string
	tok                          map[string]string // by org global id, OWNER tokens
}

func newChannelFixture(t *testing.T, db *bun.DB) *channelFixture {
	return newChannelFixtureWith(t, db, server.Config{})
}

func newChannelFixtureWith(t *testing.T, db *bun.DB, cfg server.Config) *channelFixture {
	a, app := newServer(t, db, cfg)
	f := &channelFixture{a: a, app: app, tok: map[string]string{}}
	var ids = map[string]int64{}
	add := func(name string, kind domain.OrganizationKind) string {
		gid, id := a.MustOrg(name, kind)
		ids[gid] = id
		f.tok[gid] = a.MustToken(id, domain.RoleOwner)
		return gid
	}
	f.vendor = add("Vendor", domain.KindVendor)
	f.dist = add("Distributor", domain.KindDistributor)
	f.reseller = add("Reseller", domain.KindReseller)
	f.cust = add("Customer", domain.KindCustomer)
	f.direct = add("Direct Customer", domain.KindCustomer)
	a.MustEdge(f.vendor, f.dist, true)
	f.drEdge = a.MustEdge(f.dist, f.reseller, true)
	f.rcEdge = a.MustEdge(f.reseller, f.cust, true)
	a.MustEdge(f.vendor, f.direct, false)
	a.MustProduct(f.vendor, "SKU-1")
	return f
}

func (f *channelFixture) indirect(number string) order {
	return order{Number: number, Vendor: f.vendor, Distributor: f.dist, Reseller: f.reseller, Customer: f.cust}
}

// visibleCount is how many orders token lists, and the distributor ids it sees.
func (f *channelFixture) visible(token string) (int, []*orgRef) {
	var out struct {
		PurchaseOrders struct {
			TotalCount int
			Edges      []struct{ Node struct{ Distributor *orgRef } }
		}
	}
	f.a.Must(token, `{ purchaseOrders(first: 100) { totalCount edges { node { distributor { id } } } } }`, nil, &out)
	var dists []*orgRef
	for _, e := range out.PurchaseOrders.Edges {
		dists = append(dists, e.Node.Distributor)
	}
	return out.PurchaseOrders.TotalCount, dists
}

func TestPurchaseOrderRules(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		a := f.a
		userError := func(p *orderPayload) string {
			if len(p.CreatePurchaseOrder.UserErrors) == 0 {
				return ""
			}
			e := p.CreatePurchaseOrder.UserErrors[0]
			return e.Code + " " + e.Field
		}

		t.Run("who may record", func(t *testing.T) {
			res := a.Do(f.tok[f.cust], createOrderMutation, map[string]any{"in": f.indirect("C-1").input()})
			if res.Code() != "FORBIDDEN" {
				t.Errorf("a customer recorded an order: %+v", res.Errors)
			}
			viewerToken := a.MustToken(rowID(t, f.reseller), domain.RoleViewer)
			if res := a.Do(viewerToken, createOrderMutation, map[string]any{"in": f.indirect("V-1").input()}); res.Code() != "FORBIDDEN" {
				t.Errorf("a VIEWER recorded an order: %+v", res.Errors)
			}
			salesToken := a.MustToken(rowID(t, f.reseller), domain.RoleSalesAgent)
			if p := a.createOrder(salesToken, f.indirect("S-1")); p.CreatePurchaseOrder.PurchaseOrder == nil {
				t.Errorf("a SALES_AGENT could not record an order: %+v", p)
			}
		})

		t.Run("input is checked", func(t *testing.T) {
			for _, tc := range []struct {
				name string
				o    order
				want string
			}{
				{"distributor without reseller", order{Number: "X-1", Vendor: f.vendor, Distributor: f.dist, Customer: f.cust}, "BAD_USER_INPUT distributorId"},
				{"no edge for a direct sale", order{Number: "X-2", Vendor: f.vendor, Customer: f.cust}, "BAD_USER_INPUT customerId"},
				{"wrong kind", order{Number: "X-3", Vendor: f.dist, Customer: f.cust}, "BAD_USER_INPUT vendorId"},
				{"empty number", order{Number: " ", Vendor: f.vendor, Customer: f.direct}, "BAD_USER_INPUT number"},
			} {
				if got := userError(a.createOrder(testapi.AdminToken, tc.o)); got != tc.want {
					t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
				}
			}
			in := f.indirect("X-4").input()
			in["lines"] = []map[string]any{{"sku": "NO-SUCH", "quantity": 1}}
			var out orderPayload
			a.Must(testapi.AdminToken, createOrderMutation, map[string]any{"in": in}, &out)
			if got := userError(&out); got != "BAD_USER_INPUT lines[0].sku" {
				t.Errorf("unknown SKU: %q", got)
			}
			in["lines"] = []map[string]any{{"sku": "SKU-1", "quantity": 0}}
			a.Must(testapi.AdminToken, createOrderMutation, map[string]any{"in": in}, &out)
			if got := userError(&out); got != "BAD_USER_INPUT lines[0].quantity" {
				t.Errorf("zero quantity: %q", got)
			}
			// A reseller may not name a customer it cannot see.
			stranger, _ := a.MustOrg("Stranger", domain.KindCustomer)
			o := f.indirect("X-5")
			o.Customer = stranger
			if res := a.Do(f.tok[f.reseller], createOrderMutation, map[string]any{"in": o.input()}); res.Code() != "NOT_FOUND" {
				t.Errorf("naming a hidden customer: %+v", res.Errors)
			}
			if n, _ := f.visible(testapi.AdminToken); n != 1 {
				t.Errorf("refused requests changed something: %d orders", n)
			}
		})

		t.Run("idempotency and numbers", func(t *testing.T) {
			o := f.indirect("I-1")
			o.Key = "retry-1"
			first := a.createOrder(f.tok[f.vendor], o)
			again := a.createOrder(f.tok[f.vendor], o)
			if first.CreatePurchaseOrder.PurchaseOrder == nil || again.CreatePurchaseOrder.PurchaseOrder == nil ||
				first.CreatePurchaseOrder.PurchaseOrder.ID != again.CreatePurchaseOrder.PurchaseOrder.ID {
				t.Fatalf("a retry recorded a second order: %+v / %+v", first, again)
			}
			o.Number = "I-2"
			if got := userError(a.createOrder(f.tok[f.vendor], o)); got != "CONFLICT idempotencyKey" {
				t.Errorf("same key, other request: %q", got)
			}
			o.Key = ""
			o.Number = "I-1"
			if got := userError(a.createOrder(f.tok[f.vendor], o)); got != "CONFLICT number" {
				t.Errorf("duplicate number: %q", got)
			}
		})

		t.Run("status moves forward, by the right party", func(t *testing.T) {
			po := a.createOrder(f.tok[f.reseller], f.indirect("M-1")).CreatePurchaseOrder.PurchaseOrder.ID
			move := func(token, status string) (string, string) {
				res := a.Do(token, `mutation($id: ID!, $s: PurchaseOrderStatus!) { updatePurchaseOrderStatus(input: {id: $id, status: $s}) {
					purchaseOrder { status } userErrors { code } } }`, map[string]any{"id": po, "s": status})
				var out struct {
					UpdatePurchaseOrderStatus struct {
						PurchaseOrder *struct{ Status string }
						UserErrors    []struct{ Code string }
					}
				}
				_ = jsonUnmarshal(res.Data, &out)
				if len(out.UpdatePurchaseOrderStatus.UserErrors) > 0 {
					return "", out.UpdatePurchaseOrderStatus.UserErrors[0].Code
				}
				if out.UpdatePurchaseOrderStatus.PurchaseOrder != nil {
					return out.UpdatePurchaseOrderStatus.PurchaseOrder.Status, ""
				}
				return "", res.Code()
			}
			steps := []struct{ token, status, wantStatus, wantCode string }{
				{f.tok[f.reseller], "PROCESSING", "", "FORBIDDEN"},
				{f.tok[f.cust], "CANCELLED", "", "FORBIDDEN"},
				{f.tok[f.vendor], "PROCESSING", "PROCESSING", ""},
				{f.tok[f.vendor], "PLACED", "", "CONFLICT"},
				{f.tok[f.reseller], "CANCELLED", "", "FORBIDDEN"}, // only while PLACED
				{f.tok[f.vendor], "COMPLETED", "COMPLETED", ""},
				{testapi.AdminToken, "CANCELLED", "", "CONFLICT"},
			}
			for i, s := range steps {
				if gotStatus, gotCode := move(s.token, s.status); gotStatus != s.wantStatus || gotCode != s.wantCode {
					t.Errorf("step %d → %s: got %q %q, want %q %q", i, s.status, gotStatus, gotCode, s.wantStatus, s.wantCode)
				}
			}
			po = a.createOrder(f.tok[f.reseller], f.indirect("M-2")).CreatePurchaseOrder.PurchaseOrder.ID
			if got, code := move(f.tok[f.reseller], "CANCELLED"); got != "CANCELLED" {
				t.Errorf("the recorder could not cancel its PLACED order: %q", code)
			}
		})

		t.Run("a draft is seen only by the organization that saved it", func(t *testing.T) {
			before, _ := f.visible(f.tok[f.vendor])
			o := f.indirect("D-1")
			o.Draft = true
			draft := a.createOrder(f.tok[f.reseller], o).CreatePurchaseOrder.PurchaseOrder
			if draft == nil || draft.Status != "DRAFT" {
				t.Fatalf("draft: %+v", draft)
			}
			if after, _ := f.visible(f.tok[f.vendor]); after != before {
				t.Errorf("the vendor sees the reseller's draft")
			}
			var out struct{ PurchaseOrder *struct{ ID string } }
			a.Must(f.tok[f.vendor], `query($id: ID!) { purchaseOrder(id: $id) { id } }`, map[string]any{"id": draft.ID}, &out)
			if out.PurchaseOrder != nil {
				t.Errorf("the vendor looked up the reseller's draft")
			}
			a.Must(f.tok[f.reseller], `mutation($id: ID!) { updatePurchaseOrderStatus(input: {id: $id, status: PLACED}) { purchaseOrder { id } } }`,
				map[string]any{"id": draft.ID}, nil)
			if after, _ := f.visible(f.tok[f.vendor]); after != before+1 {
				t.Errorf("the vendor does not see the placed draft")
			}
		})
	})
}

// TestGrantsDecideVisibility follows SPEC §3.2's example: turning off a
// distributor→reseller grant hides those orders from that reseller and from
// its customers; a customer never sees the distributor (SPEC §3.3).
func TestGrantsDecideVisibility(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		a := f.a
		for _, n := range []string{"G-1", "G-2", "G-3"} {
			a.createOrder(f.tok[f.vendor], f.indirect(n))
		}
		counts := func() [4]int {
			var c [4]int
			for i, org := range []string{f.vendor, f.dist, f.reseller, f.cust} {
				c[i], _ = f.visible(f.tok[org])
			}
			return c
		}
		if got := counts(); got != [4]int{3, 3, 3, 3} {
			t.Fatalf("all grants on: %v", got)
		}
		_, dists := f.visible(f.tok[f.cust])
		for _, d := range dists {
			if d != nil {
				t.Fatalf("the customer sees the distributor %v", d)
			}
		}
		var filtered struct{ PurchaseOrders struct{ TotalCount int } }
		a.Must(f.tok[f.cust], `query($d: ID) { purchaseOrders(filter: {distributorId: $d}) { totalCount } }`, map[string]any{"d": f.dist}, &filtered)
		if filtered.PurchaseOrders.TotalCount != 0 {
			t.Fatalf("a customer filtered by distributor and found %d", filtered.PurchaseOrders.TotalCount)
		}
		var orgs struct {
			Organizations struct{ Edges []struct{ Node orgRef } }
		}
		a.Must(f.tok[f.cust], `{ organizations(first: 100) { edges { node { id name } } } }`, nil, &orgs)
		for _, e := range orgs.Organizations.Edges {
			if e.Node.ID == f.dist {
				t.Fatalf("the customer lists the distributor")
			}
		}

		a.MustSetView(f.tok[f.dist], f.drEdge, false)
		if got := counts(); got != [4]int{3, 3, 0, 0} {
			t.Fatalf("distributor→reseller grant off: %v", got)
		}
		a.MustSetView(f.tok[f.dist], f.drEdge, true)
		a.MustSetView(f.tok[f.reseller], f.rcEdge, false)
		if got := counts(); got != [4]int{3, 3, 3, 0} {
			t.Fatalf("reseller→customer grant off: %v", got)
		}
		a.MustSetView(f.tok[f.reseller], f.rcEdge, true)
		a.Must(f.tok[f.reseller], `mutation($id: ID!) { removeChannelEdge(input: {channelEdgeId: $id, reason: "r", acknowledgeNotice: true}) { channelEdge { id } } }`,
			map[string]any{"id": f.drEdge}, nil)
		if got := counts(); got != [4]int{3, 3, 0, 0} {
			t.Fatalf("distributor→reseller edge removed: %v", got)
		}
	})
}
