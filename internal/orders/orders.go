// Package orders records purchase orders along the channel (SPEC §3) and
// reads them back as a viewer may see them, through package visibility.
package orders

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Service records and reads purchase orders.
type Service struct {
	db *bun.DB
	// Now is the clock that stamps orders and their changes.
	Now func() time.Time
	// OnCompleted runs in the transaction that completes an order.
	OnCompleted []CompletionHook
}

// New returns a Service on db, on the system clock.
func New(db *bun.DB) *Service { return &Service{db: db, Now: clock.System{}.Now} }

// poColumns reads a purchase order joined to the viewer's visibility row v:
// the distributor comes from v, where it is already null for a customer.
const poColumns = "p.id, p.number, p.kind, p.status, p.vendor_id, v.distributor_id, p.reseller_id, " +
	"p.customer_id, p.recorded_by_organization_id, p.created_at, p.updated_at, p.product_subscription_id"

// visible starts a query over the purchase orders viewer may see, as it
// sees them.
func visible(db bun.IDB, viewer *domain.Viewer) *bun.SelectQuery {
	return visibleAs(db, viewer, viewer.OrganizationID)
}

// visibleAs is visible with the viewer's organization id written as
// organization (see visibility.PurchaseOrdersOf).
func visibleAs(db bun.IDB, viewer *domain.Viewer, organization any) *bun.SelectQuery {
	return visibility.PurchaseOrdersOf(db, viewer, organization).
		Join("JOIN purchase_orders AS p ON p.id = v.purchase_order_id").ColumnExpr(poColumns)
}

