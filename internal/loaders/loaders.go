// Package loaders batches the reads a GraphQL response fans out into —
// organizations, products, purchase-order lines — so a page of 50 orders
// costs a fixed number of queries, not one per order. Loaders live for one
// request: Middleware puts a fresh set in each request's context.
package loaders

import (
	"context"
	"net/http"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
)

// Loaders is one request's batch loaders.
type Loaders struct {
	// Organization loads by id WITHOUT a visibility check: only for the
	// parties of objects the viewer was already allowed to see.
	Organization *dataloader.Loader[int64, *domain.Organization]
	Product      *dataloader.Loader[int64, *domain.Product]
	// Lines loads the lines of purchase orders the viewer was allowed to see.
	Lines *dataloader.Loader[int64, []*domain.PurchaseOrderLine]
}

type loadersKey struct{}

// ListWait is how long a loader gathers keys before it queries: resolvers
// of one list run concurrently, so a short wait collects the whole page.
// EventWait serves a pushed event, which resolves one object: waiting
// collects little and delays every subscriber.
const (
	ListWait  = 250 * time.Microsecond
	EventWait = 20 * time.Microsecond
)

// New returns a fresh set of loaders that wait so long to batch.
func New(ch *channel.Service, cat *catalog.Service, ord *orders.Service, wait time.Duration) *Loaders {
	return &Loaders{
		Organization: dataloader.NewBatchedLoader(byID(ch.OrganizationsByID, "organization"),
			dataloader.WithWait[int64, *domain.Organization](wait)),
		Product: dataloader.NewBatchedLoader(byID(cat.ProductsByID, "product"),
			dataloader.WithWait[int64, *domain.Product](wait)),
		Lines: dataloader.NewBatchedLoader(groupedByID(ord.LinesByOrder),
			dataloader.WithWait[int64, []*domain.PurchaseOrderLine](wait)),
	}
}

// Middleware gives every request its own loaders.
func Middleware(ch *channel.Service, cat *catalog.Service, ord *orders.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(Attach(r.Context(), New(ch, cat, ord, ListWait))))
	})
}

// For returns the request's loaders.
func For(ctx context.Context) *Loaders {
	l, _ := ctx.Value(loadersKey{}).(*Loaders)
	if l == nil {
		panic("loaders: request context has no loaders; wrap the handler in loaders.Middleware")
	}
	return l
}

// byID adapts a load-many-by-id function to a batch function; a missing id
// is a NOT_FOUND error for that key alone.
func byID[V any](load func(context.Context, []int64) (map[int64]V, error), what string) dataloader.BatchFunc[int64, V] {
	return func(ctx context.Context, ids []int64) []*dataloader.Result[V] {
		found, err := load(ctx, ids)
		out := make([]*dataloader.Result[V], len(ids))
		for i, id := range ids {
			switch v, ok := found[id]; {
			case err != nil:
				out[i] = &dataloader.Result[V]{Error: err}
			case !ok:
				out[i] = &dataloader.Result[V]{Error: domain.NotFound(what)}
			default:
				out[i] = &dataloader.Result[V]{Data: v}
			}
		}
		return out
	}
}

// groupedByID adapts a load-children function; an id without children gets
// an empty list.
func groupedByID[V any](load func(context.Context, []int64) (map[int64][]V, error)) dataloader.BatchFunc[int64, []V] {
	return func(ctx context.Context, ids []int64) []*dataloader.Result[[]V] {
		found, err := load(ctx, ids)
		out := make([]*dataloader.Result[[]V], len(ids))
		for i, id := range ids {
			v := found[id]
			if v == nil {
				v = []V{}
			}
			out[i] = &dataloader.Result[[]V]{Data: v, Error: err}
		}
		return out
	}
}

// Attach returns ctx carrying l, for executions that do not come through
// Middleware (websocket operations, each pushed event).
func Attach(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}
