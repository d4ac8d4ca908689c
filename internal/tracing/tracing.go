// Package tracing switches OpenTelemetry tracing on from the environment.
// It is off unless asked for: then the server installs no instrumentation at
// all, so tracing costs nothing.
//
// CHANNELGRAPH_TRACING chooses the exporter: off (the default), otlp (OTLP
// over HTTP/protobuf, configured by the standard OTEL_EXPORTER_OTLP_*
// variables) or stdout (each span printed as JSON as it ends, for trying it
// locally). When CHANNELGRAPH_TRACING is unset the standard
// OTEL_TRACES_EXPORTER decides instead (otlp, console or none), unless
// OTEL_SDK_DISABLED is true. OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER(_ARG) and OTEL_BSP_* are honoured as usual.
package tracing

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Exporter names where spans go.
type Exporter string

const (
	Off    Exporter = "off"
	OTLP   Exporter = "otlp"
	Stdout Exporter = "stdout"
)

// Choice reads which exporter the environment asks for, and checks the
// settings that exporter reads, so a mistake stops the server at startup
// with a clear message rather than losing spans quietly.
func Choice() (Exporter, error) {
	exp, err := exporterChoice()
	if err != nil || exp == Off {
		return exp, err
	}
	if err := checkSampler(); err != nil {
		return "", err
	}
	if exp == OTLP {
		if err := checkOTLP(); err != nil {
			return "", err
		}
	}
	return exp, nil
}

func exporterChoice() (Exporter, error) {
	if v, ok := os.LookupEnv("CHANNELGRAPH_TRACING"); ok && strings.TrimSpace(v) != "" {
		switch e := Exporter(strings.ToLower(strings.TrimSpace(v))); e {
		case Off, OTLP, Stdout:
			return e, nil
		}
		return "", fmt.Errorf("CHANNELGRAPH_TRACING must be off, otlp or stdout, not %q", v)
	}
	if disabled := strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")); disabled != "" {
		off, err := strconv.ParseBool(disabled)
		if err != nil {
			return "", fmt.Errorf("OTEL_SDK_DISABLED must be true or false, not %q", disabled)
		}
		if off {
			return Off, nil
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER"))); v {
	case "", "none":
		return Off, nil
	case "otlp":
		return OTLP, nil
	case "console":
		return Stdout, nil
	default:
		return "", fmt.Errorf("OTEL_TRACES_EXPORTER must be otlp, console or none, not %q (or set CHANNELGRAPH_TRACING)", v)
	}
}

// checkOTLP checks the OTLP settings this exporter reads: only
// HTTP/protobuf is built in, and an endpoint must be an http(s) URL.
func checkOTLP() error {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" && v != "http/protobuf" {
			return fmt.Errorf("%s must be http/protobuf (the only OTLP protocol built in), not %q", name, v)
		}
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s must be an http:// or https:// URL such as http://localhost:4318, not %q", name, v)
		}
	}
	return nil
}

// checkSampler checks OTEL_TRACES_SAMPLER and its argument, which the SDK
// would otherwise replace with its default when they are wrong.
func checkSampler() error {
	sampler := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER")))
	switch sampler {
	case "", "always_on", "always_off", "parentbased_always_on", "parentbased_always_off":
		return nil
	case "traceidratio", "parentbased_traceidratio":
		arg := strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER_ARG"))
		if arg == "" {
			return nil
		}
		if r, err := strconv.ParseFloat(arg, 64); err != nil || r < 0 || r > 1 {
			return fmt.Errorf("OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, not %q", arg)
		}
		return nil
	}
	return fmt.Errorf("OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, "+
		"parentbased_always_on, parentbased_always_off, parentbased_traceidratio, not %q", sampler)
}

// New returns the tracer provider the environment asks for, or nil when
// tracing is off. stdout receives the spans of the stdout exporter. The
// caller must Shutdown the provider to flush its last spans.
func New(ctx context.Context, stdout io.Writer, version string) (*sdktrace.TracerProvider, Exporter, error) {
	exp, err := Choice()
	if err != nil || exp == Off {
		return nil, exp, err
	}
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName("channelgraph"), semconv.ServiceVersion(version)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, exp, fmt.Errorf("tracing: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	switch exp {
	case OTLP:
		// Connects lazily: a collector that is down costs spans, not startup.
		e, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, exp, fmt.Errorf("tracing: OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(e))
	case Stdout:
		e, err := stdouttrace.New(stdouttrace.WithWriter(stdout), stdouttrace.WithPrettyPrint())
		if err != nil {
			return nil, exp, fmt.Errorf("tracing: stdout exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithSyncer(e)) // printed as each span ends
	}
	return sdktrace.NewTracerProvider(opts...), exp, nil
}
