package catalog_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// offer is a product of the matrix: the segments and industries it is
// offered to (nil segments: the default, every segment).
type offer struct {
	sku        string
	segments   []string
	industries []string
}

var offers = []offer{
	{"ALL", nil, nil},
	{"EDU", []string{"EDUCATION"}, nil},
	{"GOV-NP", []string{"GOVERNMENT", "NONPROFIT"}, nil},
	{"COMM", []string{"COMMERCIAL"}, nil},
	{"HEALTH", nil, []string{"Healthcare"}},
	{"EDU-HEALTH-RETAIL", []string{"EDUCATION"}, []string{"Healthcare", "Retail"}},
}

// buyer is a customer of the matrix.
type buyer struct {
	name, segment, industry string
}

// mayBuy is the reference model of SPEC §4.1: the product is offered to the
// customer's segment (none buys as COMMERCIAL) and, when it lists
// industries, to its industry, compared case-insensitively.
func mayBuy(o offer, b buyer) bool {
	segment := b.segment
	if segment == "" {
		segment = "COMMERCIAL"
	}
	if o.segments != nil && !slices.Contains(o.segments, segment) {
		return false
	}
	if len(o.industries) == 0 {
		return true
	}
	return slices.ContainsFunc(o.industries, func(i string) bool { return strings.EqualFold(i, b.industry) })
}

// TestAvailabilityMatrix: every segment × industry × viewer × product
// (SPEC §4.1, §8.2). Anonymous callers, partners, the vendor and the
// platform administrator list the whole catalog; a customer lists exactly
// what the reference model lets it buy, and CheckPurchasable refuses
// exactly the rest, on ".productId", all lines at once. A customer still
// reads a product it may not buy through product(id): the catalog is public.
func TestAvailabilityMatrix(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		vendor, vendorID := a.org("Vendor", domain.KindVendor, "", "")
		reseller, resellerID := a.org("Reseller", domain.KindReseller, "", "")
		a.edge(vendor, reseller)
		ids := map[string]int64{}
		gids := map[string]string{}
		var all []string
		for _, o := range offers {
			f := map[string]any{}
			if o.segments != nil {
				f["segments"] = o.segments
			}
			if o.industries != nil {
				f["industries"] = o.industries
			}
			gids[o.sku], ids[o.sku] = a.product(vendor, o.sku, f)
			all = append(all, o.sku)
		}
		slices.Sort(all)

		var buyers []buyer
		for _, segment := range []string{"COMMERCIAL", "EDUCATION", "GOVERNMENT", "NONPROFIT", ""} {
			for _, industry := range []string{"HEALTHCARE", "retail", "Mining", ""} {
				buyers = append(buyers, buyer{"customer " + segment + "/" + industry, segment, industry})
			}
		}
		everyone := map[string]string{
			"anonymous":                  "",
			"the vendor":                 a.MustToken(vendorID, domain.RoleViewer),
			"a reseller":                 a.MustToken(resellerID, domain.RoleSalesAgent),
			"the platform administrator": testapi.AdminToken,
		}
		for who, token := range everyone {
			if got := a.allSKUs(token, nil); !slices.Equal(got, all) {
				t.Errorf("%s lists %v, want the whole catalog %v", who, got, all)
			}
		}

		ctx := context.Background()
		for _, b := range buyers {
			gid, id := a.org(b.name, domain.KindCustomer, b.industry, b.segment)
			a.edge(reseller, gid)
			var want []string
			var wants []catalog.Want
			for i, o := range offers {
				if mayBuy(o, b) {
					want = append(want, o.sku)
				}
				wants = append(wants, catalog.Want{Field: "lines[" + string(rune('0'+i)) + "]", ProductID: ids[o.sku],
					Term: domain.TermYear, BillingCycle: domain.BillAnnual})
			}
			slices.Sort(want)
			token := a.MustToken(id, domain.RoleViewer)
			if got := a.allSKUs(token, nil); !slices.Equal(got, want) {
				t.Errorf("%s lists %v, want %v", b.name, got, want)
			}
			// The filters a partner browses with for this customer narrow
			// the whole catalog to the same products.
			segment := b.segment
			if segment == "" {
				segment = "COMMERCIAL"
			}
			if got := a.allSKUs(testapi.AdminToken, map[string]any{"segment": segment, "industry": b.industry}); !slices.Equal(got, want) {
				t.Errorf("filter segment %s industry %q lists %v, want %v", segment, b.industry, got, want)
			}

			_, err := catalog.CheckPurchasable(ctx, db, id, wants)
			var refused []string
			for _, f := range faultsOf(t, err) {
				if !strings.HasSuffix(f.Field, ".productId") || f.Code != domain.CodeInvalid {
					t.Errorf("%s: unexpected fault %v", b.name, f)
					continue
				}
				i := int(f.Field[len("lines[")] - '0')
				refused = append(refused, offers[i].sku)
			}
			slices.Sort(refused)
			var wantRefused []string
			for _, sku := range all {
				if !slices.Contains(want, sku) {
					wantRefused = append(wantRefused, sku)
				}
			}
			if !slices.Equal(refused, wantRefused) {
				t.Errorf("%s: CheckPurchasable refuses %v, want %v", b.name, refused, wantRefused)
			}

			for _, sku := range wantRefused {
				var out struct{ Product *struct{ SKU string } }
				a.Must(token, `query($id: ID!) { product(id: $id) { sku } }`, map[string]any{"id": gids[sku]}, &out)
				if out.Product == nil || out.Product.SKU != sku {
					t.Errorf("%s cannot read product %s it may not buy: %+v", b.name, sku, out)
				}
			}
		}

		// Not a customer: nothing is available under the rule.
		_, err := catalog.CheckPurchasable(ctx, db, resellerID, []catalog.Want{{Field: "lines[0]", ProductID: ids["ALL"],
			Term: domain.TermYear, BillingCycle: domain.BillAnnual}})
		if f := faultsOf(t, err); len(f) != 1 || f[0].Field != "lines[0].productId" {
			t.Errorf("a reseller as the buyer: %v, want a fault on lines[0].productId", err)
		}
	})
}

// faultsOf is the faults of a CheckPurchasable error (nil for none).
func faultsOf(t *testing.T, err error) domain.Faults {
	t.Helper()
	if err == nil {
		return nil
	}
	var faults domain.Faults
	if !errorsAs(err, &faults) {
		t.Fatalf("not faults: %v", err)
	}
	return faults
}
