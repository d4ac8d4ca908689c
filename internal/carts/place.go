package carts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/tenants"
)

// Placed is the outcome of placing or saving a cart: the cart and the ids of
// the orders it made (the caller reads them as the viewer may see them).
type Placed struct {
	Cart     *domain.Cart
	OrderIDs []int64
}

func checkKey(key string) error {
	if key == "" || len(key) > 200 {
		return domain.FieldErrorf(domain.CodeInvalid, "idempotencyKey", "idempotencyKey must be 1 to 200 characters")
	}
	return nil
}

// refuseKeyUsedElsewhere refuses key when another row of table (carts or
// quotes) with the same owner already used it: a key answers for one
// request only. what names that request in the refusal.
func refuseKeyUsedElsewhere(ctx context.Context, tx bun.IDB, table, ownerColumn string, owner, id int64, key, what string) error {
	used, err := tx.NewSelect().TableExpr(table).
		Where("? = ? AND idempotency_key = ? AND id <> ?", bun.Ident(ownerColumn), owner, key, id).Exists(ctx)
	if err != nil {
		return fmt.Errorf("carts: reading idempotency keys: %w", err)
	}
	if used {
		return domain.FieldErrorf(domain.CodeConflict, "idempotencyKey", "this idempotencyKey was already used to %s", what)
	}
	return nil
}

// Place places an OPEN cart (SPEC §4.3, §8.4): every line checked again and
// priced on every edge of its chain, one PLACED order per vendor, the
// tenants of its new domains requested, the cart PLACED under key — all in
// one transaction. The cart's row is locked first, so concurrent requests
// for it queue: a retry with the same key then answers with the orders the
// first placed.
func (s *Service) Place(ctx context.Context, cartID int64, key string) (*Placed, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var out Placed
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		c, err := lockCart(ctx, tx, viewer, cartID, "cartId")
		if err != nil {
			return err
		}
		if c.Status == domain.CartPlaced && c.IdempotencyKey != nil && *c.IdempotencyKey == key {
			out.OrderIDs, err = orders.OfCart(ctx, tx, c.ID, false)
			return err
		}
		if err := refuseKeyUsedElsewhere(ctx, tx, "carts", "seller_id", c.SellerID, c.ID, key, "place another cart"); err != nil {
			return err
		}
		if err := c.mustBeOpen(); err != nil {
			return err
		}
		now := s.Now()
		if out.OrderIDs, err = s.makeOrders(ctx, tx, c, false, nil, now); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().TableExpr("carts").Set("status = ?", domain.CartPlaced).
			Set("idempotency_key = ?", key).Set("updated_at = ?", now).Where("id = ?", c.ID).Exec(ctx); err != nil {
			return fmt.Errorf("carts: storing cart: %w", err)
		}
		return nil
	})
	if database.IsUniqueViolation(err) {
		// Another cart of the seller took the key in a transaction that
		// committed while this one ran.
		return nil, domain.FieldErrorf(domain.CodeConflict, "idempotencyKey",
			"this idempotencyKey is being used by another request, which is still in flight or placed another cart")
	}
	if err != nil {
		return nil, err
	}
	if out.Cart, err = s.Cart(ctx, cartID); err != nil {
		return nil, err
	}
	return &out, nil
}

// Save saves an OPEN cart for later: one DRAFT order per vendor, seen only by
// the seller (a DRAFT is its recorder's alone), and the cart SAVED.
func (s *Service) Save(ctx context.Context, cartID int64) (*Placed, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out Placed
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		c, err := lockCart(ctx, tx, viewer, cartID, "cartId")
		if err != nil {
			return err
		}
		if err := c.mustBeOpen(); err != nil {
			return err
		}
		now := s.Now()
		if out.OrderIDs, err = s.makeOrders(ctx, tx, c, true, nil, now); err != nil {
			return err
		}
		return s.touch(ctx, tx, c.ID, domain.CartSaved, now)
	})
	if err != nil {
		return nil, err
	}
	if out.Cart, err = s.Cart(ctx, cartID); err != nil {
		return nil, err
	}
	return &out, nil
}

// ResumeDraft reopens the cart a DRAFT order was saved from, cancelling
// every draft the cart was saved as (each as a cancelled draft is, with its
// event).
func (s *Service) ResumeDraft(ctx context.Context, ord *orders.Service, purchaseOrderID int64) (*domain.Cart, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var cartID int64
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if cartID, err = ord.DraftCart(ctx, purchaseOrderID, "purchaseOrderId"); err != nil {
			return err
		}
		c, err := lockCart(ctx, tx, viewer, cartID, "purchaseOrderId")
		if err != nil {
			return err
		}
		if c.Status != domain.CartSaved {
			return domain.FieldErrorf(domain.CodeConflict, "purchaseOrderId", "the draft's cart is %s, not SAVED", c.Status)
		}
		now := s.Now()
		if err := orders.CancelCartDraftsInTx(ctx, tx, c.ID, now); err != nil {
			return err
		}
		return s.touch(ctx, tx, c.ID, domain.CartOpen, now)
	})
	if err != nil {
		return nil, err
	}
	return s.Cart(ctx, cartID)
}