// PurchaseOrder returns a purchase order the viewer may see.
func (s *Service) PurchaseOrder(ctx context.Context, id int64) (*domain.PurchaseOrder, error) {
	found, err := s.PurchaseOrdersByID(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if po, ok := found[id]; ok {
		return po, nil
	}
	return nil, domain.NotFound("purchase order")
}

// PurchaseOrdersByID loads, in one query, those of ids that the viewer may
// see, as the viewer sees them; the others are missing from the map.
func (s *Service) PurchaseOrdersByID(ctx context.Context, ids []int64) (map[int64]*domain.PurchaseOrder, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var pos []*domain.PurchaseOrder
	if len(ids) > 0 {
		if err := visible(database.Conn(ctx, s.db), viewer).Where("v.purchase_order_id IN (?)", database.IDs(ids)).Scan(ctx, &pos); err != nil {
			return nil, fmt.Errorf("orders: reading orders: %w", err)
		}
	}
	out := make(map[int64]*domain.PurchaseOrder, len(pos))
	for _, po := range pos {
		out[po.ID] = po
	}
	return out, nil
}

// Filter narrows the purchase-order list (SPEC §7.3).
type Filter struct {
	Status        *domain.PurchaseOrderStatus
	CustomerID    *int64
	ResellerID    *int64
	DistributorID *int64
	Search        string
	// CreatedAfter and CreatedBefore keep orders created strictly after or
	// before the time; UpdatedSince those changed at or after it.
	CreatedAfter, CreatedBefore, UpdatedSince *time.Time
}

// SortField is what the purchase-order list sorts on.
type SortField string

// The fields the list sorts on; the zero SortField is SortCreatedAt.
const (
	SortCreatedAt SortField = "CREATED_AT"
	SortUpdatedAt SortField = "UPDATED_AT"
	SortNumber    SortField = "NUMBER"
)

// Sort is the order of the purchase-order list, ties broken by id in the
// same direction. The zero Sort is newest first.
type Sort struct {
	Field SortField
	Asc   bool
}

// keyset is the sort's order over the visibility rows v, served by an index
// on (viewer_organization_id, column, purchase_order_id); its list name
// makes a cursor of one order useless in another. Newest first keeps the
// plain name, so cursors handed out before orderBy existed stay valid.
func (o Sort) keyset() relay.Keyset {
	if o.Field == "" {
		o.Field = SortCreatedAt
	}
	column := map[SortField]string{SortCreatedAt: "v.created_at", SortUpdatedAt: "v.updated_at", SortNumber: "v.number"}[o.Field]
	list := "purchaseOrders"
	if o.Field != SortCreatedAt || o.Asc {
		dir := "DESC"
		if o.Asc {
			dir = "ASC"
		}
		list += ":" + string(o.Field) + ":" + dir
	}
	return relay.Keyset{List: list, Columns: []string{column, "v.purchase_order_id"}, Desc: !o.Asc}
}

// key returns fresh pointers for a cursor's values; value reads them off an order.
func (o Sort) key() []any {
	if o.Field == SortNumber {
		return []any{new(string), new(int64)}
	}
	return []any{new(time.Time), new(int64)}
}

func (o Sort) value(po *domain.PurchaseOrder) any {
	switch o.Field {
	case SortUpdatedAt:
		return po.UpdatedAt
	case SortNumber:
		return po.Number
	}
	return po.CreatedAt
}

// PurchaseOrders lists the purchase orders the viewer may see, in the
// sort's order, a page of it either way. Filters apply to the viewer's
// visibility rows, so filtering a customer's orders by distributor finds
// nothing (SPEC §3.3). The list reads the viewer's index rows in index
// order: the date filters and cursors bound the range it reads.
func (s *Service) PurchaseOrders(ctx context.Context, f Filter, sort Sort, page relay.Page) (*relay.Connection[*domain.PurchaseOrder], error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if len(f.Search) > 100 {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "filter.search", "search must be at most 100 characters")
	}
	filtered := func(q *bun.SelectQuery) *bun.SelectQuery {
		if f.Status != nil {
			q = q.Where("v.status = ?", *f.Status)
		}
		if f.CustomerID != nil {
			q = q.Where("v.customer_id = ?", *f.CustomerID)
		}
		if f.ResellerID != nil {
			q = q.Where("v.reseller_id = ?", *f.ResellerID)
		}
		if f.DistributorID != nil {
			q = q.Where("v.distributor_id = ?", *f.DistributorID)
		}
		if f.CreatedAfter != nil {
			q = q.Where("v.created_at > ?", *f.CreatedAfter)
		}
		if f.CreatedBefore != nil {
			q = q.Where("v.created_at < ?", *f.CreatedBefore)
		}
		if f.UpdatedSince != nil {
			q = q.Where("v.updated_at >= ?", *f.UpdatedSince)
		}
		if f.Search != "" {
			q = q.Where("EXISTS (SELECT 1 FROM purchase_orders s WHERE s.id = v.purchase_order_id AND LOWER(s.number) LIKE ? ESCAPE '\\')",
				database.ContainsPattern(f.Search))
		}
		return q
	}
	db := database.Conn(ctx, s.db)
	keyset := sort.keyset()
	// The viewer's id is bound, so a page reads as one statement (and one
	// plan) for every viewer; a platform administrator's names none.
	bound, organization := ctx, []any{viewer.OrganizationID}
	if !viewer.IsPlatformAdmin {
		bound, organization = database.Bind(ctx, db, viewer.OrganizationID)
	}
	q, err := page.Seek(filtered(visibleAs(db, viewer, organization[0])), keyset, sort.key)
	if err != nil {
		return nil, err
	}
	var pos []*domain.PurchaseOrder
	if err := q.OrderExpr(page.OrderBy(keyset)).Limit(page.Limit()).Scan(bound, &pos); err != nil {
		return nil, fmt.Errorf("orders: listing orders: %w", err)
	}
	cursor := func(po *domain.PurchaseOrder) string { return relay.Cursor(keyset.List, sort.value(po), po.ID) }
	return relay.NewConnection(page, pos, cursor, func(ctx context.Context) (int, error) {
		if f == (Filter{}) {
			return visibility.CountPurchaseOrders(ctx, db, viewer)
		}
		n, err := filtered(visibility.PurchaseOrders(db, viewer)).Count(ctx)
		return int(n), err
	}), nil
}

