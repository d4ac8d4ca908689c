// Package server assembles Channelgraph's HTTP surface (SPEC §7.2): GraphQL
// at /graphql, GraphiQL at /, /healthz, /readyz and /metrics.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uptrace/bun"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/channelgraph/channelgraph/graph"
	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/graphiql"
	"github.com/channelgraph/channelgraph/internal/loaders"
	"github.com/channelgraph/channelgraph/internal/orders"
)

// Config is what the HTTP surface needs beyond the database.
type Config struct {
	// AdminToken, when set, is accepted as the platform administrator's token.
	AdminToken string
	// MaxBodyBytes bounds a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	Logger       *slog.Logger
}

// DefaultMaxBodyBytes bounds request bodies when Config leaves it 0.
const DefaultMaxBodyBytes = 1 << 20

// New returns the whole HTTP handler on db, which must be migrated.
func New(db *bun.DB, cfg Config) http.Handler {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	resolver := &graph.Resolver{
		Auth:    auth.New(db, cfg.AdminToken),
		Channel: channel.New(db),
		Catalog: catalog.New(db),
		Orders:  orders.New(db),
	}
	gql := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: resolver}))
	gql.AddTransport(transport.Options{})
	gql.AddTransport(transport.GET{})
	gql.AddTransport(transport.POST{})
	gql.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	gql.Use(extension.Introspection{})
	gql.AroundFields(markInternalErrors)
	gql.SetErrorPresenter(errorPresenter(cfg.Logger))
	gql.SetRecoverFunc(recoverFunc(cfg.Logger))

	var api http.Handler = gql
	api = loaders.Middleware(resolver.Channel, resolver.Catalog, resolver.Orders, api)
	api = authenticate(resolver.Auth, api)
	api = limitBody(cfg.MaxBodyBytes, api)

	mux := http.NewServeMux()
	mux.Handle("/graphql", api)
	mux.Handle("/", graphiql.Handler("Channelgraph", "/graphql"))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", ready(db))
	mux.Handle("GET /metrics", promhttp.Handler())
	return mux
}

// ready answers 200 only when the database answers and its schema is current.
func ready(db *bun.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := database.Ping(ctx, db); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		if err := database.Current(ctx, db); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	}
}

func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeError(w, http.StatusRequestEntityTooLarge, "BAD_USER_INPUT", "the request body is larger than the limit of "+itoa(max)+" bytes")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}
