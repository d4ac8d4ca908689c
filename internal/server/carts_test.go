package server_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// Carts, drafts and quotes through the API (SPEC §4.3, §8.4). The prices
// and the catalog checks come from packages pricing and catalog; these tests
// assert what the cart flow itself guarantees — structure, statuses, one
// user error per fault on its field, idempotency, races, who may — and the
// price fields only where each viewer must or must not see one.

// cartFixture is V→D→R→C with every grant on, V→R for buying direct, a
// competitor reseller R2 of C, and the vendor's products: a licence P1 with
// an add-on A1, and P2 for education customers only.
type cartFixture struct {
	a                                 *api
	vendor, dist, reseller, other     string
	cust, cust2                       string
	p1, a1, p2                        string
	seller, sales, billing, custOwner string // tokens
	custViewer, custAdmin, vendorTok  string
	distTok, otherTok                 string
	drEdge                            string
	app                               *server.Server
}

func newCartFixture(t *testing.T, db *bun.DB, cfg server.Config) *cartFixture {
	a, app := newServer(t, db, cfg)
	f := &cartFixture{a: a, app: app}
	var id int64
	f.vendor, id = a.MustOrg("Vendor", domain.KindVendor)
	f.vendorTok = a.MustToken(id, domain.RoleOwner)
	f.dist, id = a.MustOrg("Distributor", domain.KindDistributor)
	f.distTok = a.MustToken(id, domain.RoleOwner)
	f.reseller, id = a.MustOrg("Reseller", domain.KindReseller)
	f.seller, f.sales = a.MustToken(id, domain.RoleOwner), a.MustToken(id, domain.RoleSalesAgent)
	f.billing = a.MustToken(id, domain.RoleBillingAdmin)
	f.other, id = a.MustOrg("Other Reseller", domain.KindReseller)
	f.otherTok = a.MustToken(id, domain.RoleOwner)
	f.cust = f.customer("Customer", "COMMERCIAL")
	id = rowID(t, f.cust)
	f.custOwner, f.custViewer = a.MustToken(id, domain.RoleOwner), a.MustToken(id, domain.RoleViewer)
	f.custAdmin = a.MustToken(id, domain.RoleAdminAgent)
	f.cust2 = f.customer("Unsold Customer", "COMMERCIAL")
	a.MustEdge(f.vendor, f.dist, true)
	f.drEdge = a.MustEdge(f.dist, f.reseller, true)
	a.MustEdge(f.vendor, f.reseller, true)
	a.MustEdge(f.reseller, f.cust, true)
	a.MustEdge(f.vendor, f.other, true)
	a.MustEdge(f.other, f.cust, true)
	a.MustEdge(f.vendor, f.cust2, true)
	a.MustEdge(f.reseller, f.cust2, true)
	// An edge the distributor offered the other reseller, not yet accepted:
	// the reseller sees the distributor, which does not sell to it yet.
	offered := a.MustEdge(f.dist, f.other, false)
	if _, err := db.NewUpdate().TableExpr("channel_edges").Set("status = 'INVITED'").Where("id = ?", rowID(t, offered)).Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.p1 = f.product("P1", nil, nil)
	f.a1 = f.product("A1", &f.p1, nil)
	f.p2 = f.product("P2", nil, []string{"EDUCATION"})
	return f
}

func (f *cartFixture) customer(name, segment string) string {
	var out struct {
		CreateOrganization struct{ Organization orgRef } `json:"createOrganization"`
	}
	f.a.Must(testapi.AdminToken, `mutation($in: CreateOrganizationInput!) { createOrganization(input: $in) { organization { id } } }`,
		map[string]any{"in": map[string]any{"name": name, "kind": "CUSTOMER", "segment": segment, "industry": "Retail"}}, &out)
	return out.CreateOrganization.Organization.ID
}