// LinesByOrder loads the lines of purchase orders the caller has already
// read through the viewer's visibility.
func (s *Service) LinesByOrder(ctx context.Context, ids []int64) (map[int64][]*domain.PurchaseOrderLine, error) {
	var lines []*domain.PurchaseOrderLine
	if len(ids) > 0 {
		db := database.Conn(ctx, s.db)
		bound, ofOrders := database.BindIn(ctx, db, "l.purchase_order_id", ids)
		if err := db.NewSelect().Model(&lines).
			Where("?", ofOrders).Order("l.purchase_order_id", "l.position").Scan(bound); err != nil {
			return nil, fmt.Errorf("orders: reading lines: %w", err)
		}
	}
	out := make(map[int64][]*domain.PurchaseOrderLine, len(ids))
	for _, l := range lines {
		out[l.PurchaseOrderID] = append(out[l.PurchaseOrderID], l)
	}
	return out, nil
}

// LineInput is one line of createPurchaseOrder.
type LineInput struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// CreateInput is what createPurchaseOrder takes.
type CreateInput struct {
	Number         string                   `json:"number"`
	Kind           domain.PurchaseOrderKind `json:"kind"`
	VendorID       int64                    `json:"vendorId"`
	CustomerID     int64                    `json:"customerId"`
	ResellerID     *int64                   `json:"resellerId"`
	DistributorID  *int64                   `json:"distributorId"`
	Lines          []LineInput              `json:"lines"`
	Draft          bool                     `json:"draft"`
	IdempotencyKey *string                  `json:"-"`
}

const maxLines = 100

func (in *CreateInput) validate() error {
	in.Number = strings.TrimSpace(in.Number)
	if in.Kind == "" {
		in.Kind = domain.POKindNew
	}
	switch {
	case in.Number == "" || len(in.Number) > 64:
		return domain.FieldErrorf(domain.CodeInvalid, "number", "number must be 1 to 64 characters")
	case in.DistributorID != nil && in.ResellerID == nil:
		return domain.FieldErrorf(domain.CodeInvalid, "distributorId", "a distributor takes part only together with a reseller")
	case len(in.Lines) == 0 || len(in.Lines) > maxLines:
		return domain.FieldErrorf(domain.CodeInvalid, "lines", "an order has 1 to %d lines", maxLines)
	case in.IdempotencyKey != nil && (*in.IdempotencyKey == "" || len(*in.IdempotencyKey) > 200):
		return domain.FieldErrorf(domain.CodeInvalid, "idempotencyKey", "idempotencyKey must be 1 to 200 characters")
	}
	for i, l := range in.Lines {
		if l.Quantity < 1 || l.Quantity > 1_000_000 {
			return domain.FieldErrorf(domain.CodeInvalid, fmt.Sprintf("lines[%d].quantity", i), "quantity must be between 1 and 1000000")
		}
		if strings.TrimSpace(l.SKU) == "" {
			return domain.FieldErrorf(domain.CodeInvalid, fmt.Sprintf("lines[%d].sku", i), "sku is required")
		}
	}
	return nil
}

