// Package graph is the GraphQL layer: gqlgen's generated executor and thin
// resolvers that translate GraphQL arguments into calls on the domain
// services under internal/, and domain errors into GraphQL errors.
package graph

//go:generate go run ./generate

import (
	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/tenants"
	"github.com/channelgraph/channelgraph/internal/testclock"
)

// Resolver holds the services resolvers call.
type Resolver struct {
	Auth    *auth.Service
	Channel *channel.Service
	Catalog *catalog.Service
	Orders  *orders.Service
	Tenancy *tenants.Service // not "Tenants": Organization.tenants is a resolver method
	// TestClock moves the deployment's clock (SPEC §8.5); it refuses every
	// move unless the server was started with the test clock on.
	TestClock *testclock.Service
}
