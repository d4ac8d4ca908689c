package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/carts"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
)

// cartLines is a cart's (or its quote's) lines as the viewer sees them.
func cartLines(ctx context.Context, s *carts.Service, cartID int64) ([]*domain.CartLine, error) {
	found, err := s.LinesOfCarts(ctx, []int64{cartID})
	if err != nil {
		return nil, err
	}
	return nonNilLines(found[cartID]), nil
}

func nonNilLines(ls []*domain.CartLine) []*domain.CartLine {
	if ls == nil {
		return []*domain.CartLine{}
	}
	return ls
}

func addCartLineInput(input model.AddCartLineInput) (carts.LineInput, error) {
	in := carts.LineInput{Quantity: input.Quantity, Term: input.Term, BillingCycle: input.BillingCycle,
		TenantDomain: input.TenantDomain, MarkupPercent: input.MarkupPercent, Price: input.Price}
	var err error
	if in.CartID, err = relay.ParseID("cartId", relay.TypeCart, input.CartID); err != nil {
		return in, err
	}
	if in.ProductID, err = relay.ParseID("productId", relay.TypeProduct, input.ProductID); err != nil {
		return in, err
	}
	if in.TenantID, err = relay.ParseOptionalID("tenantId", relay.TypeTenant, input.TenantID); err != nil {
		return in, err
	}
	in.ParentLineID, err = relay.ParseOptionalID("parentLineId", relay.TypeCartLine, input.ParentLineID)
	return in, err
}

func cartLinePayload(changed *carts.Changed, err error) (*model.CartLinePayload, error) {
	payload := &model.CartLinePayload{}
	if err == nil {
		payload.Cart, payload.CartLine = changed.Cart, changed.Line
	}
	payload.UserErrors, err = payloadErrors(err)
	return payload, err
}

func (r *mutationResolver) placeCartPayload(ctx context.Context, placed *carts.Placed, err error) (*model.PlaceCartPayload, error) {
	payload := &model.PlaceCartPayload{PurchaseOrders: []*domain.PurchaseOrder{}}
	if err == nil {
		payload.Cart = placed.Cart
		payload.PurchaseOrders, err = r.visibleOrders(ctx, placed.OrderIDs)
	}
	payload.UserErrors, err = payloadErrors(err)
	return payload, err
}

// visibleOrders reads orders by id as the viewer may see them, in the order
// of ids, leaving out those it may not.
func (r *Resolver) visibleOrders(ctx context.Context, ids []int64) ([]*domain.PurchaseOrder, error) {
	found, err := r.Orders.PurchaseOrdersByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := []*domain.PurchaseOrder{}
	for _, id := range ids {
		if po, ok := found[id]; ok {
			out = append(out, po)
		}
	}
	return out, nil
}

// cartComplexity weighs the carts' and quotes' lists as Complexity does the
// others: pages by their size, a cart's or quote's lines and a quote's orders
// by a typical count.
func cartComplexity(c *ComplexityRoot) {
	c.Query.Carts = func(child int, first *int, _ *string, last *int, _ *string) int {
		return 1 + child*pageSize(first, last)
	}
	c.Query.Quotes = func(child int, first *int, _ *string, last *int, _ *string, _ *model.QuoteFilter) int {
		return 1 + child*pageSize(first, last)
	}
	c.Cart.Lines = func(child int) int { return 1 + child*10 }
	c.Quote.Lines = func(child int) int { return 1 + child*10 }
	c.Quote.PurchaseOrders = func(child int) int { return 1 + child*3 }
}

// selects reports whether the list field being resolved selects path.
func selects(ctx context.Context, path ...string) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return false
	}
	_, ok := below(graphql.GetOperationContext(ctx), fc.Field.Selections, path...)
	return ok
}

// primeCartLines reads the lines of a page of carts or quotes in one go (the
// lines and their prices as the viewer sees them), so a page costs the same
// statements for 5 as for 100; at says where each keeps its lines.
func primeCartLines[T any](ctx context.Context, s *carts.Service, page []T, at func(T) (int64, *[]*domain.CartLine)) error {
	ids := make([]int64, len(page))
	for i, n := range page {
		ids[i], _ = at(n)
	}
	found, err := s.LinesOfCarts(ctx, ids)
	if err != nil {
		return err
	}
	for _, n := range page {
		id, lines := at(n)
		*lines = nonNilLines(found[id])
	}
	return nil
}