func (f *cartFixture) product(sku string, parent *string, segments []string) string {
	in := map[string]any{"vendorId": f.vendor, "sku": sku, "name": sku, "type": "LICENSE",
		"listPrice": map[string]any{"amount": "10.00", "currency": "EUR"},
		"terms":     []string{"P1Y", "P1M"}, "billingCycles": []string{"ANNUAL", "MONTHLY"}}
	if sku == "P1" { // a yearly licence, billed monthly unless asked otherwise
		in["terms"], in["billingCycles"] = []string{"P1Y"}, []string{"MONTHLY"}
	}
	if parent != nil {
		in["parentId"] = *parent
	}
	if segments != nil {
		in["segments"] = segments
	}
	var out struct {
		CreateProduct struct {
			Product    struct{ ID string }
			UserErrors []map[string]any
		} `json:"createProduct"`
	}
	f.a.Must(testapi.AdminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } userErrors { field message } } }`,
		map[string]any{"in": in}, &out)
	if len(out.CreateProduct.UserErrors) > 0 {
		f.a.TB.Fatalf("createProduct %s: %v", sku, out.CreateProduct.UserErrors)
	}
	return out.CreateProduct.Product.ID
}

type cartFault struct{ Field, Message, Code string }

func (e cartFault) String() string { return e.Code + " " + e.Field }

func codes(es []cartFault) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	slices.Sort(out)
	return out
}

// mutate runs a mutation whose payload is under root and decodes it.
func (f *cartFixture) mutate(token, root, query string, in map[string]any, dst any) *testapi.Response {
	f.a.TB.Helper()
	res := f.a.Do(token, query, map[string]any{"in": in})
	if dst != nil && len(res.Errors) == 0 {
		var data map[string]json.RawMessage
		if err := json.Unmarshal(res.Data, &data); err != nil {
			f.a.TB.Fatal(err)
		}
		if err := json.Unmarshal(data[root], dst); err != nil {
			f.a.TB.Fatal(err)
		}
	}
	return res
}

type cartLineOut struct {
	ID, Term, BillingCycle string
	Quantity               int
	TenantDomain           *string
	Parent                 *struct{ ID string }
	BuyPrice, SellPrice    *struct{ Amount, Currency string }
	Margin                 *struct{ Amount string }
	Tenant                 *struct{ ID string }
	Product                struct{ ID string }
}

type cartOut struct {
	ID, Status  string
	Customer    struct{ ID string }
	Distributor *struct{ ID string }
	Lines       []cartLineOut
}

const lineFields = `id quantity term billingCycle tenantDomain parent { id } tenant { id } product { id }
	buyPrice { amount currency } sellPrice { amount currency } margin { amount }`
const cartFields = `id status customer { id } distributor { id } lines { ` + lineFields + ` }`

type cartPayload struct {
	Cart       *cartOut
	UserErrors []cartFault
}

func (f *cartFixture) createCart(token, customer string, distributor *string) (*cartPayload, *testapi.Response) {
	in := map[string]any{"customerId": customer}
	if distributor != nil {
		in["distributorId"] = *distributor
	}
	var out cartPayload
	res := f.mutate(token, "createCart", `mutation($in: CreateCartInput!) { createCart(input: $in) { cart { `+cartFields+` } userErrors { field message code } } }`, in, &out)
	return &out, res
}

func (f *cartFixture) mustCart(token, customer string, distributor *string) string {
	f.a.TB.Helper()
	out, res := f.createCart(token, customer, distributor)
	if len(res.Errors) > 0 || out.Cart == nil {
		f.a.TB.Fatalf("createCart: %+v %+v", res.Errors, out.UserErrors)
	}
	return out.Cart.ID
}

type linePayload struct {
	CartLine   *cartLineOut
	Cart       *cartOut
	UserErrors []cartFault
}

func (f *cartFixture) addLine(token string, in map[string]any) (*linePayload, *testapi.Response) {
	var out linePayload
	res := f.mutate(token, "addCartLine", `mutation($in: AddCartLineInput!) { addCartLine(input: $in) {
		cartLine { `+lineFields+` } cart { `+cartFields+` } userErrors { field message code } } }`, in, &out)
	return &out, res
}

func (f *cartFixture) mustLine(token string, in map[string]any) string {
	f.a.TB.Helper()
	out, res := f.addLine(token, in)
	if len(res.Errors) > 0 || len(out.UserErrors) > 0 {
		f.a.TB.Fatalf("addCartLine %v: %+v %+v", in, res.Errors, out.UserErrors)
	}
	return out.CartLine.ID
}

type orderOut struct {
	ID, Number, Status string
	Reseller           *struct{ ID string }
	Distributor        *struct{ ID string }
	Lines              []struct {
		Quantity           int
		Term, BillingCycle *string
		BuyPrice           *struct{ Amount string }
		SellPrice          *struct{ Amount string }
		Tenant             *struct {
			ID, Domain, Status string
		}
	}
}

type placePayload struct {
	PurchaseOrders []orderOut
	Cart           *cartOut
	UserErrors     []cartFault
}

const orderFields = `id number status reseller { id } distributor { id } lines { quantity term billingCycle tenant { id domain status } buyPrice { amount } sellPrice { amount } }`

func (f *cartFixture) place(token, cart, key string) (*placePayload, *testapi.Response) {
	var out placePayload
	res := f.mutate(token, "placeCart", `mutation($in: PlaceCartInput!) { placeCart(input: $in) {
		purchaseOrders { `+orderFields+` } cart { id status } userErrors { field message code } } }`,
		map[string]any{"cartId": cart, "idempotencyKey": key}, &out)
	return &out, res
}

type quoteOut struct {
	ID, Number, Status string
	ExpiresAt          time.Time
	DeclineReason      *string
	Lines              []cartLineOut
	PurchaseOrders     []struct{ ID string }
}

type quotePayload struct {
	Quote          *quoteOut
	PurchaseOrders []struct{ ID string }
	UserErrors     []cartFault
}

const quoteFields = `id number status expiresAt declineReason lines { ` + lineFields + ` } purchaseOrders { id }`

func (f *cartFixture) quote(token, cart string, expires time.Time) (*quotePayload, *testapi.Response) {
	var out quotePayload
	res := f.mutate(token, "createQuote", `mutation($in: CreateQuoteInput!) { createQuote(input: $in) {
		quote { `+quoteFields+` } purchaseOrders { id } userErrors { field message code } } }`,
		map[string]any{"cartId": cart, "expiresAt": expires.Format(time.RFC3339)}, &out)
	return &out, res
}

func (f *cartFixture) accept(token, quote, key string) (*quotePayload, *testapi.Response) {
	var out quotePayload
	res := f.mutate(token, "acceptQuote", `mutation($in: AcceptQuoteInput!) { acceptQuote(input: $in) {
		quote { `+quoteFields+` } purchaseOrders { id } userErrors { field message code } } }`,
		map[string]any{"quoteId": quote, "idempotencyKey": key}, &out)
	return &out, res
}

func (f *cartFixture) decline(token, quote string, reason string) (*quotePayload, *testapi.Response) {
	var out quotePayload
	res := f.mutate(token, "declineQuote", `mutation($in: DeclineQuoteInput!) { declineQuote(input: $in) {
		quote { `+quoteFields+` } purchaseOrders { id } userErrors { field message code } } }`,
		map[string]any{"quoteId": quote, "reason": reason}, &out)
	return &out, res
}

func orderIDs(os []orderOut) []string {
	out := make([]string, len(os))
	for i, o := range os {
		out[i] = o.ID
	}
	slices.Sort(out)
	return out
}

// TestCartCreation: who may start a cart, for whom, through whom.
func TestCartCreation(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newCartFixture(t, db, server.Config{})
		a := f.a
		out, res := f.createCart(f.sales, f.cust, &f.dist)
		if len(res.Errors) > 0 || out.Cart == nil || out.Cart.Status != "OPEN" || out.Cart.Distributor == nil || out.Cart.Distributor.ID != f.dist {
			t.Fatalf("a SALES_AGENT's cart through the distributor: %+v %+v", res.Errors, out)
		}
		if _, res := f.createCart(f.billing, f.cust, nil); res.Code() != "FORBIDDEN" {
			t.Errorf("a BILLING_ADMIN builds a cart: %+v", res.Errors)
		}
		if _, res := f.createCart(f.custOwner, f.cust, nil); res.Code() != "FORBIDDEN" {
			t.Errorf("a customer builds a cart: %+v", res.Errors)
		}
		if _, res := f.createCart(testapi.AdminToken, f.cust, nil); res.Code() != "FORBIDDEN" {
			t.Errorf("the platform administrator builds a cart: %+v", res.Errors)
		}
		for name, c := range map[string]struct {
			token, customer string
			dist            *string
			want            string
		}{
			"distributor":              {f.distTok, f.cust, nil, "BAD_USER_INPUT customerId"},
			"customer without edge":    {f.vendorTok, f.cust, nil, "BAD_USER_INPUT customerId"},
			"not a customer":           {f.seller, f.dist, nil, "BAD_USER_INPUT customerId"},
			"distributor not selling":  {f.otherTok, f.cust, &f.dist, "BAD_USER_INPUT distributorId"},
			"vendor names distributor": {f.vendorTok, f.cust2, &f.dist, "BAD_USER_INPUT distributorId"},
		} {
			out, res := f.createCart(c.token, c.customer, c.dist)
			if len(res.Errors) > 0 || len(out.UserErrors) != 1 || out.UserErrors[0].String() != c.want {
				t.Errorf("%s: %+v %+v, want %s", name, res.Errors, out.UserErrors, c.want)
			}
		}
		// A customer the viewer may not see is NOT_FOUND, as if it did not exist.
		hidden := f.customer("Hidden", "COMMERCIAL")
		if _, res := f.createCart(f.otherTok, hidden, nil); res.Code() != "NOT_FOUND" {
			t.Errorf("a hidden customer: %+v", res.Errors)
		}
		hiddenDist, _ := a.MustOrg("Hidden Distributor", domain.KindDistributor)
		if _, res := f.createCart(f.seller, f.cust, &hiddenDist); res.Code() != "NOT_FOUND" {
			t.Errorf("a hidden distributor: %+v", res.Errors)
		}
		// Only the seller lists and reads its carts; the administrator sees all.
		var list struct {
			Carts struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID string } }
			}
		}
		a.Must(f.seller, `{ carts { totalCount edges { node { id } } } }`, nil, &list)
		if list.Carts.TotalCount != 1 || list.Carts.Edges[0].Node.ID != out.Cart.ID {
			t.Errorf("the seller's carts: %+v", list)
		}
		a.Must(f.otherTok, `{ carts { totalCount edges { node { id } } } }`, nil, &list)
		if list.Carts.TotalCount != 0 {
			t.Errorf("a competitor lists %d carts", list.Carts.TotalCount)
		}
		var node struct{ Node *struct{ ID string } }
		a.Must(f.otherTok, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": out.Cart.ID}, &node)
		if node.Node != nil {
			t.Errorf("a competitor reads the cart by id")
		}
		a.Must(f.seller, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": out.Cart.ID}, &node)
		if node.Node == nil {
			t.Errorf("the seller cannot read its cart by id")
		}
	})
}

// TestCartFlow: lines with an add-on and a new tenant domain, placed as one
// PLACED order per vendor with terms and the tenant requested; a retry with
// the key answers with the same orders; a placed cart no longer changes.
func TestCartFlow(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newCartFixture(t, db, server.Config{})
		cart := f.mustCart(f.sales, f.cust, &f.dist)
		parent := f.mustLine(f.sales, map[string]any{"cartId": cart, "productId": f.p1, "quantity": 5,
			"tenantDomain": "Contoso.Example.com"})
		out, res := f.addLine(f.sales, map[string]any{"cartId": cart, "productId": f.a1, "quantity": 5,
			"parentLineId": parent, "term": "P1M", "billingCycle": "MONTHLY", "markupPercent": "20"})
		if len(res.Errors) > 0 || len(out.UserErrors) > 0 {
			t.Fatalf("add-on line: %+v %+v", res.Errors, out.UserErrors)
		}
		if l := out.CartLine; l.Parent == nil || l.Parent.ID != parent || l.Term != "P1M" || l.BillingCycle != "MONTHLY" {
			t.Errorf("add-on line: %+v", l)
		}
		lines := out.Cart.Lines
		if len(lines) != 2 || lines[0].Term != "P1Y" || lines[0].BillingCycle != "MONTHLY" || strOf(lines[0].TenantDomain) != "contoso.example.com" {
			t.Fatalf("the cart's lines (first offered term and cycle, domain normalized): %s", describe(lines))
		}
		// The reseller buys through the distributor and sells to the customer.
		for _, l := range lines {
			if l.BuyPrice == nil || l.SellPrice == nil || l.Margin == nil {
				t.Errorf("the seller sees no buy, sell or margin on %s: %s", l.ID, describe(l))
			}
		}

		placed, res := f.place(f.sales, cart, "place-1")
		if len(res.Errors) > 0 || len(placed.UserErrors) > 0 {
			t.Fatalf("placeCart: %+v %+v", res.Errors, placed.UserErrors)
		}
		if len(placed.PurchaseOrders) != 1 || placed.Cart.Status != "PLACED" {
			t.Fatalf("placed: %s", describe(placed))
		}
		po := placed.PurchaseOrders[0]
		if po.Status != "PLACED" || po.Reseller == nil || po.Distributor == nil || len(po.Lines) != 2 {
			t.Fatalf("the order: %s", describe(po))
		}
		if l := po.Lines[0]; strOf(l.Term) != "P1Y" || strOf(l.BillingCycle) != "MONTHLY" || l.Tenant == nil ||
			l.Tenant.Domain != "contoso.example.com" || l.Quantity != 5 {
			t.Errorf("the order's first line: %s", describe(l))
		}
		for i, l := range po.Lines {
			if l.BuyPrice == nil || l.SellPrice == nil || l.SellPrice.Amount != lines[i].SellPrice.Amount {
				t.Errorf("the seller's prices on the order's line %d: %s, in the cart %s", i, describe(l), describe(lines[i]))
			}
		}
		// The retry answers with the same orders; another key finds the cart placed.
		again, _ := f.place(f.sales, cart, "place-1")
		if !slices.Equal(orderIDs(again.PurchaseOrders), orderIDs(placed.PurchaseOrders)) || len(again.UserErrors) > 0 {
			t.Errorf("a retry: %s", describe(again))
		}
		other, _ := f.place(f.sales, cart, "place-2")
		if got := codes(other.UserErrors); !slices.Equal(got, []string{"CONFLICT cartId"}) {
			t.Errorf("placing a placed cart again: %v", got)
		}
		// The same key on another cart of the seller is a conflict.
		cart2 := f.mustCart(f.sales, f.cust, nil)
		f.mustLine(f.sales, map[string]any{"cartId": cart2, "productId": f.p1, "quantity": 1})
		reused, _ := f.place(f.sales, cart2, "place-1")
		if got := codes(reused.UserErrors); !slices.Equal(got, []string{"CONFLICT idempotencyKey"}) {
			t.Errorf("a key reused on another cart: %v", got)
		}
		// The placed cart no longer changes.
		if out, _ := f.addLine(f.sales, map[string]any{"cartId": cart, "productId": f.p1, "quantity": 1}); !slices.Equal(codes(out.UserErrors), []string{"CONFLICT cartId"}) {
			t.Errorf("adding to a placed cart: %+v", out.UserErrors)
		}
		// The vendor, the distributor and the customer see the order; the tenant was requested with it.
		var seen struct {
			PurchaseOrder *struct{ Distributor *struct{ ID string } }
		}
		for _, tok := range []string{f.vendorTok, f.distTok, f.custOwner} {
			f.a.Must(tok, `query($id: ID!) { purchaseOrder(id: $id) { distributor { id } } }`, map[string]any{"id": po.ID}, &seen)
			if seen.PurchaseOrder == nil || (seen.PurchaseOrder.Distributor != nil) == (tok == f.custOwner) {
				t.Errorf("a party reads the order as %s", describe(seen))
			}
		}
		var n int
		if err := db.NewSelect().TableExpr("tenants").ColumnExpr("COUNT(*)").
			Where("domain = 'contoso.example.com' AND status = 'REQUESTED'").Scan(t.Context(), &n); err != nil || n != 1 {
			t.Errorf("requested tenants: %d %v", n, err)
		}
	})
}

// TestCartLineFaults: every bad input of addCartLine, updateCartLine and
// removeCartLine is refused on its field, one user error per fault, and
// changes nothing.
func TestCartLineFaults(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newCartFixture(t, db, server.Config{})
		cart := f.mustCart(f.seller, f.cust, nil)
		line := f.mustLine(f.seller, map[string]any{"cartId": cart, "productId": f.p1, "quantity": 1})
		var tenant struct {
			CreateTenant struct{ Tenant struct{ ID string } }
		}
		f.a.Must(f.seller, `mutation($in: CreateTenantInput!) { createTenant(input: $in) { tenant { id } } }`,
			map[string]any{"in": map[string]any{"customerId": f.cust, "domain": "taken.example.com"}}, &tenant)
		var otherTenant struct {
			CreateTenant struct{ Tenant struct{ ID string } }
		}
		f.a.Must(f.seller, `mutation($in: CreateTenantInput!) { createTenant(input: $in) { tenant { id } } }`,
			map[string]any{"in": map[string]any{"customerId": f.cust2, "domain": "other.example.com"}}, &otherTenant)
		otherCart := f.mustCart(f.seller, f.cust, nil)
		otherLine := f.mustLine(f.seller, map[string]any{"cartId": otherCart, "productId": f.p1, "quantity": 1})
		base := func(extra map[string]any) map[string]any {
			in := map[string]any{"cartId": cart, "productId": f.p1, "quantity": 1}
			for k, v := range extra {
				in[k] = v
			}
			return in
		}
		for name, c := range map[string]struct {
			in   map[string]any
			want []string
		}{
			"quantity 0":                {base(map[string]any{"quantity": 0}), []string{"BAD_USER_INPUT quantity"}},
			"term not offered":          {base(map[string]any{"term": "P1M"}), []string{"BAD_USER_INPUT term"}},
			"quantity too big":          {base(map[string]any{"quantity": 1_000_001}), []string{"BAD_USER_INPUT quantity"}},
			"both tenants":              {base(map[string]any{"tenantId": tenant.CreateTenant.Tenant.ID, "tenantDomain": "x.example.com"}), []string{"BAD_USER_INPUT tenantDomain"}},
			"bad domain":                {base(map[string]any{"tenantDomain": "not a domain"}), []string{"BAD_USER_INPUT tenantDomain"}},
			"taken domain":              {base(map[string]any{"tenantDomain": "TAKEN.example.com"}), []string{"CONFLICT tenantDomain"}},
			"markup and price":          {base(map[string]any{"markupPercent": "5", "price": map[string]any{"amount": "1.00", "currency": "EUR"}}), []string{"BAD_USER_INPUT price"}},
			"bad markup":                {base(map[string]any{"markupPercent": "5000"}), []string{"BAD_USER_INPUT markupPercent"}},
			"bad price":                 {base(map[string]any{"price": map[string]any{"amount": "-1", "currency": "EUR"}}), []string{"BAD_USER_INPUT price.amount"}},
			"cycle not offered":         {base(map[string]any{"billingCycle": "ANNUAL"}), []string{"BAD_USER_INPUT billingCycle"}},
			"another customer's tenant": {base(map[string]any{"tenantId": otherTenant.CreateTenant.Tenant.ID}), []string{"BAD_USER_INPUT tenantId"}},
			"parent of another cart":    {base(map[string]any{"productId": f.a1, "parentLineId": otherLine}), []string{"BAD_USER_INPUT parentLineId"}},
			"two faults at once":        {base(map[string]any{"quantity": 0, "tenantDomain": "-bad-"}), []string{"BAD_USER_INPUT quantity", "BAD_USER_INPUT tenantDomain"}},
			"segment not allowed":       {base(map[string]any{"productId": f.p2}), nil},
			"add-on without a parent":   {base(map[string]any{"productId": f.a1}), nil},
		} {
			out, res := f.addLine(f.seller, c.in)
			got := codes(out.UserErrors)
			if len(res.Errors) > 0 || out.CartLine != nil || len(got) == 0 || (c.want != nil && !slices.Equal(got, c.want)) {
				t.Errorf("%s: %+v %v, want %v", name, res.Errors, got, c.want)
			}
		}
		// The catalog's faults name the field at fault (its own words).
		if out, _ := f.addLine(f.seller, base(map[string]any{"productId": f.a1})); len(out.UserErrors) != 1 || out.UserErrors[0].Field == "" {
			t.Errorf("an add-on without a parent: %+v", out.UserErrors)
		}
		var cartNow struct {
			Node struct{ Lines []struct{ ID string } }
		}
		f.a.Must(f.seller, `query($id: ID!) { node(id: $id) { ... on Cart { lines { id } } } }`, map[string]any{"id": cart}, &cartNow)
		if len(cartNow.Node.Lines) != 1 {
			t.Errorf("refused lines changed the cart: %d lines", len(cartNow.Node.Lines))
		}
		// A vendor's cart holds only the vendor's own products.
		other, _ := f.a.MustOrg("Other Vendor", domain.KindVendor)
		var foreign struct {
			CreateProduct struct{ Product struct{ ID string } }
		}
		f.a.Must(testapi.AdminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } } }`,
			map[string]any{"in": map[string]any{"vendorId": other, "sku": "X1", "name": "X1", "type": "LICENSE"}}, &foreign)
		direct := f.mustCart(f.vendorTok, f.cust2, nil)
		if out, _ := f.addLine(f.vendorTok, map[string]any{"cartId": direct, "productId": foreign.CreateProduct.Product.ID, "quantity": 1}); !slices.Equal(codes(out.UserErrors), []string{"BAD_USER_INPUT productId"}) {
			t.Errorf("another vendor's product in a vendor's cart: %+v", out.UserErrors)
		}
		// Hidden things are NOT_FOUND.
		for name, in := range map[string]map[string]any{
			"competitor's cart":   {"cartId": cart, "productId": f.p1, "quantity": 1},
			"unknown tenant":      base(map[string]any{"tenantId": gidOf("Tenant", 99999)}),
			"unknown product":     base(map[string]any{"productId": gidOf("Product", 99999)}),
			"unknown parent line": base(map[string]any{"parentLineId": gidOf("CartLine", 99999)}),
		} {
			tok := f.seller
			if name == "competitor's cart" {
				tok = f.otherTok
			}
			if _, res := f.addLine(tok, in); res.Code() != "NOT_FOUND" {
				t.Errorf("%s: %+v", name, res.Errors)
			}
		}
		// updateCartLine checks as addCartLine does; removeCartLine takes the add-ons along.
		var upd linePayload
		f.mutate(f.seller, "updateCartLine", `mutation($in: UpdateCartLineInput!) { updateCartLine(input: $in) { cartLine { id quantity } userErrors { field message code } } }`,
			map[string]any{"lineId": line, "quantity": 0, "markupPercent": "9999"}, &upd)
		if got := codes(upd.UserErrors); !slices.Equal(got, []string{"BAD_USER_INPUT markupPercent", "BAD_USER_INPUT quantity"}) {
			t.Errorf("updateCartLine faults: %v", got)
		}
		f.mutate(f.seller, "updateCartLine", `mutation($in: UpdateCartLineInput!) { updateCartLine(input: $in) { cartLine { id quantity } userErrors { field message code } } }`,
			map[string]any{"lineId": line, "quantity": 7}, &upd)
		if upd.CartLine == nil || upd.CartLine.Quantity != 7 {
			t.Errorf("updateCartLine: %+v", upd)
		}
		f.mustLine(f.seller, base(map[string]any{"productId": f.a1, "parentLineId": line}))
		var removed cartPayload
		f.mutate(f.seller, "removeCartLine", `mutation($in: RemoveCartLineInput!) { removeCartLine(input: $in) { cart { `+cartFields+` } userErrors { field message code } } }`,
			map[string]any{"lineId": line}, &removed)
		if removed.Cart == nil || len(removed.Cart.Lines) != 0 {
			t.Errorf("removing a parent line leaves %s", describe(removed))
		}
		// A chain whose edge is no longer ACTIVE is refused on cartId, and nothing is made.
		chained := f.mustCart(f.seller, f.cust, &f.dist)
		f.mustLine(f.seller, map[string]any{"cartId": chained, "productId": f.p1, "quantity": 1, "tenantDomain": "chain.example.com"})
		setStatus := func(status string) {
			if _, err := db.NewUpdate().TableExpr("channel_edges").Set("status = ?", status).Where("id = ?", rowID(t, f.drEdge)).Exec(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		setStatus("INVITED")
		if out, _ := f.place(f.seller, chained, "chain"); !slices.Equal(codes(out.UserErrors), []string{"BAD_USER_INPUT cartId"}) {
			t.Errorf("placing along an edge no longer ACTIVE: %+v", out.UserErrors)
		} else if !strings.Contains(out.UserErrors[0].Message, f.vendor) {
			t.Errorf("the refusal names the vendor other than by its ID %s: %q", f.vendor, out.UserErrors[0].Message)
		}
		setStatus("ACTIVE")
		var made int
		_ = db.NewSelect().TableExpr("tenants").ColumnExpr("COUNT(*)").Where("domain = 'chain.example.com'").Scan(t.Context(), &made)
		if made != 0 {
			t.Errorf("a refused placement requested the tenant")
		}
		// An empty cart is not saved or quoted; a saved or quoted cart neither.
		save := func(cart string) []string {
			var out placePayload
			f.mutate(f.seller, "saveCartForLater", `mutation($in: SaveCartForLaterInput!) { saveCartForLater(input: $in) {
				purchaseOrders { id } cart { id } userErrors { field message code } } }`, map[string]any{"cartId": cart}, &out)
			return codes(out.UserErrors)
		}
		if got := save(cart); !slices.Equal(got, []string{"BAD_USER_INPUT cartId"}) {
			t.Errorf("saving an empty cart: %v", got)
		}
		if got := save(otherCart); len(got) != 0 {
			t.Fatalf("saving a cart: %v", got)
		}
		if got := save(otherCart); !slices.Equal(got, []string{"CONFLICT cartId"}) {
			t.Errorf("saving a saved cart: %v", got)
		}
		if out, _ := f.quote(f.seller, otherCart, time.Now().Add(time.Hour)); !slices.Equal(codes(out.UserErrors), []string{"CONFLICT cartId"}) {
			t.Errorf("quoting a saved cart: %+v", out.UserErrors)
		}
		// A line whose new domain was taken since it was added is refused by name when quoting.
		late := f.mustCart(f.seller, f.cust, nil)
		f.mustLine(f.seller, map[string]any{"cartId": late, "productId": f.p1, "quantity": 1})
		f.mustLine(f.seller, map[string]any{"cartId": late, "productId": f.p1, "quantity": 0 + 1, "tenantDomain": "late.example.com"})
		f.a.Must(f.seller, `mutation($in: CreateTenantInput!) { createTenant(input: $in) { tenant { id } } }`,
			map[string]any{"in": map[string]any{"customerId": f.cust, "domain": "late.example.com"}}, nil)
		if out, _ := f.quote(f.seller, late, time.Now().Add(time.Hour)); !slices.Equal(codes(out.UserErrors), []string{"CONFLICT lines[1].tenantDomain"}) {
			t.Errorf("quoting a line whose domain was taken: %+v", out.UserErrors)
		}
		// An empty cart is not placed; a bad key is refused on its field.
		for key, want := range map[string]string{"": "BAD_USER_INPUT idempotencyKey", strings.Repeat("k", 201): "BAD_USER_INPUT idempotencyKey", "k": "BAD_USER_INPUT cartId"} {
			out, _ := f.place(f.seller, cart, key)
			if got := codes(out.UserErrors); !slices.Equal(got, []string{want}) {
				t.Errorf("placing with key %.5q: %v, want %s", key, got, want)
			}
		}
	})
}

