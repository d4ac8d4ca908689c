package webhooks

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	attempts *prometheus.CounterVec
	lag      prometheus.Histogram
	held     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "channelgraph_webhook_attempts_total",
			Help: "Webhook delivery attempts by result: accepted (2xx) or failed (another status, a timeout or a refused connection)."},
			[]string{"result"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "channelgraph_webhook_delivery_lag_seconds",
			Help:    "From an event's commit (its created_at) to its acceptance by an endpoint, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 18)}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{Name: "channelgraph_webhook_endpoints_held",
			Help: "Endpoints this replica holds the lease of and delivers to."}),
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.lag, m.held)
	}
	return m
}
