package tracing_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/channelgraph/channelgraph/internal/tracing"
)

var variables = []string{
	"CHANNELGRAPH_TRACING", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
}

// TestChoice: tracing is off unless asked for, by CHANNELGRAPH_TRACING or
// else the standard OTEL_TRACES_EXPORTER; every setting it reads is
// checked, and a wrong one is an error naming the variable.
func TestChoice(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want tracing.Exporter
		err  string
	}{
		{env: nil, want: tracing.Off},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "off"}, want: tracing.Off},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "otlp"}, want: tracing.OTLP},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "STDOUT"}, want: tracing.Stdout},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "jaeger"}, err: "CHANNELGRAPH_TRACING must be off, otlp or stdout"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, want: tracing.Off},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, want: tracing.OTLP},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "console"}, want: tracing.Stdout},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "none"}, want: tracing.Off},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, err: "OTEL_TRACES_EXPORTER must be otlp, console or none"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, want: tracing.Off},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "maybe"}, err: "OTEL_SDK_DISABLED must be true or false"},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "off", "OTEL_TRACES_EXPORTER": "otlp"}, want: tracing.Off},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example:4318"}, want: tracing.OTLP},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, err: "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL"},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://x"}, err: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be"},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, err: "OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf"},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, want: tracing.OTLP},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "stdout", "OTEL_TRACES_SAMPLER": "sometimes"}, err: "OTEL_TRACES_SAMPLER must be one of"},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "stdout", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}, want: tracing.Stdout},
		{env: map[string]string{"CHANNELGRAPH_TRACING": "stdout", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, err: "OTEL_TRACES_SAMPLER_ARG must be a ratio"},
	} {
		for _, name := range variables {
			t.Setenv(name, tc.env[name])
		}
		got, err := tracing.Choice()
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: error %v, want %q", tc.env, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%v: %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
}

// TestNew: off gives no provider at all; stdout prints each span, with the
// service's name and version, once it ends.
func TestNew(t *testing.T) {
	for _, name := range variables {
		t.Setenv(name, "")
	}
	var out bytes.Buffer
	tp, exp, err := tracing.New(context.Background(), &out, "v1.2.3")
	if tp != nil || exp != tracing.Off || err != nil {
		t.Fatalf("off: %v %q %v", tp, exp, err)
	}
	t.Setenv("CHANNELGRAPH_TRACING", "stdout")
	tp, exp, err = tracing.New(context.Background(), &out, "v1.2.3")
	if tp == nil || exp != tracing.Stdout || err != nil {
		t.Fatalf("stdout: %v %q %v", tp, exp, err)
	}
	_, span := tp.Tracer("test").Start(context.Background(), "hello-span")
	span.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Name": "hello-span"`, `"Value": "channelgraph"`, `"Value": "v1.2.3"`} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("stdout lacks %s:\n%s", want, out.String())
		}
	}
}