// TestPlaceCartConcurrently: 50 concurrent placeCart calls with one key
// give exactly one set of orders; every answer is that set, or a CONFLICT
// saying the first is still in flight.
func TestPlaceCartConcurrently(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newCartFixture(t, db, server.Config{})
		cart := f.mustCart(f.seller, f.cust, &f.dist)
		f.mustLine(f.seller, map[string]any{"cartId": cart, "productId": f.p1, "quantity": 2})
		const n = 50
		answers := make([]*placePayload, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i], _ = f.place(f.seller, cart, "one-key")
			}()
		}
		wg.Wait()
		var first []string
		for i, ans := range answers {
			switch {
			case len(ans.UserErrors) == 1 && ans.UserErrors[0].String() == "CONFLICT idempotencyKey":
			case len(ans.UserErrors) > 0:
				t.Errorf("answer %d: %+v", i, ans.UserErrors)
			case first == nil:
				first = orderIDs(ans.PurchaseOrders)
			case !slices.Equal(first, orderIDs(ans.PurchaseOrders)):
				t.Errorf("answer %d: orders %v, first %v", i, orderIDs(ans.PurchaseOrders), first)
			}
		}
		var count int
		if err := db.NewSelect().TableExpr("purchase_orders").ColumnExpr("COUNT(*)").
			Where("cart_id = ?", rowID(t, cart)).Scan(t.Context(), &count); err != nil || count != 1 || len(first) != 1 {
			t.Errorf("%d orders made, answers named %v (%v)", count, first, err)
		}
	})
}

