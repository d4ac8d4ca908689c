package channel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/audit"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/policy"
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
	if err := policy.MayCreateChannelEdge(viewer, up.ID); err != nil {
		return nil, err
	}
	if up.ID == down.ID {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "downstreamId", "an organization cannot have an edge to itself")
	}
	if !domain.AllowedEdge(up.Kind, down.Kind) {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "downstreamId",
			"a %s cannot be upstream of a %s (allowed: VENDOR→DISTRIBUTOR, VENDOR→RESELLER, VENDOR→CUSTOMER, DISTRIBUTOR→RESELLER, DISTRIBUTOR→CUSTOMER, RESELLER→CUSTOMER)", up.Kind, down.Kind)
	}
	var edge *domain.ChannelEdge
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		now := s.Now()
		if edge, err = insertEdge(ctx, tx, up.ID, down.ID, policy.NewEdgeStatus(viewer), now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, viewer, now, edgeEntry(audit.ChannelEdgeCreated, edge))
	})
	return edge, err
}

func insertEdge(ctx context.Context, tx bun.IDB, up, down int64, status domain.EdgeStatus, now time.Time) (*domain.ChannelEdge, error) {
	exists, err := tx.NewSelect().TableExpr("channel_edges").
		Where("upstream_id = ? AND downstream_id = ? AND status <> 'REMOVED'", up, down).Exists(ctx)
	if err != nil {
		return nil, fmt.Errorf("channel: reading edges: %w", err)
	}
	if exists {
		return nil, domain.FieldErrorf(domain.CodeConflict, "downstreamId", "these organizations are already joined by an edge that is not removed")
	}
	edge := &domain.ChannelEdge{UpstreamID: up, DownstreamID: down, Status: status, CreatedAt: now, UpdatedAt: now}
	if status == domain.EdgeActive {
		edge.AcceptedAt = &now
	}
	_, err = tx.NewInsert().Model(edge).Returning("id").Exec(ctx)
	if database.IsUniqueViolation(err) {
		return nil, domain.FieldErrorf(domain.CodeConflict, "downstreamId", "these organizations are already joined by an edge that is not removed")
	}
	if err != nil {
		return nil, fmt.Errorf("channel: storing edge: %w", err)
	}
	return edge, EdgeUpdated.Append(ctx, tx, edge.ID, now)
}

// AcceptChannelEdge activates an INVITED edge; the downstream side's OWNER or
// ADMIN_AGENT (or a platform administrator) accepts.
func (s *Service) AcceptChannelEdge(ctx context.Context, id int64) (*domain.ChannelEdge, error) {
	return s.changeEdge(ctx, id, audit.ChannelEdgeAccepted, func(viewer *domain.Viewer, e *domain.ChannelEdge, now time.Time) error {
		if err := policy.MayAcceptChannelEdge(viewer, e); err != nil {
			return err
		}
		if e.Status != domain.EdgeInvited {
			return domain.FieldErrorf(domain.CodeConflict, "channelEdgeId", "the edge is %s; only an INVITED edge can be accepted", e.Status)
		}
		e.Status, e.AcceptedAt = domain.EdgeActive, &now
		return nil
	})
}

