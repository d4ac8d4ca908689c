// Package loaders batches the reads a GraphQL response fans out into —
// organizations, products, purchase-order lines, tenants, pages of channel
// edges and their counts — so a page of 50 orders or organizations costs a
// fixed number of queries, not one per item. Loaders live for one request:
// Middleware puts a fresh set in each request's context.
//
// A list primes them (prime.go) with what it selects below itself, so the
// list costs the same statements at any size whatever the goroutine
// scheduling of gqlgen's list resolution, which can otherwise split a list
// across several batching windows. Which field a loader serves, and how a
// list primes it, is one table in the graph package (graph/prime.go).
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
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/tenants"
)

// Loaders is one request's batch loaders.
type Loaders struct {
	// Organization loads the organizations the viewer may see (SPEC §1.5);
	// any other id is NOT_FOUND. The default for any field that names an
	// organization.
	Organization *dataloader.Loader[int64, *domain.Organization]
	// TrustedOrganization loads by id WITHOUT a visibility check. Only for
	// an organization the viewer may see because of an object it was
	// already allowed to see (a party of a visible order, an end of a
	// visible edge); every use says why.
	TrustedOrganization *dataloader.Loader[int64, *domain.Organization]
	Product             *dataloader.Loader[int64, *domain.Product]
	// AddOns loads the add-ons of products, by name, and Industries the
	// industries they are offered to (the catalog is public).
	AddOns     *dataloader.Loader[int64, []*domain.Product]
	Industries *dataloader.Loader[int64, []string]
	// Lines loads the lines of purchase orders the viewer was allowed to see.
	Lines *dataloader.Loader[int64, []*domain.PurchaseOrderLine]
	// Tenants loads customers' tenants, ChannelEdges organizations' pages of
	// channel edges and ChannelEdgeCount the lengths of their lists: only
	// for organizations the viewer was allowed to see (the edges themselves
	// are restricted to those it may see).
	Tenants          *dataloader.Loader[int64, []*domain.Tenant]
	ChannelEdges     *dataloader.Loader[EdgesKey, edgePage]
	ChannelEdgeCount *dataloader.Loader[EdgeCountKey, int]
	// LinePrices loads, by order line id, the prices the viewer sees on
	// lines of purchase orders it was allowed to see (package pricing's
	// rule); a line without any is the zero LinePrices.
	LinePrices *dataloader.Loader[int64, domain.LinePrices]
	// ListPrices loads products' list prices for a term and billing cycle,
	// as package pricing lets the viewer see them (nil where it may not).
	ListPrices *dataloader.Loader[ListPriceKey, *domain.Money]
	// PriceRules loads the price rules of channel edges the viewer was
	// allowed to see, as package pricing lets it see them.
	PriceRules *dataloader.Loader[int64, []*domain.PriceRule]

	ch    *channel.Service
	cat   *catalog.Service
	ord   *orders.Service
	ten   *tenants.Service
	pri   *pricing.Service
	renew func() *Loaders
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
func New(ch *channel.Service, cat *catalog.Service, ord *orders.Service, ten *tenants.Service, pri *pricing.Service, wait time.Duration) *Loaders {
	l := &Loaders{
		Organization: dataloader.NewBatchedLoader(byID(ch.VisibleOrganizations, "organization"),
			dataloader.WithWait[int64, *domain.Organization](wait)),
		TrustedOrganization: dataloader.NewBatchedLoader(byID(ch.TrustedOrganizationsByID, "organization"),
			dataloader.WithWait[int64, *domain.Organization](wait)),
		Product: dataloader.NewBatchedLoader(byID(cat.ProductsByID, "product"),
			dataloader.WithWait[int64, *domain.Product](wait)),
		AddOns: dataloader.NewBatchedLoader(groupedByID(cat.AddOnsOf),
			dataloader.WithWait[int64, []*domain.Product](wait)),
		Industries: dataloader.NewBatchedLoader(groupedByID(cat.IndustriesOf),
			dataloader.WithWait[int64, []string](wait)),
		Lines: dataloader.NewBatchedLoader(groupedByID(ord.LinesByOrder),
			dataloader.WithWait[int64, []*domain.PurchaseOrderLine](wait)),
		Tenants: dataloader.NewBatchedLoader(groupedByID(ten.OfCustomers),
			dataloader.WithWait[int64, []*domain.Tenant](wait)),
		LinePrices: dataloader.NewBatchedLoader(orZero(pri.OrderLinePrices),
			dataloader.WithWait[int64, domain.LinePrices](wait)),
		PriceRules: dataloader.NewBatchedLoader(groupedByID(pri.PriceRulesOf),
			dataloader.WithWait[int64, []*domain.PriceRule](wait)),
		ListPrices: dataloader.NewBatchedLoader(
			perArgs(func(k ListPriceKey) (int64, pricing.PricePair) { return k.Product, k.Pair }, pri.ListPrices),
			dataloader.WithWait[ListPriceKey, *domain.Money](wait)),
		ch: ch, cat: cat, ord: ord, ten: ten, pri: pri,
		renew: func() *Loaders { return New(ch, cat, ord, ten, pri, wait) },
	}
	l.ChannelEdges = dataloader.NewBatchedLoader(
		perArgs(func(k EdgesKey) (int64, EdgeList) { return k.Org, k.List }, l.edgePages),
		dataloader.WithWait[EdgesKey, edgePage](wait))
	l.ChannelEdgeCount = dataloader.NewBatchedLoader(
		perArgs(func(k EdgeCountKey) (int64, channel.EdgeFilter) { return k.Org, k.Filter },
			func(ctx context.Context, f channel.EdgeFilter, ids []int64) (map[int64]int, error) {
				return ch.ChannelEdgeCounts(ctx, ids, f)
			}),
		dataloader.WithWait[EdgeCountKey, int](wait))
	return l
}

// Middleware gives every request its own loaders.
func Middleware(ch *channel.Service, cat *catalog.Service, ord *orders.Service, ten *tenants.Service, pri *pricing.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(Attach(r.Context(), New(ch, cat, ord, ten, pri, ListWait))))
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

// ListPriceKey is one product's list price for a term and billing cycle
// (the zero pair: its default list price).
type ListPriceKey struct {
	Product int64
	Pair    pricing.PricePair
}

// orZero adapts a load-by-id function whose missing ids have the zero
// value (a line without a price the viewer sees).
func orZero[V any](load func(context.Context, []int64) (map[int64]V, error)) dataloader.BatchFunc[int64, V] {
	return func(ctx context.Context, ids []int64) []*dataloader.Result[V] {
		found, err := load(ctx, ids)
		out := make([]*dataloader.Result[V], len(ids))
		for i, id := range ids {
			out[i] = &dataloader.Result[V]{Data: found[id], Error: err}
		}
		return out
	}
}

// Attach returns ctx carrying l, for executions that do not come through
// Middleware (websocket operations, each pushed event).
func Attach(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// Renew returns ctx carrying a fresh set of loaders like its own, for a
// mutation to read what it changed rather than what an earlier mutation of
// the same request loaded.
func Renew(ctx context.Context) context.Context {
	return Attach(ctx, For(ctx).renew())
}

func nonNil[V any](s []V) []V {
	if s == nil {
		return []V{}
	}
	return s
}