// TestTenantDomainRace: two carts racing for one new tenant domain — one
// wins, the other gets a CONFLICT on the line's tenantDomain and nothing of
// it is made.
func TestTenantDomainRace(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newCartFixture(t, db, server.Config{})
		carts := make([]string, 2)
		for i := range carts {
			carts[i] = f.mustCart(f.seller, f.cust, nil)
			f.mustLine(f.seller, map[string]any{"cartId": carts[i], "productId": f.p1, "quantity": 1})
			f.mustLine(f.seller, map[string]any{"cartId": carts[i], "productId": f.p1, "quantity": 1, "tenantDomain": "race.example.com"})
		}
		answers := make([]*placePayload, 2)
		var wg sync.WaitGroup
		for i := range carts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i], _ = f.place(f.seller, carts[i], fmt.Sprintf("race-%d", i))
			}()
		}
		wg.Wait()
		won, lost := 0, -1
		for i, ans := range answers {
			switch got := codes(ans.UserErrors); {
			case len(got) == 0 && len(ans.PurchaseOrders) == 1:
				won++
			case slices.Equal(got, []string{"CONFLICT lines[1].tenantDomain"}):
				lost = i
			default:
				t.Errorf("cart %d: %s", i, describe(ans))
			}
		}
		if won != 1 || lost < 0 {
			t.Fatalf("won %d, lost %d", won, lost)
		}
		var orders, tenants int
		_ = db.NewSelect().TableExpr("purchase_orders").ColumnExpr("COUNT(*)").Where("cart_id = ?", rowID(t, carts[lost])).Scan(t.Context(), &orders)
		_ = db.NewSelect().TableExpr("tenants").ColumnExpr("COUNT(*)").Where("domain = 'race.example.com'").Scan(t.Context(), &tenants)
		var status string
		_ = db.NewSelect().TableExpr("carts").Column("status").Where("id = ?", rowID(t, carts[lost])).Scan(t.Context(), &status)
		if orders != 0 || tenants != 1 || status != "OPEN" {
			t.Errorf("the loser's cart made %d orders and is %s; %d tenants", orders, status, tenants)
		}
	})
}