// SetPurchaseOrderView turns the edge's purchase-order grant on or off (SPEC
// §2.3); only the upstream side's OWNER or ADMIN_AGENT (or a platform
// administrator) may. It takes effect in the same transaction.
func (s *Service) SetPurchaseOrderView(ctx context.Context, id int64, enabled bool) (*domain.ChannelEdge, error) {
	return s.changeEdge(ctx, id, audit.PurchaseOrderViewSet, func(viewer *domain.Viewer, e *domain.ChannelEdge, _ time.Time) error {
		if err := policy.MaySetPurchaseOrderView(viewer, e); err != nil {
			return err
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
	return s.changeEdge(ctx, id, audit.ChannelEdgeRemoved, func(viewer *domain.Viewer, e *domain.ChannelEdge, now time.Time) error {
		if err := policy.MayRemoveChannelEdge(viewer, e); err != nil {
			return err
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
		e.Status, e.RemovedAt, e.RemovalReason = domain.EdgeRemoved, &now, reason
		if !viewer.IsPlatformAdmin {
			by := viewer.OrganizationID
			e.RemovedByOrganizationID = &by
		}
		return nil
	})
}

// changeEdge loads a visible edge, locks it, applies change, stores it,
// re-derives the visibility of the purchase orders its grant gates and
// records the change as action in the audit trail, all in one transaction.
func (s *Service) changeEdge(ctx context.Context, id int64, action string, change func(*domain.Viewer, *domain.ChannelEdge, time.Time) error) (*domain.ChannelEdge, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.ChannelEdge(ctx, id); err != nil {
		return nil, fieldOf(err, "channelEdgeId")
	}
	var edge domain.ChannelEdge
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		q := tx.NewSelect().Model(&edge).Where("e.id = ?", id)
		if err := database.LockForUpdate(q).Scan(ctx); err != nil {
			return fmt.Errorf("channel: locking edge: %w", err)
		}
		now := s.Now()
		if err := change(viewer, &edge, now); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, viewer, now, edgeEntry(action, &edge)); err != nil {
			return err
		}
		return storeEdge(ctx, tx, &edge, now)
	})
	if err != nil {
		return nil, err
	}
	return &edge, nil
}

// edgeEntry is the audit entry of action on e, as e now is: its two ends
// are the parties; a grant's entry says "on" or "off", a removal's its
// reason.
func edgeEntry(action string, e *domain.ChannelEdge) audit.Entry {
	entry := audit.Entry{Action: action, ObjectType: audit.ObjectChannelEdge, ObjectID: e.ID,
		FirstParty: e.UpstreamID, SecondParty: e.DownstreamID}
	switch action {
	case audit.PurchaseOrderViewSet:
		entry.Detail = "off"
		if e.PurchaseOrderView {
			entry.Detail = "on"
		}
	case audit.ChannelEdgeRemoved:
		entry.Detail = e.RemovalReason
	}
	return entry
}

// storeEdge writes a changed edge, re-derives the visibility of the
// purchase orders its grant gates and announces the change, in tx.
func storeEdge(ctx context.Context, tx bun.IDB, edge *domain.ChannelEdge, now time.Time) error {
	edge.UpdatedAt = now
	if _, err := tx.NewUpdate().Model(edge).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("channel: storing edge: %w", err)
	}
	if err := visibility.Refresh(ctx, tx, visibility.Edge(edge.UpstreamID, edge.DownstreamID)); err != nil {
		return fmt.Errorf("channel: refreshing visibility: %w", err)
	}
	return EdgeUpdated.Append(ctx, tx, edge.ID, now)
}

