package pagebench_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

var (
	placingOnly     = flag.Bool("page-bench-placing", false, "run only the placing-at-c=16 write case (make bench-placing); needs no peer")
	placingDuration = flag.Duration("page-bench-placing-duration", 20*time.Second, "measured time of the placing-at-c=16 case")
	serverBin       = flag.String("page-bench-server", "", "a channelgraph binary to measure instead of building this tree (to compare another commit)")
)

// placingWriters is the case's concurrency: that many vendors, each with its
// own reseller and customer, each placing orders over its own connection.
const placingWriters = 16

// placingResult is the placing-at-c=16 case: how fast independent writers
// commit, and how many backends wait on a lock meanwhile.
type placingResult struct {
	orders, errors int
	seconds        float64
	p50, p99       float64
	samples        int
	waiting        map[string]float64 // average backends waiting, by pg_locks.locktype
}

// TestPlacingConcurrently runs the placing-at-c=16 case on its own:
//
//	BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench-placing
func TestPlacingConcurrently(t *testing.T) {
	if !*placingOnly {
		t.Skip("a benchmark, not a test: run it with `make bench-placing`")
	}
	dir := *outDir
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := measurePlacing(t, serverBinary(t, dir), dir)
	fmt.Println(placingReport(r) + "\n" + machine())
}

// serverBinary is -page-bench-server, or this tree built into dir.
func serverBinary(t *testing.T, dir string) string {
	if *serverBin != "" {
		return *serverBin
	}
	return buildServer(t, dir)
}

// measurePlacing places orders through sixteen independent channels at once
// on a fresh database (nothing shared between writers but the deployment),
// sampling pg_locks for backends waiting on a lock.
func measurePlacing(t *testing.T, bin, dir string) placingResult {
	ctx := context.Background()
	url := testdb.NewPostgres(t)
	if raw := os.Getenv("BENCH_DATABASE_URL"); raw != "" {
		const name = "cg_bench_placing"
		adminExec(t, raw, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		adminExec(t, raw, "CREATE DATABASE "+name)
		url = withDatabase(t, raw, name)
	}
	srv := startServer(t, bin, url, dir, "channelgraph-placing")
	defer srv.stop()

	type chain struct{ vendor, reseller, customer, token string }
	chains := make([]chain, placingWriters)
	for i := range chains {
		ch := &chains[i]
		ch.vendor = adminMutation(t, srv.url, `createOrganization(input: {name: "Vendor %[1]d", kind: VENDOR}) { organization { id } }`, i)
		ch.reseller = adminMutation(t, srv.url, `createOrganization(input: {name: "Reseller %[1]d", kind: RESELLER}) { organization { id } }`, i)
		ch.customer = adminMutation(t, srv.url, `createOrganization(input: {name: "Customer %[1]d", kind: CUSTOMER}) { organization { id } }`, i)
		adminMutation(t, srv.url, `createChannelEdge(input: {upstreamId: %q, downstreamId: %q}) { channelEdge { id } }`, ch.vendor, ch.reseller)
		rc := adminMutation(t, srv.url, `createChannelEdge(input: {upstreamId: %q, downstreamId: %q}) { channelEdge { id } }`, ch.reseller, ch.customer)
		adminMutation(t, srv.url, `setPurchaseOrderView(input: {channelEdgeId: %q, enabled: true}) { channelEdge { id } }`, rc)
		adminMutation(t, srv.url, `createProduct(input: {vendorId: %q, sku: "SKU-1", name: "Licence", type: LICENSE}) { product { id } }`, ch.vendor)
		ch.token = adminMutation(t, srv.url, `createApiToken(input: {organizationId: %q, role: OWNER, name: "placing"}) { token }`, ch.vendor)
	}

	var (
		mu     sync.Mutex
		placed []time.Duration
		errs   int
	)
	warmupEnd := time.Now().Add(3 * time.Second)
	end := warmupEnd.Add(*placingDuration)
	var wg sync.WaitGroup
	for w, ch := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}} // one connection each
			for i := 0; time.Now().Before(end); i++ {
				q := fmt.Sprintf(`mutation { createPurchaseOrder(input: {number: "C16-%d-%d", vendorId: %q, resellerId: %q, customerId: %q,
					lines: [{sku: "SKU-1", quantity: 1}]}) { purchaseOrder { id } userErrors { message } } }`, w, i, ch.vendor, ch.reseller, ch.customer)
				body, _ := json.Marshal(map[string]string{"query": q})
				start := time.Now()
				raw, err := postWith(client, srv.url, string(body), "Authorization", "Bearer "+ch.token)
				d := time.Since(start)
				failed := err != nil || strings.Contains(string(raw), `"message"`) || strings.Contains(string(raw), `"errors"`)
				if start.Before(warmupEnd) {
					continue
				}
				mu.Lock()
				if failed {
					if errs == 0 {
						t.Logf("createPurchaseOrder: %v %s", err, raw)
					}
					errs++
				} else {
					placed = append(placed, d)
				}
				mu.Unlock()
			}
		}()
	}
	samples, waiting := sampleLockWaits(t, ctx, url, warmupEnd, end)
	wg.Wait()
	if len(placed) == 0 {
		t.Fatalf("no order placed (%d errors)", errs)
	}
	r := placingResult{orders: len(placed), errors: errs, seconds: placingDuration.Seconds(), samples: samples, waiting: waiting}
	r.p50, _, r.p99, _ = latencies(placed)
	return r
}