// lineField names a cart's line N (0-based, in the order lines were added).
func lineField(i int) string { return fmt.Sprintf("lines[%d]", i) }

// storedLines reads every line of a cart, in the order they were added.
func storedLines(ctx context.Context, tx bun.IDB, cartID int64) ([]*domain.CartLine, error) {
	var lines []*domain.CartLine
	if err := tx.NewSelect().Model(&lines).Where("cl.cart_id = ?", cartID).Order("cl.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("carts: reading lines: %w", err)
	}
	return lines, nil
}

// makeOrders records the orders of cart c in tx, one per vendor in the order
// its lines were added: every line checked again (faults named
// lines[N].field); unless draft, priced on every edge (required), the
// chains ACTIVE and locked, and the tenants of new domains requested. quoted,
// when set, is the unit price the customer was quoted per line, which the
// order's lines carry as their price adjustment so the customer pays it.
func (s *Service) makeOrders(ctx context.Context, tx bun.IDB, c *cartRow, draft bool, quoted map[int64]domain.Money, now time.Time) ([]int64, error) {
	lines, err := storedLines(ctx, tx, c.ID)
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "cartId", "the cart has no lines")
	}
	products, err := s.checkAll(ctx, tx, c, lines)
	if err != nil {
		return nil, err
	}
	vendorOf := map[int64]int64{}
	for id, p := range products {
		vendorOf[id] = p.VendorID
	}
	if !draft && quoted == nil {
		if err := s.price(ctx, tx, c, lines, vendorOf, true, lineField); err != nil {
			return nil, err
		}
	}
	// New domains become tenants with the orders; two lines naming the same
	// domain share its one tenant.
	newTenants := map[string]int64{}
	if !draft {
		for i, l := range lines {
			if l.TenantDomain == nil {
				continue
			}
			if _, ok := newTenants[*l.TenantDomain]; ok {
				continue
			}
			seller := c.SellerID
			t, err := tenants.RequestInTx(ctx, tx, c.CustomerID, *l.TenantDomain, &seller, lineField(i)+".tenantDomain", now)
			if err != nil {
				return nil, err
			}
			newTenants[*l.TenantDomain] = t.ID
		}
	}
	var vendors []int64
	byVendor := map[int64][]*domain.PurchaseOrderLine{}
	// Placing (not saving, not accepting a quote) has just priced the cart's
	// lines: its orders' lines take those prices.
	pricedAs := map[int64][]int64{}
	reusePrices := !draft && quoted == nil
	for _, l := range lines {
		v := vendorOf[l.ProductID]
		if _, ok := byVendor[v]; !ok {
			vendors = append(vendors, v)
		}
		term, cycle := l.Term, l.BillingCycle
		ol := &domain.PurchaseOrderLine{ProductID: l.ProductID, SKU: products[l.ProductID].SKU, Quantity: l.Quantity,
			Term: &term, BillingCycle: &cycle, TenantID: l.TenantID,
			MarkupPercent: l.MarkupPercent, PriceAmount: l.PriceAmount, PriceCurrency: l.PriceCurrency}
		if l.TenantDomain != nil && !draft {
			id := newTenants[*l.TenantDomain]
			ol.TenantID = &id
		}
		if m, ok := quoted[l.ID]; ok {
			ol.MarkupPercent, ol.PriceAmount, ol.PriceCurrency = nil, &m.Amount, &m.Currency
		}
		byVendor[v] = append(byVendor[v], ol)
		pricedAs[v] = append(pricedAs[v], l.ID)
	}
	made, err := orders.CountOfCart(ctx, tx, c.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(vendors))
	for i, v := range vendors {
		p := orders.Placement{Number: fmt.Sprintf("C%d-%d", c.ID, made+i+1), VendorID: v, CustomerID: c.CustomerID,
			RecordedBy: c.SellerID, CartID: c.ID, Draft: draft, Lines: byVendor[v]}
		if reusePrices {
			p.PricedAs = pricedAs[v]
		}
		if c.SellerKind == domain.KindReseller {
			seller := c.SellerID
			p.ResellerID, p.DistributorID = &seller, c.DistributorID
		}
		id, err := orders.PlaceInTx(ctx, tx, now, p)
		var e *domain.Error
		if errors.As(err, &e) && e.Code == domain.CodeInvalid {
			return nil, domain.FieldErrorf(domain.CodeInvalid, "cartId",
				"an edge of the chain from vendor %s to the customer is no longer ACTIVE", relay.GlobalID(relay.TypeOrganization, v))
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// checkAll checks every line of a cart as it is placed, saved or quoted, and
// returns the products by id.
func (s *Service) checkAll(ctx context.Context, tx bun.IDB, c *cartRow, lines []*domain.CartLine) (map[int64]*domain.Product, error) {
	faults, products, err := s.check(ctx, tx, c, lines, lineField)
	if err != nil {
		return nil, err
	}
	if len(faults) > 0 {
		return nil, faults
	}
	return products, nil
}
