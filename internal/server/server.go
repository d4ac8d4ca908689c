// Package server assembles Channelgraph's HTTP surface (SPEC §7.2): GraphQL
// at /graphql over HTTP and websockets, GraphiQL at /, /healthz, /readyz and
// /metrics, and the background work behind live push: the event-log tailer
// and the built-in tenant provisioner.
package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uptrace/bun"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/trace"

	"github.com/channelgraph/channelgraph/graph"
	"github.com/channelgraph/channelgraph/internal/audit"
	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/carts"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/delegation"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/graphiql"
	"github.com/channelgraph/channelgraph/internal/invitations"
	"github.com/channelgraph/channelgraph/internal/loaders"
	"github.com/channelgraph/channelgraph/internal/members"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/partners"
	"github.com/channelgraph/channelgraph/internal/pricing"
	"github.com/channelgraph/channelgraph/internal/push"
	"github.com/channelgraph/channelgraph/internal/subscriptions"
	"github.com/channelgraph/channelgraph/internal/tenants"
	"github.com/channelgraph/channelgraph/internal/testclock"
	"github.com/channelgraph/channelgraph/internal/webhooks"
	"github.com/channelgraph/channelgraph/internal/wstransport"
)

// Config is what the server needs beyond the database.
type Config struct {
	// DatabaseURL is the URL db was opened with; on PostgreSQL the event
	// tailer LISTENs on its own connection to it.
	DatabaseURL string
	// AdminToken, when set, is accepted as the platform administrator's token.
	AdminToken string
	// JWT, when set, turns on sign-in with JWTs from its issuer (SPEC §8.1).
	JWT *auth.JWTConfig
	// MaxBodyBytes bounds a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// AllowedOrigins may open websockets from browsers besides same-origin pages.
	AllowedOrigins []string
	// ProvisionStep is the built-in provisioner's delay per step; 0 turns
	// it off (an external fulfilment system reports the steps).
	ProvisionStep time.Duration
	// Websocket tunes the websocket transport (zero values take its defaults).
	Websocket wstransport.Options
	// Limits bound each operation (zero values take DefaultLimits).
	Limits Limits
	// RateLimit bounds each token's requests over HTTP (zero: no limit).
	RateLimit RateLimit
	// AllowList, when set, is the only operations the server runs (by text
	// or hash); automatic persisted queries are then off.
	AllowList AllowList
	// RequestTimeout bounds one query's or mutation's execution (0:
	// DefaultRequestTimeout); subscriptions live on.
	RequestTimeout time.Duration
	// NoIntrospection turns off introspection and "did you mean" field
	// suggestions, for production deployments that publish no schema.
	NoIntrospection bool
	// Clock is where every rule reads the time (nil: the system clock). A
	// *clock.Adjustable here is the test clock the platform administrator
	// may move with advanceTestClock.
	Clock clock.Clock
	// TracerProvider, when set, turns tracing on: a span per HTTP request,
	// per GraphQL operation and per SQL statement (see tracing.go). Nil
	// installs no instrumentation at all.
	TracerProvider trace.TracerProvider
	// Demo, when set, is the demo data this server serves: GraphiQL at /
	// then opens on Demo.Document with a picker of Demo.Personas, whose
	// tokens it embeds in the page. Nil (production) shows neither.
	Demo   *graphiql.Demo
	Logger *slog.Logger
	// PublicURL is where customers open invitation links (empty:
	// invitations.DefaultPublicURL).
	PublicURL string
	// Webhooks tunes webhook delivery (SPEC §8.9).
	Webhooks WebhookConfig
}