// requestHash fingerprints the input, so a retry with the same idempotency
// key but a different request is refused rather than answered wrongly.
func (in *CreateInput) requestHash() string {
	b, _ := json.Marshal(in)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Recorded is the outcome of CreatePurchaseOrder. Visible is nil when the
// recording organization may not see what it recorded (a reseller whose
// distributor has not granted purchase-order view).
type Recorded struct {
	ID      int64
	Visible *domain.PurchaseOrder
}

// CreatePurchaseOrder records a purchase order (SPEC §3.1): by its vendor,
// distributor or reseller (OWNER, ADMIN_AGENT or SALES_AGENT) or a platform
// administrator; never by its customer. Unless it is a draft, every edge of
// its chain must be ACTIVE. Under an idempotency key a retry returns the
// first result.
func (s *Service) CreatePurchaseOrder(ctx context.Context, in CreateInput) (*Recorded, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := policy.MayWithRole(viewer, "recording orders", policy.Buyers); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	parties := policy.Parties{Vendor: in.VendorID, Distributor: deref(in.DistributorID),
		Reseller: deref(in.ResellerID), Customer: in.CustomerID}
	if err := policy.MayRecordPurchaseOrder(viewer, parties); err != nil {
		return nil, err
	}
	var recorder *int64
	if !viewer.IsPlatformAdmin {
		recorder = &viewer.OrganizationID
	}
	hash := in.requestHash()
	if id, found, err := s.byIdempotencyKey(ctx, database.Conn(ctx, s.db), recorder, in.IdempotencyKey, hash); err != nil || found {
		return s.recorded(ctx, id, err)
	}
	var id int64
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		id, err = s.insert(ctx, tx, viewer, recorder, in, hash)
		return err
	})
	if database.IsUniqueViolation(err) {
		// A concurrent request with the same key won the race, or the number is taken.
		if id, found, lookupErr := s.byIdempotencyKey(ctx, database.Conn(ctx, s.db), recorder, in.IdempotencyKey, hash); lookupErr != nil || found {
			return s.recorded(ctx, id, lookupErr)
		}
		return nil, domain.FieldErrorf(domain.CodeConflict, "number", "your organization already recorded an order numbered %q", in.Number)
	}
	return s.recorded(ctx, id, err)
}

func (s *Service) recorded(ctx context.Context, id int64, err error) (*Recorded, error) {
	if err != nil {
		return nil, err
	}
	po, err := s.PurchaseOrder(ctx, id)
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return &Recorded{ID: id}, nil
	}
	if err != nil {
		return nil, err
	}
	return &Recorded{ID: id, Visible: po}, nil
}

func (s *Service) byIdempotencyKey(ctx context.Context, db bun.IDB, recorder *int64, key *string, hash string) (int64, bool, error) {
	if key == nil {
		return 0, false, nil
	}
	var row struct {
		ID          int64  `bun:"id"`
		RequestHash string `bun:"request_hash"`
	}
	err := db.NewSelect().TableExpr("purchase_orders").Column("id", "request_hash").
		Where("COALESCE(recorded_by_organization_id, 0) = ? AND idempotency_key = ?", deref(recorder), *key).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("orders: reading idempotency key: %w", err)
	}
	if row.RequestHash != hash {
		return 0, false, domain.FieldErrorf(domain.CodeConflict, "idempotencyKey", "this idempotencyKey was already used for a different request")
	}
	return row.ID, true, nil
}

func (s *Service) insert(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, recorder *int64, in CreateInput, hash string) (int64, error) {
	now := s.Now()
	po := &domain.PurchaseOrder{Number: in.Number, Kind: in.Kind, Status: domain.POPlaced,
		VendorID: in.VendorID, DistributorID: in.DistributorID, ResellerID: in.ResellerID, CustomerID: in.CustomerID,
		RecordedByOrganizationID: recorder, IdempotencyKey: in.IdempotencyKey, RequestHash: hash,
		CreatedAt: now, UpdatedAt: now}
	if in.Draft {
		po.Status = domain.PODraft
		if err := checkParties(ctx, tx, viewer, in); err != nil {
			return 0, err
		}
	} else if err := checkPartiesAndChain(ctx, tx, viewer, in, po); err != nil {
		return 0, err
	} else {
		po.PlacedAt = &now
	}
	lines, err := buildLines(ctx, tx, in)
	if err != nil {
		return 0, err
	}
	if _, err := tx.NewInsert().Model(po).Returning("id").Exec(ctx); err != nil {
		return 0, fmt.Errorf("orders: storing order: %w", err)
	}
	for _, l := range lines {
		l.PurchaseOrderID = po.ID
	}
	if _, err := tx.NewInsert().Model(&lines).Returning("id").Exec(ctx); err != nil {
		return 0, fmt.Errorf("orders: storing lines: %w", err)
	}
	if po.Status != domain.PODraft { // prices are fixed when the order is placed
		if err := pricing.FixNewOrder(ctx, tx, po, lines); err != nil {
			return 0, err
		}
	}
	if err := visibility.IndexNewPurchaseOrder(ctx, tx, po.ID); err != nil {
		return 0, err
	}
	return po.ID, Updated.Append(ctx, tx, po.ID, now)
}

