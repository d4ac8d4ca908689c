package policy_test

import (
	"testing"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// TestCatalogEntries: SPEC §8.2 — a seller's OWNER or ADMIN_AGENT arranges
// its own catalog, nobody else's; the platform administrator any.
func TestCatalogEntries(t *testing.T) {
	for _, r := range roles {
		for _, kind := range []domain.OrganizationKind{domain.KindReseller, domain.KindDistributor, domain.KindVendor} {
			v := member(1, kind, r)
			check(t, "own catalog by "+string(r)+" of a "+string(kind), policy.MaySetCatalogEntry(v, 1), manager(r))
			check(t, "another's catalog by "+string(r)+" of a "+string(kind), policy.MaySetCatalogEntry(v, 2), false)
		}
	}
	check(t, "admin arranges any catalog", policy.MaySetCatalogEntry(admin, 2), true)
}
