// Package carts is a partner's carts, the drafts they are saved as and the
// quotes they are sent as (SPEC §4.3, §8.4). A cart is its seller's: only the
// seller sees it (package visibility); its lines are checked against the
// catalog (package catalog) and priced as the viewer sees them (package
// pricing); placing it records one order per vendor (package orders) and
// the tenants of its new domains (package tenants), all in one transaction.
package carts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Service builds, places, saves and quotes carts.
type Service struct {
	db      *bun.DB
	catalog *catalog.Service
	// mu guards nextDue, the earliest expiry of a SENT quote the expirer
	// knows of (nil: none).
	mu      sync.Mutex
	nextDue *time.Time
	// Now is the clock that stamps carts, orders and quotes and decides
	// whether a quote has expired.
	Now func() time.Time
}

// New returns a Service on db, on the system clock; cat reads the products
// a line names (their offered terms and billing cycles).
func New(db *bun.DB, cat *catalog.Service) *Service {
	return &Service{db: db, catalog: cat, Now: clock.System{}.Now}
}

// cartColumns are a cart's model columns, for queries that join.
const cartColumns = "c.id, c.seller_id, c.customer_id, c.distributor_id, c.status, c.created_at, c.updated_at"

// CreateCart starts a cart for a customer (SPEC §8.4): the viewer's
// organization sells to it along an ACTIVE edge — a reseller, optionally
// through a distributor that sells to it along an ACTIVE edge, or a vendor
// selling directly.
func (s *Service) CreateCart(ctx context.Context, customerID int64, distributorID *int64) (*domain.Cart, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := policy.MayBuildCart(viewer); err != nil {
		return nil, err
	}
	db := database.Conn(ctx, s.db)
	if err := s.checkParty(ctx, db, viewer, "customerId", customerID, domain.KindCustomer, viewer.OrganizationID, customerID); err != nil {
		return nil, err
	}
	if distributorID != nil {
		if viewer.Kind != domain.KindReseller {
			return nil, domain.FieldErrorf(domain.CodeInvalid, "distributorId", "only a reseller buys through a distributor; a vendor sells directly")
		}
		if err := s.checkParty(ctx, db, viewer, "distributorId", *distributorID, domain.KindDistributor, *distributorID, viewer.OrganizationID); err != nil {
			return nil, err
		}
	}
	now := s.Now()
	c := &domain.Cart{SellerID: viewer.OrganizationID, CustomerID: customerID, DistributorID: distributorID,
		Status: domain.CartOpen, CreatedAt: now, UpdatedAt: now}
	if _, err := db.NewInsert().Model(c).Returning("id").Exec(ctx); err != nil {
		return nil, fmt.Errorf("carts: storing cart: %w", err)
	}
	return c, nil
}

// checkParty checks an organization the cart names: one the viewer may see
// (NOT_FOUND otherwise), of kind, and joined by an ACTIVE edge up→down.
func (s *Service) checkParty(ctx context.Context, db bun.IDB, viewer *domain.Viewer, field string, id int64, kind domain.OrganizationKind, up, down int64) error {
	var org domain.Organization
	q := db.NewSelect().Model(&org).Column("o.id", "o.kind").Where("o.id = ?", id)
	err := visibility.RestrictOrganizations(q, viewer, "o.id").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.FieldErrorf(domain.CodeNotFound, field, "organization not found")
	}
	if err != nil {
		return fmt.Errorf("carts: reading %s: %w", field, err)
	}
	if org.Kind != kind {
		return domain.FieldErrorf(domain.CodeInvalid, field, "%s must name a %s, not a %s", field, kind, org.Kind)
	}
	ok, err := db.NewSelect().TableExpr("channel_edges").
		Where("upstream_id = ? AND downstream_id = ? AND status = 'ACTIVE'", up, down).Exists(ctx)
	if err != nil {
		return fmt.Errorf("carts: reading edges: %w", err)
	}
	if !ok && field == "customerId" {
		return domain.FieldErrorf(domain.CodeInvalid, field, "your organization does not sell to this customer along an ACTIVE channel edge")
	}
	if !ok {
		return domain.FieldErrorf(domain.CodeInvalid, field, "this distributor does not sell to your organization along an ACTIVE channel edge")
	}
	return nil
}

