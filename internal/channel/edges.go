package channel

import (
	"context"
	"errors"
	"strings"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// CreateChannelEdge joins upstream to downstream (SPEC §2.1–§2.2). A platform
// administrator's edge is ACTIVE at once; the upstream side's (OWNER or
// ADMIN_AGENT) is INVITED until the downstream side accepts it.
func (s *Service) CreateChannelEdge(ctx context.Context, upstreamID, downstreamID int64) (*domain.ChannelEdge, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	up, err := s.Organization(ctx, upstreamID)
	if err != nil {
		return nil, fieldOf(err, "upstreamId")
	}
	down, err := s.Organization(ctx, downstreamID)
	if err != nil {
		return nil, fieldOf(err, "downstreamId")
	}
	if !viewer.ActsFor(up.ID, domain.ManagerRoles...) {
		return nil, domain.Errorf(domain.CodeForbidden, "only the upstream organization's OWNER or ADMIN_AGENT, or a platform administrator, may create this edge")
	}
	if up.ID == down.ID {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "downstreamId", "an organization cannot have an edge to itself")
	}
	if !domain.AllowedEdge(up.Kind, down.Kind) {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "downstreamId",
			"a %s cannot be upstream of a %s (allowed: VENDOR→DISTRIBUTOR, VENDOR→RESELLER, VENDOR→CUSTOMER, DISTRIBUTOR→RESELLER, DISTRIBUTOR→CUSTOMER, RESELLER→CUSTOMER)", up.Kind, down.Kind)
	}
	status := domain.EdgeInvited
	if viewer.IsPlatformAdmin {
		status = domain.EdgeActive
	}
	var edge *domain.ChannelEdge
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		edge, err = insertEdge(ctx, tx, up.ID, down.ID, status)
		return err
	})
	return edge, err
}

func insertEdge(ctx context.Context, tx bun.IDB, up, down int64, status domain.EdgeStatus) (*domain.ChannelEdge, error) {
	exists, err := tx.NewSelect().TableExpr("channel_edges").
		Where("upstream_id = ? AND downstream_id = ? AND status <> 'REMOVED'", up, down).Exists(ctx)
	if err != nil {
		return nil, err
	}
	if exists {
		return nil, domain.FieldErrorf(domain.CodeConflict, "downstreamId", "these organizations are already joined by an edge that is not removed")
	}
	now := domain.Now()
	edge := &domain.ChannelEdge{UpstreamID: up, DownstreamID: down, Status: status, CreatedAt: now, UpdatedAt: now}
	if status == domain.EdgeActive {
		edge.AcceptedAt = &now
	}
	_, err = tx.NewInsert().Model(edge).Returning("id").Exec(ctx)
	if database.IsUniqueViolation(err) {
		return nil, domain.FieldErrorf(domain.CodeConflict, "downstreamId", "these organizations are already joined by an edge that is not removed")
	}
	if err != nil {
		return nil, err
	}
	return edge, events.Append(ctx, tx, events.ChannelEdgeUpdated, edge.ID)
}

// AcceptChannelEdge activates an INVITED edge; the downstream side's OWNER or
// ADMIN_AGENT (or a platform administrator) accepts.
func (s *Service) AcceptChannelEdge(ctx context.Context, id int64) (*domain.ChannelEdge, error) {
	return s.changeEdge(ctx, id, func(viewer *domain.Viewer, e *domain.ChannelEdge) error {
		if !viewer.ActsFor(e.DownstreamID, domain.ManagerRoles...) {
			return domain.Errorf(domain.CodeForbidden, "only the downstream organization's OWNER or ADMIN_AGENT may accept this edge")
		}
		if e.Status != domain.EdgeInvited {
			return domain.FieldErrorf(domain.CodeConflict, "channelEdgeId", "the edge is %s; only an INVITED edge can be accepted", e.Status)
		}
		now := domain.Now()
		e.Status, e.AcceptedAt = domain.EdgeActive, &now
		return nil
	})
}

// SetPurchaseOrderView turns the edge's purchase-order grant on or off (SPEC
// §2.3); only the upstream side's OWNER or ADMIN_AGENT (or a platform
// administrator) may. It takes effect in the same transaction.
func (s *Service) SetPurchaseOrderView(ctx context.Context, id int64, enabled bool) (*domain.ChannelEdge, error) {
	return s.changeEdge(ctx, id, func(viewer *domain.Viewer, e *domain.ChannelEdge) error {
		if !viewer.ActsFor(e.UpstreamID, domain.ManagerRoles...) {
			return domain.Errorf(domain.CodeForbidden, "only the upstream organization's OWNER or ADMIN_AGENT may change purchaseOrderView")
		}
		if e.Status == domain.EdgeRemoved {
			return domain.FieldErrorf(domain.CodeConflict, "channelEdgeId", "the edge is REMOVED")
		}
		e.PurchaseOrderView = enabled
		return nil
	})
}

