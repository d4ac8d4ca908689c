package visibility

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Delegated admin privileges (SPEC §6.2, §8.6): a privilege is seen by its
// two parties, the partner holding (or requesting) it and the customer
// whose service it is — and the platform administrator. Nobody else: not
// the partner's upstream, not a competitor that serves the same customer.

// RestrictDelegatedAdmins keeps the privileges (table alias in alias) the
// viewer may see.
func RestrictDelegatedAdmins(q *bun.SelectQuery, viewer *domain.Viewer, alias string) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	a := bun.Safe(alias)
	return q.Where("(?.partner_id = ? OR ?.customer_id = ?)", a, viewer.OrganizationID, a, viewer.OrganizationID)
}

// RestrictDelegatedAdminsOf keeps the privileges (table alias in alias)
// listed as organization org's own, those it holds or granted: read by org
// itself and the platform administrator, empty for anyone else — even the
// other party of some of them, which reads them in its own list.
func RestrictDelegatedAdminsOf(q *bun.SelectQuery, viewer *domain.Viewer, alias string, org int64) *bun.SelectQuery {
	a := bun.Safe(alias)
	q = RestrictDelegatedAdmins(q, viewer, alias).Where("(?.partner_id = ? OR ?.customer_id = ?)", a, org, a, org)
	if !viewer.IsPlatformAdmin && viewer.OrganizationID != org {
		q = q.Where("1 = 0")
	}
	return q
}

// DelegatedAdminAudience records who may see the privilege d as its change
// commits: its partner and its customer.
func DelegatedAdminAudience(ctx context.Context, tx bun.IDB, eventID int64, d *domain.DelegatedAdmin) error {
	_, err := tx.NewRaw(`INSERT INTO event_audience (event_id, organization_id) VALUES (?, ?), (?, ?)`,
		eventID, d.PartnerID, eventID, d.CustomerID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("visibility: audience of delegated admin %d: %w", d.ID, err)
	}
	return nil
}
