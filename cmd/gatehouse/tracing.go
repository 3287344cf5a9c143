package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	sdbserver "github.com/authzed/spicedb/pkg/cmd/server"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace/noop"
)

// setupTracing installs the process's OpenTelemetry tracer provider.
// Without OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) nothing
// reads a span, so the provider is a no-op: the embedded SpiceDB starts
// spans on every dispatch, and OpenTelemetry's default global provider
// still builds each one. With it, spans go by OTLP over gRPC to that
// endpoint (the exporter reads the standard OTEL_EXPORTER_OTLP_* variables),
// sampled at OTEL_TRACES_SAMPLER_ARG (default 0.01) unless the caller's
// traceparent decided already; wrap then traces each HTTP request, and
// the embedded SpiceDB's spans are its children. shutdown flushes spans.
func setupTracing(ctx context.Context, getenv func(string) string) (wrap func(http.Handler) http.Handler, shutdown func() error, err error) {
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		otel.SetTracerProvider(noop.NewTracerProvider())
		return func(h http.Handler) http.Handler { return h }, func() error { return nil }, nil
	}
	ratio := 0.01
	if v := getenv("OTEL_TRACES_SAMPLER_ARG"); v != "" {
		ratio, err = strconv.ParseFloat(v, 64)
		if err != nil || ratio < 0 || ratio > 1 {
			return nil, nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got %q", v)
		}
	}
	service := getenv("OTEL_SERVICE_NAME")
	if service == "" {
		service = "gatehouse"
	}
	shutdown, err = sdbserver.InitOTelProvider(ctx, sdbserver.OTelConfig{
		Provider: "otlpgrpc", ServiceName: service, TracePropagator: "w3c", SampleRatio: ratio,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("OpenTelemetry (OTEL_EXPORTER_OTLP_ENDPOINT): %w", err)
	}
	return func(h http.Handler) http.Handler { return otelhttp.NewHandler(h, "gatehouse") }, shutdown, nil
}
