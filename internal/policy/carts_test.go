package policy_test

import (
	"testing"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// TestCarts: SPEC §4.3, §8.4 — who builds carts and who answers quotes.
func TestCarts(t *testing.T) {
	kinds := []domain.OrganizationKind{domain.KindVendor, domain.KindDistributor, domain.KindReseller, domain.KindCustomer}
	for _, k := range kinds {
		for _, r := range roles {
			v := member(1, k, r)
			name := string(r) + " of a " + string(k)
			err := policy.MayBuildCart(v)
			switch {
			case k == domain.KindDistributor && buyer(r):
				if domain.ErrorCode(err) != domain.CodeInvalid || err.(*domain.Error).Field != "customerId" {
					t.Errorf("build a cart as %s: got %v, want BAD_USER_INPUT on customerId", name, err)
				}
			default:
				check(t, "build a cart as "+name, err, (k == domain.KindVendor || k == domain.KindReseller) && buyer(r))
			}
		}
	}
	check(t, "admin builds a cart", policy.MayBuildCart(admin), false)

	cart := &domain.Cart{SellerID: 1, CustomerID: 2}
	quote := &domain.Quote{SellerID: 1, CustomerID: 2}
	for _, r := range roles {
		for _, org := range []int64{1, 2, 3} {
			v := member(org, domain.KindReseller, r)
			name := string(r) + " of " + map[int64]string{1: "the seller", 2: "the customer", 3: "a third party"}[org]
			check(t, "change a cart as "+name, policy.MayChangeCart(v, cart), org == 1 && buyer(r))
			check(t, "answer a quote as "+name, policy.MayAnswerQuote(v, quote), org == 2 && manager(r))
		}
	}
	check(t, "admin changes a cart", policy.MayChangeCart(admin, cart), false)
	check(t, "admin answers a quote", policy.MayAnswerQuote(admin, quote), true)
}
