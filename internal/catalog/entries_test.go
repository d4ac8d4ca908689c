package catalog_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

const setEntry = `mutation($in: SetCatalogEntryInput!) { setCatalogEntry(input: $in) {
	catalogEntry { seller { id } product { sku } category recommendedPrice { amount currency } listed }
	userErrors { field code message } } }`

type entryResult struct {
	CatalogEntry *struct {
		Seller           struct{ ID string }
		Product          struct{ SKU string }
		Category         *string
		RecommendedPrice *struct{ Amount, Currency string }
		Listed           bool
	}
	UserErrors []userError
}

func (a api) setEntry(token string, in map[string]any) (entryResult, *testapi.Response) {
	a.TB.Helper()
	res := a.Do(token, setEntry, map[string]any{"in": in})
	var out struct{ SetCatalogEntry entryResult }
	if len(res.Errors) == 0 {
		if err := json.Unmarshal(res.Data, &out); err != nil {
			a.TB.Fatal(err)
		}
	}
	return out.SetCatalogEntry, res
}

// TestSellerCatalog: a partner arranges its own catalog with
// setCatalogEntry (its OWNER or ADMIN_AGENT, or the platform administrator)
// and products(filter: {sellerId}) shows it to anyone, without a token too:
// its category and recommended price over the vendor's, its unlisted
// products left out, a vendor's catalog only its own products; an id that is
// no seller's lists nothing (SPEC §8.2).
func TestSellerCatalog(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		vendor, vendorID := a.org("Vendor", domain.KindVendor, "", "")
		otherVendor, _ := a.org("Other vendor", domain.KindVendor, "", "")
		reseller, resellerID := a.org("Reseller", domain.KindReseller, "", "")
		stranger, strangerID := a.org("Stranger", domain.KindReseller, "", "")
		customer, customerID := a.org("Customer", domain.KindCustomer, "", "EDUCATION")
		a.edge(vendor, reseller)
		a.edge(reseller, customer)
		_ = stranger
		price := func(amount string) map[string]any { return map[string]any{"amount": amount, "currency": "EUR"} }
		suite, _ := a.product(vendor, "SUITE", map[string]any{"category": "Office", "recommendedPrice": price("10")})
		backup, _ := a.product(vendor, "BACKUP", map[string]any{"category": "Storage"})
		gov, _ := a.product(vendor, "GOV", map[string]any{"segments": []string{"GOVERNMENT"}})
		theirs, _ := a.product(otherVendor, "THEIRS", nil)

		owner := a.MustToken(resellerID, domain.RoleOwner)
		agent := a.MustToken(resellerID, domain.RoleAdminAgent)
		res, _ := a.setEntry(owner, map[string]any{"sellerId": reseller, "productId": suite, "category": " Productivity ",
			"recommendedPrice": price("12.5")})
		e := res.CatalogEntry
		if len(res.UserErrors) > 0 || e == nil || e.Seller.ID != reseller || e.Product.SKU != "SUITE" || !e.Listed ||
			e.Category == nil || *e.Category != "Productivity" || e.RecommendedPrice == nil || e.RecommendedPrice.Amount != "12.50" {
			t.Fatalf("setCatalogEntry: %s", testapi.Describe(res))
		}
		if res, _ := a.setEntry(agent, map[string]any{"sellerId": reseller, "productId": backup, "listed": false}); len(res.UserErrors) > 0 {
			t.Fatalf("unlisting: %+v", res.UserErrors)
		}
		if res, _ := a.setEntry(testapi.AdminToken, map[string]any{"sellerId": reseller, "productId": theirs, "category": "Elsewhere"}); len(res.UserErrors) > 0 {
			t.Fatalf("the administrator's entry: %+v", res.UserErrors)
		}

		byReseller := map[string]any{"sellerId": reseller}
		for _, token := range []string{"", owner, testapi.AdminToken} {
			page := a.products(token, map[string]any{"filter": byReseller})
			if got := page.skus(); !slices.Equal(got, []string{"GOV", "SUITE", "THEIRS"}) || page.TotalCount != 3 {
				t.Fatalf("the reseller's catalog as %q: %v (%d)", token, got, page.TotalCount)
			}
			s := page.Edges[1].Node
			if s.Category == nil || *s.Category != "Productivity" || s.RecommendedPrice == nil || s.RecommendedPrice.Amount != "12.50" {
				t.Errorf("SUITE in the reseller's catalog: %s", testapi.Describe(s))
			}
			if g := page.Edges[0].Node; g.Category != nil || g.RecommendedPrice != nil {
				t.Errorf("GOV, without an entry: %s", testapi.Describe(g))
			}
		}
		if got := a.allSKUs("", map[string]any{"sellerId": reseller, "category": "productivity"}); !slices.Equal(got, []string{"SUITE"}) {
			t.Errorf("the seller's category filters: %v", got)
		}
		if got := a.allSKUs("", map[string]any{"sellerId": reseller, "category": "Office"}); len(got) != 0 {
			t.Errorf("the vendor's category, replaced by the seller's, still filters: %v", got)
		}
		// The customer sees its reseller's catalog as its segment allows.
		if got := a.allSKUs(a.MustToken(customerID, domain.RoleViewer), byReseller); !slices.Equal(got, []string{"SUITE", "THEIRS"}) {
			t.Errorf("the customer reads its reseller's catalog as %v", got)
		}
		// Without sellerId the vendor's arrangement shows.
		var read struct{ Product productOut }
		a.Must("", `query($id: ID!) { product(id: $id) { `+productFields+` } }`, map[string]any{"id": suite}, &read)
		if *read.Product.Category != "Office" || read.Product.RecommendedPrice.Amount != "10.00" {
			t.Errorf("the public product took the seller's arrangement: %s", testapi.Describe(read.Product))
		}
		// Setting again replaces the entry whole: listed again, the vendor's category back.
		a.setEntry(owner, map[string]any{"sellerId": reseller, "productId": backup})
		a.setEntry(owner, map[string]any{"sellerId": reseller, "productId": suite, "listed": true})
		page := a.products("", map[string]any{"filter": byReseller})
		if got := page.skus(); !slices.Equal(got, []string{"BACKUP", "GOV", "SUITE", "THEIRS"}) {
			t.Errorf("after relisting: %v", got)
		} else if s := page.Edges[2].Node; *s.Category != "Office" || s.RecommendedPrice.Amount != "10.00" {
			t.Errorf("after replacing the entry: %s", testapi.Describe(s))
		}
		// A vendor's catalog holds only its own products.
		vendorOwner := a.MustToken(vendorID, domain.RoleOwner)
		a.setEntry(vendorOwner, map[string]any{"sellerId": vendor, "productId": gov, "listed": false})
		if got := a.allSKUs("", map[string]any{"sellerId": vendor}); !slices.Equal(got, []string{"BACKUP", "SUITE"}) {
			t.Errorf("the vendor's catalog: %v", got)
		}
		for _, nobody := range []string{customer, gidOf("Organization", 1<<40)} {
			if got := a.allSKUs("", map[string]any{"sellerId": nobody}); len(got) != 0 {
				t.Errorf("the catalog of %s, no seller: %v", nobody, got)
			}
		}

		// Refusals.
		customerOwner := a.MustToken(customerID, domain.RoleOwner)
		for _, c := range []struct {
			name, token string
			in          map[string]any
			code, field string // a request error's code and extensions.field
			userErrors  string // or the user errors
		}{
			{"anonymous", "", map[string]any{"sellerId": reseller, "productId": suite}, "UNAUTHENTICATED", "", ""},
			{"a sales agent", a.MustToken(resellerID, domain.RoleSalesAgent), map[string]any{"sellerId": reseller, "productId": suite}, "FORBIDDEN", "", ""},
			{"a viewer", a.MustToken(resellerID, domain.RoleViewer), map[string]any{"sellerId": reseller, "productId": suite}, "FORBIDDEN", "", ""},
			{"the vendor, for its reseller", vendorOwner, map[string]any{"sellerId": reseller, "productId": suite}, "FORBIDDEN", "", ""},
			{"a seller hidden from you", a.MustToken(strangerID, domain.RoleOwner), map[string]any{"sellerId": reseller, "productId": suite}, "NOT_FOUND", "sellerId", ""},
			{"an unknown seller", owner, map[string]any{"sellerId": gidOf("Organization", 1<<40), "productId": suite}, "NOT_FOUND", "sellerId", ""},
			{"an unknown product", owner, map[string]any{"sellerId": reseller, "productId": gidOf("Product", 1<<40)}, "NOT_FOUND", "productId", ""},
			{"a malformed seller", owner, map[string]any{"sellerId": "x", "productId": suite}, "", "", "sellerId:BAD_USER_INPUT"},
			{"a malformed product", owner, map[string]any{"sellerId": reseller, "productId": reseller}, "", "", "productId:BAD_USER_INPUT"},
			{"a customer as the seller", customerOwner, map[string]any{"sellerId": customer, "productId": suite}, "", "", "sellerId:BAD_USER_INPUT"},
			{"a vendor arranging another's product", vendorOwner, map[string]any{"sellerId": vendor, "productId": theirs}, "", "", "productId:BAD_USER_INPUT"},
			{"category too long", owner, map[string]any{"sellerId": reseller, "productId": suite, "category": strings.Repeat("c", 101)}, "", "", "category:BAD_USER_INPUT"},
			{"bad amount", owner, map[string]any{"sellerId": reseller, "productId": suite, "recommendedPrice": price("1.23456")}, "", "", "recommendedPrice.amount:BAD_USER_INPUT"},
			{"bad currency", owner, map[string]any{"sellerId": reseller, "productId": suite, "recommendedPrice": map[string]any{"amount": "1", "currency": "EURO"}}, "", "", "recommendedPrice.currency:BAD_USER_INPUT"},
			{"every fault at once", owner, map[string]any{"sellerId": reseller, "productId": suite, "category": strings.Repeat("c", 101),
				"recommendedPrice": price("-1"), "listed": false}, "", "", "category:BAD_USER_INPUT recommendedPrice.amount:BAD_USER_INPUT"},
		} {
			out, res := a.setEntry(c.token, c.in)
			if c.code != "" {
				if res.Code() != c.code || (c.field != "" && res.Errors[0].Extensions["field"] != c.field) {
					t.Errorf("%s: %+v, want %s on %q", c.name, res.Errors, c.code, c.field)
				}
				continue
			}
			if got := fields(out.UserErrors); got != c.userErrors || out.CatalogEntry != nil {
				t.Errorf("%s: %q, want %q", c.name, got, c.userErrors)
			}
		}
		// Nothing refused changed the catalog.
		if got := a.allSKUs("", byReseller); !slices.Equal(got, []string{"BACKUP", "GOV", "SUITE", "THEIRS"}) {
			t.Errorf("after the refusals: %v", got)
		}
	})
}
