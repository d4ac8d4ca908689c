package server_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestObservability: each operation leaves one log line (operation, viewer
// organization, duration, outcome; never the token) and is counted in
// /metrics with its outcome, beside the websocket, subscription, event-lag
// and database-pool gauges.
func TestObservability(t *testing.T) {
	logs := &syncBuffer{}
	db := testdb.MustOpen(t, "sqlite")
	f := newChannelFixtureWith(t, db, server.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	f.a.Must(f.tok[f.vendor], `query DashboardOrders { purchaseOrders { totalCount } }`, nil, nil)
	f.a.Do(f.tok[f.vendor], `query Broken { purchaseOrders(first: 1000) { totalCount } }`, nil)
	c := f.a.dialWS(f.tok[f.vendor], false)
	c.subscribe("1", poSubscription, nil)
	waitForSubscribers(t, f, 1)

	out := logs.String()
	if !strings.Contains(out, "operation=DashboardOrders type=query viewer=organization:") || !strings.Contains(out, "outcome=ok") {
		t.Fatalf("no request line:\n%s", out)
	}
	if !strings.Contains(out, "operation=Broken") || !strings.Contains(out, "outcome=BAD_USER_INPUT") {
		t.Fatalf("no line for the refused request:\n%s", out)
	}
	for _, token := range f.tok {
		if strings.Contains(out, token) {
			t.Fatal("a token was logged")
		}
	}
	res, err := http.Get(strings.TrimSuffix(f.a.URL, "/graphql") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := readAll(t, res)
	for _, want := range []string{
		`channelgraph_graphql_responses_total{operation="DashboardOrders",outcome="ok",type="query"} 1`,
		`channelgraph_graphql_responses_total{operation="Broken",outcome="BAD_USER_INPUT",type="query"} 1`,
		`channelgraph_graphql_response_seconds_bucket{operation="DashboardOrders"`,
		"channelgraph_websocket_connections 1",
		"channelgraph_subscriptions 1",
		"channelgraph_event_log_lag_events 0",
		"go_sql_open_connections{db_name=\"channelgraph\"}",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
