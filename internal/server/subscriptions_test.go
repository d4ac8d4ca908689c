package server_test

import (
	"context"
	"fmt"
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

// subFixture is the priced channel (SKU-1 at 10 EUR, the distributor's
// 20% over its buy price) on the test clock, with a SaaS product beside
// SKU-1.
type subFixture struct {
	*channelFixture
	db     *bun.DB
	orders int
}

func newSubFixture(t *testing.T, db *bun.DB) *subFixture {
	t.Helper()
	f := &subFixture{channelFixture: pricedFixtureWith(t, db, server.Config{Clock: &clock.Adjustable{}}), db: db}
	f.a.Must(testapi.AdminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } userErrors { field } } }`,
		map[string]any{"in": map[string]any{"vendorId": f.vendor, "sku": "SAAS-1", "name": "SaaS", "type": "SAAS",
			"listPrice": map[string]any{"amount": "5", "currency": "EUR"}, "landingPageUrl": "https://saas.example/start"}}, nil)
	return f
}

// buy records an order of qty of sku — through the distributor and
// reseller, or direct when direct — completes it as the vendor, and
// returns the subscription it created.
func (f *subFixture) buy(t *testing.T, sku string, qty int, direct bool) string {
	t.Helper()
	f.orders++
	in := map[string]any{"number": fmt.Sprintf("S-%d", f.orders), "vendorId": f.vendor,
		"lines": []map[string]any{{"sku": sku, "quantity": qty}}}
	if direct {
		in["customerId"] = f.direct
	} else {
		in["customerId"], in["resellerId"], in["distributorId"] = f.cust, f.reseller, f.dist
	}
	var out orderPayload
	f.a.Must(f.tok[f.vendor], createOrderMutation, map[string]any{"in": in}, &out)
	po := out.CreatePurchaseOrder.PurchaseOrder
	if po == nil {
		t.Fatalf("createPurchaseOrder: %+v", out.CreatePurchaseOrder.UserErrors)
	}
	for _, status := range []string{"PROCESSING", "COMPLETED"} {
		var moved struct {
			UpdatePurchaseOrderStatus struct{ UserErrors []userError }
		}
		f.a.Must(f.tok[f.vendor], `mutation($id: ID!, $s: PurchaseOrderStatus!) { updatePurchaseOrderStatus(input: {id: $id, status: $s}) {
			userErrors { field code message } } }`, map[string]any{"id": po.ID, "s": status}, &moved)
		if len(moved.UpdatePurchaseOrderStatus.UserErrors) > 0 {
			t.Fatalf("moving the order to %s: %+v", status, moved.UpdatePurchaseOrderStatus.UserErrors)
		}
	}
	var id int64
	if err := f.db.NewSelect().TableExpr("product_subscriptions").Column("id").
		Where("purchase_order_id = ?", rowID(t, po.ID)).Scan(context.Background(), &id); err != nil {
		t.Fatalf("the completed order made no subscription: %v", err)
	}
	return gidOf("ProductSubscription", id)
}

// advance moves the test clock and returns the time it reads.
func (f *subFixture) advance(t *testing.T, hours int) time.Time {
	t.Helper()
	var out advanced
	f.a.Must(testapi.AdminToken, advance, map[string]any{"h": hours}, &out)
	if out.AdvanceTestClock.Now == nil {
		t.Fatalf("advanceTestClock: %+v", out)
	}
	return *out.AdvanceTestClock.Now
}

// exec runs SQL on the fixture's database, failing the test on an error.
func (f *subFixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := f.db.NewRaw(query, args...).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

const updateSubscription = `mutation($in: UpdateProductSubscriptionInput!) { updateProductSubscription(input: $in) {
	productSubscription { id quantity assignedLicenses status version billingCycle autoRenew nickname trial }
	purchaseOrder { id kind productSubscription { id } lines { quantity licenseChange
		buyPrice { amount } sellPrice { amount } margin { amount } } }
	userErrors { field code message } } }`

type subOut struct {
	ID, Status, BillingCycle, Nickname  string
	Quantity, AssignedLicenses, Version int
	AutoRenew, Trial                    bool
}

type changeOrderOut struct {
	ID, Kind            string
	ProductSubscription *struct{ ID string }
	Lines               []struct {
		Quantity      int
		LicenseChange *int
		linePrices
	}
}

type updateOut struct {
	ProductSubscription *subOut
	PurchaseOrder       *changeOrderOut
	UserErrors          []userError
}

// update runs updateProductSubscription as token on sub with the changes
// in, returning its request error code ("" for none) and payload.
func (f *subFixture) update(t *testing.T, token, sub string, in map[string]any) (string, updateOut) {
	t.Helper()
	in["id"] = sub
	res := f.a.Do(token, updateSubscription, map[string]any{"in": in})
	var out struct{ UpdateProductSubscription updateOut }
	if res.Code() != "" {
		return res.Code(), out.UpdateProductSubscription
	}
	if err := jsonUnmarshal(res.Data, &out); err != nil {
		t.Fatal(err)
	}
	return "", out.UpdateProductSubscription
}

// refusal is the one user error of an update ("" when it was applied).
func refusal(t *testing.T, code string, out updateOut) string {
	t.Helper()
	switch {
	case code != "":
		return code
	case len(out.UserErrors) == 0:
		return ""
	case len(out.UserErrors) > 1:
		t.Errorf("several refusals: %+v", out.UserErrors)
	}
	return out.UserErrors[0].Code + " " + out.UserErrors[0].Field
}

// stored reads a subscription's row as stored.
func (f *subFixture) stored(t *testing.T, sub string) domain.ProductSubscription {
	t.Helper()
	var s domain.ProductSubscription
	if err := f.db.NewSelect().Model(&s).Where("s.id = ?", rowID(t, sub)).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *subFixture) countOrders(t *testing.T, sub, kind string) int {
	t.Helper()
	n, err := f.db.NewSelect().TableExpr("purchase_orders").Where("product_subscription_id = ? AND kind = ?", rowID(t, sub), kind).
		Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// summary is what a change may change of a subscription.
func summary(s domain.ProductSubscription) string {
	return fmt.Sprint(s.Quantity, s.AssignedLicenses, s.Status, s.Nickname, s.BillingCycle, s.AutoRenew, s.Trial,
		s.Version, s.PriceLineID, s.UpdatedAt.UnixMicro())
}

func rfc3339(at time.Time) string { return at.UTC().Format(time.RFC3339) }

// TestSubscriptionWindows (SPEC §6.3, §8.5): licenses added at purchase,
// at renewal and by a mid-term increase may be taken back for 168 hours
// after each was added, and no longer; a refusal gives the time the window
// closed. Cancellation follows the purchase's or the renewal's window.
// Time moves with the test clock.
func TestSubscriptionWindows(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newSubFixture(t, db)
		por := f.tok[f.reseller]
		for _, kind := range []string{"PURCHASE", "INCREASE", "RENEWAL"} {
			for _, hours := range []int{0, 1, 167, 168, 200} {
				name := fmt.Sprintf("%s+%dh", kind, hours)
				sub := f.buy(t, "SKU-1", 3, false)
				// added is when the licenses the case takes back were added;
				// closed the latest window closed when the reduction is tried
				// too late; termStart the start of the cancellation window.
				added := f.stored(t, sub).StartedAt
				termStart := added
				switch kind {
				case "INCREASE":
					f.advance(t, 200) // the purchase's window has closed
					if code, out := f.update(t, por, sub, map[string]any{"quantityChange": 2}); refusal(t, code, out) != "" {
						t.Fatalf("%s: the increase was refused: %+v", name, out.UserErrors)
					}
					added = f.stored(t, sub).UpdatedAt
				case "RENEWAL":
					// The renewal job's effect: a fresh term and its licenses. The
					// clock stops short of the commitment end, and the new term's
					// end is a year on, so the real renewal job, which runs beside
					// the test, never finds this subscription due and renews it
					// at a time of its own.
					at := f.advance(t, 24*364)
					f.exec(t, "UPDATE product_subscriptions SET term_started_at = ?, commitment_ends_at = ? WHERE id = ?",
						at, at.AddDate(1, 0, 0), rowID(t, sub))
					f.exec(t, "INSERT INTO subscription_license_additions (product_subscription_id, kind, quantity, remaining, added_at) VALUES (?, 'RENEWAL', 3, 3, ?)",
						rowID(t, sub), at)
					added, termStart = at, at
				}
				if hours > 0 {
					f.advance(t, hours)
				}
				open := hours < 168
				code, out := f.update(t, por, sub, map[string]any{"quantityChange": -1})
				got := refusal(t, code, out)
				switch {
				case open && got != "":
					t.Errorf("%s: taking back 1 license was refused: %s %+v", name, got, out.UserErrors)
				case !open && got != "WINDOW_CLOSED quantityChange":
					t.Errorf("%s: taking back 1 license: %q, want WINDOW_CLOSED", name, got)
				case !open && !strings.Contains(out.UserErrors[0].Message, rfc3339(added.Add(168*time.Hour))):
					t.Errorf("%s: the refusal %q does not say the window closed at %s", name, out.UserErrors[0].Message, rfc3339(added.Add(168*time.Hour)))
				}
				if kind == "INCREASE" && open {
					// Only the 2 added remain reducible (1 of them is left); the
					// purchase's closed at its own time.
					code, out := f.update(t, por, sub, map[string]any{"quantity": 2})
					purchaseClosed := rfc3339(f.stored(t, sub).StartedAt.Add(168 * time.Hour))
					if got := refusal(t, code, out); got != "WINDOW_CLOSED quantity" || !strings.Contains(out.UserErrors[0].Message, purchaseClosed) {
						t.Errorf("%s: taking back more than the increase: %q %+v, want WINDOW_CLOSED at %s", name, got, out.UserErrors, purchaseClosed)
					}
				}
				cancelOpen := kind != "INCREASE" && open
				code, out = f.update(t, por, sub, map[string]any{"status": "CANCELLED"})
				got = refusal(t, code, out)
				switch {
				case cancelOpen && (got != "" || out.ProductSubscription.Status != "CANCELLED" || out.PurchaseOrder.Kind != "CANCELLATION"):
					t.Errorf("%s: cancelling: %q %+v", name, got, out)
				case !cancelOpen && (got != "WINDOW_CLOSED status" || !strings.Contains(out.UserErrors[0].Message, rfc3339(termStart.Add(168*time.Hour)))):
					t.Errorf("%s: cancelling: %q %+v, want WINDOW_CLOSED at %s", name, got, out.UserErrors, rfc3339(termStart.Add(168*time.Hour)))
				}
				if !cancelOpen {
					// Auto-renew may be turned off whenever.
					if code, out := f.update(t, por, sub, map[string]any{"autoRenew": false}); refusal(t, code, out) != "" || out.ProductSubscription.AutoRenew {
						t.Errorf("%s: turning auto-renew off: %+v", name, out)
					}
				}
			}
		}
	})
}

// TestSubscriptionRules: BELOW_ASSIGNED, VERSION_CONFLICT, the quantity
// bounds, the status moves and what a refusal leaves (nothing changed).
func TestSubscriptionRules(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newSubFixture(t, db)
		por := f.tok[f.reseller]
		sub := f.buy(t, "SKU-1", 5, false)
		steps := []struct {
			in   map[string]any
			want string
		}{
			{map[string]any{"assignedLicenses": 6}, "BAD_USER_INPUT assignedLicenses"},
			{map[string]any{"assignedLicenses": 4}, ""},
			{map[string]any{"quantity": 3}, "BELOW_ASSIGNED quantity"},
			{map[string]any{"quantityChange": -2}, "BELOW_ASSIGNED quantityChange"},
			{map[string]any{"quantity": 0}, "BAD_USER_INPUT quantity"},
			{map[string]any{"quantity": 4, "quantityChange": 1}, "BAD_USER_INPUT quantityChange"},
			{map[string]any{"quantity": 4}, ""},
			{map[string]any{"expectedVersion": 1, "nickname": "stale"}, "VERSION_CONFLICT expectedVersion"},
			{map[string]any{"expectedVersion": 3, "nickname": "Team A"}, ""},
			{map[string]any{"status": "ACTIVE"}, ""}, // already: nothing to change
			{map[string]any{"status": "PENDING_FULFILLMENT"}, "CONFLICT status"},
			{map[string]any{"status": "SUSPENDED"}, ""},
			{map[string]any{"status": "CANCELLED", "quantityChange": 1}, "BAD_USER_INPUT status"},
			{map[string]any{"status": "ACTIVE"}, ""},
			{map[string]any{"billingCycle": "ANNUAL"}, ""},
			{map[string]any{"convertTrialToPaid": true}, "CONFLICT convertTrialToPaid"},
			{map[string]any{"nickname": strings.Repeat("n", 101)}, "BAD_USER_INPUT nickname"},
			{map[string]any{"status": "CANCELLED"}, ""},
			{map[string]any{"nickname": "after"}, "CONFLICT id"},
		}
		for i, s := range steps {
			before := f.stored(t, sub)
			code, out := f.update(t, por, sub, s.in)
			if got := refusal(t, code, out); got != s.want {
				t.Errorf("step %d %v: %q %+v, want %q", i, s.in, got, out.UserErrors, s.want)
			}
			after := f.stored(t, sub)
			if s.want != "" && summary(after) != summary(before) {
				t.Errorf("step %d %v was refused but changed the subscription: %+v → %+v", i, s.in, before, after)
			}
		}
		if got := f.stored(t, sub); got.Quantity != 4 || got.AssignedLicenses != 4 || got.Nickname != "Team A" ||
			got.BillingCycle != domain.BillAnnual || got.Status != domain.SubscriptionCancelled || got.Version != 8 {
			t.Errorf("after the steps: %+v", got)
		}
		// quantity 4 (−1), SUSPENDED, ACTIVE, ANNUAL; then the cancellation.
		if n, c := f.countOrders(t, sub, "CHANGE"), f.countOrders(t, sub, "CANCELLATION"); n != 4 || c != 1 {
			t.Errorf("%d CHANGE and %d CANCELLATION orders, want 4 and 1", n, c)
		}
		// A subscription the viewer may not see does not exist for it.
		_, unrelated := f.a.MustOrg("Unrelated Reseller", domain.KindReseller)
		if code, _ := f.update(t, f.a.MustToken(unrelated, domain.RoleOwner), sub, map[string]any{"nickname": "x"}); code != "NOT_FOUND" {
			t.Errorf("an unrelated organization changes the subscription: %q, want NOT_FOUND", code)
		}
	})
}

// TestSubscriptionChangeOrdersPriced (SPEC §6.3, §8.3): a quantity change
// makes a CHANGE order for the licenses it adds, priced on every edge: the
// reseller sees its buy, sell and margin, the distributor its own, the
// customer one price; a billing-cycle change bills the whole quantity and
// its line becomes the subscription's price.
func TestSubscriptionChangeOrdersPriced(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newSubFixture(t, db)
		sub := f.buy(t, "SKU-1", 2, false)
		code, out := f.update(t, f.tok[f.reseller], sub, map[string]any{"quantityChange": 3})
		if refusal(t, code, out) != "" || out.PurchaseOrder == nil || out.PurchaseOrder.Kind != "CHANGE" ||
			out.PurchaseOrder.ProductSubscription == nil || out.PurchaseOrder.ProductSubscription.ID != sub {
			t.Fatalf("+3: %q %+v", code, out)
		}
		if l := out.PurchaseOrder.Lines; len(l) != 1 || l[0].Quantity != 3 || l[0].LicenseChange == nil || *l[0].LicenseChange != 3 ||
			l[0].String() != "buy 12.00 sell 13.20 margin 1.20" {
			t.Errorf("the reseller's CHANGE line: %+v", l)
		}
		order := out.PurchaseOrder.ID
		want := map[string]string{
			f.vendor:   "buy null sell 10.00 margin null",
			f.dist:     "buy 10.00 sell 12.00 margin 2.00",
			f.reseller: "buy 12.00 sell 13.20 margin 1.20",
			f.cust:     "buy 13.20 sell null margin null",
		}
		for org, w := range want {
			var got struct {
				Node *struct {
					Kind  string
					Lines []linePrices
				}
			}
			f.a.Must(f.tok[org], `query($id: ID!) { node(id: $id) { ... on PurchaseOrder { kind
				lines { buyPrice { amount } sellPrice { amount } margin { amount } } } } }`, map[string]any{"id": order}, &got)
			if got.Node == nil || len(got.Node.Lines) != 1 || got.Node.Lines[0].String() != w {
				t.Errorf("%s sees the CHANGE order as %+v, want %s", org, got.Node, w)
			}
			var s struct {
				Node *struct {
					Price          linePrices
					PurchaseOrders []struct{ Kind string }
				}
			}
			f.a.Must(f.tok[org], `query($id: ID!) { node(id: $id) { ... on ProductSubscription {
				price { buyPrice { amount } sellPrice { amount } margin { amount } } purchaseOrders { kind } } } }`, map[string]any{"id": sub}, &s)
			if s.Node == nil || s.Node.Price.String() != w || len(s.Node.PurchaseOrders) != 2 ||
				s.Node.PurchaseOrders[0].Kind != "NEW" || s.Node.PurchaseOrders[1].Kind != "CHANGE" {
				t.Errorf("%s sees the subscription as %+v, want price %s and orders NEW, CHANGE", org, s.Node, w)
			}
		}
		code, out = f.update(t, f.tok[f.dist], sub, map[string]any{"billingCycle": "ANNUAL"})
		if refusal(t, code, out) != "" || out.PurchaseOrder == nil {
			t.Fatalf("billing cycle: %q %+v", code, out)
		}
		if l := out.PurchaseOrder.Lines; len(l) != 1 || l[0].Quantity != 5 || l[0].LicenseChange != nil {
			t.Errorf("the billing-cycle CHANGE line: %+v, want the whole quantity 5", l)
		}
		var line int64
		if err := db.NewSelect().TableExpr("purchase_order_lines").Column("id").
			Where("purchase_order_id = ?", rowID(t, out.PurchaseOrder.ID)).Scan(context.Background(), &line); err != nil {
			t.Fatal(err)
		}
		if got := f.stored(t, sub).PriceLineID; got != line {
			t.Errorf("the price line is %d, want the billing change's line %d", got, line)
		}
		// Changes that do not bill make no order.
		if code, out := f.update(t, f.tok[f.cust], sub, map[string]any{"nickname": "Ours", "assignedLicenses": 2}); refusal(t, code, out) != "" || out.PurchaseOrder != nil {
			t.Errorf("a rename made an order: %+v", out)
		}
	})
}

// TestSubscriptionRoleMatrix (SPEC §1.2, §8.5, seed 003): who may change
// what, by organization and role, on a licence and a SaaS subscription.
func TestSubscriptionRoleMatrix(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newSubFixture(t, db)
		subs := map[string]string{"LICENSE": f.buy(t, "SKU-1", 10, false), "SAAS": f.buy(t, "SAAS-1", 10, false)}
		// The SaaS subscription as if its publisher had activated it.
		f.exec(t, "UPDATE product_subscriptions SET status = 'ACTIVE', activated_at = started_at WHERE id = ?", rowID(t, subs["SAAS"]))
		orgs := map[string]string{"customer": f.cust, "partner of record": f.reseller, "distributor": f.dist, "vendor": f.vendor}
		roles := []domain.Role{domain.RoleOwner, domain.RoleAdminAgent, domain.RoleSalesAgent, domain.RoleBillingAdmin, domain.RoleViewer}
		kinds := []string{"nickname", "assignedLicenses", "quantityChange", "autoRenew", "billingCycle", "status"}
		// expect is the matrix, written out independently of package policy.
		expect := func(party string, role domain.Role, product, field string) string {
			switch {
			case party == "vendor", party == "customer" && field != "nickname" && field != "assignedLicenses":
				return "NOT_PARTNER_OF_RECORD " + field
			case role == domain.RoleBillingAdmin || role == domain.RoleViewer:
				return "ROLE_NOT_ALLOWED " + field
			case role == domain.RoleSalesAgent && product == "SAAS" && (field == "quantityChange" || field == "billingCycle" || field == "status"):
				return "ROLE_NOT_ALLOWED " + field
			}
			return ""
		}
		for product, sub := range subs {
			for party, org := range orgs {
				for _, role := range roles {
					token := f.a.MustToken(rowID(t, org), role)
					for _, field := range kinds {
						now := f.stored(t, sub)
						var value any
						switch field {
						case "nickname":
							value = fmt.Sprintf("%s %s", party, role)
						case "assignedLicenses":
							value = 1 - now.AssignedLicenses
						case "quantityChange":
							value = 1
						case "autoRenew":
							value = !now.AutoRenew
						case "billingCycle":
							value = map[domain.BillingCycle]string{domain.BillMonthly: "ANNUAL", domain.BillAnnual: "MONTHLY"}[now.BillingCycle]
						case "status":
							value = map[domain.SubscriptionStatus]string{domain.SubscriptionActive: "SUSPENDED", domain.SubscriptionSuspended: "ACTIVE"}[now.Status]
						}
						code, out := f.update(t, token, sub, map[string]any{field: value})
						want := expect(party, role, product, field)
						if got := refusal(t, code, out); got != want {
							t.Errorf("%s %s changes %s of a %s subscription: %q, want %q", party, role, field, product, got, want)
						}
						if after := f.stored(t, sub); (after.Version == now.Version) != (want != "") {
							t.Errorf("%s %s changes %s of a %s subscription: version %d → %d", party, role, field, product, now.Version, after.Version)
						}
					}
				}
			}
		}
		// A direct sale: the vendor is the partner of record.
		direct := f.buy(t, "SKU-1", 1, true)
		if code, out := f.update(t, f.tok[f.vendor], direct, map[string]any{"quantityChange": 1}); refusal(t, code, out) != "" {
			t.Errorf("the vendor of a direct sale changes its quantity: %q %+v", code, out.UserErrors)
		}
		// Several refusals at once, each on its field.
		code, out := f.update(t, f.tok[f.cust], subs["LICENSE"], map[string]any{"quantityChange": 1, "autoRenew": true, "nickname": "ok"})
		if code != "" || len(out.UserErrors) != 2 || out.UserErrors[0].Field != "quantityChange" || out.UserErrors[1].Field != "autoRenew" {
			t.Errorf("the customer changes quantity, auto-renew and nickname: %q %+v", code, out.UserErrors)
		}
	})
}

// TestConcurrentLicenseAdditions (SPEC §8.5): 30 concurrent "+1 license"
// changes raise the quantity by exactly 30 and make exactly 30 CHANGE
// orders; with a stale expectedVersion a change is refused.
func TestConcurrentLicenseAdditions(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newSubFixture(t, db)
		sub := f.buy(t, "SKU-1", 1, false)
		// Enough to queue many changes on one row; each waits its turn
		// within the request timeout (15 s) even on a loaded 2-core
		// machine under -race, where one change takes about 0.2 s.
		const n = 30
		var wg sync.WaitGroup
		refused := make([]string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, out := f.update(t, f.tok[f.reseller], sub, map[string]any{"quantityChange": 1})
				if code != "" || len(out.UserErrors) > 0 {
					refused[i] = fmt.Sprintf("%q %+v", code, out.UserErrors)
				}
			}()
		}
		wg.Wait()
		for i, r := range refused {
			if r != "" {
				t.Errorf("change %d refused: %s", i, r)
			}
		}
		got := f.stored(t, sub)
		if got.Quantity != 1+n || got.Version != 1+n {
			t.Errorf("quantity %d version %d, want %d and %d", got.Quantity, got.Version, 1+n, 1+n)
		}
		if c := f.countOrders(t, sub, "CHANGE"); c != n {
			t.Errorf("%d CHANGE orders, want %d", c, n)
		}
		code, out := f.update(t, f.tok[f.reseller], sub, map[string]any{"quantityChange": 1, "expectedVersion": n})
		if got := refusal(t, code, out); got != "VERSION_CONFLICT expectedVersion" {
			t.Errorf("a stale expectedVersion: %q", got)
		}
	})
}

// TestProductSubscriptionsRead: the list, newest first with its total, its
// filters and paging; node(id); the SaaS activation link and code, seen by
// the customer and the partner of record only.
func TestProductSubscriptionsRead(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newSubFixture(t, db)
		first := f.buy(t, "SKU-1", 1, false)
		saas := f.buy(t, "SAAS-1", 2, false)
		direct := f.buy(t, "SKU-1", 3, true)
		const list = `query($after: String, $f: ProductSubscriptionFilter) { productSubscriptions(first: 1, after: $after, filter: $f) {
			totalCount pageInfo { hasNextPage endCursor } edges { node { id quantity status
			partnerOfRecord { id } customer { id } product { id } indirectResellerId } } } }`
		type page struct {
			ProductSubscriptions struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage bool
					EndCursor   *string
				}
				Edges []struct {
					Node struct {
						ID, Status         string
						Quantity           int
						PartnerOfRecord    struct{ ID string }
						Customer           struct{ ID string }
						IndirectResellerID *string
					}
				}
			}
		}
		walk := func(token string, filter map[string]any) (ids []string, total int) {
			var after *string
			for {
				var p page
				f.a.Must(token, list, map[string]any{"after": after, "f": filter}, &p)
				total = p.ProductSubscriptions.TotalCount
				for _, e := range p.ProductSubscriptions.Edges {
					ids = append(ids, e.Node.ID)
					if e.Node.ID == first && (e.Node.PartnerOfRecord.ID != f.reseller || e.Node.IndirectResellerID == nil || *e.Node.IndirectResellerID != f.reseller) {
						t.Errorf("the indirect sale's partner of record: %+v", e.Node)
					}
				}
				if !p.ProductSubscriptions.PageInfo.HasNextPage {
					return ids, total
				}
				after = p.ProductSubscriptions.PageInfo.EndCursor
			}
		}
		for token, want := range map[string][]string{
			f.tok[f.reseller]:  {saas, first},
			f.tok[f.cust]:      {saas, first},
			f.tok[f.vendor]:    {direct, saas, first},
			f.tok[f.direct]:    {direct},
			testapi.AdminToken: {direct, saas, first},
		} {
			if got, total := walk(token, nil); fmt.Sprint(got) != fmt.Sprint(want) || total != len(want) {
				t.Errorf("the list: %v (total %d), want %v", got, total, want)
			}
		}
		if got, total := walk(f.tok[f.vendor], map[string]any{"status": "PENDING_FULFILLMENT"}); fmt.Sprint(got) != fmt.Sprint([]string{saas}) || total != 1 {
			t.Errorf("PENDING_FULFILLMENT: %v %d", got, total)
		}
		if got, _ := walk(f.tok[f.vendor], map[string]any{"customerId": f.direct}); fmt.Sprint(got) != fmt.Sprint([]string{direct}) {
			t.Errorf("the direct customer's: %v", got)
		}
		const activation = `query($id: ID!) { node(id: $id) { ... on ProductSubscription { status activationCode activationUrl activationExpiresAt } } }`
		code := *f.stored(t, saas).ActivationCode
		for org, sees := range map[string]bool{f.cust: true, f.reseller: true, f.dist: false, f.vendor: false} {
			var out struct {
				Node *struct {
					Status                        string
					ActivationCode, ActivationURL *string
					ActivationExpiresAt           *time.Time
				}
			}
			f.a.Must(f.tok[org], activation, map[string]any{"id": saas}, &out)
			switch {
			case out.Node == nil || out.Node.Status != "PENDING_FULFILLMENT" || out.Node.ActivationExpiresAt == nil:
				t.Errorf("%s reads %+v", org, out.Node)
			case sees && (out.Node.ActivationCode == nil || *out.Node.ActivationCode != code ||
				out.Node.ActivationURL == nil || *out.Node.ActivationURL != "https://saas.example/start?code="+code):
				t.Errorf("%s does not see the activation: %+v", org, out.Node)
			case !sees && (out.Node.ActivationCode != nil || out.Node.ActivationURL != nil):
				t.Errorf("%s sees the activation code", org)
			}
		}
		var hidden struct{ Node *struct{ ID string } }
		f.a.Must(f.tok[f.direct], `query($id: ID!) { node(id: $id) { ... on ProductSubscription { id } } }`, map[string]any{"id": first}, &hidden)
		if hidden.Node != nil {
			t.Errorf("another customer reads the subscription")
		}
	})
}

// TestProductSubscriptionEventsPerViewer (SPEC §8.8): a change of a
// subscription reaches the customer, the reseller and the distributor,
// each with its own price (the customer no sell price or margin), and not
// an unrelated organization.
func TestProductSubscriptionEventsPerViewer(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newSubFixture(t, db)
		sub := f.buy(t, "SKU-1", 2, false)
		_, other := f.a.MustOrg("Other Reseller", domain.KindReseller)
		const query = `subscription { productSubscriptionUpdated { cursor productSubscription { id quantity
			price { buyPrice { amount } sellPrice { amount } margin { amount } } } } }`
		want := map[string]string{
			f.dist:     "buy 10.00 sell 12.00 margin 2.00",
			f.reseller: "buy 12.00 sell 13.20 margin 1.20",
			f.cust:     "buy 13.20 sell null margin null",
		}
		clients := map[string]*wsClient{}
		for org := range want {
			clients[org] = f.a.dialWS(f.tok[org], false)
			clients[org].subscribe("s", query, nil)
		}
		stranger := f.a.dialWS(f.a.MustToken(other, domain.RoleOwner), false)
		stranger.subscribe("s", query, nil)
		waitForSubscribers(t, f.channelFixture, len(want)+1)
		if code, out := f.update(t, f.tok[f.reseller], sub, map[string]any{"quantityChange": 1}); refusal(t, code, out) != "" {
			t.Fatalf("the change: %+v", out.UserErrors)
		}
		for org, c := range clients {
			// On PostgreSQL the creation's event may be sequenced after the
			// subscription started: skip it.
			m := c.read()
			if strings.Contains(string(m.Payload), `"quantity":2`) {
				m = c.read()
			}
			var ev struct {
				Data struct {
					ProductSubscriptionUpdated struct {
						ProductSubscription struct {
							ID       string
							Quantity int
							Price    linePrices
						}
					}
				}
			}
			if err := jsonUnmarshal(m.Payload, &ev); err != nil || m.Type != "next" {
				t.Fatalf("%s got %s %s (%v)", org, m.Type, m.Payload, err)
			}
			got := ev.Data.ProductSubscriptionUpdated.ProductSubscription
			if got.ID != sub || got.Quantity != 3 || got.Price.String() != want[org] {
				t.Errorf("%s's event: %+v, want quantity 3 and %s", org, got, want[org])
			}
		}
		if m, err := stranger.readWithin(500 * time.Millisecond); err == nil {
			t.Errorf("an unrelated organization got %s %s", m.Type, m.Payload)
		}
	})
}

// TestReductionsTakeNewestFirst (SPEC §8.5): a reduction takes back the
// newest licenses first, so the older window is what remains open;
// reductionWindows and cancellableUntil say so.
func TestReductionsTakeNewestFirst(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newSubFixture(t, db)
		por := f.tok[f.reseller]
		sub := f.buy(t, "SKU-1", 3, false)
		bought := f.stored(t, sub).StartedAt
		f.advance(t, 10)
		if code, out := f.update(t, por, sub, map[string]any{"quantityChange": 2}); refusal(t, code, out) != "" {
			t.Fatalf("+2: %+v", out.UserErrors)
		}
		increased := f.stored(t, sub).UpdatedAt
		const read = `query($id: ID!) { node(id: $id) { ... on ProductSubscription { cancellableUntil
			reductionWindows { kind licenses addedAt closesAt } } } }`
		type window struct {
			Kind              string
			Licenses          int
			AddedAt, ClosesAt time.Time
		}
		windows := func() (out []window, until time.Time) {
			var got struct {
				Node struct {
					CancellableUntil time.Time
					ReductionWindows []window
				}
			}
			f.a.Must(f.tok[f.cust], read, map[string]any{"id": sub}, &got)
			return got.Node.ReductionWindows, got.Node.CancellableUntil
		}
		w, until := windows()
		if len(w) != 2 || w[0].Kind != "INCREASE" || w[0].Licenses != 2 || !w[0].ClosesAt.Equal(increased.Add(168*time.Hour)) ||
			w[1].Kind != "PURCHASE" || w[1].Licenses != 3 || !w[1].ClosesAt.Equal(bought.Add(168*time.Hour)) ||
			!until.Equal(bought.Add(168*time.Hour)) {
			t.Errorf("windows %+v, cancellable until %v", w, until)
		}
		if code, out := f.update(t, por, sub, map[string]any{"quantityChange": -2}); refusal(t, code, out) != "" {
			t.Fatalf("-2: %+v", out.UserErrors)
		}
		if w, _ := windows(); len(w) != 1 || w[0].Kind != "PURCHASE" || w[0].Licenses != 3 {
			t.Errorf("after taking back 2, windows %+v: want the purchase's 3 alone", w)
		}
		// The purchase's window has closed; the increase's is open, but its
		// licenses were taken back.
		f.advance(t, 160)
		code, out := f.update(t, por, sub, map[string]any{"quantityChange": -1})
		if got := refusal(t, code, out); got != "WINDOW_CLOSED quantityChange" {
			t.Errorf("-1 after the purchase's window: %q", got)
		}
		if w, _ := windows(); len(w) != 0 {
			t.Errorf("windows %+v, want none", w)
		}
	})
}

// TestSubscriptionListStatements: a page of subscriptions with their
// product, customer, partner of record and per-viewer price costs the same
// statements for 3 subscriptions as for 15.
func TestSubscriptionListStatements(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		counter := &testapi.StatementCounter{} // hooked before the server starts, which reads the hooks
		db.AddQueryHook(counter)
		f := newSubFixture(t, db)
		for range 15 {
			f.buy(t, "SKU-1", 1, false)
		}
		const query = `query($first: Int) { productSubscriptions(first: $first) { totalCount edges { node {
			quantity product { name } customer { name } partnerOfRecord { name }
			price { buyPrice { amount } sellPrice { amount } margin { amount } } } } } }`
		cost := func(first int) int64 {
			before := counter.N()
			var out struct {
				ProductSubscriptions struct {
					Edges []struct{ Node struct{ Price linePrices } }
				}
			}
			f.a.Must(f.tok[f.reseller], query, map[string]any{"first": first}, &out)
			if e := out.ProductSubscriptions.Edges; len(e) != first || e[first-1].Node.Price.String() != "buy 12.00 sell 13.20 margin 1.20" {
				t.Fatalf("got %+v, want %d priced subscriptions", e, first)
			}
			return counter.N() - before
		}
		if small, large := cost(3), cost(15); small != large {
			t.Errorf("a page of 3 subscriptions cost %d statements, a page of 15 cost %d", small, large)
		}
	})
}

// TestTrialPendingAndLandingPage: a trial converts to paid once — billing
// starts now, the commitment runs a full term from now, a CHANGE order is
// made; a SaaS subscription waiting for activation changes status only by
// activation; a landing page must be an https URL.
func TestTrialPendingAndLandingPage(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newSubFixture(t, db)
		var created struct {
			CreateProduct struct{ UserErrors []userError }
		}
		f.a.Must(testapi.AdminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { userErrors { field code message } } }`,
			map[string]any{"in": map[string]any{"vendorId": f.vendor, "sku": "TRIAL-1", "name": "Trial", "type": "LICENSE", "trialDays": 30,
				"listPrice": map[string]any{"amount": "10", "currency": "EUR"}}}, &created)
		if len(created.CreateProduct.UserErrors) > 0 {
			t.Fatalf("createProduct: %+v", created.CreateProduct.UserErrors)
		}
		sub := f.buy(t, "TRIAL-1", 2, false)
		if s := f.stored(t, sub); !s.Trial || s.BillingStartedAt != nil {
			t.Fatalf("a trial product's subscription: %+v", s)
		}
		at := f.advance(t, 48)
		code, out := f.update(t, f.tok[f.reseller], sub, map[string]any{"convertTrialToPaid": true})
		if refusal(t, code, out) != "" || out.ProductSubscription.Trial || out.PurchaseOrder == nil || out.PurchaseOrder.Kind != "CHANGE" {
			t.Fatalf("converting the trial: %q %+v", code, out)
		}
		s := f.stored(t, sub)
		if s.BillingStartedAt == nil || s.BillingStartedAt.Before(at) || !s.CommitmentEndsAt.Equal(s.BillingStartedAt.AddDate(1, 0, 0)) {
			t.Errorf("after conversion: billing from %v, commitment to %v", s.BillingStartedAt, s.CommitmentEndsAt)
		}
		if code, out := f.update(t, f.tok[f.reseller], sub, map[string]any{"convertTrialToPaid": true}); refusal(t, code, out) != "CONFLICT convertTrialToPaid" {
			t.Errorf("converting twice: %q %+v", code, out.UserErrors)
		}

		saas := f.buy(t, "SAAS-1", 1, false)
		for _, status := range []string{"ACTIVE", "SUSPENDED", "CANCELLED"} {
			if code, out := f.update(t, f.tok[f.reseller], saas, map[string]any{"status": status}); refusal(t, code, out) != "CONFLICT status" {
				t.Errorf("a pending SaaS subscription moved to %s: %q %+v", status, code, out.UserErrors)
			}
		}
		for field, value := range map[string]any{"quantityChange": 1, "quantity": 3, "billingCycle": "ANNUAL"} {
			if code, out := f.update(t, f.tok[f.reseller], saas, map[string]any{field: value}); refusal(t, code, out) != "CONFLICT "+field {
				t.Errorf("a pending SaaS subscription's %s changed: %q %+v", field, code, out.UserErrors)
			}
		}
		if code, out := f.update(t, f.tok[f.reseller], saas, map[string]any{"nickname": "waiting"}); refusal(t, code, out) != "" {
			t.Errorf("renaming a pending SaaS subscription: %q %+v", code, out.UserErrors)
		}

		for url, want := range map[string]string{"http://saas.example": "BAD_USER_INPUT", "https://": "BAD_USER_INPUT",
			"https://u:p@saas.example": "BAD_USER_INPUT", "https://saas.example/a?x=1": ""} {
			f.a.Must(testapi.AdminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { userErrors { field code message } } }`,
				map[string]any{"in": map[string]any{"vendorId": f.vendor, "sku": fmt.Sprintf("LP-%d", len(url)), "name": "LP", "type": "SAAS",
					"landingPageUrl": url}}, &created)
			got := ""
			if e := created.CreateProduct.UserErrors; len(e) > 0 {
				got = e[0].Code
				if e[0].Field != "landingPageUrl" {
					t.Errorf("landingPageUrl %q refused on %q", url, e[0].Field)
				}
			}
			if got != want {
				t.Errorf("landingPageUrl %q: %q, want %q", url, got, want)
			}
		}
	})
}