// RemoveChannelEdge removes an edge (SPEC §2.2). Either side's OWNER or
// ADMIN_AGENT may, with a reason, acknowledging that notice to the other
// party is its own responsibility.
func (s *Service) RemoveChannelEdge(ctx context.Context, id int64, reason string, acknowledgeNotice bool) (*domain.ChannelEdge, error) {
	reason = strings.TrimSpace(reason)
	return s.changeEdge(ctx, id, func(viewer *domain.Viewer, e *domain.ChannelEdge) error {
		if !viewer.ActsFor(e.UpstreamID, domain.ManagerRoles...) && !viewer.ActsFor(e.DownstreamID, domain.ManagerRoles...) {
			return domain.Errorf(domain.CodeForbidden, "only an OWNER or ADMIN_AGENT of either side may remove this edge")
		}
		switch {
		case e.Status == domain.EdgeRemoved:
			return domain.FieldErrorf(domain.CodeConflict, "channelEdgeId", "the edge is already REMOVED")
		case !acknowledgeNotice:
			return domain.FieldErrorf(domain.CodeInvalid, "acknowledgeNotice",
				"acknowledgeNotice must be true: giving the other party legal notice is the remover's responsibility")
		case reason == "" || len(reason) > 1000:
			return domain.FieldErrorf(domain.CodeInvalid, "reason", "reason must be 1 to 1000 characters")
		}
		now := domain.Now()
		e.Status, e.RemovedAt, e.RemovalReason = domain.EdgeRemoved, &now, reason
		if !viewer.IsPlatformAdmin {
			by := viewer.OrganizationID
			e.RemovedByOrganizationID = &by
		}
		return nil
	})
}

// changeEdge loads a visible edge, locks it, applies change, stores it and
// re-derives the visibility of the purchase orders its grant gates, all in
// one transaction.
func (s *Service) changeEdge(ctx context.Context, id int64, change func(*domain.Viewer, *domain.ChannelEdge) error) (*domain.ChannelEdge, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.ChannelEdge(ctx, id); err != nil {
		return nil, fieldOf(err, "channelEdgeId")
	}
	var edge domain.ChannelEdge
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(&edge).Where("e.id = ?", id)
		if err := database.LockForUpdate(q).Scan(ctx); err != nil {
			return err
		}
		if err := change(viewer, &edge); err != nil {
			return err
		}
		edge.UpdatedAt = domain.Now()
		if _, err := tx.NewUpdate().Model(&edge).WherePK().Exec(ctx); err != nil {
			return err
		}
		if err := visibility.Refresh(ctx, tx, visibility.Edge(edge.UpstreamID, edge.DownstreamID)); err != nil {
			return err
		}
		return events.Append(ctx, tx, events.ChannelEdgeUpdated, edge.ID)
	})
	if err != nil {
		return nil, err
	}
	return &edge, nil
}

