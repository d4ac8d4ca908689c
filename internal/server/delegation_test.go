package server_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

const delegatedAdminFields = `delegatedAdmin { id status transacting service roles partner { id } customer { id } }
	userErrors { field code message }`

type delegatedAdminOut struct {
	ID, Status, Service string
	Transacting         bool
	Roles               []string
	Partner, Customer   orgRef
}

type delegatedAdminPayload struct {
	DelegatedAdmin *delegatedAdminOut
	UserErrors     []userError
}

// delegate runs one of the three delegated admin mutations as token,
// returning its request error code ("" for none) and payload.
func (a *api) delegate(token, mutation string, in map[string]any) (string, delegatedAdminPayload) {
	a.TB.Helper()
	input := map[string]string{"requestDelegatedAdmin": "RequestDelegatedAdminInput"}[mutation]
	if input == "" {
		input = "DelegatedAdminIdInput"
	}
	res := a.Do(token, `mutation($in: `+input+`!) { `+mutation+`(input: $in) { `+delegatedAdminFields+` } }`, map[string]any{"in": in})
	if res.Code() != "" {
		return res.Code(), delegatedAdminPayload{}
	}
	var out map[string]delegatedAdminPayload
	if err := jsonUnmarshal(res.Data, &out); err != nil {
		a.TB.Fatal(err)
	}
	return "", out[mutation]
}

// mustDelegate has partnerToken request transacting EMAIL privileges over
// customer and customerToken approve them; it returns their global id.
func (a *api) mustDelegate(partnerToken, customerToken, customer string) string {
	a.TB.Helper()
	code, out := a.delegate(partnerToken, "requestDelegatedAdmin",
		map[string]any{"customerId": customer, "service": "EMAIL", "roles": []string{"HELPDESK"}, "transacting": true})
	if code != "" || out.DelegatedAdmin == nil {
		a.TB.Fatalf("requestDelegatedAdmin: %s %+v", code, out.UserErrors)
	}
	id := out.DelegatedAdmin.ID
	if code, out = a.delegate(customerToken, "approveDelegatedAdmin", map[string]any{"delegatedAdminId": id}); code != "" || out.DelegatedAdmin == nil ||
		out.DelegatedAdmin.Status != "ACTIVE" {
		a.TB.Fatalf("approveDelegatedAdmin: %s %+v", code, out)
	}
	return id
}

// TestDelegatedAdminMutations: the request, approval and removal through
// the API, with the wrong roles and sides refused, and the second
// transacting partner a CONFLICT user error naming the rule.
func TestDelegatedAdminMutations(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		a := f.a
		in := map[string]any{"customerId": f.cust, "service": "EMAIL", "roles": []string{"HELPDESK"}, "transacting": true}
		if code, _ := a.delegate(a.MustToken(rowID(t, f.reseller), domain.RoleSalesAgent), "requestDelegatedAdmin", in); code != "FORBIDDEN" {
			t.Errorf("a SALES_AGENT requests: %q, want FORBIDDEN", code)
		}
		if code, _ := a.delegate(f.tok[f.reseller], "requestDelegatedAdmin", map[string]any{"customerId": f.direct,
			"service": "EMAIL", "roles": []string{"A"}, "transacting": false}); code != "NOT_FOUND" {
			t.Errorf("a request for a customer the reseller does not see: %q, want NOT_FOUND", code)
		}
		bad := map[string]any{"customerId": f.cust, "service": "no spaces", "roles": []string{"A"}, "transacting": false}
		if _, out := a.delegate(f.tok[f.reseller], "requestDelegatedAdmin", bad); len(out.UserErrors) != 1 ||
			out.UserErrors[0].Field != "service" || out.UserErrors[0].Code != "BAD_USER_INPUT" || out.DelegatedAdmin != nil {
			t.Errorf("a malformed service: %+v", out)
		}
		code, out := a.delegate(f.tok[f.reseller], "requestDelegatedAdmin", in)
		if code != "" || out.DelegatedAdmin == nil || out.DelegatedAdmin.Status != "REQUESTED" ||
			out.DelegatedAdmin.Partner.ID != f.reseller || out.DelegatedAdmin.Customer.ID != f.cust {
			t.Fatalf("the request: %s %+v", code, out)
		}
		id := map[string]any{"delegatedAdminId": out.DelegatedAdmin.ID}
		if code, _ := a.delegate(f.tok[f.reseller], "approveDelegatedAdmin", id); code != "FORBIDDEN" {
			t.Errorf("the partner approves: %q, want FORBIDDEN", code)
		}
		if code, _ := a.delegate(f.tok[f.dist], "approveDelegatedAdmin", id); code != "NOT_FOUND" {
			t.Errorf("the partner's distributor approves: %q, want NOT_FOUND", code)
		}
		if code, out := a.delegate(f.tok[f.cust], "approveDelegatedAdmin", id); code != "" || out.DelegatedAdmin.Status != "ACTIVE" {
			t.Fatalf("the approval: %s %+v", code, out)
		}
		// A second transacting partner for the same service.
		if code, out = a.delegate(f.tok[f.dist], "requestDelegatedAdmin", in); code != "" || out.DelegatedAdmin == nil {
			t.Fatalf("the distributor's request: %s %+v", code, out)
		}
		second := map[string]any{"delegatedAdminId": out.DelegatedAdmin.ID}
		if _, out := a.delegate(f.tok[f.cust], "approveDelegatedAdmin", second); len(out.UserErrors) != 1 ||
			out.UserErrors[0].Code != "CONFLICT" || !strings.Contains(out.UserErrors[0].Message, "one transacting partner") {
			t.Errorf("a second transacting partner: %+v", out)
		}
		if code, out := a.delegate(f.tok[f.dist], "removeDelegatedAdmin", id); code != "NOT_FOUND" {
			t.Errorf("another partner removes the privilege: %q %+v", code, out)
		}
		if code, out := a.delegate(f.tok[f.cust], "removeDelegatedAdmin", id); code != "" || out.DelegatedAdmin.Status != "REMOVED" {
			t.Errorf("the customer removes it: %s %+v", code, out)
		}
		var node struct{ Node *struct{ ID, Status string } }
		a.Must(f.tok[f.reseller], `query($id: ID!) { node(id: $id) { ... on DelegatedAdmin { id status } } }`, map[string]any{"id": id["delegatedAdminId"]}, &node)
		if node.Node == nil || node.Node.Status != "REMOVED" {
			t.Errorf("the partner reads it by node: %+v", node.Node)
		}
		a.Must(f.tok[f.direct], `query($id: ID!) { node(id: $id) { ... on DelegatedAdmin { id status } } }`, map[string]any{"id": id["delegatedAdminId"]}, &node)
		if node.Node != nil {
			t.Errorf("an unrelated customer reads it by node: %+v", node.Node)
		}
	})
}

