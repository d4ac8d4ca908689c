package policy

import "github.com/channelgraph/channelgraph/internal/domain"

// MaySetListPrice (SPEC §8.3): the product's vendor's OWNER or ADMIN_AGENT,
// or a platform administrator, sets its list prices.
func MaySetListPrice(v *domain.Viewer, vendorID int64) error {
	if actsFor(v, vendorID, Managers) {
		return nil
	}
	return forbidden("only the vendor's OWNER or ADMIN_AGENT, or a platform administrator, may set its list prices")
}

// MaySetPriceRule (SPEC §8.3): the edge's upstream side's OWNER or
// ADMIN_AGENT, or a platform administrator, sets what it charges the
// downstream side.
func MaySetPriceRule(v *domain.Viewer, e *domain.ChannelEdge) error {
	if actsFor(v, e.UpstreamID, Managers) {
		return nil
	}
	return forbidden("only the upstream organization's OWNER or ADMIN_AGENT, or a platform administrator, may set this edge's price rules")
}
