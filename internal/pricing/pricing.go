// Package pricing is the one home of "who sees which price" (SPEC §4.2,
// §8.3), beside package visibility's "who sees what": each rule is a
// condition the database evaluates as it reads a price, so a price the
// viewer may not see is never read, listed, counted or pushed.
package pricing

import (
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// ListPriceVisible is a condition, for the products whose vendor id is in
// vendorColumn, that holds when viewer may see their vendor's list price:
// the vendor itself and the organizations it sells to directly (an ACTIVE
// edge from the vendor), and a platform administrator. Nobody else — not an
// anonymous caller of the public catalog, not the customer of an indirect
// sale — learns what the vendor charges its direct partners: that is their
// cost. A nil viewer is an anonymous caller.
func ListPriceVisible(viewer *domain.Viewer, vendorColumn string) schema.QueryWithArgs {
	switch {
	case viewer == nil:
		return bun.SafeQuery("FALSE")
	case viewer.IsPlatformAdmin:
		return bun.SafeQuery("TRUE")
	}
	return bun.SafeQuery(`(? = ? OR EXISTS (SELECT 1 FROM channel_edges le
		WHERE le.upstream_id = ? AND le.downstream_id = ? AND le.status = 'ACTIVE'))`,
		bun.Safe(vendorColumn), viewer.OrganizationID, bun.Safe(vendorColumn), viewer.OrganizationID)
}
