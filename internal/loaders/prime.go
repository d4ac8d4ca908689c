package loaders

import (
	"context"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/pricing"
)

// Each Prime method loads many keys of one loader in one statement, primes
// the loader with them and returns what it loaded, for the caller to prime
// what lies below. A key a later field asks for is then answered from the
// loader's cache.

// PrimeTrustedOrganizations primes TrustedOrganization: the caller vouches,
// as for the loader itself, that the viewer may see every one of ids.
func (l *Loaders) PrimeTrustedOrganizations(ctx context.Context, ids []int64) (map[int64]*domain.Organization, error) {
	return primeFound(ctx, l.TrustedOrganization, ids, l.ch.TrustedOrganizationsByID)
}

// PrimeProducts primes Product.
func (l *Loaders) PrimeProducts(ctx context.Context, ids []int64) (map[int64]*domain.Product, error) {
	return primeFound(ctx, l.Product, ids, l.cat.ProductsByID)
}

// PrimeAddOns primes AddOns (a product without add-ons gets an empty list).
func (l *Loaders) PrimeAddOns(ctx context.Context, productIDs []int64) (map[int64][]*domain.Product, error) {
	return primeAll(ctx, l.AddOns, productIDs, l.cat.AddOnsOf)
}

// PrimeIndustries primes Industries (a product without any gets an empty
// list: every industry).
func (l *Loaders) PrimeIndustries(ctx context.Context, productIDs []int64) (map[int64][]string, error) {
	return primeAll(ctx, l.Industries, productIDs, l.cat.IndustriesOf)
}

// PrimeLines primes Lines with the lines of purchase orders the viewer was
// allowed to see (an order without lines gets an empty list).
func (l *Loaders) PrimeLines(ctx context.Context, orderIDs []int64) (map[int64][]*domain.PurchaseOrderLine, error) {
	return primeAll(ctx, l.Lines, orderIDs, l.ord.LinesByOrder)
}

// PrimeTenants primes Tenants with the tenants of organizations the viewer
// was allowed to see.
func (l *Loaders) PrimeTenants(ctx context.Context, orgIDs []int64) (map[int64][]*domain.Tenant, error) {
	return primeAll(ctx, l.Tenants, orgIDs, l.ten.OfCustomers)
}

// PrimeLinePrices primes LinePrices with the prices the viewer sees on
// lines of purchase orders it was allowed to see (every id gets an answer,
// the zero LinePrices where it sees none).
func (l *Loaders) PrimeLinePrices(ctx context.Context, lineIDs []int64) (map[int64]domain.LinePrices, error) {
	found, err := l.pri.OrderLinePrices(ctx, lineIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range lineIDs {
		l.LinePrices.Prime(ctx, id, found[id])
	}
	return found, nil
}

// PrimeListPrices primes ListPrices with the list price for pair of each
// of productIDs (nil where the viewer may not see it or there is none).
func (l *Loaders) PrimeListPrices(ctx context.Context, pair pricing.PricePair, productIDs []int64) (map[int64]*domain.Money, error) {
	found, err := l.pri.ListPrices(ctx, pair, productIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range productIDs {
		l.ListPrices.Prime(ctx, ListPriceKey{Product: id, Pair: pair}, found[id])
	}
	return found, nil
}

// PrimePriceRules primes PriceRules with the rules the viewer sees on
// channel edges it was allowed to see.
func (l *Loaders) PrimePriceRules(ctx context.Context, edgeIDs []int64) (map[int64][]*domain.PriceRule, error) {
	return primeAll(ctx, l.PriceRules, edgeIDs, l.pri.PriceRulesOf)
}

// PrimeChannelEdges primes ChannelEdges with one page of list for each of
// orgIDs, organizations the viewer was allowed to see.
func (l *Loaders) PrimeChannelEdges(ctx context.Context, list EdgeList, orgIDs []int64) (map[int64]edgePage, error) {
	pages, err := l.edgePages(ctx, list, orgIDs)
	if err != nil {
		return nil, err
	}
	for id, p := range pages {
		l.ChannelEdges.Prime(ctx, EdgesKey{Org: id, List: list}, p)
	}
	return pages, nil
}

// PrimeChannelEdgeCounts primes ChannelEdgeCount with the length of the
// list filtered by f for each of orgIDs.
func (l *Loaders) PrimeChannelEdgeCounts(ctx context.Context, f channel.EdgeFilter, orgIDs []int64) (map[int64]int, error) {
	counts, err := l.ch.ChannelEdgeCounts(ctx, orgIDs, f)
	if err != nil {
		return nil, err
	}
	for _, id := range orgIDs {
		l.ChannelEdgeCount.Prime(ctx, EdgeCountKey{Org: id, Filter: f}, counts[id])
	}
	return counts, nil
}

// primeFound primes the objects found by id; a missing id is left to the
// loader, which answers it NOT_FOUND.
func primeFound[V any](ctx context.Context, loader *dataloader.Loader[int64, V], ids []int64, load func(context.Context, []int64) (map[int64]V, error)) (map[int64]V, error) {
	found, err := load(ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, v := range found {
		loader.Prime(ctx, id, v)
	}
	return found, nil
}

// primeAll primes a list for every id, an empty one where load found none.
func primeAll[V any](ctx context.Context, loader *dataloader.Loader[int64, []V], ids []int64, load func(context.Context, []int64) (map[int64][]V, error)) (map[int64][]V, error) {
	found, err := load(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]V, len(ids))
	for _, id := range ids {
		out[id] = nonNil(found[id])
		loader.Prime(ctx, id, out[id])
	}
	return out, nil
}