// TestSaveAndResume: saving leaves DRAFT orders in the saver's history
// alone; resuming cancels them and reopens the cart.
func TestSaveAndResume(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newCartFixture(t, db, server.Config{})
		cart := f.mustCart(f.seller, f.cust, &f.dist)
		f.mustLine(f.seller, map[string]any{"cartId": cart, "productId": f.p1, "quantity": 3})
		var saved placePayload
		f.mutate(f.seller, "saveCartForLater", `mutation($in: SaveCartForLaterInput!) { saveCartForLater(input: $in) {
			purchaseOrders { `+orderFields+` } cart { id status } userErrors { field message code } } }`, map[string]any{"cartId": cart}, &saved)
		if len(saved.UserErrors) > 0 || len(saved.PurchaseOrders) != 1 || saved.PurchaseOrders[0].Status != "DRAFT" || saved.Cart.Status != "SAVED" {
			t.Fatalf("saveCartForLater: %s", describe(saved))
		}
		draft := saved.PurchaseOrders[0].ID
		listed := func(tok string) bool {
			var out struct {
				PurchaseOrders struct {
					Edges []struct{ Node struct{ ID string } }
				}
			}
			f.a.Must(tok, `{ purchaseOrders(first: 50) { edges { node { id } } } }`, nil, &out)
			for _, e := range out.PurchaseOrders.Edges {
				if e.Node.ID == draft {
					return true
				}
			}
			return false
		}
		if !listed(f.seller) || listed(f.vendorTok) || listed(f.distTok) || listed(f.custOwner) {
			t.Errorf("the draft is listed by the saver %v, the vendor %v, the distributor %v, the customer %v",
				listed(f.seller), listed(f.vendorTok), listed(f.distTok), listed(f.custOwner))
		}
		if out, _ := f.addLine(f.seller, map[string]any{"cartId": cart, "productId": f.p1, "quantity": 1}); !slices.Equal(codes(out.UserErrors), []string{"CONFLICT cartId"}) {
			t.Errorf("adding to a saved cart: %+v", out.UserErrors)
		}
		resume := `mutation($in: ResumeDraftInput!) { resumeDraft(input: $in) { cart { id status } userErrors { field message code } } }`
		if res := f.a.Do(f.vendorTok, resume, map[string]any{"in": map[string]any{"purchaseOrderId": draft}}); res.Code() != "NOT_FOUND" {
			t.Errorf("the vendor resumes the seller's draft: %+v", res.Errors)
		}
		var resumed cartPayload
		f.mutate(f.seller, "resumeDraft", resume, map[string]any{"purchaseOrderId": draft}, &resumed)
		if resumed.Cart == nil || resumed.Cart.Status != "OPEN" {
			t.Fatalf("resumeDraft: %s", describe(resumed))
		}
		var po struct{ PurchaseOrder struct{ Status string } }
		f.a.Must(f.seller, `query($id: ID!) { purchaseOrder(id: $id) { status } }`, map[string]any{"id": draft}, &po)
		if po.PurchaseOrder.Status != "CANCELLED" {
			t.Errorf("the resumed draft is %s", po.PurchaseOrder.Status)
		}
		// Cancelled without ever being placed, it stays the saver's alone.
		if !listed(f.seller) || listed(f.vendorTok) || listed(f.distTok) || listed(f.custOwner) {
			t.Errorf("the resumed draft is listed by the saver %v, the vendor %v, the distributor %v, the customer %v",
				listed(f.seller), listed(f.vendorTok), listed(f.distTok), listed(f.custOwner))
		}
		var again cartPayload
		f.mutate(f.seller, "resumeDraft", resume, map[string]any{"purchaseOrderId": draft}, &again)
		if got := codes(again.UserErrors); !slices.Equal(got, []string{"BAD_USER_INPUT purchaseOrderId"}) {
			t.Errorf("resuming a cancelled draft: %v", got)
		}
		// The reopened cart places; its order numbers are fresh.
		placed, _ := f.place(f.seller, cart, "after-resume")
		if len(placed.UserErrors) > 0 || len(placed.PurchaseOrders) != 1 || placed.PurchaseOrders[0].Number == saved.PurchaseOrders[0].Number {
			t.Errorf("placing the resumed cart: %s", describe(placed))
		}
	})
}

