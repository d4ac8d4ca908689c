package catalog_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestCheckPurchasableFaults: the term and billing cycle must be offered, an
// add-on comes with a line of its own parent and nothing else names a
// parent; every fault of every line comes back at once, each on its field
// (SPEC §4.3, §8.4), and a clean order returns its products.
func TestCheckPurchasableFaults(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		vendor, _ := a.org("Vendor", domain.KindVendor, "", "")
		_, customer := a.org("Customer", domain.KindCustomer, "Retail", "COMMERCIAL")
		suiteGID, suite := a.product(vendor, "SUITE", map[string]any{"terms": []string{"P1M", "P1Y"}, "billingCycles": []string{"MONTHLY"}})
		_, other := a.product(vendor, "OTHER", nil)
		_, addOn := a.product(vendor, "ADDON", map[string]any{"parentId": suiteGID})
		ctx := context.Background()
		line := func(field string, product int64, term domain.Term, cycle domain.BillingCycle, parent *int64) catalog.Want {
			return catalog.Want{Field: field, ProductID: product, Term: term, BillingCycle: cycle, ParentProductID: parent}
		}

		ok := []catalog.Want{
			line("lines[0]", suite, domain.TermMonth, domain.BillMonthly, nil),
			line("lines[1]", addOn, domain.TermYear, domain.BillAnnual, &suite),
			line("lines[2]", other, domain.TermYear, domain.BillMonthly, nil),
		}
		products, err := catalog.CheckPurchasable(ctx, db, customer, ok)
		if err != nil {
			t.Fatalf("a purchasable order is refused: %v", err)
		}
		if p := products[addOn]; p == nil || p.ParentID == nil || *p.ParentID != suite || p.SKU != "ADDON" ||
			len(p.Terms) != 1 || len(p.BillingCycles) != 2 {
			t.Errorf("products returned: %+v", p)
		}

		missing := int64(1 << 40)
		bad := []catalog.Want{
			line("lines[0]", suite, domain.TermYear, domain.BillAnnual, nil),   // cycle not offered; term fine
			line("lines[1]", other, domain.TermMonth, domain.BillMonthly, nil), // term not offered
			line("lines[2]", addOn, domain.TermYear, domain.BillAnnual, nil),   // add-on alone
			line("lines[3]", addOn, domain.TermYear, domain.BillAnnual, &other),
			line("lines[4]", other, domain.TermYear, domain.BillAnnual, &suite), // not an add-on
			line("lines[5]", missing, domain.TermYear, domain.BillAnnual, nil),
		}
		_, err = catalog.CheckPurchasable(ctx, db, customer, bad)
		want := []struct {
			field string
			code  domain.Code
		}{
			{"lines[0].billingCycle", domain.CodeInvalid},
			{"lines[1].term", domain.CodeInvalid},
			{"lines[2].parentLineId", domain.CodeInvalid},
			{"lines[3].parentLineId", domain.CodeInvalid},
			{"lines[4].parentLineId", domain.CodeInvalid},
			{"lines[5].productId", domain.CodeNotFound},
		}
		got := faultsOf(t, err)
		if len(got) != len(want) {
			t.Fatalf("faults %v, want %d of them", got, len(want))
		}
		for i, w := range want {
			if got[i].Field != w.field || got[i].Code != w.code || got[i].Message == "" {
				t.Errorf("fault %d: %s %s %q, want %s on %s", i, got[i].Code, got[i].Field, got[i].Message, w.code, w.field)
			}
		}
	})
}
