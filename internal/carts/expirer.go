package carts

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// ExpireDue stores EXPIRED on the SENT quotes whose expiry has passed by the
// service's clock, each with its quoteUpdated event, so subscribers learn of
// the expiry. Reads do not wait for it: a SENT quote past its expiry already
// reads EXPIRED (quoteStatus). Each quote moves only if it is still SENT, so
// replicas running this at once expire it once.
func (s *Service) ExpireDue(ctx context.Context) error {
	now := s.Now()
	var due []int64
	if err := s.db.NewSelect().TableExpr("quotes").Column("id").
		Where("status = ? AND expires_at <= ?", domain.QuoteSent, now).Order("expires_at", "id").Limit(100).
		Scan(ctx, &due); err != nil {
		return fmt.Errorf("carts: reading due quotes: %w", err)
	}
	for _, id := range due {
		err := database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
			res, err := tx.NewUpdate().TableExpr("quotes").Set("status = ?", domain.QuoteExpired).Set("updated_at = ?", now).
				Where("id = ? AND status = ? AND expires_at <= ?", id, domain.QuoteSent, now).Exec(ctx)
			if err != nil {
				return fmt.Errorf("carts: expiring quote: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // answered or expired meanwhile
			}
			return QuoteUpdated.Append(ctx, tx, id, now)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// RunExpirer expires due quotes until ctx ends. It reads the quotes table
// only when a quote is due by the service's clock (checked every tick): the
// earliest expiry of the SENT quotes, read at start and after each run, and
// lowered by every quote this service sends. A quote another replica sent
// is expired by that replica (or after a restart); reads never wait for it.
func (s *Service) RunExpirer(ctx context.Context, tick time.Duration, log *slog.Logger) {
	t := time.NewTicker(tick)
	defer t.Stop()
	refresh := true
	for {
		if refresh {
			if err := s.readNextDue(ctx); err != nil && ctx.Err() == nil {
				log.Warn("quote expirer", "error", err)
			}
		}
		refresh = false
		if s.due() {
			if err := s.ExpireDue(ctx); err != nil && ctx.Err() == nil {
				log.Warn("quote expirer", "error", err)
			}
			refresh = true
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// noteDue lowers the next expiry the expirer waits for to at.
func (s *Service) noteDue(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nextDue == nil || at.Before(*s.nextDue) {
		s.nextDue = &at
	}
}

func (s *Service) due() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextDue != nil && !s.Now().Before(*s.nextDue)
}

func (s *Service) readNextDue(ctx context.Context) error {
	var next []time.Time
	if err := s.db.NewSelect().TableExpr("quotes").ColumnExpr("expires_at").Where("status = ?", domain.QuoteSent).
		OrderExpr("expires_at").Limit(1).Scan(ctx, &next); err != nil {
		return fmt.Errorf("carts: reading the next expiry: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextDue = nil
	if len(next) > 0 {
		s.nextDue = &next[0]
	}
	return nil
}
