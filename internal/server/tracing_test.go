package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// recorder is a tracer provider that keeps every span in memory.
func recorder(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

// send posts a GraphQL request as token with extra headers; the HTTP span
// ends just after the response is written, so callers wait for it.
func (a *api) send(token string, header http.Header, query string, vars map[string]any) *testapi.Response {
	a.TB.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return a.Post(header, token, "application/json", body)
}

// takeTrace waits until the HTTP server span of the last request has ended,
// then returns and clears every span recorded since the last call.
func takeTrace(t *testing.T, exp *tracetest.InMemoryExporter) tracetest.SpanStubs {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		spans := exp.GetSpans()
		if httpSpan(spans) != nil {
			exp.Reset()
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTP span was recorded; spans: %v", names(spans))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func httpSpan(spans tracetest.SpanStubs) *tracetest.SpanStub {
	for i := range spans {
		if spans[i].SpanKind == trace.SpanKindServer {
			return &spans[i]
		}
	}
	return nil
}

func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string) *tracetest.SpanStub {
	t.Helper()
	for i := range spans {
		if spans[i].Name == name {
			return &spans[i]
		}
	}
	t.Fatalf("no span %q among %v", name, names(spans))
	return nil
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func attr(s *tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// everything is every string a span carries: its name, status, attributes
// and events, to look for what must never be there.
func everything(s tracetest.SpanStub) string {
	var b strings.Builder
	b.WriteString(s.Name + "\n" + s.Status.Description + "\n")
	for _, kv := range s.Attributes {
		b.WriteString(string(kv.Key) + "=" + kv.Value.Emit() + "\n")
	}
	for _, ev := range s.Events {
		b.WriteString(ev.Name + "\n")
		for _, kv := range ev.Attributes {
			b.WriteString(string(kv.Key) + "=" + kv.Value.Emit() + "\n")
		}
	}
	return b.String()
}

// TestTracing: with a tracer provider, a request is one trace: an HTTP
// server span, the GraphQL operation's span as its child (named by the
// operation, with its type and outcome), and the SQL statements' spans as
// the operation's children (the token lookup as the HTTP span's), every span
// reachable from the root. An incoming traceparent is continued. The log
// line names the trace. No span carries a token, the Authorization header
// or a variable's value, whether sent by POST or in a GET's query string.
func TestTracing(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		tp, exp := recorder(t)
		logs := &syncBuffer{}
		f := newChannelFixtureWith(t, db, server.Config{TracerProvider: tp, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		var all tracetest.SpanStubs
		all = append(all, exp.GetSpans()...)
		exp.Reset()
		system := "sqlite"
		if strings.HasSuffix(t.Name(), "postgres") {
			system = "postgresql"
		}

		const secret = "SECRET-ORDER-NUMBER-4711"
		f.a.createOrder(f.tok[f.vendor], f.indirect(secret))
		all = append(all, takeTrace(t, exp)...)

		// A token not used before, so the request looks it up (a used one is remembered).
		vendorID, err := relay.ParseID("vendor", relay.TypeOrganization, f.vendor)
		if err != nil {
			t.Fatal(err)
		}
		fresh := f.a.MustToken(vendorID, domain.RoleViewer)
		res := f.a.send(fresh, nil, `query DashboardOrders { purchaseOrders(first: 5) { totalCount
			edges { node { number customer { name } reseller { name } } } } }`, nil)
		if res.Status != http.StatusOK || len(res.Errors) > 0 {
			t.Fatalf("query failed: %d %v", res.Status, res.Errors)
		}
		spans := takeTrace(t, exp)
		all = append(all, spans...)
		root := httpSpan(spans)
		if root.Name != "POST /graphql" || root.Parent.IsValid() {
			t.Fatalf("the HTTP span is %q with parent %v", root.Name, root.Parent)
		}
		if attr(root, "http.response.status_code") != "200" || attr(root, "http.route") != "/graphql" {
			t.Fatalf("the HTTP span's attributes: %v", root.Attributes)
		}
		op := spanNamed(t, spans, "query DashboardOrders")
		if op.Parent.SpanID() != root.SpanContext.SpanID() {
			t.Fatalf("the operation span's parent is %v, not the HTTP span", op.Parent.SpanID())
		}
		if attr(op, "graphql.operation.name") != "DashboardOrders" || attr(op, "graphql.operation.type") != "query" ||
			attr(op, "channelgraph.outcome") != "ok" || !strings.HasPrefix(attr(op, "channelgraph.viewer"), "organization:") {
			t.Fatalf("the operation span's attributes: %v", op.Attributes)
		}
		ids := map[trace.SpanID]bool{}
		for _, s := range spans {
			ids[s.SpanContext.SpanID()] = true
		}
		underOp, underHTTP := 0, 0
		for _, s := range spans {
			if s.SpanContext.TraceID() != root.SpanContext.TraceID() {
				t.Fatalf("span %q is in another trace", s.Name)
			}
			if s.SpanContext.SpanID() != root.SpanContext.SpanID() && !ids[s.Parent.SpanID()] {
				t.Fatalf("span %q's parent is not in the trace", s.Name)
			}
			if s.SpanKind != trace.SpanKindClient {
				continue
			}
			if attr(&s, "db.system.name") != system || attr(&s, "db.operation.name") == "" {
				t.Fatalf("SQL span %q's attributes: %v", s.Name, s.Attributes)
			}
			switch s.Parent.SpanID() {
			case op.SpanContext.SpanID():
				underOp++
			case root.SpanContext.SpanID():
				underHTTP++
			}
		}
		if underOp == 0 || underHTTP == 0 {
			t.Fatalf("SQL spans: %d under the operation, %d under the HTTP span (the token lookup); spans: %v", underOp, underHTTP, names(spans))
		}
		spanNamed(t, spans, "SELECT purchase_order_visibility") // the list reads the visibility index
		if want := "trace_id=" + root.SpanContext.TraceID().String(); !strings.Contains(logs.String(), want) {
			t.Fatalf("the log line does not name the trace (%s):\n%s", want, logs)
		}

		// An incoming W3C traceparent is continued.
		const traceID, parentID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
		f.a.send(f.tok[f.cust], http.Header{"Traceparent": {"00-" + traceID + "-" + parentID + "-01"}},
			`query Mine { purchaseOrders { totalCount } }`, nil)
		spans = takeTrace(t, exp)
		all = append(all, spans...)
		root = httpSpan(spans)
		if root.SpanContext.TraceID().String() != traceID || root.Parent.SpanID().String() != parentID || !root.Parent.IsRemote() {
			t.Fatalf("the HTTP span did not continue the traceparent: trace %s parent %s", root.SpanContext.TraceID(), root.Parent.SpanID())
		}
		if op := spanNamed(t, spans, "query Mine"); op.SpanContext.TraceID().String() != traceID {
			t.Fatal("the operation span left the incoming trace")
		}

		// A refused operation's span says why, by code only.
		f.a.send(f.tok[f.vendor], nil, `query Broken($n: String) { purchaseOrders(first: 1000, filter: {search: $n}) { totalCount } }`,
			map[string]any{"n": secret})
		spans = takeTrace(t, exp)
		all = append(all, spans...)
		broken := spanNamed(t, spans, "query Broken")
		if broken.Status.Code.String() != "Error" || broken.Status.Description != "BAD_USER_INPUT" || attr(broken, "channelgraph.outcome") != "BAD_USER_INPUT" {
			t.Fatalf("the refused operation's span: %v %v", broken.Status, broken.Attributes)
		}

		// A GET carries the query and variables in its URL.
		q := url.Values{"query": {`query Get($n: String) { purchaseOrders(filter: {search: $n}) { totalCount } }`}, "variables": {`{"n": "` + secret + `"}`}}
		req, _ := http.NewRequest(http.MethodGet, f.a.URL+"?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+f.tok[f.dist])
		get, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		get.Body.Close()
		spans = takeTrace(t, exp)
		all = append(all, spans...)
		spanNamed(t, spans, "GET /graphql")
		spanNamed(t, spans, "query Get")

		secrets := []string{secret, "Bearer", testapi.AdminToken}
		for _, tok := range f.tok {
			secrets = append(secrets, tok)
		}
		for _, s := range all {
			text := everything(s)
			for _, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Fatalf("span %q carries %q:\n%s", s.Name, secret, text)
				}
			}
		}
	})
}

// TestTracingOff: without a tracer provider the server records nothing,
// even with a global provider set and an incoming traceparent, and its log
// lines name no trace.
func TestTracingOff(t *testing.T) {
	tp, exp := recorder(t)
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(previous) })
	logs := &syncBuffer{}
	f := newChannelFixtureWith(t, testdb.MustOpen(t, "sqlite"), server.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	f.a.send(f.tok[f.vendor], http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}},
		`query Dashboard { purchaseOrders { totalCount } }`, nil)
	time.Sleep(50 * time.Millisecond) // a span, were one started, ends just after the response
	if spans := exp.GetSpans(); len(spans) > 0 {
		t.Fatalf("tracing is off but %d spans were recorded: %v", len(spans), names(spans))
	}
	if strings.Contains(logs.String(), "trace_id") {
		t.Fatalf("a log line names a trace with tracing off:\n%s", logs)
	}
}

