package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/subscriptions"
)

// LandingPageURL is the demo SaaS products' publisher page, where their
// activation links point.
const LandingPageURL = "https://activate.northwind.example/backup"

// lifecycleSale is one order of the subscription showcase: Cobalt IT sells
// to Globex through Atlas, bought ago before the demo is loaded.
type lifecycleSale struct {
	number, nickname string
	lines            []orders.LineInput
	ago              time.Duration
}

const day = 24 * time.Hour

// subscriptions shows Globex's subscriptions in every state, each bought
// through the real path (its order completed, which creates it) at a time
// in the past, then moved on as it would have been:
//   - E3 head office, bought 10 days ago: ACTIVE, its reduction window
//     closed 3 days ago (a reduction is refused with WINDOW_CLOSED);
//   - E5 leadership, bought 2 days ago: ACTIVE, its window still open;
//   - backup for the new plant, bought an hour ago: PENDING_FULFILLMENT
//     trial with its archive add-on, both waiting for Northwind to activate
//     them (activation links to LandingPageURL);
//   - backup pilot, bought 5 days ago and activated the next day: an
//     ACTIVE trial;
//   - E5 board, bought a year and 2 days ago: renewed 2 days ago by the
//     renewal job (a RENEWAL order, a fresh window);
//   - E3 warehouse, bought 13 months ago with auto-renew off: EXPIRED;
//   - E3 contractors, bought 20 days ago: SUSPENDED;
//   - E5 interns, bought yesterday: CANCELLED within its window.
func (b *builder) subscriptions(db *bun.DB) {
	if b.err != nil {
		return
	}
	if _, b.err = db.NewUpdate().TableExpr("products").Set("landing_page_url = ?", LandingPageURL).
		Where("sku IN (?)", bun.In([]string{"NW-BACKUP", "NW-BACKUP-ARCHIVE", "NW-CLINIC"})).Exec(b.ctx); b.err != nil {
		return
	}
	now := clock.System{}.Now()
	line := func(sku string, n int) orders.LineInput { return orders.LineInput{SKU: sku, Quantity: n} }
	sales := []lifecycleSale{
		{"PO-SUB-01", "Head office", []orders.LineInput{line("NW-SUITE-E3", 40)}, 10 * day},
		{"PO-SUB-02", "Leadership", []orders.LineInput{line("NW-SUITE-E5", 5)}, 2 * day},
		{"PO-SUB-03", "New plant backup", []orders.LineInput{line("NW-BACKUP", 25), line("NW-BACKUP-ARCHIVE", 25)}, time.Hour},
		{"PO-SUB-04", "Backup pilot", []orders.LineInput{line("NW-BACKUP", 10)}, 5 * day},
		{"PO-SUB-05", "Board", []orders.LineInput{line("NW-SUITE-E5", 8)}, 367 * day},
		{"PO-SUB-06", "Warehouse", []orders.LineInput{line("NW-SUITE-E3", 12)}, 395 * day},
		{"PO-SUB-07", "Contractors", []orders.LineInput{line("NW-SUITE-E3", 6)}, 20 * day},
		{"PO-SUB-08", "Interns", []orders.LineInput{line("NW-SUITE-E5", 3)}, day},
	}
	bought := map[string][]int64{}
	for _, s := range sales {
		bought[s.number] = b.sell(db, s, now.Add(-s.ago))
	}
	if b.err != nil {
		return
	}
	// The pilot was activated the day after it was bought.
	publisher := domain.WithViewer(b.ctx, &domain.Viewer{OrganizationID: b.orgs["Northwind Systems"].ID,
		Kind: domain.KindVendor, Role: domain.RoleAdminAgent})
	subs := subscriptions.New(db)
	subs.Now = func() time.Time { return now.Add(-4 * day) }
	var pilot domain.ProductSubscription
	if b.err = db.NewSelect().Model(&pilot).Where("s.id = ?", bought["PO-SUB-04"][0]).Scan(b.ctx); b.err != nil {
		return
	}
	if _, b.err = subs.Activate(publisher, *pilot.ActivationCode); b.err != nil {
		return
	}
	b.setStatus(db, bought["PO-SUB-06"][0], "auto_renew", false, now.Add(-300*day))
	b.setStatus(db, bought["PO-SUB-07"][0], "status", domain.SubscriptionSuspended, now.Add(-5*day))
	b.setStatus(db, bought["PO-SUB-08"][0], "status", domain.SubscriptionCancelled, now.Add(-2*time.Hour))
	if b.err != nil {
		return
	}
	// The renewal job, as the server runs it: renews the board's seats and
	// expires the warehouse's.
	subs.Now = func() time.Time { return now }
	_, b.err = subs.RenewDue(b.ctx)
}

// sell records s as the platform administrator at the time at and
// completes it, which creates its subscriptions (one per line, returned in
// line order) with their nickname.
func (b *builder) sell(db *bun.DB, s lifecycleSale, at time.Time) []int64 {
	if b.err != nil {
		return nil
	}
	ord := orders.New(db)
	ord.Now = func() time.Time { return at }
	ord.OnCompleted = append(ord.OnCompleted, subscriptions.CreateForOrderInTx)
	in := orders.CreateInput{Number: s.number, VendorID: b.orgs["Northwind Systems"].ID, CustomerID: b.orgs["Globex Manufacturing"].ID,
		ResellerID: &b.orgs["Cobalt IT"].ID, DistributorID: &b.orgs["Atlas Distribution"].ID, Lines: s.lines}
	var rec *orders.Recorded
	if rec, b.err = ord.CreatePurchaseOrder(b.ctx, in); b.err != nil {
		return nil
	}
	for _, next := range []domain.PurchaseOrderStatus{domain.POProcessing, domain.POCompleted} {
		if _, b.err = ord.UpdatePurchaseOrderStatus(b.ctx, rec.ID, next); b.err != nil {
			return nil
		}
	}
	var ids []int64
	if b.err = db.NewSelect().TableExpr("product_subscriptions").Column("id").Where("purchase_order_id = ?", rec.ID).
		Order("purchase_order_line_id").Scan(b.ctx, &ids); b.err != nil {
		return nil
	}
	if len(ids) != len(s.lines) {
		b.err = fmt.Errorf("demo: order %s created %d subscriptions for %d lines", s.number, len(ids), len(s.lines))
		return nil
	}
	_, b.err = db.NewUpdate().TableExpr("product_subscriptions").Set("nickname = ?", s.nickname).
		Where("id IN (?)", bun.In(ids)).Exec(b.ctx)
	return ids
}

// setStatus changes one column of subscription id as a change at the time
// at would have (a new version, announced), for the states whose change
// the demo does not replay.
func (b *builder) setStatus(db *bun.DB, id int64, column string, value any, at time.Time) {
	if b.err != nil {
		return
	}
	b.err = database.InTx(b.ctx, db, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewUpdate().TableExpr("product_subscriptions").Set("? = ?", bun.Ident(column), value).
			Set("version = version + 1").Set("updated_at = ?", at).Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("demo: changing subscription %d: %w", id, err)
		}
		return subscriptions.Updated.Append(ctx, tx, id, at)
	})
}
