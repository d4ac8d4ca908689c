package subscriptions

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// SubscriptionsByID loads, in one query, those of ids the viewer may see
// (whoever sees the order that bought each); the others are missing.
func (s *Service) SubscriptionsByID(ctx context.Context, ids []int64) (map[int64]*domain.ProductSubscription, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var subs []*domain.ProductSubscription
	if len(ids) > 0 {
		if err := visible(database.Conn(ctx, s.db), viewer, &subs).Where("s.id IN (?)", database.IDs(ids)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("subscriptions: reading subscriptions: %w", err)
		}
	}
	out := make(map[int64]*domain.ProductSubscription, len(subs))
	for _, sub := range subs {
		out[sub.ID] = sub
	}
	return out, nil
}

// Subscription returns a subscription the viewer may see.
func (s *Service) Subscription(ctx context.Context, id int64) (*domain.ProductSubscription, error) {
	found, err := s.SubscriptionsByID(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if sub, ok := found[id]; ok {
		return sub, nil
	}
	return nil, domain.NotFound("product subscription")
}

// Filter narrows the subscription list; every condition given must hold.
type Filter struct {
	CustomerID *int64
	ProductID  *int64
	Status     *domain.SubscriptionStatus
}

var listKeyset = relay.Keyset{List: "productSubscriptions", Columns: []string{"s.created_at", "s.id"}, Desc: true}

// List lists the subscriptions the viewer may see, newest first, a page of
// it either way.
func (s *Service) List(ctx context.Context, f Filter, page relay.Page) (*relay.Connection[*domain.ProductSubscription], error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	db := database.Conn(ctx, s.db)
	filtered := func(q *bun.SelectQuery) *bun.SelectQuery {
		if f.CustomerID != nil {
			q = q.Where("s.customer_id = ?", *f.CustomerID)
		}
		if f.ProductID != nil {
			q = q.Where("s.product_id = ?", *f.ProductID)
		}
		if f.Status != nil {
			q = q.Where("s.status = ?", *f.Status)
		}
		return q
	}
	var subs []*domain.ProductSubscription
	q, err := page.Seek(filtered(visible(db, viewer, &subs)), listKeyset, func() []any { return []any{new(time.Time), new(int64)} })
	if err != nil {
		return nil, err
	}
	if err := q.OrderExpr(page.OrderBy(listKeyset)).Limit(page.Limit()).Scan(ctx); err != nil {
		return nil, fmt.Errorf("subscriptions: listing subscriptions: %w", err)
	}
	cursor := func(sub *domain.ProductSubscription) string {
		return relay.Cursor(listKeyset.List, sub.CreatedAt, sub.ID)
	}
	return relay.NewConnection(page, subs, cursor, func(ctx context.Context) (int, error) {
		n, err := filtered(visible(db, viewer, (*domain.ProductSubscription)(nil))).Count(ctx)
		return int(n), err
	}), nil
}

// ReductionWindows are the additions of licenses to sub, a subscription the
// viewer was allowed to see, that may still be taken back: some remain and
// they were added less than ChangeWindow ago; newest first.
func (s *Service) ReductionWindows(ctx context.Context, sub *domain.ProductSubscription) ([]*domain.LicenseAddition, error) {
	if sub.Status == domain.SubscriptionCancelled || sub.Status == domain.SubscriptionExpired {
		return nil, nil // a final subscription takes nothing back
	}
	return openWindows(ctx, database.Conn(ctx, s.db), sub.ID, s.Now())
}

func openWindows(ctx context.Context, db bun.IDB, subID int64, now time.Time) ([]*domain.LicenseAddition, error) {
	var out []*domain.LicenseAddition
	if err := db.NewSelect().Model(&out).Where("la.product_subscription_id = ?", subID).
		Where("la.remaining > 0").Where("la.added_at > ?", now.Add(-domain.ChangeWindow)).
		Order("la.added_at DESC", "la.id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("subscriptions: reading license windows: %w", err)
	}
	return out, nil
}

// WindowCloses is when licenses added at addedAt stop being reducible.
func WindowCloses(addedAt time.Time) time.Time { return addedAt.Add(domain.ChangeWindow) }

// CancellableUntil is when sub stops being cancellable: ChangeWindow after
// the start of its term (its purchase or latest renewal).
func CancellableUntil(sub *domain.ProductSubscription) time.Time {
	return sub.TermStartedAt.Add(domain.ChangeWindow)
}

// ActivationURL is the personalised activation link of a SaaS subscription
// waiting for activation (SPEC §6.4): the publisher's landing page with the
// code as its "code" query parameter; nil without a landing page.
func ActivationURL(landingPage *string, code string) *string {
	if landingPage == nil || *landingPage == "" {
		return nil
	}
	sep := "?"
	if strings.Contains(*landingPage, "?") {
		sep = "&"
	}
	u := *landingPage + sep + "code=" + url.QueryEscape(code)
	return &u
}