// TestTracingPushedEvents: a websocket has no HTTP span (it would last as
// long as the connection); each event pushed to a subscription is a span of
// its own.
func TestTracingPushedEvents(t *testing.T) {
	tp, exp := recorder(t)
	f := newChannelFixtureWith(t, testdb.MustOpen(t, "sqlite"), server.Config{TracerProvider: tp})
	c := f.a.dialWS(f.tok[f.vendor], false)
	c.subscribe("1", `subscription Orders { purchaseOrderUpdated { purchaseOrder { number customer { name } } } }`, nil)
	waitForSubscribers(t, f, 1)
	exp.Reset()
	f.a.createOrder(f.tok[f.vendor], f.indirect("P-1"))
	c.nextPO()
	deadline := time.Now().Add(5 * time.Second)
	for {
		spans := exp.GetSpans()
		for i := range spans {
			if spans[i].SpanKind == trace.SpanKindServer && strings.Contains(spans[i].Name, "GET") {
				t.Fatalf("the websocket got an HTTP span")
			}
		}
		var pushed *tracetest.SpanStub
		for i := range spans {
			if spans[i].Name == "subscription Orders" {
				pushed = &spans[i]
			}
		}
		if pushed != nil {
			if attr(pushed, "channelgraph.outcome") != "ok" || pushed.Parent.IsValid() {
				t.Fatalf("the pushed event's span: %v, parent %v", pushed.Attributes, pushed.Parent)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no span for the pushed event; spans: %v", names(spans))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
