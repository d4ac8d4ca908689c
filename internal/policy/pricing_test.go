package policy_test

import (
	"testing"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// TestPricing: SPEC §8.3 — the vendor's managers set its list prices, an
// edge's upstream managers its price rules; the downstream side, other
// organizations and the other roles may not.
func TestPricing(t *testing.T) {
	const vendor, down, other = 1, 2, 3
	e := &domain.ChannelEdge{UpstreamID: vendor, DownstreamID: down}
	for _, r := range roles {
		for _, org := range []int64{vendor, down, other} {
			v := member(org, domain.KindVendor, r)
			name := string(r) + " of " + map[int64]string{vendor: "the vendor/upstream", down: "downstream", other: "a third party"}[org]
			check(t, "set list price as "+name, policy.MaySetListPrice(v, vendor), org == vendor && manager(r))
			check(t, "set price rule as "+name, policy.MaySetPriceRule(v, e), org == vendor && manager(r))
		}
	}
	check(t, "admin sets list price", policy.MaySetListPrice(admin, vendor), true)
	check(t, "admin sets price rule", policy.MaySetPriceRule(admin, e), true)
}