// TestRemovingTheEdgeKeepsDelegatedAdmins (SPEC §6.2): removing the
// reseller's edge to its customer leaves its privileges ACTIVE, and the
// removal's payload lists them.
func TestRemovingTheEdgeKeepsDelegatedAdmins(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		a := f.a
		id := a.mustDelegate(f.tok[f.reseller], f.tok[f.cust], f.cust)
		var removed struct {
			RemoveChannelEdge struct {
				ChannelEdge         *struct{ Status string }
				DelegatedAdminsKept []struct{ ID, Status string }
				UserErrors          []userError
			}
		}
		a.Must(f.tok[f.cust], `mutation($in: RemoveChannelEdgeInput!) { removeChannelEdge(input: $in) {
			channelEdge { status } delegatedAdminsKept { id status } userErrors { field code message } } }`,
			map[string]any{"in": map[string]any{"channelEdgeId": f.rcEdge, "reason": "moving on", "acknowledgeNotice": true}}, &removed)
		got := removed.RemoveChannelEdge
		if got.ChannelEdge == nil || got.ChannelEdge.Status != "REMOVED" {
			t.Fatalf("removeChannelEdge: %+v", got)
		}
		if len(got.DelegatedAdminsKept) != 1 || got.DelegatedAdminsKept[0].ID != id || got.DelegatedAdminsKept[0].Status != "ACTIVE" {
			t.Errorf("delegatedAdminsKept %+v, want [%s ACTIVE]", got.DelegatedAdminsKept, id)
		}
		for _, org := range []string{f.reseller, f.cust} {
			var list struct {
				Node struct {
					DelegatedAdmins struct {
						TotalCount int
						Edges      []struct{ Node struct{ ID, Status string } }
					}
				}
			}
			a.Must(f.tok[org], `query($id: ID!) { node(id: $id) { ... on Organization { delegatedAdmins { totalCount edges { node { id status } } } } } }`,
				map[string]any{"id": org}, &list)
			if l := list.Node.DelegatedAdmins; l.TotalCount != 1 || len(l.Edges) != 1 || l.Edges[0].Node.Status != "ACTIVE" {
				t.Errorf("%s lists %+v after the edge's removal, want the ACTIVE privilege", org, l)
			}
		}
	})
}

