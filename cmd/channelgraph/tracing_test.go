package main

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

const testAdminToken = "tracing-test-admin-token-0123456789"

// tracingEnv clears the tracing settings a developer's or CI's environment
// may carry, and starts serve on a fresh SQLite database.
func tracingEnv(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, name := range []string{"CHANNELGRAPH_TRACING", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER",
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_TRACES_SAMPLER", "OTEL_SERVICE_NAME",
		"OTEL_RESOURCE_ATTRIBUTES", "CHANNELGRAPH_DEMO", "CHANNELGRAPH_DATABASE_URL"} {
		t.Setenv(name, "")
	}
	t.Setenv("CHANNELGRAPH_ADDR", "127.0.0.1:0")
	t.Setenv("CHANNELGRAPH_ADMIN_TOKEN", testAdminToken)
}

// TestServeExportsTraces: with CHANNELGRAPH_TRACING=otlp, serve sends its
// spans to the OTLP/HTTP endpoint of OTEL_EXPORTER_OTLP_ENDPOINT, and its
// graceful shutdown flushes them (the batch delay is set far beyond the
// test, so only the shutdown can have sent them). No span carries the token.
func TestServeExportsTraces(t *testing.T) {
	tracingEnv(t)
	var mu sync.Mutex
	var batches []*tracepb.TracesData
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, _ := io.ReadAll(body)
		// ExportTraceServiceRequest has TracesData's wire format.
		td := &tracepb.TracesData{}
		if err := proto.Unmarshal(raw, td); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		batches = append(batches, td)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("CHANNELGRAPH_TRACING", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "channelgraph-test")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")

	url, _, stop := startServe(t)
	query(t, url, testAdminToken, `query AdminOrganizations { organizations { totalCount } }`, nil)
	stop()

	mu.Lock()
	defer mu.Unlock()
	spans := map[string]*tracepb.Span{}
	service := ""
	for _, td := range batches {
		for _, rs := range td.ResourceSpans {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans[s.Name] = s
					if strings.Contains(s.String(), testAdminToken) {
						t.Fatalf("span %q carries the token", s.Name)
					}
				}
			}
		}
	}
	if service != "channelgraph-test" {
		t.Fatalf("service.name is %q, not OTEL_SERVICE_NAME", service)
	}
	root, op := spans["POST /graphql"], spans["query AdminOrganizations"]
	if root == nil || op == nil {
		t.Fatalf("spans exported: %v", keys(spans))
	}
	if string(op.ParentSpanId) != string(root.SpanId) || string(op.TraceId) != string(root.TraceId) {
		t.Fatal("the operation span is not the HTTP span's child")
	}
}

// TestServeTracesToStdout: CHANNELGRAPH_TRACING=stdout prints the spans as
// JSON to standard output, for trying tracing without a collector.
func TestServeTracesToStdout(t *testing.T) {
	tracingEnv(t)
	t.Setenv("CHANNELGRAPH_TRACING", "stdout")
	url, out, stop := startServe(t)
	query(t, url, testAdminToken, `query AdminOrganizations { organizations { totalCount } }`, nil)
	stop()
	for _, want := range []string{`"Name": "POST /graphql"`, `"Name": "query AdminOrganizations"`, `"Name": "SELECT organizations"`} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("stdout lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), testAdminToken) {
		t.Fatal("stdout carries the token")
	}
}

// TestServeRefusesBadTracingSettings: a wrong tracing setting stops serve
// at startup with an error naming it.
func TestServeRefusesBadTracingSettings(t *testing.T) {
	tracingEnv(t)
	t.Setenv("CHANNELGRAPH_TRACING", "jaeger")
	err := run(context.Background(), []string{"serve"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "CHANNELGRAPH_TRACING must be off, otlp or stdout") {
		t.Fatalf("serve with CHANNELGRAPH_TRACING=jaeger: %v", err)
	}
	t.Setenv("CHANNELGRAPH_TRACING", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	err = run(context.Background(), []string{"serve"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf") {
		t.Fatalf("serve with OTLP over gRPC: %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