// checkPartiesAndChain is checkParties then lockChain, with the same
// refusals, but asks the database which organizations the recorder may name
// (SPEC §1.5: its whole channel and every party of its visible orders) only
// to word a refusal: once the named organizations are of the right kinds
// and every edge of the chain is ACTIVE, visibility.ActiveChainMakesPartiesNameable
// says whether the recorder may name them all.
func checkPartiesAndChain(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, in CreateInput, po *domain.PurchaseOrder) error {
	ok, err := kindsMatch(ctx, tx, in)
	if err != nil {
		return err
	}
	if ok && visibility.ActiveChainMakesPartiesNameable(viewer, in.VendorID, deref(in.DistributorID), deref(in.ResellerID)) {
		err := lockChain(ctx, tx, po)
		if domain.ErrorCode(err) != domain.CodeInvalid {
			return err
		}
	}
	if err := checkParties(ctx, tx, viewer, in); err != nil {
		return err
	}
	return lockChain(ctx, tx, po)
}

// kindsMatch reports whether every organization the order names exists and
// is of the kind its place needs. It reads organizations regardless of who
// may see them, so its answer is never shown to the client.
func kindsMatch(ctx context.Context, tx bun.IDB, in CreateInput) (bool, error) {
	want := map[int64]domain.OrganizationKind{in.VendorID: domain.KindVendor, in.CustomerID: domain.KindCustomer}
	named := 2
	if in.ResellerID != nil {
		want[*in.ResellerID] = domain.KindReseller
		named++
	}
	if in.DistributorID != nil {
		want[*in.DistributorID] = domain.KindDistributor
		named++
	}
	if len(want) != named { // one organization in two places: checkParties words that
		return false, nil
	}
	ids := make([]int64, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	var found []domain.Organization
	if err := tx.NewSelect().Model(&found).Column("o.id", "o.kind").Where("o.id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
		return false, fmt.Errorf("orders: reading parties: %w", err)
	}
	if len(found) != len(want) {
		return false, nil
	}
	for _, o := range found {
		if want[o.ID] != o.Kind {
			return false, nil
		}
	}
	return true, nil
}

// checkParties checks every organization the order names is of the kind its
// place on the order needs, and that the viewer may name it
// (visibility.RestrictNameable: the organizations it may see, and any
// vendor). lockChain then proves the vendor is upstream of the order's
// chain.
func checkParties(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, in CreateInput) error {
	parties := []struct {
		field string
		id    *int64
		kind  domain.OrganizationKind
	}{
		{"vendorId", &in.VendorID, domain.KindVendor},
		{"distributorId", in.DistributorID, domain.KindDistributor},
		{"resellerId", in.ResellerID, domain.KindReseller},
		{"customerId", &in.CustomerID, domain.KindCustomer},
	}
	var ids []int64
	for _, p := range parties {
		if p.id != nil {
			ids = append(ids, *p.id)
		}
	}
	var found []domain.Organization
	q := tx.NewSelect().Model(&found).Where("o.id IN (?)", bun.In(ids))
	if err := visibility.RestrictNameable(q, viewer, "o.id", "o.kind").Scan(ctx); err != nil {
		return fmt.Errorf("orders: reading parties: %w", err)
	}
	kinds := map[int64]domain.OrganizationKind{}
	for _, o := range found {
		kinds[o.ID] = o.Kind
	}
	for _, p := range parties {
		if p.id == nil {
			continue
		}
		kind, ok := kinds[*p.id]
		if !ok && p.field == "vendorId" {
			return domain.FieldErrorf(domain.CodeInvalid, p.field, "vendorId must name a VENDOR")
		}
		if !ok {
			return domain.FieldErrorf(domain.CodeNotFound, p.field, "organization not found")
		}
		if kind != p.kind {
			return domain.FieldErrorf(domain.CodeInvalid, p.field, "%s must name a %s, not a %s", p.field, p.kind, kind)
		}
	}
	return nil
}

// chainEdge is an edge of an order's chain, by its ends.
type chainEdge struct {
	Up   int64 `bun:"upstream_id"`
	Down int64 `bun:"downstream_id"`
}

// lockChain checks every edge along the order's chain is ACTIVE and locks
// those edges until the transaction ends, so a concurrent grant change waits
// for this order and then re-derives its visibility (see visibility.Refresh).
func lockChain(ctx context.Context, tx bun.IDB, po *domain.PurchaseOrder) error {
	type hop struct {
		up, down int64
		field    string
	}
	var hops []hop
	switch {
	case po.DistributorID != nil:
		hops = []hop{{po.VendorID, *po.DistributorID, "distributorId"}, {*po.DistributorID, *po.ResellerID, "resellerId"}, {*po.ResellerID, po.CustomerID, "customerId"}}
	case po.ResellerID != nil:
		hops = []hop{{po.VendorID, *po.ResellerID, "resellerId"}, {*po.ResellerID, po.CustomerID, "customerId"}}
	default:
		hops = []hop{{po.VendorID, po.CustomerID, "customerId"}}
	}
	// One statement for the whole chain: an order costs a round trip per
	// statement, and this runs for every one placed.
	var active []chainEdge
	q := tx.NewSelect().TableExpr("channel_edges").Column("upstream_id", "downstream_id").Where("status = 'ACTIVE'").
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			for _, h := range hops {
				q = q.WhereOr("upstream_id = ? AND downstream_id = ?", h.up, h.down)
			}
			return q
		})
	if err := database.LockForShare(q).Scan(ctx, &active); err != nil {
		return fmt.Errorf("orders: locking the chain: %w", err)
	}
	for _, h := range hops {
		if !slices.Contains(active, chainEdge{h.up, h.down}) {
			return domain.FieldErrorf(domain.CodeInvalid, h.field, "the channel edge along this order's chain is not ACTIVE")
		}
	}
	return nil
}

