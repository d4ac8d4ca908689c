package server

import (
	"context"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

const tracerName = "github.com/channelgraph/channelgraph/internal/server"

// traceHTTP starts a server span for each request (continuing an incoming
// W3C traceparent), named by method and route ("POST /graphql"), with the
// method, route, path, status and peer — never headers, the query string or
// the body, so no token or variable reaches a span. A websocket gets none:
// its span would last as long as the connection; each operation on it is a
// trace of its own instead.
func traceHTTP(tp trace.TracerProvider, next http.Handler) http.Handler {
	return otelhttp.NewHandler(next, "graphql",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()), // /metrics has its own
		otelhttp.WithFilter(func(r *http.Request) bool { return !websocket.IsWebSocketUpgrade(r) }),
	)
}

// operationTracer records a span for each GraphQL response: one per query or
// mutation, around its execution (and so the parent of its SQL spans), and
// one per event pushed to a subscription group. The span is named by type
// and operation name ("query DashboardOrders"), starts when the request's
// parsing did, and carries the operation's name and type, the viewer's
// organization and the outcome (ok or the first error's code) — never the
// document, variables or error messages, which can quote values.
type operationTracer struct {
	tracer trace.Tracer
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = operationTracer{}

func newOperationTracer(tp trace.TracerProvider) operationTracer {
	return operationTracer{tracer: tp.Tracer(tracerName)}
}

func (operationTracer) ExtensionName() string                          { return "OperationTracer" }
func (operationTracer) Validate(schema graphql.ExecutableSchema) error { return nil }

func (t operationTracer) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	name, kind := operationOf(ctx)
	if !operationName.MatchString(name) {
		name = "" // client-chosen: only a plain name names a span
	}
	spanName := kind
	attrs := []attribute.KeyValue{semconv.GraphQLOperationTypeKey.String(kind)}
	if name != "" {
		spanName += " " + name
		attrs = append(attrs, semconv.GraphQLOperationName(name))
	}
	attrs = append(attrs, attribute.String("channelgraph.viewer", viewerLabel(ctx)))
	opts := []trace.SpanStartOption{trace.WithAttributes(attrs...)}
	if start := startTime(ctx); !start.IsZero() {
		opts = append(opts, trace.WithTimestamp(start))
	}
	ctx, span := t.tracer.Start(ctx, spanName, opts...)
	defer span.End()

	resp := next(ctx)
	switch {
	case resp == nil:
		span.SetAttributes(attribute.String("channelgraph.outcome", "end"))
	case len(resp.Errors) > 0:
		outcome := "error"
		if code, ok := resp.Errors[0].Extensions["code"].(string); ok {
			outcome = code
		}
		span.SetAttributes(attribute.String("channelgraph.outcome", outcome),
			attribute.Int("channelgraph.graphql.errors", len(resp.Errors)))
		span.SetStatus(codes.Error, outcome)
	default:
		span.SetAttributes(attribute.String("channelgraph.outcome", "ok"))
	}
	return resp
}