// Cart returns a cart the viewer may see.
func (s *Service) Cart(ctx context.Context, id int64) (*domain.Cart, error) {
	found, err := s.CartsByID(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if c, ok := found[id]; ok {
		return c, nil
	}
	return nil, domain.NotFound("cart")
}

// CartsByID loads those of ids the viewer may see.
func (s *Service) CartsByID(ctx context.Context, ids []int64) (map[int64]*domain.Cart, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var cs []*domain.Cart
	if len(ids) > 0 {
		q := database.Conn(ctx, s.db).NewSelect().Model(&cs).Where("c.id IN (?)", database.IDs(ids))
		if err := visibility.RestrictCarts(q, viewer, "c.seller_id").Scan(ctx); err != nil {
			return nil, fmt.Errorf("carts: reading carts: %w", err)
		}
	}
	out := make(map[int64]*domain.Cart, len(cs))
	for _, c := range cs {
		out[c.ID] = c
	}
	return out, nil
}

var cartKeyset = relay.Keyset{List: "carts", Columns: []string{"c.created_at", "c.id"}, Desc: true}

// Carts lists the carts the viewer may see (its organization's; the
// platform administrator's every cart), newest first.
func (s *Service) Carts(ctx context.Context, page relay.Page) (*relay.Connection[*domain.Cart], error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	db := database.Conn(ctx, s.db)
	base := func() *bun.SelectQuery {
		return visibility.RestrictCarts(db.NewSelect().TableExpr("carts AS c"), viewer, "c.seller_id")
	}
	q, err := page.Seek(base().ColumnExpr(cartColumns), cartKeyset, func() []any { return []any{new(time.Time), new(int64)} })
	if err != nil {
		return nil, err
	}
	var cs []*domain.Cart
	if err := q.OrderExpr(page.OrderBy(cartKeyset)).Limit(page.Limit()).Scan(ctx, &cs); err != nil {
		return nil, fmt.Errorf("carts: listing carts: %w", err)
	}
	cursor := func(c *domain.Cart) string { return relay.Cursor(cartKeyset.List, c.CreatedAt, c.ID) }
	return relay.NewConnection(page, cs, cursor, func(ctx context.Context) (int, error) {
		n, err := base().Count(ctx)
		return int(n), err
	}), nil
}

// LinesOfCarts loads the lines of carts, in the order they were added, as
// the viewer may see them (its carts' and those of the quotes sent to it),
// each with the prices the viewer sees (pricing.Seen).
func (s *Service) LinesOfCarts(ctx context.Context, cartIDs []int64) (map[int64][]*domain.CartLine, error) {
	lines, err := s.readLines(ctx, "cl.cart_id IN (?)", cartIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]*domain.CartLine, len(cartIDs))
	for _, l := range lines {
		out[l.CartID] = append(out[l.CartID], l)
	}
	return out, nil
}

// CartLinesByID loads those of ids the viewer may see, with their prices.
func (s *Service) CartLinesByID(ctx context.Context, ids []int64) (map[int64]*domain.CartLine, error) {
	lines, err := s.readLines(ctx, "cl.id IN (?)", ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*domain.CartLine, len(lines))
	for _, l := range lines {
		out[l.ID] = l
	}
	return out, nil
}

func (s *Service) readLines(ctx context.Context, where string, ids []int64) ([]*domain.CartLine, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	db := database.Conn(ctx, s.db)
	var lines []*domain.CartLine
	q := db.NewSelect().Model(&lines).Where(where, database.IDs(ids)).Order("cl.cart_id", "cl.id")
	if err := visibility.RestrictCartLines(q, viewer, "cl.cart_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("carts: reading lines: %w", err)
	}
	if len(lines) == 0 {
		return lines, nil
	}
	lineIDs := make([]int64, len(lines))
	for i, l := range lines {
		lineIDs[i] = l.ID
	}
	seen, err := pricing.Seen(ctx, db, viewer, pricing.CartLines, lineIDs)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		l.Seen = seen[l.ID]
	}
	return lines, nil
}

// lockCart reads a cart the viewer may see, locked for the rest of the
// transaction (PostgreSQL; SQLite's writer already holds the database), and
// checks the viewer may change it: NOT_FOUND on field when it may not see it.
func lockCart(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, id int64, field string) (*cartRow, error) {
	var c cartRow
	q := tx.NewSelect().Model(&c).Where("c.id = ?", id)
	err := database.LockForUpdate(visibility.RestrictCarts(q, viewer, "c.seller_id")).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.FieldErrorf(domain.CodeNotFound, field, "cart not found")
	}
	if err != nil {
		return nil, fmt.Errorf("carts: locking cart: %w", err)
	}
	if err := policy.MayChangeCart(viewer, &c.Cart); err != nil {
		return nil, err
	}
	if err := tx.NewSelect().TableExpr("organizations").Column("kind").Where("id = ?", c.SellerID).
		Scan(ctx, &c.SellerKind); err != nil {
		return nil, fmt.Errorf("carts: reading the seller: %w", err)
	}
	return &c, nil
}

// cartRow is a cart with what changing it needs besides: its idempotency
// key once placed, and its seller's kind.
type cartRow struct {
	domain.Cart    `bun:",extend"`
	IdempotencyKey *string                 `bun:"idempotency_key"`
	SellerKind     domain.OrganizationKind `bun:"-"`
}

// mustBeOpen refuses a change of a cart that is not OPEN.
func (c *cartRow) mustBeOpen() error {
	if c.Status != domain.CartOpen {
		return domain.FieldErrorf(domain.CodeConflict, "cartId", "the cart is %s; only an OPEN cart changes", c.Status)
	}
	return nil
}

// sale is the organizations along the sale of a product of vendor from this
// cart, the vendor first (pricing.Sale): vendor→customer for a vendor's
// cart, vendor→[distributor→]reseller→customer for a reseller's.
func (c *cartRow) sale(vendor int64) pricing.Sale {
	if c.SellerKind == domain.KindVendor {
		return pricing.Sale{vendor, c.CustomerID}
	}
	if c.DistributorID != nil {
		return pricing.Sale{vendor, *c.DistributorID, c.SellerID, c.CustomerID}
	}
	return pricing.Sale{vendor, c.SellerID, c.CustomerID}
}

func (s *Service) touch(ctx context.Context, tx bun.IDB, id int64, status domain.CartStatus, now time.Time) error {
	if _, err := tx.NewUpdate().TableExpr("carts").Set("status = ?", status).Set("updated_at = ?", now).
		Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("carts: storing cart: %w", err)
	}
	return nil
}