// TestDelegatedAdminEvents (SPEC §8.8): each change reaches the partner and
// the customer, and not the partner's distributor nor another customer.
func TestDelegatedAdminEvents(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		const query = `subscription { delegatedAdminUpdated { cursor delegatedAdmin { id status partner { id } customer { id } } } }`
		clients := map[string]*wsClient{}
		for _, org := range []string{f.reseller, f.cust, f.dist, f.direct} {
			clients[org] = f.a.dialWS(f.tok[org], false)
			clients[org].subscribe("d", query, nil)
		}
		waitForSubscribers(t, f, len(clients))
		id := f.a.mustDelegate(f.tok[f.reseller], f.tok[f.cust], f.cust)
		for _, org := range []string{f.reseller, f.cust} {
			for _, want := range []string{"REQUESTED", "ACTIVE"} {
				var ev struct {
					Data struct {
						DelegatedAdminUpdated struct {
							Cursor         string
							DelegatedAdmin struct{ ID, Status string }
						}
					}
				}
				m := clients[org].read()
				if err := jsonUnmarshal(m.Payload, &ev); err != nil || m.Type != "next" {
					t.Fatalf("%s got %s %s (%v)", org, m.Type, m.Payload, err)
				}
				if got := ev.Data.DelegatedAdminUpdated.DelegatedAdmin; got.ID != id || got.Status != want {
					t.Errorf("%s's event: %+v, want %s %s", org, got, id, want)
				}
			}
		}
		for _, org := range []string{f.dist, f.direct} {
			if m, err := clients[org].readWithin(500 * time.Millisecond); err == nil {
				t.Errorf("%s got %s %s", org, m.Type, m.Payload)
			}
		}
	})
}

// TestDelegatedAdminPartnerOfRecordLimits (SPEC §6.2): a reseller that is
// not the subscription's partner of record sees the customer's
// subscription only once it holds an ACTIVE delegated admin privilege; it
// may then rename it and assign its licenses (an OWNER or ADMIN_AGENT,
// not a VIEWER), and nothing else: seats, status and billing cycle are
// NOT_PARTNER_OF_RECORD. Removing the privilege hides it again.
func TestDelegatedAdminPartnerOfRecordLimits(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newSubFixture(t, db)
		helper, helperID := f.a.MustOrg("Helper Reseller", domain.KindReseller)
		f.a.MustEdge(helper, f.cust, false)
		tok := f.a.MustToken(helperID, domain.RoleAdminAgent)
		sub := f.buy(t, "SKU-1", 3, false)
		seen := func() bool {
			var node struct {
				Node *struct {
					ID    string
					Price struct{ BuyPrice, SellPrice *struct{ Amount string } }
				}
			}
			f.a.Must(tok, `query($id: ID!) { node(id: $id) { ... on ProductSubscription { id customer { id } partnerOfRecord { id } price { buyPrice { amount } sellPrice { amount } } } } }`, map[string]any{"id": sub}, &node)
			if node.Node != nil && (node.Node.Price.BuyPrice != nil || node.Node.Price.SellPrice != nil) {
				t.Errorf("the helper, no party of the sale, sees its prices: %+v", node.Node.Price)
			}
			return node.Node != nil
		}
		if seen() {
			t.Fatal("the helper sees the subscription before any privilege")
		}
		if code, _ := f.update(t, tok, sub, map[string]any{"nickname": "x"}); code != "NOT_FOUND" {
			t.Errorf("a change before any privilege: %q, want NOT_FOUND", code)
		}
		id := f.a.mustDelegate(tok, f.tok[f.cust], f.cust)
		if !seen() {
			t.Fatal("the helper with an ACTIVE privilege does not see the customer's subscription")
		}
		for _, c := range []struct {
			in   map[string]any
			want string
		}{
			{map[string]any{"nickname": "Front desk"}, ""},
			{map[string]any{"assignedLicenses": 2}, ""},
			{map[string]any{"quantityChange": -1}, "NOT_PARTNER_OF_RECORD quantityChange"},
			{map[string]any{"quantityChange": 1}, "NOT_PARTNER_OF_RECORD quantityChange"},
			{map[string]any{"status": "SUSPENDED"}, "NOT_PARTNER_OF_RECORD status"},
			{map[string]any{"billingCycle": "ANNUAL"}, "NOT_PARTNER_OF_RECORD billingCycle"},
			{map[string]any{"autoRenew": false}, "NOT_PARTNER_OF_RECORD autoRenew"},
		} {
			code, out := f.update(t, tok, sub, c.in)
			if got := refusal(t, code, out); got != c.want {
				t.Errorf("the helper changes %v: %q, want %q", c.in, got, c.want)
			}
			if c.want != "" && (len(out.UserErrors) == 0 || !strings.Contains(out.UserErrors[0].Message, "delegated admin")) {
				t.Errorf("the refusal of %v does not say delegated admin does not allow it: %+v", c.in, out.UserErrors)
			}
		}
		if s := f.stored(t, sub); s.Nickname != "Front desk" || s.AssignedLicenses != 2 || s.Quantity != 3 || s.Status != domain.SubscriptionActive {
			t.Errorf("stored %+v, want only the nickname and assigned licenses changed", s)
		}
		viewer := f.a.MustToken(helperID, domain.RoleViewer)
		if code, out := f.update(t, viewer, sub, map[string]any{"nickname": "y"}); refusal(t, code, out) != "ROLE_NOT_ALLOWED nickname" {
			t.Errorf("the helper's VIEWER renames: %q", refusal(t, code, out))
		}
		if code, out := f.a.delegate(f.tok[f.cust], "removeDelegatedAdmin", map[string]any{"delegatedAdminId": id}); code != "" || out.DelegatedAdmin == nil {
			t.Fatalf("removal: %s %+v", code, out)
		}
		if seen() {
			t.Error("the helper still sees the subscription after its privilege was removed")
		}
	})
}