func buildLines(ctx context.Context, tx bun.IDB, in CreateInput) ([]*domain.PurchaseOrderLine, error) {
	skus := make([]string, len(in.Lines))
	for i, l := range in.Lines {
		skus[i] = strings.TrimSpace(l.SKU)
	}
	products, err := catalog.VendorProductsBySKU(ctx, tx, in.VendorID, skus)
	if err != nil {
		return nil, err
	}
	lines := make([]*domain.PurchaseOrderLine, len(in.Lines))
	for i, l := range in.Lines {
		p, ok := products[skus[i]]
		if !ok {
			return nil, domain.FieldErrorf(domain.CodeInvalid, fmt.Sprintf("lines[%d].sku", i), "the vendor has no product with SKU %q", skus[i])
		}
		lines[i] = &domain.PurchaseOrderLine{Position: i + 1, ProductID: p.ID, SKU: p.SKU, Quantity: l.Quantity}
	}
	if _, err := catalog.CheckPurchasable(ctx, tx, in.CustomerID, wants(in.Lines, skus, products)); err != nil {
		return nil, err
	}
	return lines, nil
}

// wants is what CheckPurchasable checks of an order's lines: the customer may
// buy each product (its segment and industry), and an add-on comes with its
// parent on the same order. These lines name no term or billing cycle, so
// each asks for its product's first offered ones, which the product offers.
func wants(lines []LineInput, skus []string, products map[string]*domain.Product) []catalog.Want {
	onOrder := map[int64]bool{}
	for _, p := range products {
		onOrder[p.ID] = true
	}
	out := make([]catalog.Want, len(lines))
	for i := range lines {
		p := products[skus[i]]
		w := catalog.Want{Field: fmt.Sprintf("lines[%d]", i), ProductID: p.ID, Term: domain.TermMonth, BillingCycle: domain.BillMonthly}
		if len(p.Terms) > 0 {
			w.Term = p.Terms[0]
		}
		if len(p.BillingCycles) > 0 {
			w.BillingCycle = p.BillingCycles[0]
		}
		if p.ParentID != nil && onOrder[*p.ParentID] {
			w.ParentProductID = p.ParentID
		}
		out[i] = w
	}
	return out
}