// WebhookConfig is where webhooks may go and how they are delivered.
type WebhookConfig struct {
	// AllowPrivate lets endpoints be registered at, and connect to,
	// loopback and private addresses, over http too
	// (CHANNELGRAPH_WEBHOOK_ALLOW_PRIVATE=1): for development and tests.
	AllowPrivate bool
	// Delivery tunes attempts, retries and leases (zero values: defaults).
	Delivery webhooks.DeliveryConfig
	// Lookup resolves endpoints' host names (nil: the system resolver):
	// tests make a name resolve somewhere else at connect time.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// DefaultMaxBodyBytes bounds request bodies when Config leaves it 0.
const DefaultMaxBodyBytes = 1 << 20

// DefaultRequestTimeout bounds an HTTP operation when Config leaves it 0.
const DefaultRequestTimeout = 15 * time.Second

// Server is Channelgraph's HTTP handler and background work.
type Server struct {
	cfg     Config
	db      *bun.DB
	handler http.Handler
	tailer  *events.Tailer
	pushed  *events.Consumer // the hub's reading of the log
	hub     *push.Hub
	ws      *wstransport.Transport
	prov    *tenants.Provisioner
	carts   *carts.Service
	subs    *subscriptions.Service
	auth    *auth.Service
	hooks   *webhooks.Deliverer

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New assembles the server on db, which must be migrated. Call Start to run
// its background work and Close to stop it. db serves this server alone: New
// adds a query hook to it (to wake the event tailer on commit), which bun
// does not allow while another server is already running queries on it.
func New(ctx context.Context, db *bun.DB, cfg Config) (*Server, error) {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	resolver := &graph.Resolver{
		Auth:    auth.New(db, cfg.AdminToken),
		Channel: channel.New(db),
		Catalog: catalog.New(db),
		Orders:  orders.New(db),
		Tenancy: tenants.New(db),
		Pricing: pricing.New(db),
		Members: members.New(db),

		Subscriptions: subscriptions.New(db),
		Invitations:   invitations.New(db),
		Delegation:    delegation.New(db),
		Audit:         audit.New(db),
		Partners:      partners.New(db),
	}
	resolver.Members.Now, resolver.Subscriptions.Now = cfg.Clock.Now, cfg.Clock.Now
	resolver.Invitations.Now, resolver.Delegation.Now, resolver.Audit.Now = cfg.Clock.Now, cfg.Clock.Now, cfg.Clock.Now
	if cfg.PublicURL != "" {
		resolver.Invitations.PublicURL = cfg.PublicURL
	}
	resolver.Members.Changed = resolver.Auth.ForgetMember
	resolver.Orders.OnCompleted = append(resolver.Orders.OnCompleted, subscriptions.CreateForOrderInTx)
	resolver.Pricing.Now = cfg.Clock.Now
	resolver.Carts = carts.New(db, resolver.Catalog)
	resolver.Carts.Now = cfg.Clock.Now
	resolver.Auth.Now, resolver.Channel.Now, resolver.Catalog.Now = cfg.Clock.Now, cfg.Clock.Now, cfg.Clock.Now
	resolver.Orders.Now, resolver.Tenancy.Now = cfg.Clock.Now, cfg.Clock.Now
	if cfg.JWT != nil {
		if err := resolver.Auth.ConfigureJWT(ctx, *cfg.JWT); err != nil {
			return nil, err
		}
	}
	adjustable, _ := cfg.Clock.(*clock.Adjustable)
	resolver.TestClock = testclock.New(adjustable)
	cfg.Limits = cfg.Limits.withDefaults()
	schema := graph.NewExecutableSchema(graph.Config{Resolvers: resolver, Complexity: graph.Complexity()})
	gql := handler.New(schema)
	gql.AddTransport(httpTransport{}) // websockets are wstransport's, below
	registry := prometheus.NewRegistry()
	obs := newObserver(registry, cfg.Logger)
	configure(gql, cfg, obs)
	exec := executor.New(schema)
	configure(exec, cfg, obs)
	if cfg.TracerProvider != nil {
		database.Trace(db, cfg.TracerProvider) // before anything runs queries on db
	}

	tailer, err := events.NewTailer(ctx, db, cfg.DatabaseURL, cfg.Logger)
	if err != nil {
		return nil, err
	}
	head, err := events.Head(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("server: reading the event log's head: %w", err)
	}
	withLoaders := func(ctx context.Context) context.Context {
		return loaders.Attach(ctx, loaders.New(resolver.Channel, resolver.Catalog, resolver.Orders, resolver.Tenancy, resolver.Pricing, loaders.EventWait))
	}
	s := &Server{cfg: cfg, db: db, tailer: tailer, carts: resolver.Carts, subs: resolver.Subscriptions, auth: resolver.Auth,
		hub: push.New(exec, db, withLoaders, cfg.Logger, head)}
	s.pushed = tailer.Attach("push", head, s.hub.Dispatch)
	stored := storedOperations{s.hub}
	targets := &webhooks.Targets{AllowPrivate: cfg.Webhooks.AllowPrivate, Lookup: cfg.Webhooks.Lookup}
	s.hooks = webhooks.NewDeliverer(db, stored, targets, cfg.Webhooks.Delivery, cfg.Logger, registry)
	s.hooks.Now = cfg.Clock.Now
	tailer.Attach("webhooks", head, s.hooks.Dispatch)
	resolver.Webhooks = webhooks.New(db, stored)
	resolver.Webhooks.Now, resolver.Webhooks.Targets, resolver.Webhooks.Wake = cfg.Clock.Now, targets, s.hooks.Wake
	if cfg.ProvisionStep > 0 {
		s.prov = tenants.NewProvisioner(resolver.Tenancy, cfg.ProvisionStep, cfg.Logger)
	}

	var api http.Handler = gql
	api = loaders.Middleware(resolver.Channel, resolver.Catalog, resolver.Orders, resolver.Tenancy, resolver.Pricing, api)
	api = limitRate(cfg.RateLimit, api)
	api = authenticate(resolver.Auth, api)
	api = limitBody(cfg.MaxBodyBytes, api)
	s.ws = wstransport.Handler(wsExecutor{hub: s.hub, auth: resolver.Auth}, withLogger(cfg.Websocket, cfg.Logger), api)
	api = s.ws

	mux := http.NewServeMux()
	if cfg.TracerProvider != nil {
		api = traceHTTP(cfg.TracerProvider, api)
	}
	mux.Handle("/graphql", api)
	if cfg.Demo != nil {
		mux.Handle("/", graphiql.DemoHandler("Channelgraph (demo)", "/graphql", *cfg.Demo))
	} else {
		mux.Handle("/", graphiql.Handler("Channelgraph", "/graphql"))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", ready(db))
	s.registerGauges(registry)
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	s.handler = mux
	return s, nil
}

// configurable is what gqlgen's HTTP handler and its bare executor share,
// so both run with the same extensions and error handling.
type configurable interface {
	Use(graphql.HandlerExtension)
	AroundFields(graphql.FieldMiddleware)
	SetErrorPresenter(graphql.ErrorPresenterFunc)
	SetRecoverFunc(graphql.RecoverFunc)
	SetQueryCache(graphql.Cache[*ast.QueryDocument])
	SetDisableSuggestion(bool)
}

func configure(c configurable, cfg Config, obs *observer) {
	c.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if cfg.TracerProvider != nil {
		c.Use(newOperationTracer(cfg.TracerProvider)) // outside the observer, whose log line names the trace
	}
	c.Use(obs)
	if cfg.NoIntrospection {
		c.SetDisableSuggestion(true)
	} else {
		c.Use(extension.Introspection{})
	}
	if cfg.AllowList != nil {
		c.Use(allowListOnly{cfg.AllowList})
	} else {
		// Automatic persisted queries: a client may send only the query's
		// SHA-256 once the server has seen it.
		c.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	}
	c.Use(shapeLimit{cfg.Limits})
	c.Use(timeLimit{cfg.RequestTimeout})
	c.Use(extension.FixedComplexityLimit(cfg.Limits.MaxComplexity))
	c.Use(freshLoaders{})
	c.AroundFields(markInternalErrors)
	c.SetErrorPresenter(errorPresenter(cfg.Logger))
	c.SetRecoverFunc(recoverFunc(cfg.Logger))
}

// freshLoaders gives each mutation of an operation its own loaders: the
// loaders cache what a request has read, and mutations run one after another,
// so a mutation's payload would otherwise read what an earlier mutation of the
// same request loaded before this one changed it.
type freshLoaders struct{}

func (freshLoaders) ExtensionName() string                          { return "FreshLoaders" }
func (freshLoaders) Validate(schema graphql.ExecutableSchema) error { return nil }

func (freshLoaders) InterceptRootField(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	if graphql.GetOperationContext(ctx).Operation.Operation == ast.Mutation {
		ctx = loaders.Renew(ctx)
	}
	return next(ctx)
}

func withLogger(o wstransport.Options, log *slog.Logger) wstransport.Options {
	if o.Logger == nil {
		o.Logger = log
	}
	return o
}

// Handler is the HTTP surface.
func (s *Server) Handler() http.Handler { return s.handler }

// Hub exposes the push hub (for tests and metrics).
func (s *Server) Hub() *push.Hub { return s.hub }

// Start runs the background work until Close: sequencing and tailing the
// event log into the push hub, and the built-in provisioner when configured.
func (s *Server) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.tailer.Run(ctx)
	}()
	if s.prov != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.prov.Run(ctx)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.carts.RunExpirer(ctx, QuoteExpiryTick, s.cfg.Logger)
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.subs.RunRenewer(ctx, RenewalTick, s.cfg.Logger)
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.hooks.Run(ctx)
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.auth.WatchCredentials(ctx, s.cfg.Logger)
	}()
}

