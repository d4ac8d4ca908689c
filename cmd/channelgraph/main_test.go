package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the server goroutine writes while the test reads.
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

var listening = regexp.MustCompile(`GraphQL at (http://\S+/graphql)`)

// startServe runs `channelgraph serve` in-process, as `make run` does, and
// returns the GraphQL URL, what it printed, and a stop function.
func startServe(t *testing.T) (string, *syncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, out, &syncBuffer{}) }()
	deadline := time.Now().Add(60 * time.Second)
	for !listening.MatchString(out.String()) {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", out)
		}
	}
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve did not shut down cleanly: %v", err)
		}
	}
	return listening.FindStringSubmatch(out.String())[1], out, stop
}

func query(t *testing.T, url, token, q string, vars map[string]any) map[string]any {
	t.Helper()
	return post(t, url, token, map[string]any{"query": q, "variables": vars})
}

// post sends a GraphQL request as token and returns its data, failing the
// test on any error or on no data.
func post(t *testing.T, url, token string, request map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(request)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Data   map[string]any
		Errors []any
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || len(out.Errors) > 0 || out.Data == nil {
		t.Fatalf("%v failed: %v %v", request["operationName"], err, out.Errors)
	}
	return out.Data
}

func personaToken(t *testing.T, printed, persona string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(persona) + `\s.*\s(cgt_\w+)$`).FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("no token printed for %s:\n%s", persona, printed)
	}
	return m[1]
}

// TestServeWithDemoData is the README's first command: an empty SQLite
// database under ./data gets the demo channel, the persona tokens are
// printed, and the customer's token sees exactly its visible orders, never
// a distributor. A restart keeps the data and shows the tokens again.
func TestServeWithDemoData(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("CHANNELGRAPH_DEMO", "1")
	t.Setenv("CHANNELGRAPH_ADDR", "127.0.0.1:0")
	t.Setenv("CHANNELGRAPH_DATABASE_URL", "")
	url, out, stop := startServe(t)
	customer := personaToken(t, out.String(), "customer")
	vendor := personaToken(t, out.String(), "vendor")

	const orders = `query($c: ID) { purchaseOrders(first: 100, filter: {customerId: $c}) { totalCount
		edges { node { number customer { id name } distributor { name } } } } }`
	mine := query(t, url, customer, orders, nil)["purchaseOrders"].(map[string]any)
	edges := mine["edges"].([]any)
	if len(edges) == 0 || int(mine["totalCount"].(float64)) != len(edges) {
		t.Fatalf("the customer sees %v orders (%d listed)", mine["totalCount"], len(edges))
	}
	customerID := ""
	for _, e := range edges {
		node := e.(map[string]any)["node"].(map[string]any)
		c := node["customer"].(map[string]any)
		if customerID == "" {
			customerID = c["id"].(string)
		}
		if c["id"] != customerID || c["name"] != "Globex Manufacturing" || node["distributor"] != nil {
			t.Fatalf("the customer got %v", node)
		}
	}
	// The vendor sees every order; those of this customer through its granted reseller are all visible to it.
	all := query(t, url, vendor, orders, map[string]any{"c": customerID})["purchaseOrders"].(map[string]any)
	if all["totalCount"] != mine["totalCount"] {
		t.Fatalf("the vendor sees %v orders of the customer, the customer %v", all["totalCount"], mine["totalCount"])
	}
	stop()

	_, again, stop := startServe(t)
	defer stop()
	if !strings.Contains(again.String(), "already loaded") || personaToken(t, again.String(), "customer") != customer {
		t.Fatalf("a restart did not show the saved tokens:\n%s", again)
	}
}

func TestCommands(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("CHANNELGRAPH_DATABASE_URL", "")
	var out, errs syncBuffer
	if err := run(context.Background(), []string{"migrate"}, &out, &errs); err != nil || !strings.Contains(out.String(), "migrations applied") {
		t.Fatalf("migrate: %v %s", err, errs.String())
	}
	if err := run(context.Background(), []string{"version"}, &out, &errs); err != nil || !strings.Contains(out.String(), "channelgraph dev") {
		t.Fatalf("version: %v %s", err, out.String())
	}
	if err := run(context.Background(), []string{"bogus"}, &out, &errs); err == nil || !strings.Contains(errs.String(), "unknown command") {
		t.Fatalf("an unknown command: %v %s", err, errs.String())
	}
	if err := run(context.Background(), []string{"token", "-org", "99"}, &out, &errs); err == nil || !strings.Contains(err.Error(), "no organization") {
		t.Fatalf("token for a missing organization: %v", err)
	}
	t.Setenv("CHANNELGRAPH_DATABASE_URL", "mysql://nope")
	if err := run(context.Background(), []string{"migrate"}, &out, &errs); err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Fatalf("an unsupported database URL: %v", err)
	}
}
