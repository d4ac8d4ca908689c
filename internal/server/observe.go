package server

import (
	"context"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
)

// observer counts, times and logs every GraphQL response: one log line per
// query or mutation (per pushed event at debug level), and Prometheus
// metrics by operation name, operation type and outcome, with the trace id
// when tracing is on. It never logs a token or a variable.
type observer struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	names    operationNames
	log      *slog.Logger
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = (*observer)(nil)

func newObserver(reg prometheus.Registerer, log *slog.Logger) *observer {
	labels := []string{"operation", "type", "outcome"}
	o := &observer{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "channelgraph_graphql_responses_total",
			Help: "GraphQL responses (a pushed event is one) by operation name, type and outcome."}, labels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "channelgraph_graphql_response_seconds",
			Help:    "Time from the start of an operation (or of a pushed event's execution) to its response.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, labels),
		names: operationNames{seen: map[string]bool{}},
		log:   log,
	}
	reg.MustRegister(o.requests, o.latency)
	return o
}

func (*observer) ExtensionName() string                          { return "Observer" }
func (*observer) Validate(schema graphql.ExecutableSchema) error { return nil }

func (o *observer) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	name, kind := operationOf(ctx)
	outcome := "ok"
	if len(resp.Errors) > 0 {
		outcome = "error"
		if code, ok := resp.Errors[0].Extensions["code"].(string); ok {
			outcome = code
		}
	}
	var elapsed time.Duration
	if start := startTime(ctx); !start.IsZero() {
		elapsed = time.Since(start)
	}
	label := o.names.label(name)
	o.requests.WithLabelValues(label, kind, outcome).Inc()
	o.latency.WithLabelValues(label, kind, outcome).Observe(elapsed.Seconds())
	level := slog.LevelInfo
	if kind == "subscription" {
		level = slog.LevelDebug
	}
	args := []any{"operation", label, "type", kind, "viewer", viewerLabel(ctx),
		"duration_ms", float64(elapsed.Microseconds()) / 1000, "outcome", outcome}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		args = append(args, "trace_id", sc.TraceID().String())
	}
	o.log.Log(ctx, level, "graphql", args...)
	return resp
}

// startTime is when the operation's trace started; gqlgen's getter panics
// on a context without one, which some error paths have.
func startTime(ctx context.Context) (t time.Time) {
	defer func() { _ = recover() }()
	return graphql.GetStartTime(ctx)
}

func viewerLabel(ctx context.Context) string {
	v, err := domain.ViewerFrom(ctx)
	switch {
	case err != nil:
		return "anonymous"
	case v.IsPlatformAdmin:
		return "platform-admin"
	}
	return "organization:" + strconv.FormatInt(v.OrganizationID, 10)
}

// operationNames bounds the operation label: clients choose names, and an
// unbounded label would let them grow the metrics without end.
type operationNames struct {
	mu   sync.Mutex
	seen map[string]bool
}

const maxOperationNames = 200

var operationName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func (n *operationNames) label(name string) string {
	switch {
	case name == "":
		return "anonymous"
	case !operationName.MatchString(name):
		return "invalid"
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.seen[name] && len(n.seen) >= maxOperationNames {
		return "other"
	}
	n.seen[name] = true
	return name
}

// registerGauges exposes the push and database state: live websockets and
// subscriptions, this replica's lag behind the event log, and the pool.
func (s *Server) registerGauges(reg prometheus.Registerer) {
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(s.db.DB, "channelgraph"),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "channelgraph_websocket_connections",
			Help: "Open websocket connections."}, func() float64 { return float64(s.ws.Connections()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "channelgraph_subscriptions",
			Help: "Live subscriptions."}, func() float64 { m, _ := s.hub.Subscribers(); return float64(m) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "channelgraph_subscription_groups",
			Help: "Groups of subscribers sharing one execution per event."}, func() float64 { _, g := s.hub.Subscribers(); return float64(g) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "channelgraph_event_log_lag_events",
			Help: "Events committed that this replica has not yet pushed."}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			head, err := events.Head(ctx, s.db)
			if err != nil {
				return -1
			}
			return float64(head - s.pushed.Last())
		}),
	)
}

// operationOf is the running operation's name (as the request gives it, or
// else as the document does; "" when it has none) and type ("unknown" when
// the request did not get as far as choosing an operation).
func operationOf(ctx context.Context) (name, kind string) {
	kind = "unknown"
	if !graphql.HasOperationContext(ctx) {
		return "", kind
	}
	rc := graphql.GetOperationContext(ctx)
	name = rc.OperationName
	if rc.Operation != nil {
		kind = string(rc.Operation.Operation)
		if name == "" {
			name = rc.Operation.Name
		}
	}
	return name, kind
}
