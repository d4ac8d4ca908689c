package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

var logKeyset = relay.Keyset{List: "auditLog", Columns: []string{"ae.created_at", "ae.id"}, Desc: true}

// AuditLog lists the entries involving organization orgID that the viewer
// may read (visibility.RestrictAuditLog: its own organization's, or any for
// the platform administrator), newest first, a page of it either way.
func (s *Service) AuditLog(ctx context.Context, orgID int64, page relay.Page) (*relay.Connection[*domain.AuditEntry], error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	db := database.Conn(ctx, s.db)
	log := func(model any) *bun.SelectQuery {
		return visibility.RestrictAuditLog(db.NewSelect().Model(model), viewer, orgID)
	}
	var entries []*domain.AuditEntry
	q, err := page.Seek(log(&entries), logKeyset, func() []any { return []any{new(time.Time), new(int64)} })
	if err != nil {
		return nil, err
	}
	if err := q.OrderExpr(page.OrderBy(logKeyset)).Limit(page.Limit()).Scan(ctx); err != nil {
		return nil, fmt.Errorf("audit: listing entries: %w", err)
	}
	cursor := func(e *domain.AuditEntry) string { return relay.Cursor(logKeyset.List, e.CreatedAt, e.ID) }
	return relay.NewConnection(page, entries, cursor, func(ctx context.Context) (int, error) {
		n, err := log((*domain.AuditEntry)(nil)).Count(ctx)
		return int(n), err
	}), nil
}

// EntriesByID loads, in one query, those of ids the viewer may read; the
// others are missing from the map.
func (s *Service) EntriesByID(ctx context.Context, ids []int64) (map[int64]*domain.AuditEntry, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var entries []*domain.AuditEntry
	if len(ids) > 0 {
		q := database.Conn(ctx, s.db).NewSelect().Model(&entries).Where("ae.id IN (?)", database.IDs(ids))
		if err := visibility.RestrictAuditEntries(q, viewer).Scan(ctx); err != nil {
			return nil, fmt.Errorf("audit: reading entries: %w", err)
		}
	}
	out := make(map[int64]*domain.AuditEntry, len(entries))
	for _, e := range entries {
		out[e.ID] = e
	}
	return out, nil
}
