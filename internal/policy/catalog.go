package policy

import "github.com/channelgraph/channelgraph/internal/domain"

// MaySetCatalogEntry (SPEC §8.2): the seller's OWNER or ADMIN_AGENT, or a
// platform administrator, arranges the seller's own catalog.
func MaySetCatalogEntry(v *domain.Viewer, sellerID int64) error {
	if actsFor(v, sellerID, Managers) {
		return nil
	}
	return forbidden("only the seller's OWNER or ADMIN_AGENT may arrange its catalog")
}
