package carts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// A quote's status is stored as it was last answered; EXPIRED is derived as
// it is read: a SENT quote whose expires_at has passed by the service's
// clock reads as EXPIRED, in lists, filters and lookups alike. So expiry
// needs no background job, and follows the test clock exactly.

// quoteStatus is the status column as read at now.
func quoteStatus(now time.Time) schema.QueryWithArgs {
	return bun.SafeQuery("CASE WHEN q.status = 'SENT' AND q.expires_at <= ? THEN 'EXPIRED' ELSE q.status END", now)
}

func (s *Service) quotes(db bun.IDB, viewer *domain.Viewer) *bun.SelectQuery {
	return visibility.RestrictQuotes(db.NewSelect().TableExpr("quotes AS q"), viewer, "q.seller_id", "q.customer_id")
}

func (s *Service) quoteColumns(q *bun.SelectQuery) *bun.SelectQuery {
	return q.ColumnExpr("q.id, q.number, q.cart_id, q.seller_id, q.customer_id, q.expires_at, q.decline_reason, q.created_at, q.updated_at").
		ColumnExpr("? AS status", quoteStatus(s.Now()))
}

// QuotesByID loads those of ids the viewer may see (the seller and the
// customer), with their status as of now.
func (s *Service) QuotesByID(ctx context.Context, ids []int64) (map[int64]*domain.Quote, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var qs []*domain.Quote
	if len(ids) > 0 {
		if err := s.quoteColumns(s.quotes(database.Conn(ctx, s.db), viewer)).Where("q.id IN (?)", database.IDs(ids)).
			Scan(ctx, &qs); err != nil {
			return nil, fmt.Errorf("carts: reading quotes: %w", err)
		}
	}
	out := make(map[int64]*domain.Quote, len(qs))
	for _, q := range qs {
		out[q.ID] = q
	}
	return out, nil
}

// Quote returns a quote the viewer may see.
func (s *Service) Quote(ctx context.Context, id int64) (*domain.Quote, error) {
	found, err := s.QuotesByID(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if q, ok := found[id]; ok {
		return q, nil
	}
	return nil, domain.NotFound("quote")
}

// QuoteFilter narrows the quote list.
type QuoteFilter struct {
	Status     *domain.QuoteStatus
	CustomerID *int64
}

var quoteKeyset = relay.Keyset{List: "quotes", Columns: []string{"q.created_at", "q.id"}, Desc: true}

// Quotes lists the quotes the viewer may see, newest first.
func (s *Service) Quotes(ctx context.Context, f QuoteFilter, page relay.Page) (*relay.Connection[*domain.Quote], error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	db := database.Conn(ctx, s.db)
	now := s.Now()
	base := func() *bun.SelectQuery {
		q := s.quotes(db, viewer)
		if f.Status != nil {
			q = q.Where("? = ?", quoteStatus(now), *f.Status)
		}
		if f.CustomerID != nil {
			q = q.Where("q.customer_id = ?", *f.CustomerID)
		}
		return q
	}
	q, err := page.Seek(s.quoteColumns(base()), quoteKeyset, func() []any { return []any{new(time.Time), new(int64)} })
	if err != nil {
		return nil, err
	}
	var qs []*domain.Quote
	if err := q.OrderExpr(page.OrderBy(quoteKeyset)).Limit(page.Limit()).Scan(ctx, &qs); err != nil {
		return nil, fmt.Errorf("carts: listing quotes: %w", err)
	}
	cursor := func(q *domain.Quote) string { return relay.Cursor(quoteKeyset.List, q.CreatedAt, q.ID) }
	return relay.NewConnection(page, qs, cursor, func(ctx context.Context) (int, error) {
		n, err := base().Count(ctx)
		return int(n), err
	}), nil
}

// CreateQuote sends an OPEN cart to its customer as a quote until expiresAt
// (SPEC §8.4): every line checked and priced (required), the cart QUOTED.
func (s *Service) CreateQuote(ctx context.Context, cartID int64, expiresAt time.Time) (*domain.Quote, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	expiresAt = expiresAt.UTC().Truncate(time.Microsecond)
	if !expiresAt.After(now) || expiresAt.After(now.AddDate(1, 0, 0)) {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "expiresAt", "expiresAt must be in the future and at most a year ahead (now is %s)", now.Format(time.RFC3339))
	}
	var id int64
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		c, err := lockCart(ctx, tx, viewer, cartID, "cartId")
		if err != nil {
			return err
		}
		if err := c.mustBeOpen(); err != nil {
			return err
		}
		lines, err := storedLines(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if len(lines) == 0 {
			return domain.FieldErrorf(domain.CodeInvalid, "cartId", "the cart has no lines")
		}
		products, err := s.checkAll(ctx, tx, c, lines)
		if err != nil {
			return err
		}
		vendorOf := map[int64]int64{}
		for pid, p := range products {
			vendorOf[pid] = p.VendorID
		}
		if err := s.price(ctx, tx, c, lines, vendorOf, true, lineField); err != nil {
			return err
		}
		// Numbers count the seller's quotes; the cart's lock does not cover
		// another cart of the same seller, so lock the seller's row to
		// number one quote at a time.
		if _, err := database.LockForUpdate(tx.NewSelect().TableExpr("organizations").Column("id").
			Where("id = ?", c.SellerID)).Exec(ctx); err != nil {
			return fmt.Errorf("carts: locking the seller: %w", err)
		}
		n, err := tx.NewSelect().TableExpr("quotes").Where("seller_id = ?", c.SellerID).Count(ctx)
		if err != nil {
			return fmt.Errorf("carts: counting quotes: %w", err)
		}
		q := &domain.Quote{Number: fmt.Sprintf("Q-%06d", n+1), CartID: c.ID, SellerID: c.SellerID, CustomerID: c.CustomerID,
			Status: domain.QuoteSent, ExpiresAt: expiresAt, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.NewInsert().Model(q).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("carts: storing quote: %w", err)
		}
		id = q.ID
		if err := s.touch(ctx, tx, c.ID, domain.CartQuoted, now); err != nil {
			return err
		}
		return QuoteUpdated.Append(ctx, tx, q.ID, now)
	})
	if err != nil {
		return nil, err
	}
	s.noteDue(expiresAt)
	return s.Quote(ctx, id)
}

