package graph

import "github.com/channelgraph/channelgraph/graph/model"

// subscriptionComplexity weighs the product subscriptions' lists: the page,
// and, per subscription, its orders (one per change; a few a year) and its
// open reduction windows (the licenses added in the last 168 hours). Both
// are read per subscription, so they weigh more than a loaded list.
func subscriptionComplexity(c *ComplexityRoot) {
	c.Query.ProductSubscriptions = func(child int, first *int, _ *string, last *int, _ *string, _ *model.ProductSubscriptionFilter) int {
		return 1 + child*pageSize(first, last)
	}
	c.ProductSubscription.PurchaseOrders = func(child int) int { return 5 + child*10 }
	c.ProductSubscription.ReductionWindows = func(child int) int { return 5 + child*5 }
}