// ActivateInTx makes the edge up→down ACTIVE in tx, for a caller that has
// decided it may (an accepted invitation, SPEC §6.1) and checked the pair is
// allowed: an INVITED edge is accepted; without an edge that is not
// REMOVED, a new ACTIVE one is inserted (a REMOVED edge stays as history).
// An ACTIVE edge is a CONFLICT. Either way the change is announced as
// CreateChannelEdge and AcceptChannelEdge announce theirs.
func ActivateInTx(ctx context.Context, tx bun.IDB, up, down int64, now time.Time) (*domain.ChannelEdge, error) {
	var edges []domain.ChannelEdge
	q := tx.NewSelect().Model(&edges).Where("e.upstream_id = ? AND e.downstream_id = ? AND e.status <> 'REMOVED'", up, down)
	if err := database.LockForUpdate(q).Scan(ctx); err != nil {
		return nil, fmt.Errorf("channel: locking edge: %w", err)
	}
	if len(edges) == 0 {
		return insertEdge(ctx, tx, up, down, domain.EdgeActive, now)
	}
	edge := &edges[0]
	if edge.Status != domain.EdgeInvited {
		return nil, domain.FieldErrorf(domain.CodeConflict, "downstreamId", "these organizations are already joined by an ACTIVE edge")
	}
	edge.Status, edge.AcceptedAt = domain.EdgeActive, &now
	return edge, storeEdge(ctx, tx, edge, now)
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
		q := database.Conn(ctx, s.db).NewSelect().Model(&edges).Where("e.id IN (?)", database.IDs(ids))
		if err := visibility.RestrictEdges(q, viewer).Scan(ctx); err != nil {
			return nil, fmt.Errorf("channel: reading edges: %w", err)
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
func (s *Service) edgesOf(ctx context.Context, viewer *domain.Viewer, orgIDs []int64, f EdgeFilter) (*bun.SelectQuery, bun.Safe) {
	self, other := bun.Safe("e.upstream_id"), bun.Safe("e.downstream_id")
	if !f.Downstream {
		self, other = other, self
	}
	q := database.Conn(ctx, s.db).NewSelect().TableExpr("channel_edges AS e").Where("? IN (?)", self, database.IDs(orgIDs))
	q = visibility.RestrictEdges(q, viewer)
	if !f.IncludeRemoved {
		q = q.Where("e.status <> 'REMOVED'")
	}
	if f.Kind != "" {
		q = q.Where("? IN (SELECT id FROM organizations WHERE kind = ?)", other, f.Kind)
	}
	return q, self
}

// edgesOrder is an organization's edge list's order: oldest (lowest id) first.
var edgesOrder = relay.Keyset{List: "channelEdges", Columns: []string{"e.id"}}

// ChannelEdgesOf lists, for each organization of orgIDs, its edges in one
// direction, oldest first, among those the viewer may see — each its own
// list with its own page, read either way — in one statement for all of
// them: ROW_NUMBER() over each organization's edges in the page's reading
// order keeps each one's first page.Size+1 past the cursors. The caller has
// checked the organizations themselves are visible. Each page's Count counts its organization's list
// alone; a loader batches those through ChannelEdgeCounts.
func (s *Service) ChannelEdgesOf(ctx context.Context, orgIDs []int64, f EdgeFilter, page relay.Page) (map[int64]*relay.Connection[*domain.ChannelEdge], error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	ranked, self := s.edgesOf(ctx, viewer, orgIDs, f)
	// Seek checks the cursors even when there is no organization to list.
	if ranked, err = page.Seek(ranked, edgesOrder, func() []any { return []any{new(int64)} }); err != nil {
		return nil, err
	}
	var edges []*domain.ChannelEdge
	if len(orgIDs) > 0 {
		order := page.OrderBy(edgesOrder)
		ranked = ranked.ColumnExpr("e.*").ColumnExpr("ROW_NUMBER() OVER (PARTITION BY ? ORDER BY "+order+") AS page_row", self)
		if err := database.Conn(ctx, s.db).NewSelect().Model(&edges).ModelTableExpr("(?) AS e", ranked).
			Where("e.page_row <= ?", page.Limit()).OrderExpr("?, "+order, self).Scan(ctx); err != nil {
			return nil, fmt.Errorf("channel: listing edges: %w", err)
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
	cursor := func(e *domain.ChannelEdge) string { return relay.Cursor(edgesOrder.List, e.ID) }
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
	q, self := s.edgesOf(ctx, viewer, orgIDs, f)
	if err := q.ColumnExpr("? AS org, COUNT(*) AS n", self).GroupExpr("?", self).Scan(ctx, &counts); err != nil {
		return nil, fmt.Errorf("channel: counting edges: %w", err)
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

// EdgeUpdated announces every change of a channel edge: its creation,
// acceptance, grant and removal (SPEC §2, §7.3). Its audience is whoever may
// see both ends as the change commits; delivery also needs the viewer to
// see the edge then.
var EdgeUpdated = events.Register(events.Registration[domain.ChannelEdge]{
	Type:  "CHANNEL_EDGE_UPDATED",
	Field: "channelEdgeUpdated",
	Audience: func(ctx context.Context, tx bun.IDB, eventID int64, e *domain.ChannelEdge) error {
		return visibility.EdgeAudience(ctx, tx, eventID, e.UpstreamID, e.DownstreamID)
	},
	Payload: func(ctx context.Context, db bun.IDB, ev events.Event) (*domain.ChannelEdge, error) {
		viewer, err := domain.ViewerFrom(ctx)
		if err != nil {
			return nil, err
		}
		q := db.NewSelect().TableExpr("channel_edges AS e").Where("e.id = ?", ev.ObjectID)
		q = visibility.RestrictToAudience(visibility.RestrictEdges(q, viewer), viewer, ev.ID)
		if ok, err := q.Exists(ctx); err != nil || !ok {
			return nil, notFoundUnless(err, "channel edge")
		}
		var then domain.ChannelEdge
		return &then, ev.Decode(&then)
	},
})

// notFoundUnless is err wrapped, or NOT_FOUND when there is none.
func notFoundUnless(err error, what string) error {
	if err != nil {
		return fmt.Errorf("channel: reading %s: %w", what, err)
	}
	return domain.NotFound(what)
}
