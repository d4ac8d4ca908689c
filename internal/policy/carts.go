package policy

import "github.com/channelgraph/channelgraph/internal/domain"

// MayBuildCart (SPEC §1.2, §4.3, §8.4): a partner's OWNER, ADMIN_AGENT or
// SALES_AGENT builds carts for the customers it sells to — a reseller's, or a
// vendor's for a direct sale. The platform administrator sells nothing, and
// a customer buys through quotes. A distributor's cart is refused as bad
// input on customerId, not FORBIDDEN: an order names a distributor only
// together with a reseller (SPEC §3.1), so a distributor sells to a customer
// through one of its resellers, which builds the cart and names it.
func MayBuildCart(v *domain.Viewer) error {
	switch {
	case v.IsPlatformAdmin:
		return forbidden("the platform administrator sells nothing, so it builds no carts")
	case v.Kind == domain.KindCustomer:
		return forbidden("a customer does not build carts; it buys through the quotes its partners send")
	}
	if err := MayWithRole(v, "building carts", Buyers); err != nil {
		return err
	}
	if v.Kind == domain.KindDistributor {
		return domain.FieldErrorf(domain.CodeInvalid, "customerId",
			"a distributor sells to customers through its resellers: the reseller builds the cart and names you as its distributor")
	}
	return nil
}

// MayChangeCart (SPEC §4.3): the seller's OWNER, ADMIN_AGENT or SALES_AGENT
// changes, places, saves and quotes its carts. Only the seller sees a cart
// (package visibility), so this is asked of the seller's members alone.
func MayChangeCart(v *domain.Viewer, c *domain.Cart) error {
	if !v.IsPlatformAdmin && actsFor(v, c.SellerID, Buyers) {
		return nil
	}
	return forbidden("only the seller's OWNER, ADMIN_AGENT or SALES_AGENT may change its carts")
}

// MayAnswerQuote (SPEC §4.3, §8.4): the customer's OWNER or ADMIN_AGENT
// accepts or declines a quote sent to it (the platform administrator may act
// for it).
func MayAnswerQuote(v *domain.Viewer, q *domain.Quote) error {
	if actsFor(v, q.CustomerID, Managers) {
		return nil
	}
	return forbidden("only the customer's OWNER or ADMIN_AGENT may accept or decline its quotes")
}