// TestQuotes: a quote is sent, seen by its seller and customer alone (the
// customer sees only what it pays), accepted by the customer's OWNER or
// ADMIN_AGENT (placing the orders, idempotently), declined with a reason,
// and refused once expired by the test clock.
func TestQuotes(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newCartFixture(t, db, server.Config{Clock: &clock.Adjustable{}})
		now := time.Now()
		newQuote := func(expires time.Time) *quoteOut {
			cart := f.mustCart(f.sales, f.cust, &f.dist)
			f.mustLine(f.sales, map[string]any{"cartId": cart, "productId": f.p1, "quantity": 4, "markupPercent": "25"})
			out, res := f.quote(f.sales, cart, expires)
			if len(res.Errors) > 0 || len(out.UserErrors) > 0 {
				t.Fatalf("createQuote: %+v %+v", res.Errors, out.UserErrors)
			}
			return out.Quote
		}
		// Bad expiries, and an empty cart.
		empty := f.mustCart(f.sales, f.cust, nil)
		for name, c := range map[string]struct {
			at   time.Time
			want string
		}{
			"past":          {now.Add(-time.Hour), "BAD_USER_INPUT expiresAt"},
			"over a year":   {now.AddDate(1, 0, 2), "BAD_USER_INPUT expiresAt"},
			"an empty cart": {now.Add(time.Hour), "BAD_USER_INPUT cartId"},
		} {
			out, _ := f.quote(f.sales, empty, c.at)
			if got := codes(out.UserErrors); !slices.Equal(got, []string{c.want}) {
				t.Errorf("%s: %v, want %s", name, got, c.want)
			}
		}

		q := newQuote(now.Add(72 * time.Hour))
		if q.Status != "SENT" || q.Number != "Q-000001" || len(q.Lines) != 1 {
			t.Fatalf("the quote: %s", describe(q))
		}
		// The customer reads the quote with its one price; a third party not at all.
		var read struct{ Node *quoteOut }
		f.a.Must(f.custViewer, `query($id: ID!) { node(id: $id) { ... on Quote { `+quoteFields+` } } }`, map[string]any{"id": q.ID}, &read)
		if read.Node == nil || len(read.Node.Lines) != 1 {
			t.Fatalf("the customer reads %s", describe(read))
		}
		l := read.Node.Lines[0]
		if l.BuyPrice == nil || l.SellPrice != nil || l.Margin != nil {
			t.Fatalf("the customer's line prices: %s", describe(l))
		}
		quoted := l.BuyPrice.Amount
		f.a.Must(f.otherTok, `query($id: ID!) { node(id: $id) { ... on Quote { id } } }`, map[string]any{"id": q.ID}, &read)
		if read.Node != nil {
			t.Errorf("a third party reads the quote")
		}
		var listed struct {
			Quotes struct{ TotalCount int }
		}
		for tok, want := range map[string]int{f.sales: 1, f.custOwner: 1, f.otherTok: 0, f.vendorTok: 0} {
			f.a.Must(tok, `{ quotes(filter: {status: SENT}) { totalCount } }`, nil, &listed)
			if listed.Quotes.TotalCount != want {
				t.Errorf("quotes listed: %d, want %d", listed.Quotes.TotalCount, want)
			}
		}

		// Who may answer.
		for tok, want := range map[string]string{f.custViewer: "FORBIDDEN", f.sales: "FORBIDDEN", f.otherTok: "NOT_FOUND"} {
			if _, res := f.accept(tok, q.ID, "acc-1"); res.Code() != want {
				t.Errorf("accepted by one that may not: %+v, want %s", res.Errors, want)
			}
		}
		// The distributor raises its price after the quote was sent: the
		// customer still pays what it was quoted.
		var rule struct {
			SetPriceRule struct{ UserErrors []cartFault }
		}
		f.a.Must(f.distTok, `mutation($in: SetPriceRuleInput!) { setPriceRule(input: $in) { userErrors { field message code } } }`,
			map[string]any{"in": map[string]any{"channelEdgeId": f.drEdge, "markupPercent": "50"}}, &rule)
		if len(rule.SetPriceRule.UserErrors) > 0 {
			t.Fatalf("setPriceRule: %+v", rule.SetPriceRule.UserErrors)
		}
		acc, res := f.accept(f.custAdmin, q.ID, "acc-1")
		if len(res.Errors) > 0 || len(acc.UserErrors) > 0 || acc.Quote.Status != "ACCEPTED" || len(acc.PurchaseOrders) != 1 {
			t.Fatalf("acceptQuote: %+v %s", res.Errors, describe(acc))
		}
		if len(acc.Quote.PurchaseOrders) != 1 || acc.Quote.PurchaseOrders[0].ID != acc.PurchaseOrders[0].ID {
			t.Errorf("the accepted quote's orders: %s", describe(acc.Quote))
		}
		var ordered struct {
			PurchaseOrder struct {
				Lines []struct{ BuyPrice, SellPrice *struct{ Amount string } }
			}
		}
		f.a.Must(f.custOwner, `query($id: ID!) { purchaseOrder(id: $id) { lines { buyPrice { amount } sellPrice { amount } } } }`,
			map[string]any{"id": acc.PurchaseOrders[0].ID}, &ordered)
		if ls := ordered.PurchaseOrder.Lines; len(ls) != 1 || ls[0].BuyPrice == nil || ls[0].BuyPrice.Amount != quoted || ls[0].SellPrice != nil {
			t.Errorf("the customer's order line: %s, quoted %s", describe(ls), quoted)
		}
		again, _ := f.accept(f.custAdmin, q.ID, "acc-1")
		if len(again.UserErrors) > 0 || len(again.PurchaseOrders) != 1 || again.PurchaseOrders[0].ID != acc.PurchaseOrders[0].ID {
			t.Errorf("a retried accept: %s", describe(again))
		}
		if out, _ := f.accept(f.custAdmin, q.ID, "acc-2"); !slices.Equal(codes(out.UserErrors), []string{"CONFLICT quoteId"}) {
			t.Errorf("accepting an accepted quote again: %+v", out.UserErrors)
		}

		// Declining, with a reason.
		q2 := newQuote(now.Add(72 * time.Hour))
		if out, _ := f.accept(f.custOwner, q2.ID, "acc-1"); !slices.Equal(codes(out.UserErrors), []string{"CONFLICT idempotencyKey"}) {
			t.Errorf("a key used to accept another quote: %+v", out.UserErrors)
		}
		if out, _ := f.decline(f.custOwner, q2.ID, strings.Repeat("x", 501)); !slices.Equal(codes(out.UserErrors), []string{"BAD_USER_INPUT reason"}) {
			t.Errorf("a long reason: %+v", out.UserErrors)
		}
		if _, res := f.decline(f.custViewer, q2.ID, "no"); res.Code() != "FORBIDDEN" {
			t.Errorf("a VIEWER declines: %+v", res.Errors)
		}
		dec, _ := f.decline(f.custOwner, q2.ID, "Too dear")
		if dec.Quote == nil || dec.Quote.Status != "DECLINED" || strOf(dec.Quote.DeclineReason) != "Too dear" || q2.Number != "Q-000002" {
			t.Errorf("declineQuote: %s", describe(dec))
		}
		if out, _ := f.accept(f.custOwner, q2.ID, "acc-3"); !slices.Equal(codes(out.UserErrors), []string{"CONFLICT quoteId"}) {
			t.Errorf("accepting a declined quote: %+v", out.UserErrors)
		}

		// Expiry follows the test clock.
		q3 := newQuote(now.Add(2 * time.Hour))
		var moved advanced
		f.a.Must(testapi.AdminToken, advance, map[string]any{"h": 3}, &moved)
		f.a.Must(f.custOwner, `query($id: ID!) { node(id: $id) { ... on Quote { `+quoteFields+` } } }`, map[string]any{"id": q3.ID}, &read)
		if read.Node == nil || read.Node.Status != "EXPIRED" {
			t.Errorf("after its expiry the quote reads %s", describe(read))
		}
		f.a.Must(f.custOwner, `{ quotes(filter: {status: EXPIRED}) { totalCount } }`, nil, &listed)
		if listed.Quotes.TotalCount != 1 {
			t.Errorf("expired quotes listed: %d", listed.Quotes.TotalCount)
		}
		out, _ := f.accept(f.custOwner, q3.ID, "acc-4")
		if got := codes(out.UserErrors); !slices.Equal(got, []string{"CONFLICT quoteId"}) ||
			!strings.Contains(out.UserErrors[0].Message, q3.ExpiresAt.UTC().Format(time.RFC3339)) {
			t.Errorf("accepting an expired quote: %+v", out.UserErrors)
		}
	})
}