// TestDelegatedAdminOrdersNoAddOns (SPEC §6.2): a reseller with an ACTIVE
// delegated admin privilege over the customer, not the partner of record
// of its subscription to a product, may not put that product's add-on in a
// cart for the customer (NOT_PARTNER_OF_RECORD on productId); the partner
// of record may, and the helper may still sell the base product.
func TestDelegatedAdminOrdersNoAddOns(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newSubFixture(t, db)
		helper, helperID := f.a.MustOrg("Helper Reseller", domain.KindReseller)
		f.a.MustEdge(f.vendor, helper, true)
		f.a.MustEdge(helper, f.cust, false)
		tok := f.a.MustToken(helperID, domain.RoleOwner)
		f.buy(t, "SKU-1", 3, false)
		var baseID int64
		if err := db.NewSelect().TableExpr("products").Column("id").Where("sku = 'SKU-1'").Scan(t.Context(), &baseID); err != nil {
			t.Fatal(err)
		}
		base := gidOf("Product", baseID)
		var created struct {
			CreateProduct struct {
				Product    *struct{ ID string }
				UserErrors []userError
			}
		}
		f.a.Must(testapi.AdminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } userErrors { field code message } } }`,
			map[string]any{"in": map[string]any{"vendorId": f.vendor, "sku": "ADDON-1", "name": "Add-on", "type": "LICENSE",
				"listPrice": map[string]any{"amount": "1", "currency": "EUR"}, "parentId": base}}, &created)
		if created.CreateProduct.Product == nil {
			t.Fatalf("createProduct: %+v", created.CreateProduct.UserErrors)
		}
		addOn := created.CreateProduct.Product.ID
		// addLine puts product in a new cart of token's for the customer and
		// returns the codes of its user errors on productId.
		addLine := func(token, product string) []string {
			t.Helper()
			var cart struct {
				CreateCart struct {
					Cart       *struct{ ID string }
					UserErrors []userError
				}
			}
			f.a.Must(token, `mutation($in: CreateCartInput!) { createCart(input: $in) { cart { id } userErrors { field code message } } }`,
				map[string]any{"in": map[string]any{"customerId": f.cust}}, &cart)
			if cart.CreateCart.Cart == nil {
				t.Fatalf("createCart: %+v", cart.CreateCart.UserErrors)
			}
			var line struct {
				AddCartLine struct{ UserErrors []userError }
			}
			f.a.Must(token, `mutation($in: AddCartLineInput!) { addCartLine(input: $in) { userErrors { field code message } } }`,
				map[string]any{"in": map[string]any{"cartId": cart.CreateCart.Cart.ID, "productId": product, "quantity": 1}}, &line)
			var codes []string
			for _, e := range line.AddCartLine.UserErrors {
				if e.Field == "productId" {
					codes = append(codes, e.Code)
				}
			}
			return codes
		}
		if got := addLine(tok, addOn); len(got) != 0 {
			t.Errorf("the helper without privileges adds the add-on: %v (an ordinary sale, not this rule's)", got)
		}
		f.a.mustDelegate(tok, f.tok[f.cust], f.cust)
		if got := addLine(tok, addOn); !slices.Equal(got, []string{"NOT_PARTNER_OF_RECORD"}) {
			t.Errorf("the delegated helper adds the add-on: %v, want NOT_PARTNER_OF_RECORD", got)
		}
		if got := addLine(tok, base); len(got) != 0 {
			t.Errorf("the delegated helper adds the base product: %v", got)
		}
		if got := addLine(f.tok[f.reseller], addOn); len(got) != 0 {
			t.Errorf("the partner of record adds the add-on: %v", got)
		}
	})
}
