package policy

import "github.com/channelgraph/channelgraph/internal/domain"

// Product subscriptions (SPEC §1.2, §6.3, §8.5). Refusals here are user
// errors on the input field at fault (NOT_PARTNER_OF_RECORD,
// ROLE_NOT_ALLOWED), not FORBIDDEN: the viewer may see the subscription,
// and a partner's tool shows why a change is refused next to the field.

// The fields of updateProductSubscription a change may touch.
const (
	SubNickname         = "nickname"
	SubQuantity         = "quantity"
	SubQuantityChange   = "quantityChange"
	SubAssignedLicenses = "assignedLicenses"
	SubAutoRenew        = "autoRenew"
	SubBillingCycle     = "billingCycle"
	SubStatus           = "status"
	SubConvertTrial     = "convertTrialToPaid"
)

// customerMayChange are the fields the customer may change itself: the
// name it knows the subscription by and who uses its licenses; billing is
// its partner's.
var customerMayChange = map[string]bool{SubNickname: true, SubAssignedLicenses: true}

// delegateMayChange are the fields a partner with an ACTIVE delegated admin
// privilege over the customer, not the partner of record, may change (SPEC
// §6.2): it provisions (who uses the licenses) and supports (the name the
// customer knows it by); it may not remove seats, order add-ons, transition
// the subscription or change its partner of record.
var delegateMayChange = map[string]bool{SubNickname: true, SubAssignedLicenses: true}

// saasRestricted are the fields a SALES_AGENT may not change on a SaaS
// subscription (seed 003): they change what the publisher bills.
var saasRestricted = map[string]bool{SubQuantity: true, SubQuantityChange: true, SubStatus: true, SubBillingCycle: true}

// Changers are the roles that change subscriptions at all; a SALES_AGENT
// too, within saasRestricted's limits.
var Changers = []domain.Role{domain.RoleOwner, domain.RoleAdminAgent, domain.RoleSalesAgent}

// MayChangeSubscription (SPEC §1.2, §8.5): whether the viewer may change
// the given fields of s (saas: its product is SaaS). The partner of record
// and the distributor of the sale may change anything; the customer only
// its nickname and license assignment; the vendor of a sale through
// partners, and anyone else, nothing (NOT_PARTNER_OF_RECORD). Within those,
// an OWNER or ADMIN_AGENT may; a SALES_AGENT too, except a SaaS
// subscription's quantity, status or billing cycle; a BILLING_ADMIN or
// VIEWER reads only (ROLE_NOT_ALLOWED). A partner that is neither but holds
// an ACTIVE delegated admin privilege over the customer (delegated) may
// change what delegateMayChange lists, under the same role limits, and
// nothing else (NOT_PARTNER_OF_RECORD). The platform administrator may
// change everything. One fault per field refused.
func MayChangeSubscription(v *domain.Viewer, s *domain.ProductSubscription, saas, delegated bool, fields []string) error {
	if v.IsPlatformAdmin {
		return nil
	}
	partner := v.OrganizationID == s.PartnerOfRecordID ||
		(s.DistributorID != nil && v.OrganizationID == *s.DistributorID)
	customer := v.OrganizationID == s.CustomerID
	delegate := delegated && !partner && !customer
	var faults domain.Faults
	for _, f := range fields {
		switch {
		case !partner && !(customer && customerMayChange[f]) && !(delegate && delegateMayChange[f]):
			faults = append(faults, domain.FieldErrorf(domain.CodeNotPartnerOfRecord, f, "%s", notPartnerMessage(customer, delegate, f)))
		case !hasRole(v, Changers):
			faults = append(faults, domain.FieldErrorf(domain.CodeRoleNotAllowed, f,
				"a %s may not change subscriptions; an OWNER, ADMIN_AGENT or SALES_AGENT may", v.Role))
		case v.Role == domain.RoleSalesAgent && saas && saasRestricted[f]:
			faults = append(faults, domain.FieldErrorf(domain.CodeRoleNotAllowed, f,
				"a SALES_AGENT may not change the quantity, status or billing cycle of a SaaS subscription; an OWNER or ADMIN_AGENT may"))
		}
	}
	return faults.OrNil()
}

func notPartnerMessage(customer, delegate bool, field string) string {
	if delegate {
		return "delegated admin lets a partner provision and support a subscription (nickname, assignedLicenses), not change its " +
			field + ": only the partner of record (or the distributor of the sale) may"
	}
	if customer {
		return "the customer may change only the nickname and assigned licenses; ask the partner of record to change " + field
	}
	return "only the partner of record (or the distributor of the sale) may change " + field
}

// SeesActivationCode (SPEC §6.4): a SaaS subscription's activation code,
// and the link that carries it, are seen by its customer, who follows the
// link, and its partner of record, who sends it on — and the platform
// administrator. Others who see the subscription (the vendor, a
// distributor) do not: the code activates it.
func SeesActivationCode(v *domain.Viewer, s *domain.ProductSubscription) bool {
	return v.IsPlatformAdmin || v.OrganizationID == s.CustomerID || v.OrganizationID == s.PartnerOfRecordID
}
