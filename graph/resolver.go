// Package graph is the GraphQL layer: gqlgen's generated executor and thin
// resolvers that translate GraphQL arguments into calls on the domain
// services under internal/, and domain errors into GraphQL errors.
package graph

//go:generate go run ./generate

import (
	"github.com/channelgraph/channelgraph/internal/audit"
	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/carts"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/delegation"
	"github.com/channelgraph/channelgraph/internal/invitations"
	"github.com/channelgraph/channelgraph/internal/members"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/partners"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/subscriptions"
	"github.com/channelgraph/channelgraph/internal/tenants"
	"github.com/channelgraph/channelgraph/internal/testclock"
	"github.com/channelgraph/channelgraph/internal/webhooks"
)

// Resolver holds the services resolvers call.
type Resolver struct {
	Auth    *auth.Service
	Channel *channel.Service
	Catalog *catalog.Service
	Orders  *orders.Service
	Carts   *carts.Service
	Tenancy *tenants.Service // not "Tenants": Organization.tenants is a resolver method
	Pricing *pricing.Service
	Members *members.Service
	// Subscriptions is the product subscriptions' service (not GraphQL's
	// root Subscription type).
	Subscriptions *subscriptions.Service
	Invitations   *invitations.Service
	Delegation    *delegation.Service
	Audit         *audit.Service
	Partners      *partners.Service
	Webhooks      *webhooks.Service
	// TestClock moves the deployment's clock (SPEC §8.5); it refuses every
	// move unless the server was started with the test clock on.
	TestClock *testclock.Service
}