// UpdatePurchaseOrderStatus moves an order forward (SPEC §3.1): its vendor
// (OWNER or ADMIN_AGENT) or a platform administrator moves it; the
// organization that recorded it places or cancels its draft and may cancel
// it while it is PLACED.
func (s *Service) UpdatePurchaseOrderStatus(ctx context.Context, id int64, next domain.PurchaseOrderStatus) (*domain.PurchaseOrder, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.PurchaseOrder(ctx, id); err != nil {
		return nil, err
	}
	if err := policy.MayChangePurchaseOrderStatus(viewer); err != nil {
		return nil, err
	}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		var po domain.PurchaseOrder
		q := tx.NewSelect().Model(&po).Where("p.id = ?", id)
		if err := database.LockForUpdate(q).Scan(ctx); err != nil {
			return fmt.Errorf("orders: locking order: %w", err)
		}
		if !policy.CanMove(po.Status, next) {
			return domain.FieldErrorf(domain.CodeConflict, "status", "the order is %s and cannot move to %s; allowed from %s: %s",
				po.Status, next, po.Status, policy.Allowed(po.Status))
		}
		if err := policy.MayMovePurchaseOrder(viewer, &po, next); err != nil {
			return err
		}
		if po.Status == domain.PODraft && next == domain.POPlaced {
			if err := lockChain(ctx, tx, &po); err != nil {
				return err
			}
			if err := pricing.FixOrder(ctx, tx, id); err != nil { // prices are fixed when the order is placed
				return err
			}
		}
		now := s.Now()
		update := tx.NewUpdate().TableExpr("purchase_orders").Set("status = ?", next).Set("updated_at = ?", now)
		if next == domain.POPlaced {
			update = update.Set("placed_at = ?", now)
		}
		if _, err := update.Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("orders: storing status: %w", err)
		}
		if err := visibility.Refresh(ctx, tx, visibility.PurchaseOrder(id)); err != nil {
			return fmt.Errorf("orders: refreshing visibility: %w", err)
		}
		if err := Updated.Append(ctx, tx, id, now); err != nil {
			return err
		}
		if next == domain.POCompleted {
			for _, hook := range s.OnCompleted {
				if err := hook(ctx, tx, id, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.PurchaseOrder(ctx, id)
}

func deref(id *int64) int64 {
	if id == nil {
		return 0
	}
	return *id
}

// Updated announces every change of a purchase order (SPEC §3, §7.3). Its
// audience is the order's visibility rows as the change commits; delivery
// also needs the viewer's row now, whose parties mask the distributor for a
// customer, with the status and time the event committed.
var Updated = events.Register(events.Registration[domain.PurchaseOrder]{
	Type:  "PURCHASE_ORDER_UPDATED",
	Field: "purchaseOrderUpdated",
	Audience: func(ctx context.Context, tx bun.IDB, eventID int64, po *domain.PurchaseOrder) error {
		return visibility.PurchaseOrderAudience(ctx, tx, eventID, po.ID)
	},
	Payload: eventPayload,
})

// eventPayload is one query, since it runs for every pushed event.
func eventPayload(ctx context.Context, db bun.IDB, ev events.Event) (*domain.PurchaseOrder, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	q := visibility.RestrictToAudience(visible(db, viewer).Where("v.purchase_order_id = ?", ev.ObjectID), viewer, ev.ID)
	var po domain.PurchaseOrder
	err = q.Scan(ctx, &po)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.NotFound("purchase order")
	}
	if err != nil {
		return nil, fmt.Errorf("orders: reading an event's order: %w", err)
	}
	var then domain.PurchaseOrder
	if err := ev.Decode(&then); err != nil {
		return nil, fmt.Errorf("orders: decoding an event: %w", err)
	}
	po.Status, po.UpdatedAt = then.Status, then.UpdatedAt
	return &po, nil
}
