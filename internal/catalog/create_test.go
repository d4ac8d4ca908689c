package catalog_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestCreateProductFields: createProduct stores every catalog field and
// reads it back, fills the defaults of what was omitted, makes add-ons of
// a parent of the same vendor, and refuses each bad field on its own name,
// all of them at once, without storing anything (SPEC §4.1, §8.2).
func TestCreateProductFields(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		vendor, vendorID := a.org("Vendor", domain.KindVendor, "", "")
		other, _ := a.org("Other vendor", domain.KindVendor, "", "")
		owner := a.MustToken(vendorID, domain.RoleOwner)

		res := a.createProduct(owner, vendor, "FULL", map[string]any{
			"description": "  A suite.  ", "category": " Security ", "segments": []string{"NONPROFIT", "EDUCATION", "EDUCATION"},
			"industries": []string{" Healthcare ", "Retail"}, "terms": []string{"P1Y", "P1M"}, "billingCycles": []string{"ANNUAL"},
			"trialDays": 30, "recommendedPrice": map[string]any{"amount": "99.5", "currency": "EUR"},
		})
		p := res.Product
		if len(res.UserErrors) > 0 || p == nil {
			t.Fatalf("createProduct: %+v", res.UserErrors)
		}
		if p.Description != "A suite." || p.Category == nil || *p.Category != "Security" ||
			!slices.Equal(p.Segments, []string{"EDUCATION", "NONPROFIT"}) ||
			!slices.Equal(p.Industries, []string{"Healthcare", "Retail"}) ||
			!slices.Equal(p.Terms, []string{"P1M", "P1Y"}) || !slices.Equal(p.BillingCycles, []string{"ANNUAL"}) ||
			p.TrialDays == nil || *p.TrialDays != 30 || p.RecommendedPrice == nil ||
			*p.RecommendedPrice != (struct{ Amount, Currency string }{"99.50", "EUR"}) || p.Parent != nil {
			t.Errorf("created %s", testapi.Describe(p))
		}

		plain := a.createProduct(owner, vendor, "PLAIN", nil).Product
		if plain == nil || plain.Description != "" || plain.Category != nil || plain.TrialDays != nil ||
			plain.RecommendedPrice != nil || len(plain.Industries) != 0 || plain.Industries == nil ||
			!slices.Equal(plain.Segments, []string{"COMMERCIAL", "EDUCATION", "GOVERNMENT", "NONPROFIT"}) ||
			!slices.Equal(plain.Terms, []string{"P1Y"}) || !slices.Equal(plain.BillingCycles, []string{"MONTHLY", "ANNUAL"}) {
			t.Errorf("defaults: %s", testapi.Describe(plain))
		}

		addOn := a.createProduct(owner, vendor, "ADDON", map[string]any{"parentId": p.ID}).Product
		if addOn == nil || addOn.Parent == nil || addOn.Parent.ID != p.ID {
			t.Fatalf("add-on: %s", testapi.Describe(addOn))
		}
		var read struct{ Product productOut }
		a.Must("", `query($id: ID!) { product(id: $id) { `+productFields+` } }`, map[string]any{"id": p.ID}, &read)
		if len(read.Product.AddOns) != 1 || read.Product.AddOns[0].ID != addOn.ID || read.Product.Industries[0] != "Healthcare" {
			t.Errorf("the parent, read anonymously: %s", testapi.Describe(read.Product))
		}

		otherProduct, _ := a.product(other, "THEIRS", nil)
		for _, c := range []struct {
			name   string
			fields map[string]any
			want   string
		}{
			{"description too long", map[string]any{"description": strings.Repeat("é", 2001)}, "description:BAD_USER_INPUT"},
			{"category too long", map[string]any{"category": strings.Repeat("c", 101)}, "category:BAD_USER_INPUT"},
			{"no segments", map[string]any{"segments": []string{}}, "segments:BAD_USER_INPUT"},
			{"no terms", map[string]any{"terms": []string{}}, "terms:BAD_USER_INPUT"},
			{"no billing cycles", map[string]any{"billingCycles": []string{}}, "billingCycles:BAD_USER_INPUT"},
			{"bad industries", map[string]any{"industries": []string{"Retail", " ", strings.Repeat("i", 101), "RETAIL"}},
				"industries[1]:BAD_USER_INPUT industries[2]:BAD_USER_INPUT industries[3]:BAD_USER_INPUT"},
			{"too many industries", map[string]any{"industries": manyIndustries(51)}, "industries:BAD_USER_INPUT"},
			{"no trial days", map[string]any{"trialDays": 0}, "trialDays:BAD_USER_INPUT"},
			{"too many trial days", map[string]any{"trialDays": 366}, "trialDays:BAD_USER_INPUT"},
			{"parent of another vendor", map[string]any{"parentId": otherProduct}, "parentId:BAD_USER_INPUT"},
			{"parent is an add-on", map[string]any{"parentId": addOn.ID}, "parentId:BAD_USER_INPUT"},
			{"parent is no product", map[string]any{"parentId": vendor}, "parentId:BAD_USER_INPUT"},
			{"recommended amount", map[string]any{"recommendedPrice": map[string]any{"amount": "-1", "currency": "EUR"}}, "recommendedPrice.amount:BAD_USER_INPUT"},
			{"recommended currency", map[string]any{"recommendedPrice": map[string]any{"amount": "1", "currency": "eur"}}, "recommendedPrice.currency:BAD_USER_INPUT"},
			{"every fault at once", map[string]any{"name": "", "category": strings.Repeat("c", 101), "trialDays": 0,
				"recommendedPrice": map[string]any{"amount": "x", "currency": "EUR"}},
				"name:BAD_USER_INPUT category:BAD_USER_INPUT trialDays:BAD_USER_INPUT recommendedPrice.amount:BAD_USER_INPUT"},
		} {
			res := a.createProduct(owner, vendor, "BAD", c.fields)
			if got := fields(res.UserErrors); got != c.want || res.Product != nil {
				t.Errorf("%s: userErrors %q, product %v; want %q", c.name, got, res.Product, c.want)
			}
		}
		// An unknown parent is NOT_FOUND on parentId, a request error.
		r := a.Do(owner, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } } }`,
			map[string]any{"in": map[string]any{"vendorId": vendor, "sku": "BAD", "name": "Bad", "type": "LICENSE",
				"parentId": gidOf("Product", 1<<40)}})
		if r.Code() != "NOT_FOUND" || r.Errors[0].Extensions["field"] != "parentId" {
			t.Errorf("unknown parent: %+v", r.Errors)
		}
		if n := a.allSKUs("", nil); !slices.Equal(n, []string{"ADDON", "FULL", "PLAIN", "THEIRS"}) {
			t.Errorf("refused products were stored: %v", n)
		}
	})
}

func manyIndustries(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "industry " + strings.Repeat("x", i)
	}
	return out
}
