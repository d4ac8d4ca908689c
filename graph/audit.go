package graph

import (
	"slices"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// auditParties are the organizations an audit entry involves.
func auditParties(e *domain.AuditEntry) []int64 {
	if e.SecondPartyID == nil {
		return []int64{e.FirstPartyID}
	}
	return []int64{e.FirstPartyID, *e.SecondPartyID}
}

// auditActorIfParty is the entry's acting organization when it is one of
// the entry's parties (so as trusted as they are), else nothing.
func auditActorIfParty(e *domain.AuditEntry) []int64 {
	if e.ActorOrganizationID == nil || !slices.Contains(auditParties(e), *e.ActorOrganizationID) {
		return nil
	}
	return []int64{*e.ActorOrganizationID}
}

// auditComplexity weighs the audit log by its page and the partner view by
// a typical customer's handful of partners, each with a few edges and
// privileges.
func auditComplexity(c *ComplexityRoot) {
	c.Organization.AuditLog = func(child int, first *int, _ *string, last *int, _ *string) int {
		return 1 + child*pageSize(first, last)
	}
	c.Organization.PartnerRelationships = func(child int) int { return 1 + child*10 }
	c.PartnerRelationship.ChannelEdges = func(child int) int { return 1 + child*5 }
	c.PartnerRelationship.DelegatedAdmins = func(child int) int { return 1 + child*5 }
}
