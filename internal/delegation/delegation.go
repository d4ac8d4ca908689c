// Package delegation keeps delegated admin privileges (SPEC §6.2, §8.6):
// requested by a partner per customer and service with roles, approved by
// the customer's OWNER, removed by either side, with at most one
// transacting partner per customer and service.
package delegation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Service reads and changes delegated admin privileges.
type Service struct {
	db *bun.DB
	// Now stamps requests, approvals and removals.
	Now func() time.Time
}

// New returns a Service on db, on the system clock.
func New(db *bun.DB) *Service { return &Service{db: db, Now: clock.System{}.Now} }

// visible starts a query over the privileges the viewer may see.
func visible(db bun.IDB, viewer *domain.Viewer, model any) *bun.SelectQuery {
	return visibility.RestrictDelegatedAdmins(db.NewSelect().Model(model), viewer, "da")
}

// DelegatedAdminsByID loads, in one query, those of ids the viewer may
// see; the others are missing.
func (s *Service) DelegatedAdminsByID(ctx context.Context, ids []int64) (map[int64]*domain.DelegatedAdmin, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var found []*domain.DelegatedAdmin
	if len(ids) > 0 {
		if err := visible(database.Conn(ctx, s.db), viewer, &found).Where("da.id IN (?)", database.IDs(ids)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("delegation: reading privileges: %w", err)
		}
	}
	out := make(map[int64]*domain.DelegatedAdmin, len(found))
	for _, d := range found {
		out[d.ID] = d
	}
	return out, nil
}

var listKeyset = relay.Keyset{List: "delegatedAdmins", Columns: []string{"da.created_at", "da.id"}, Desc: true}

// List lists the privileges organization org holds (as the partner) or
// granted (as the customer), newest first, for org itself and the platform
// administrator (visibility.RestrictDelegatedAdminsOf); empty for anyone
// else.
func (s *Service) List(ctx context.Context, org int64, page relay.Page) (*relay.Connection[*domain.DelegatedAdmin], error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	db := database.Conn(ctx, s.db)
	ofOrg := func(model any) *bun.SelectQuery {
		return visibility.RestrictDelegatedAdminsOf(db.NewSelect().Model(model), viewer, "da", org)
	}
	var found []*domain.DelegatedAdmin
	q, err := page.Seek(ofOrg(&found), listKeyset, func() []any { return []any{new(time.Time), new(int64)} })
	if err != nil {
		return nil, err
	}
	if err := q.OrderExpr(page.OrderBy(listKeyset)).Limit(page.Limit()).Scan(ctx); err != nil {
		return nil, fmt.Errorf("delegation: listing privileges: %w", err)
	}
	cursor := func(d *domain.DelegatedAdmin) string { return relay.Cursor(listKeyset.List, d.CreatedAt, d.ID) }
	return relay.NewConnection(page, found, cursor, func(ctx context.Context) (int, error) {
		n, err := ofOrg((*domain.DelegatedAdmin)(nil)).Count(ctx)
		return int(n), err
	}), nil
}

// Between returns the privileges in force (REQUESTED or ACTIVE) between
// organizations a and b, either way round, newest first, as the viewer may
// see them: what the removal of a channel edge between them leaves in place.
func (s *Service) Between(ctx context.Context, a, b int64) ([]*domain.DelegatedAdmin, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	found := []*domain.DelegatedAdmin{}
	err = visible(database.Conn(ctx, s.db), viewer, &found).
		Where("((da.partner_id = ? AND da.customer_id = ?) OR (da.partner_id = ? AND da.customer_id = ?))", a, b, b, a).
		Where("da.status <> ?", domain.DelegatedAdminRemoved).
		Order("da.created_at DESC", "da.id DESC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("delegation: reading privileges between %d and %d: %w", a, b, err)
	}
	return found, nil
}

// Updated announces every change of a privilege (SPEC §8.8): its audience
// is its partner and its customer; delivery shows it as it was then.
var Updated = events.Register(events.Registration[domain.DelegatedAdmin]{
	Type:  "DELEGATED_ADMIN_UPDATED",
	Field: "delegatedAdminUpdated",
	Audience: func(ctx context.Context, tx bun.IDB, eventID int64, d *domain.DelegatedAdmin) error {
		return visibility.DelegatedAdminAudience(ctx, tx, eventID, d)
	},
	Payload: func(ctx context.Context, db bun.IDB, ev events.Event) (*domain.DelegatedAdmin, error) {
		viewer, err := domain.ViewerFrom(ctx)
		if err != nil {
			return nil, err
		}
		var now domain.DelegatedAdmin
		sel := visible(db, viewer, &now).Column("da.id").Where("da.id = ?", ev.ObjectID)
		err = visibility.RestrictToAudience(sel, viewer, ev.ID).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, domain.NotFound("delegated admin")
		}
		if err != nil {
			return nil, fmt.Errorf("delegation: reading an event's privilege: %w", err)
		}
		var then domain.DelegatedAdmin
		if err := ev.Decode(&then); err != nil {
			return nil, fmt.Errorf("delegation: decoding an event: %w", err)
		}
		return &then, nil
	},
})

// detail is what the audit trail says of a privilege.
func detail(d *domain.DelegatedAdmin) string {
	s := fmt.Sprintf("service %s, roles %s", d.Service, strings.Join(d.Roles(), ", "))
	if d.Transacting {
		s += ", transacting"
	}
	return s
}

// HoldsActive reports whether partner holds an ACTIVE delegated admin
// privilege (any service) over customer: a fact the subscription and cart
// policies are given, read in the caller's transaction.
func HoldsActive(ctx context.Context, db bun.IDB, partner, customer int64) (bool, error) {
	held, err := db.NewSelect().Model((*domain.DelegatedAdmin)(nil)).
		Where("da.partner_id = ? AND da.customer_id = ? AND da.status = ?", partner, customer, domain.DelegatedAdminActive).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("delegation: reading privileges: %w", err)
	}
	return held, nil
}
