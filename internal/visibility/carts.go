package visibility

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// Carts and quotes (SPEC §4.3, §8.4). A cart is its seller's working
// document: only the organization building it sees it (and the platform
// administrator). A quote is sent by the seller to the customer: both see it,
// with its lines (a customer reads its quotes' lines, never the cart's other
// state). These are the only rules; every read of a cart, a line or a quote
// goes through them as SQL conditions.

// RestrictCarts keeps the carts whose seller id is in sellerColumn that the
// viewer may see: its own organization's.
func RestrictCarts(q *bun.SelectQuery, viewer *domain.Viewer, sellerColumn string) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	return q.Where("? = ?", bun.Safe(sellerColumn), viewer.OrganizationID)
}

// RestrictQuotes keeps the quotes (with seller and customer id columns) the
// viewer may see: those its organization sent or was sent.
func RestrictQuotes(q *bun.SelectQuery, viewer *domain.Viewer, sellerColumn, customerColumn string) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	return q.Where("(? = ? OR ? = ?)", bun.Safe(sellerColumn), viewer.OrganizationID, bun.Safe(customerColumn), viewer.OrganizationID)
}

// RestrictCartLines keeps the cart lines (cart id in cartColumn) the viewer
// may see: the lines of its carts, and of the carts quoted to it.
func RestrictCartLines(q *bun.SelectQuery, viewer *domain.Viewer, cartColumn string) *bun.SelectQuery {
	if viewer.IsPlatformAdmin {
		return q
	}
	id := viewer.OrganizationID
	return q.Where(`(? IN (SELECT rc.id FROM carts rc WHERE rc.seller_id = ?)
		OR ? IN (SELECT rq.cart_id FROM quotes rq WHERE rq.customer_id = ?))`,
		bun.Safe(cartColumn), id, bun.Safe(cartColumn), id)
}

// QuoteAudience records who may see a quote as its change commits: its
// seller and its customer (SPEC §8.8).
func QuoteAudience(ctx context.Context, tx bun.IDB, eventID int64, q *domain.Quote) error {
	_, err := tx.NewRaw(`INSERT INTO event_audience (event_id, organization_id) SELECT ?, seller_id FROM quotes WHERE id = ?
		UNION SELECT ?, customer_id FROM quotes WHERE id = ?`, eventID, q.ID, eventID, q.ID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("visibility: audience of quote %d: %w", q.ID, err)
	}
	return nil
}
