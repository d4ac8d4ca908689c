package policy

import (
	"slices"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Delegated admin (SPEC §6.2, §8.6). Who may SEE a privilege is
// visibility's (its two parties); these decide who may act on one the
// viewer already sees, or request one over a customer it sees.

// MayRequestDelegatedAdmin: a distributor's or reseller's OWNER or
// ADMIN_AGENT requests privileges over a customer's service for its own
// organization. Vendors, customers and the platform administrator (who is
// no partner) do not.
func MayRequestDelegatedAdmin(v *domain.Viewer) error {
	if v.IsPlatformAdmin || (v.Kind != domain.KindDistributor && v.Kind != domain.KindReseller) {
		return forbidden("only a distributor or reseller requests delegated admin privileges, for itself")
	}
	if !hasRole(v, Managers) {
		return forbidden("requesting delegated admin privileges needs the %s role", roleNames(Managers))
	}
	return nil
}

// MayApproveDelegatedAdmin: only the customer's OWNER approves a privilege
// over its services (or the platform administrator).
func MayApproveDelegatedAdmin(v *domain.Viewer, d *domain.DelegatedAdmin) error {
	if actsFor(v, d.CustomerID, Owners) {
		return nil
	}
	return forbidden("only the customer's OWNER may approve delegated admin privileges")
}

// MayRemoveDelegatedAdmin: either side removes a privilege — the
// partner's or the customer's OWNER or ADMIN_AGENT (SPEC §6.2: the
// customer may remove any partner's privileges).
func MayRemoveDelegatedAdmin(v *domain.Viewer, d *domain.DelegatedAdmin) error {
	if actsFor(v, d.CustomerID, Managers) || actsFor(v, d.PartnerID, Managers) {
		return nil
	}
	return forbidden("removing delegated admin privileges needs the partner's or the customer's %s role", roleNames(Managers))
}

// MayOrderAddOn (SPEC §6.2): a seller that holds delegated admin
// privileges over the customer (delegated) but is not the partner of
// record of the customer's subscription to the add-on's parent product
// (partnersOfRecord: those of its live subscriptions to it) may not order
// the add-on for it: NOT_PARTNER_OF_RECORD on productId. A seller without
// privileges is the ordinary channel's business, and a customer with no
// subscription to the parent buys the add-on with it.
func MayOrderAddOn(sellerID int64, delegated bool, partnersOfRecord []int64) error {
	if !delegated || len(partnersOfRecord) == 0 || slices.Contains(partnersOfRecord, sellerID) {
		return nil
	}
	return domain.FieldErrorf(domain.CodeNotPartnerOfRecord, "productId",
		"delegated admin does not allow ordering add-ons for a subscription another partner is partner of record of; ask the partner of record")
}