// quoteRow is a quote with its acceptance's idempotency key.
type quoteRow struct {
	domain.Quote   `bun:",extend"`
	IdempotencyKey *string `bun:"idempotency_key"`
}

// lockQuote reads a quote the viewer may see, locked, and checks the viewer
// may answer it.
func lockQuote(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, id int64) (*quoteRow, error) {
	var q quoteRow
	sel := tx.NewSelect().Model(&q).Where("q.id = ?", id)
	err := database.LockForUpdate(visibility.RestrictQuotes(sel, viewer, "q.seller_id", "q.customer_id")).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.FieldErrorf(domain.CodeNotFound, "quoteId", "quote not found")
	}
	if err != nil {
		return nil, fmt.Errorf("carts: locking quote: %w", err)
	}
	if err := policy.MayAnswerQuote(viewer, &q.Quote); err != nil {
		return nil, err
	}
	return &q, nil
}

// mustBeOpen refuses an answer to a quote that is not SENT or has expired.
func (q *quoteRow) mustBeOpen(now time.Time) error {
	if q.Status == domain.QuoteExpired || (q.Status == domain.QuoteSent && !q.ExpiresAt.After(now)) {
		return domain.FieldErrorf(domain.CodeConflict, "quoteId", "the quote expired at %s", q.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if q.Status != domain.QuoteSent {
		return domain.FieldErrorf(domain.CodeConflict, "quoteId", "the quote is %s; only a SENT quote is answered", q.Status)
	}
	return nil
}

// Accepted is the outcome of AcceptQuote.
type Accepted struct {
	Quote    *domain.Quote
	OrderIDs []int64
}

// AcceptQuote accepts a SENT quote before it expires: the customer's OWNER
// or ADMIN_AGENT. The cart's orders are placed, recorded by the seller, at
// the prices quoted to the customer; the cart is PLACED and the quote
// ACCEPTED. A retry with the same key answers with the first acceptance.
func (s *Service) AcceptQuote(ctx context.Context, quoteID int64, key string) (*Accepted, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var out Accepted
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		q, err := lockQuote(ctx, tx, viewer, quoteID)
		if err != nil {
			return err
		}
		if q.Status == domain.QuoteAccepted && q.IdempotencyKey != nil && *q.IdempotencyKey == key {
			out.OrderIDs, err = orders.OfCart(ctx, tx, q.CartID, false)
			return err
		}
		if err := refuseKeyUsedElsewhere(ctx, tx, "quotes", "customer_id", q.CustomerID, q.ID, key, "accept another quote"); err != nil {
			return err
		}
		now := s.Now()
		if err := q.mustBeOpen(now); err != nil {
			return err
		}
		// The quote vouches for its cart: its customer places it, as its
		// seller would, at the prices the seller quoted.
		var c cartRow
		if err := tx.NewSelect().Model(&c).Where("c.id = ?", q.CartID).Scan(ctx); err != nil {
			return fmt.Errorf("carts: reading the quote's cart: %w", err)
		}
		if err := tx.NewSelect().TableExpr("organizations").Column("kind").Where("id = ?", c.SellerID).
			Scan(ctx, &c.SellerKind); err != nil {
			return fmt.Errorf("carts: reading the seller: %w", err)
		}
		quoted, err := quotedPrices(ctx, tx, &c)
		if err != nil {
			return err
		}
		if out.OrderIDs, err = s.makeOrders(ctx, tx, &c, false, quoted, now); err != nil {
			return err
		}
		if err := s.touch(ctx, tx, c.ID, domain.CartPlaced, now); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().TableExpr("quotes").Set("status = ?", domain.QuoteAccepted).
			Set("idempotency_key = ?", key).Set("updated_at = ?", now).Where("id = ?", q.ID).Exec(ctx); err != nil {
			return fmt.Errorf("carts: storing quote: %w", err)
		}
		return QuoteUpdated.Append(ctx, tx, q.ID, now)
	})
	if err != nil {
		return nil, err
	}
	if out.Quote, err = s.Quote(ctx, quoteID); err != nil {
		return nil, err
	}
	return &out, nil
}