// RenewalTick is how often the server looks for subscriptions whose term
// has ended, to renew or expire them.
const RenewalTick = time.Second

// QuoteExpiryTick is how often the server stores EXPIRED on quotes past
// their expiry and announces it (reads show EXPIRED at once regardless).
const QuoteExpiryTick = time.Second

// CloseWebsockets closes every websocket with 1001 and a hint to resubscribe
// from the last cursor, and refuses new ones: the first step of a graceful
// shutdown, since http.Server.Shutdown does not track hijacked connections.
func (s *Server) CloseWebsockets(ctx context.Context) error { return s.ws.Shutdown(ctx) }

// Close stops the background work and waits for it.
func (s *Server) Close() {
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
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

// limitBody bounds request bodies and refuses batched requests (a JSON
// array of operations) with a clear answer rather than a decoding error.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tooLarge := "the request body is larger than the limit of " + itoa(max) + " bytes"
		if r.ContentLength > max {
			writeError(w, r, http.StatusRequestEntityTooLarge, "BAD_USER_INPUT", tooLarge)
			return
		}
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if err != nil {
			writeError(w, r, http.StatusRequestEntityTooLarge, "BAD_USER_INPUT", tooLarge)
			return
		}
		if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
			writeError(w, r, http.StatusBadRequest, "BAD_USER_INPUT", "batched requests are not supported: send one operation per request")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