// ChannelEdge returns an edge whose two ends the viewer may see.
func (s *Service) ChannelEdge(ctx context.Context, id int64) (*domain.ChannelEdge, error) {
	found, err := s.ChannelEdgesByID(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if edge, ok := found[id]; ok {
		return edge, nil
	}
	return nil, domain.NotFound("channel edge")
}

// ChannelEdgesByID loads, in one query, those of ids that the viewer may
// see; the others are missing from the map.
func (s *Service) ChannelEdgesByID(ctx context.Context, ids []int64) (map[int64]*domain.ChannelEdge, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var edges []domain.ChannelEdge
	if len(ids) > 0 {
		q := s.db.NewSelect().Model(&edges).Where("e.id IN (?)", bun.In(ids))
		if err := visibility.RestrictEdges(q, viewer).Scan(ctx); err != nil {
			return nil, err
		}
	}
	out := make(map[int64]*domain.ChannelEdge, len(edges))
	for i := range edges {
		out[edges[i].ID] = &edges[i]
	}
	return out, nil
}

// EdgeFilter narrows an organization's edges. It is comparable, so it can
// be part of a loader's key.
type EdgeFilter struct {
	// Downstream lists the organization's downstream edges; otherwise its upstream ones.
	Downstream bool
	// Kind keeps edges whose other end is of this kind; empty keeps every kind.
	Kind domain.OrganizationKind
	// IncludeRemoved keeps REMOVED edges, which are left out by default.
	IncludeRemoved bool
}

// edgesOf starts a query over the edges (aliased e) in the lists of the
// organizations orgIDs that f selects, among those the viewer may see; it
// also returns the column naming each edge's organization.
func (s *Service) edgesOf(viewer *domain.Viewer, orgIDs []int64, f EdgeFilter) (*bun.SelectQuery, bun.Safe) {
	self, other := bun.Safe("e.upstream_id"), bun.Safe("e.downstream_id")
	if !f.Downstream {
		self, other = other, self
	}
	q := s.db.NewSelect().TableExpr("channel_edges AS e").Where("? IN (?)", self, bun.In(orgIDs))
	q = visibility.RestrictEdges(q, viewer)
	if !f.IncludeRemoved {
		q = q.Where("e.status <> 'REMOVED'")
	}
	if f.Kind != "" {
		q = q.Where("? IN (SELECT id FROM organizations WHERE kind = ?)", other, f.Kind)
	}
	return q, self
}

// ChannelEdgesOf lists, for each organization of orgIDs, its edges in one
// direction, oldest first, among those the viewer may see — each its own
// list with its own page — in one statement for all of them: ROW_NUMBER()
// over each organization's edges in the list's order keeps each one's first
// page.First+1 after the cursor. The caller has checked the organizations
// themselves are visible. Each page's Count counts its organization's list
// alone; a loader batches those through ChannelEdgeCounts.
func (s *Service) ChannelEdgesOf(ctx context.Context, orgIDs []int64, f EdgeFilter, page relay.Page) (map[int64]*relay.Connection[*domain.ChannelEdge], error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var afterID int64
	hasAfter, err := page.ScanAfter("channelEdges", &afterID)
	if err != nil {
		return nil, err
	}
	var edges []*domain.ChannelEdge
	if len(orgIDs) > 0 {
		ranked, self := s.edgesOf(viewer, orgIDs, f)
		if hasAfter {
			ranked = ranked.Where("e.id > ?", afterID)
		}
		ranked = ranked.ColumnExpr("e.*").ColumnExpr("ROW_NUMBER() OVER (PARTITION BY ? ORDER BY e.id) AS page_row", self)
		if err := s.db.NewSelect().Model(&edges).ModelTableExpr("(?) AS e", ranked).
			Where("e.page_row <= ?", page.Limit()).OrderExpr("?, e.id", self).Scan(ctx); err != nil {
			return nil, err
		}
	}
	rows := make(map[int64][]*domain.ChannelEdge, len(orgIDs))
	for _, e := range edges {
		org := e.UpstreamID
		if !f.Downstream {
			org = e.DownstreamID
		}
		rows[org] = append(rows[org], e)
	}
	cursor := func(e *domain.ChannelEdge) string { return relay.Cursor("channelEdges", e.ID) }
	out := make(map[int64]*relay.Connection[*domain.ChannelEdge], len(orgIDs))
	for _, id := range orgIDs {
		out[id] = relay.NewConnection(page, rows[id], cursor, func(ctx context.Context) (int, error) {
			n, err := s.ChannelEdgeCounts(ctx, []int64{id}, f)
			return n[id], err
		})
	}
	return out, nil
}

// ChannelEdgeCounts counts, for each organization of orgIDs, the edges in
// its list as ChannelEdgesOf lists them, in one statement for all of them.
// An organization without edges is absent (its count is 0).
func (s *Service) ChannelEdgeCounts(ctx context.Context, orgIDs []int64, f EdgeFilter) (map[int64]int, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int, len(orgIDs))
	if len(orgIDs) == 0 {
		return out, nil
	}
	var counts []struct {
		Org int64 `bun:"org"`
		N   int   `bun:"n"`
	}
	q, self := s.edgesOf(viewer, orgIDs, f)
	if err := q.ColumnExpr("? AS org, COUNT(*) AS n", self).GroupExpr("?", self).Scan(ctx, &counts); err != nil {
		return nil, err
	}
	for _, c := range counts {
		out[c.Org] = c.N
	}
	return out, nil
}

// fieldOf names the input field a NOT_FOUND or invalid-ID error is about.
func fieldOf(err error, field string) error {
	var e *domain.Error
	if errors.As(err, &e) && e.Field == "" {
		return &domain.Error{Code: e.Code, Field: field, Message: e.Message}
	}
	return err
}

// EdgeForEvent returns the channel edge of an event as the event committed
// it, if the viewer may see the edge now.
func (s *Service) EdgeForEvent(ctx context.Context, ev events.Event) (*domain.ChannelEdge, error) {
	if _, err := s.ChannelEdge(ctx, ev.ObjectID); err != nil {
		return nil, err
	}
	var then domain.ChannelEdge
	err := ev.Decode(&then)
	return &then, err
}