// quotedPrices is the unit price the seller quoted the customer on each line
// of a cart: the seller's sell price on it, as pricing shows it to the
// seller. Lines without one keep their own adjustment.
func quotedPrices(ctx context.Context, tx bun.IDB, c *cartRow) (map[int64]domain.Money, error) {
	lines, err := storedLines(ctx, tx, c.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(lines))
	for i, l := range lines {
		ids[i] = l.ID
	}
	seller := &domain.Viewer{OrganizationID: c.SellerID, Kind: c.SellerKind, Role: domain.RoleOwner}
	seen, err := pricing.Seen(ctx, tx, seller, pricing.CartLines, ids)
	if err != nil {
		return nil, err
	}
	out := map[int64]domain.Money{}
	for id, p := range seen {
		if p.Sell != nil {
			out[id] = *p.Sell
		}
	}
	return out, nil
}

// DeclineQuote declines a SENT quote before it expires: the customer's
// OWNER or ADMIN_AGENT, with an optional reason of at most 500 characters.
func (s *Service) DeclineQuote(ctx context.Context, quoteID int64, reason *string) (*domain.Quote, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if reason != nil {
		r := strings.TrimSpace(*reason)
		if utf8.RuneCountInString(r) > 500 {
			return nil, domain.FieldErrorf(domain.CodeInvalid, "reason", "reason must be at most 500 characters")
		}
		reason = &r
		if r == "" {
			reason = nil
		}
	}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		q, err := lockQuote(ctx, tx, viewer, quoteID)
		if err != nil {
			return err
		}
		now := s.Now()
		if err := q.mustBeOpen(now); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().TableExpr("quotes").Set("status = ?", domain.QuoteDeclined).
			Set("decline_reason = ?", reason).Set("updated_at = ?", now).Where("id = ?", q.ID).Exec(ctx); err != nil {
			return fmt.Errorf("carts: storing quote: %w", err)
		}
		return QuoteUpdated.Append(ctx, tx, q.ID, now)
	})
	if err != nil {
		return nil, err
	}
	return s.Quote(ctx, quoteID)
}

// PlacedOrders returns the ids of the orders a cart placed (a quote's once
// accepted); the caller reads them through the viewer's order visibility.
func (s *Service) PlacedOrders(ctx context.Context, cartID int64) ([]int64, error) {
	return orders.OfCart(ctx, database.Conn(ctx, s.db), cartID, false)
}

// QuoteUpdated announces every change of a quote (SPEC §8.8): sent,
// accepted, declined. Its audience is the quote's seller and customer as
// the change commits; the payload is the quote as the viewer may see it now,
// with the status and time the change committed.
var QuoteUpdated = events.Register(events.Registration[domain.Quote]{
	Type:  "QUOTE_UPDATED",
	Field: "quoteUpdated",
	Audience: func(ctx context.Context, tx bun.IDB, eventID int64, q *domain.Quote) error {
		return visibility.QuoteAudience(ctx, tx, eventID, q)
	},
	Payload: func(ctx context.Context, db bun.IDB, ev events.Event) (*domain.Quote, error) {
		viewer, err := domain.ViewerFrom(ctx)
		if err != nil {
			return nil, err
		}
		var q domain.Quote
		sel := visibility.RestrictQuotes(db.NewSelect().Model(&q).Where("q.id = ?", ev.ObjectID), viewer, "q.seller_id", "q.customer_id")
		err = visibility.RestrictToAudience(sel, viewer, ev.ID).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, domain.NotFound("quote")
		}
		if err != nil {
			return nil, fmt.Errorf("carts: reading an event's quote: %w", err)
		}
		var then domain.Quote
		if err := ev.Decode(&then); err != nil {
			return nil, fmt.Errorf("carts: decoding an event: %w", err)
		}
		q.Status, q.UpdatedAt = then.Status, then.UpdatedAt
		return &q, nil
	},
})
