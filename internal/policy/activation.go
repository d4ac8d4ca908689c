package policy

import "github.com/channelgraph/channelgraph/internal/domain"

// MayActivateSaaS (SPEC §6.4, §8.5): a marketplace SaaS subscription is
// activated by its publisher — an OWNER or ADMIN_AGENT of a vendor — or by
// the platform administrator. Which codes a vendor may use, its own
// products' only, is package visibility's (RestrictToPublisher), so a code
// of another vendor reads as unknown rather than forbidden.
func MayActivateSaaS(v *domain.Viewer) error {
	if v.IsPlatformAdmin || (v.Kind == domain.KindVendor && hasRole(v, Managers)) {
		return nil
	}
	if v.Kind != domain.KindVendor {
		return forbidden("a SaaS subscription is activated by its publisher, the product's vendor; a %s does not activate", v.Kind)
	}
	return forbidden("activating a SaaS subscription needs the %s role", roleNames(Managers))
}