// sampleLockWaits counts, every 10 ms from start to end, the database's
// backends waiting on a lock by lock type, and returns the averages.
func sampleLockWaits(t *testing.T, ctx context.Context, url string, start, end time.Time) (int, map[string]float64) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	time.Sleep(time.Until(start))
	sums := map[string]float64{}
	n := 0
	for time.Now().Before(end) {
		rows, err := conn.Query(ctx, `SELECT l.locktype, count(DISTINCT l.pid) FROM pg_locks l
			JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE NOT l.granted AND a.datname = current_database() AND l.pid <> pg_backend_pid()
			GROUP BY l.locktype`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var kind string
			var count int
			if err := rows.Scan(&kind, &count); err != nil {
				t.Fatal(err)
			}
			sums[kind] += float64(count)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		n++
		time.Sleep(10 * time.Millisecond)
	}
	for k := range sums {
		sums[k] /= float64(n)
	}
	return n, sums
}

// adminMutation runs one mutation field (format, with args) as the platform
// administrator and returns the first string it finds in the answer: the
// created object's id, or the token.
func adminMutation(t *testing.T, url, format string, args ...any) string {
	body, _ := json.Marshal(map[string]string{"query": "mutation { " + fmt.Sprintf(format, args...) + " }"})
	raw, err := post(url, string(body), "Authorization", "Bearer "+adminToken)
	if err != nil || strings.Contains(string(raw), `"errors"`) {
		t.Fatalf("%s: %v %s", format, err, raw)
	}
	var answer map[string]map[string]any
	if err := json.Unmarshal(raw, &answer); err != nil {
		t.Fatal(err)
	}
	for _, field := range answer["data"] {
		if s := firstString(field); s != "" {
			return s
		}
	}
	t.Fatalf("%s: no id in %s", format, raw)
	return ""
}

func firstString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		for _, x := range v {
			if s := firstString(x); s != "" {
				return s
			}
		}
	}
	return ""
}

func placingReport(r placingResult) string {
	var kinds []string
	for k := range r.waiting {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var waits []string
	total := 0.0
	for _, k := range kinds {
		waits = append(waits, fmt.Sprintf("%s %.2f", k, r.waiting[k]))
		total += r.waiting[k]
	}
	if len(waits) == 0 {
		waits = []string{"none"}
	}
	return fmt.Sprintf("### Placing at c=16: %d vendors, each with its own customer, %d connections, fresh PostgreSQL database\n\n"+
		"| orders/s | p50 ms | p99 ms | errors | backends waiting on a lock (of %d; average of %d samples) | by lock type |\n|---:|---:|---:|---:|---:|---|\n"+
		"| **%.0f** | %.1f | %.1f | %d | %.2f | %s |\n",
		placingWriters, placingWriters, placingWriters, r.samples, float64(r.orders)/r.seconds, r.p50, r.p99, r.errors, total, strings.Join(waits, ", "))
}