// TestQuoteUpdatedEvents: quoteUpdated reaches the seller and the customer
// over a websocket, with the status of each change and the customer's
// prices only, and never a third party.
func TestQuoteUpdatedEvents(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newCartFixture(t, db, server.Config{Clock: &clock.Adjustable{}})
		sub := `subscription { quoteUpdated { cursor quote { id status lines { buyPrice { amount } sellPrice { amount } margin { amount } } } } }`
		clients := map[string]*wsClient{"seller": f.a.dialWS(f.seller, false), "customer": f.a.dialWS(f.custOwner, false),
			"third": f.a.dialWS(f.otherTok, false)}
		for _, c := range clients {
			c.subscribe("q", sub, nil)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if n, _ := f.app.Hub().Subscribers(); n >= 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the subscribers never joined")
			}
		}
		cart := f.mustCart(f.seller, f.cust, &f.dist)
		f.mustLine(f.seller, map[string]any{"cartId": cart, "productId": f.p1, "quantity": 1})
		q, _ := f.quote(f.seller, cart, time.Now().Add(time.Hour))
		if q.Quote == nil {
			t.Fatalf("createQuote: %+v", q.UserErrors)
		}
		f.decline(f.custOwner, q.Quote.ID, "")
		type ev struct {
			QuoteUpdated struct {
				Quote struct {
					ID, Status string
					Lines      []cartLineOut
				}
			}
		}
		for _, who := range []string{"seller", "customer"} {
			for _, want := range []string{"SENT", "DECLINED"} {
				var e ev
				clients[who].next(&e)
				if e.QuoteUpdated.Quote.ID != q.Quote.ID || e.QuoteUpdated.Quote.Status != want {
					t.Fatalf("%s got %s, want %s", who, describe(e), want)
				}
				if l := e.QuoteUpdated.Quote.Lines[0]; who == "customer" && (l.SellPrice != nil || l.Margin != nil) {
					t.Errorf("the customer's event carries %s", describe(l))
				}
			}
		}
		// A quote left unanswered past its expiry announces EXPIRED.
		cart2 := f.mustCart(f.seller, f.cust, nil)
		f.mustLine(f.seller, map[string]any{"cartId": cart2, "productId": f.p1, "quantity": 1})
		q2, _ := f.quote(f.seller, cart2, time.Now().Add(time.Hour))
		var moved advanced
		f.a.Must(testapi.AdminToken, advance, map[string]any{"h": 2}, &moved)
		for _, who := range []string{"seller", "customer"} {
			for _, want := range []string{"SENT", "EXPIRED"} {
				var e ev
				clients[who].next(&e)
				if e.QuoteUpdated.Quote.ID != q2.Quote.ID || e.QuoteUpdated.Quote.Status != want {
					t.Fatalf("%s got %s, want %s", who, describe(e), want)
				}
			}
		}
		if m, err := clients["third"].readWithin(500 * time.Millisecond); err == nil && m.Type != "ka" && m.Type != "ping" {
			t.Errorf("a third party received %s: %s", m.Type, m.Payload)
		}
	})
}

func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestOrdersCheckTheCatalog: createPurchaseOrder refuses what the customer
// may not buy, as carts do: a product its segment does not allow, an add-on
// without its parent on the order.
func TestOrdersCheckTheCatalog(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newCartFixture(t, db, server.Config{})
		order := func(number string, skus ...string) []cartFault {
			lines := []map[string]any{}
			for _, s := range skus {
				lines = append(lines, map[string]any{"sku": s, "quantity": 1})
			}
			var out struct {
				CreatePurchaseOrder struct{ UserErrors []cartFault }
			}
			f.a.Must(f.vendorTok, createOrderMutation[:strings.Index(createOrderMutation, "purchaseOrder {")]+`userErrors { field message code } } }`,
				map[string]any{"in": map[string]any{"number": number, "vendorId": f.vendor, "customerId": f.cust2, "lines": lines}}, &out)
			return out.CreatePurchaseOrder.UserErrors
		}
		if got := order("O-1", "P1", "P2"); len(got) != 1 || !strings.HasPrefix(got[0].Field, "lines[1]") {
			t.Errorf("a product the customer's segment does not allow: %+v", got)
		}
		if got := order("O-2", "A1"); len(got) != 1 || !strings.HasPrefix(got[0].Field, "lines[0]") {
			t.Errorf("an add-on without its parent: %+v", got)
		}
		if got := order("O-3", "P1", "A1"); len(got) != 0 {
			t.Errorf("an add-on with its parent: %+v", got)
		}
	})
}

// TestCartListStatements: a page of carts with their lines, products and
// prices costs the same statements for 5 carts as for 20, and so does a page
// of quotes.
func TestCartListStatements(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		counter := &testapi.StatementCounter{}
		db.AddQueryHook(counter)
		f := newCartFixture(t, db, server.Config{})
		for i := range 20 {
			cart := f.mustCart(f.seller, f.cust, &f.dist)
			f.mustLine(f.seller, map[string]any{"cartId": cart, "productId": f.p1, "quantity": i + 1})
			if i%2 == 0 {
				continue
			}
			if out, _ := f.quote(f.seller, cart, time.Now().Add(time.Hour)); out.Quote == nil {
				t.Fatalf("createQuote: %+v", out.UserErrors)
			}
		}
		cost := func(query string, first int) int64 {
			before := counter.N()
			f.a.Must(f.seller, query, map[string]any{"first": first}, nil)
			return counter.N() - before
		}
		for list, query := range map[string]string{
			"carts": `query($first: Int) { carts(first: $first) { totalCount edges { node { id status customer { name } distributor { name }
				lines { quantity term buyPrice { amount } sellPrice { amount } margin { amount } product { name } } } } } }`,
			"quotes": `query($first: Int) { quotes(first: $first) { totalCount edges { node { number status customer { name }
				lines { quantity buyPrice { amount } sellPrice { amount } product { name } } } } } }`,
		} {
			if small, large := cost(query, 5), cost(query, 10); small != large {
				t.Errorf("a page of 5 %s cost %d statements, a page of 10 cost %d", list, small, large)
			}
		}
	})
}
