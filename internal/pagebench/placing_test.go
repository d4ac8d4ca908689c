package pagebench_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

var (
	placingOnly     = flag.Bool("page-bench-placing", false, "run only the placing cases (make bench-placing); the peer's side needs -page-bench-peer's schema.sql")
	placingDuration = flag.Duration("page-bench-placing-duration", 20*time.Second, "measured time of each placing case (after a 3 s warm-up)")
	placingCases    = flag.String("page-bench-placing-cases", "many:16,busy:16,many:64,busy:64",
		"placing cases, shape:writers; shape many = one vendor→reseller→customer chain and token per writer, busy = one vendor and one token, every writer placing direct sales to its customers")
	busyCustomers   = flag.Int("page-bench-placing-customers", 300, "the busy vendor's direct customers (each order goes to the next)")
	placingWithPeer = flag.Bool("page-bench-placing-peer", true, "beside each placing case, the peer's plain INSERT transactions replayed by pgbench at the same concurrency")
	serverBin       = flag.String("page-bench-server", "", "a channelgraph binary to measure instead of building this tree (to compare another commit)")
)

// placingWarmup runs before each placing case's measured time.
const placingWarmup = 3 * time.Second

// placingCase is one shape of concurrent placing at one concurrency.
type placingCase struct {
	shape   string // "many" or "busy"
	writers int    // concurrent writers, each over its own connection
}

func (c placingCase) String() string {
	if c.shape == "busy" {
		return fmt.Sprintf("one busy vendor, c=%d", c.writers)
	}
	return fmt.Sprintf("%d vendors, c=%d", c.writers, c.writers)
}

func placingCaseList(t *testing.T) []placingCase {
	var out []placingCase
	for _, s := range strings.Split(*placingCases, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		shape, n, ok := strings.Cut(s, ":")
		w, err := strconv.Atoi(n)
		if !ok || err != nil || w < 1 || (shape != "many" && shape != "busy") {
			t.Fatalf("-page-bench-placing-cases: %q is not many:N or busy:N", s)
		}
		out = append(out, placingCase{shape, w})
	}
	return out
}

// placingResult is one system placing orders in one case: how fast the
// writers commit, and how many backends wait on a lock meanwhile.
type placingResult struct {
	c          placingCase
	system     string
	ordersPerS float64
	orders     int
	errors     int
	p50, p99   float64
	samples    int
	waiting    map[string]float64 // average backends waiting, by pg_locks.locktype
	cpu        cpuSplit
}

const (
	placingOurs = "Channelgraph (HTTP, createPurchaseOrder)"
	placingPeer = "peer schema: plain INSERTs by pgbench"
)

// TestPlacingConcurrently runs the placing cases on their own:
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
	report := placingReport(r) + "\n" + machine() + "\n"
	fmt.Println(report)
	if err := os.WriteFile(filepath.Join(dir, "placing.md"), []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
}

// serverBinary is -page-bench-server, or this tree built into dir.
func serverBinary(t *testing.T, dir string) string {
	if *serverBin != "" {
		return *serverBin
	}
	return buildServer(t, dir)
}

// measurePlacing runs each placing case on a fresh database, and beside it
// the peer's plain INSERT transactions at the same concurrency.
func measurePlacing(t *testing.T, bin, dir string) []placingResult {
	withPeer := *placingWithPeer
	if withPeer {
		if _, err := exec.LookPath("pgbench"); err != nil || !fileExists(filepath.Join(*peerDir, "schema.sql")) {
			t.Logf("placing: no pgbench on PATH or no peer schema at %s: Channelgraph only", *peerDir)
			withPeer = false
		}
	}
	var out []placingResult
	add := func(r placingResult) {
		t.Logf("placing, %-22s %-42s %6.0f orders/s  p50 %6.1f ms  p99 %6.1f ms  errors %d  waiting %s  cpu %s",
			r.c, r.system, r.ordersPerS, r.p50, r.p99, r.errors, waitsString(r.waiting), r.cpu)
		out = append(out, r)
	}
	for _, c := range placingCaseList(t) {
		add(measurePlacingCase(t, bin, dir, c))
		if withPeer {
			add(measurePeerPlacing(t, dir, c))
		}
	}
	return out
}

// freshDatabase is an empty database: name, dropped and created again, on
// BENCH_DATABASE_URL's server, or a new one on the test cluster.
func freshDatabase(t *testing.T, name string) string {
	raw := os.Getenv("BENCH_DATABASE_URL")
	if raw == "" {
		return testdb.NewPostgres(t)
	}
	adminExec(t, raw, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	adminExec(t, raw, "CREATE DATABASE "+name)
	return withDatabase(t, raw, name)
}

// measurePlacingCase places orders through c.writers writers at once on a
// fresh database, sampling pg_locks for backends waiting on a lock and the
// CPU of the server, PostgreSQL and this process (the load generator).
// Shape many: one vendor→reseller→customer chain per writer, each writer
// its vendor's token (nothing shared between writers but the deployment).
// Shape busy: one vendor with -page-bench-placing-customers direct
// customers, every writer placing its direct sales with its one token, each
// order to the next customer.
func measurePlacingCase(t *testing.T, bin, dir string, c placingCase) placingResult {
	ctx := context.Background()
	url := freshDatabase(t, "cg_bench_placing")
	srv := startServer(t, bin, url, dir, fmt.Sprintf("channelgraph-placing-%s-%d", c.shape, c.writers))
	defer srv.stop()

	setup := time.Now()
	newOrg := func(kind string, i int) string {
		return adminMutation(t, srv.url, `createOrganization(input: {name: "%s %d", kind: %s}) { organization { id } }`, kind, i, strings.ToUpper(kind))
	}
	newEdge := func(up, down string) string {
		return adminMutation(t, srv.url, `createChannelEdge(input: {upstreamId: %q, downstreamId: %q}) { channelEdge { id } }`, up, down)
	}
	newProductAndToken := func(vendor string) string {
		adminMutation(t, srv.url, `createProduct(input: {vendorId: %q, sku: "SKU-1", name: "Licence", type: LICENSE}) { product { id } }`, vendor)
		return adminMutation(t, srv.url, `createApiToken(input: {organizationId: %q, role: OWNER, name: "placing"}) { token }`, vendor)
	}
	// order is writer w's i-th order: its token and its mutation.
	var order func(w, i int) (token, query string)
	switch c.shape {
	case "many":
		type chain struct{ vendor, reseller, customer, token string }
		chains := make([]chain, c.writers)
		for i := range chains {
			ch := &chains[i]
			ch.vendor, ch.reseller, ch.customer = newOrg("Vendor", i), newOrg("Reseller", i), newOrg("Customer", i)
			newEdge(ch.vendor, ch.reseller)
			rc := newEdge(ch.reseller, ch.customer)
			adminMutation(t, srv.url, `setPurchaseOrderView(input: {channelEdgeId: %q, enabled: true}) { channelEdge { id } }`, rc)
			ch.token = newProductAndToken(ch.vendor)
		}
		order = func(w, i int) (string, string) {
			ch := chains[w]
			return ch.token, fmt.Sprintf(`mutation { createPurchaseOrder(input: {number: "P-%d-%d", vendorId: %q, resellerId: %q, customerId: %q,
				lines: [{sku: "SKU-1", quantity: 1}]}) { purchaseOrder { id } userErrors { message } } }`, w, i, ch.vendor, ch.reseller, ch.customer)
		}
	case "busy":
		vendor := newOrg("Vendor", 0)
		customers := make([]string, *busyCustomers)
		for i := range customers {
			customers[i] = newOrg("Customer", i)
			newEdge(vendor, customers[i])
		}
		token := newProductAndToken(vendor)
		var next atomic.Int64
		order = func(w, i int) (string, string) {
			customer := customers[int(next.Add(1))%len(customers)]
			return token, fmt.Sprintf(`mutation { createPurchaseOrder(input: {number: "P-%d-%d", vendorId: %q, customerId: %q,
				lines: [{sku: "SKU-1", quantity: 1}]}) { purchaseOrder { id } userErrors { message } } }`, w, i, vendor, customer)
		}
	}
	t.Logf("placing, %s: set up in %v", c, time.Since(setup).Round(time.Millisecond))

	var (
		mu     sync.Mutex
		placed []time.Duration
		errs   int
		first  string
	)
	warmupEnd := time.Now().Add(placingWarmup)
	end := warmupEnd.Add(*placingDuration)
	cpu := make(chan cpuSplit, 1)
	self := os.Getpid()
	go func() {
		cpu <- cpuBetween(warmupEnd, end, srv.pid(), func(pid int, _ string) bool { return pid == self })
	}()
	var wg sync.WaitGroup
	for w := 0; w < c.writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}} // one connection each
			defer client.CloseIdleConnections()
			for i := 0; time.Now().Before(end); i++ {
				token, q := order(w, i)
				body, _ := json.Marshal(map[string]string{"query": q})
				start := time.Now()
				raw, err := postWith(client, srv.url, string(body), "Authorization", "Bearer "+token)
				d := time.Since(start)
				failed := err != nil || strings.Contains(string(raw), `"message"`) || strings.Contains(string(raw), `"errors"`)
				if start.Before(warmupEnd) {
					continue
				}
				mu.Lock()
				if failed {
					if errs == 0 {
						first = fmt.Sprintf("%v %s", err, raw)
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
	if first != "" {
		t.Logf("placing, %s: first error: %s", c, first)
	}
	if len(placed) == 0 {
		t.Fatalf("placing, %s: no order placed (%d errors)", c, errs)
	}
	r := placingResult{c: c, system: placingOurs, orders: len(placed), errors: errs, ordersPerS: float64(len(placed)) / placingDuration.Seconds(),
		samples: samples, waiting: waiting, cpu: <-cpu}
	r.p50, _, r.p99, _ = latencies(placed)
	return r
}

// measurePeerPlacing replays what placing an order costs the peer, whose
// PostGraphile has no mutations and whose rule is evaluated at read time: a
// transaction inserting a purchase order and its one line, by pgbench at
// c.writers clients, on a scratch database made from the peer's schema.sql,
// the organizations the case needs and its indexes.sql (foreign keys
// included). The ids come from a sequence (the peer's schema leaves them to
// its application). Shape many: client i places for vendor i through
// reseller i to customer i; shape busy: every client a direct sale of
// vendor 1 to a random one of its customers.
func measurePeerPlacing(t *testing.T, dir string, c placingCase) placingResult {
	ctx := context.Background()
	url := freshDatabase(t, "cg_peer_placing")
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := ensurePeerRole(ctx, conn); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	psqlFile := func(f string) {
		cmd := exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", filepath.Join(*peerDir, f))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("psql -f %s: %v\n%s", f, err, out)
		}
	}
	const vendors, resellers, customers = 0, 100_000, 200_000 // id offsets
	psqlFile("schema.sql")
	adminExec(t, url, fmt.Sprintf(`INSERT INTO organizations (id, name, kind)
		SELECT %[1]d + i, 'Vendor ' || i, 'VENDOR' FROM generate_series(1, %[4]d) i
		UNION ALL SELECT %[2]d + i, 'Reseller ' || i, 'RESELLER' FROM generate_series(1, %[4]d) i
		UNION ALL SELECT %[3]d + i, 'Customer ' || i, 'CUSTOMER' FROM generate_series(1, %[5]d) i`,
		vendors, resellers, customers, c.writers, max(c.writers, *busyCustomers)))
	psqlFile("indexes.sql")
	adminExec(t, url, "CREATE SEQUENCE placing_ids")

	var script string
	switch c.shape {
	case "many":
		script = fmt.Sprintf(`BEGIN;
INSERT INTO purchase_orders (id, number, vendor_id, customer_id, reseller_id, distributor_id, status, created_at)
  VALUES (nextval('placing_ids'), 'PLACED-BY-PGBENCH', %d + 1 + :client_id, %d + 1 + :client_id, %d + 1 + :client_id, NULL, 'SUBMITTED', now())
  RETURNING id \gset
INSERT INTO purchase_order_lines (id, purchase_order_id, sku, quantity) VALUES (nextval('placing_ids'), :id, 'SKU-1', 1);
COMMIT;
`, vendors, customers, resellers)
	case "busy":
		script = fmt.Sprintf(`\set customer random(%d, %d)
BEGIN;
INSERT INTO purchase_orders (id, number, vendor_id, customer_id, reseller_id, distributor_id, status, created_at)
  VALUES (nextval('placing_ids'), 'PLACED-BY-PGBENCH', %d, :customer, NULL, NULL, 'SUBMITTED', now())
  RETURNING id \gset
INSERT INTO purchase_order_lines (id, purchase_order_id, sku, quantity) VALUES (nextval('placing_ids'), :id, 'SKU-1', 1);
COMMIT;
`, customers+1, customers+*busyCustomers, vendors+1)
	}
	path := filepath.Join(dir, fmt.Sprintf("peer-placing-%s.sql", c.shape))
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		r   run
		err error
	}
	done := make(chan outcome, 1)
	began := time.Now()
	go func() {
		r, err := pgbenchRunWith(ctx, dir, url, path, c.writers, placingWarmup, *placingDuration)
		done <- outcome{r, err}
	}()
	// pgbench's warm-up and measured run are two invocations: sample from a
	// second into the measured one (its clients connected) to its end.
	samples, waiting := sampleLockWaits(t, ctx, url, began.Add(placingWarmup+time.Second), began.Add(placingWarmup+*placingDuration))
	o := <-done
	if o.err != nil {
		t.Fatalf("placing, %s, peer: %v", c, o.err)
	}
	return placingResult{c: c, system: placingPeer, ordersPerS: o.r.RPS, errors: o.r.Errors, p50: o.r.P50, p99: o.r.P99,
		samples: samples, waiting: waiting, cpu: o.r.CPU}
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

func waitsString(waiting map[string]float64) string {
	var kinds []string
	for k := range waiting {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var waits []string
	total := 0.0
	for _, k := range kinds {
		waits = append(waits, fmt.Sprintf("%s %.2f", k, waiting[k]))
		total += waiting[k]
	}
	if len(waits) == 0 {
		return "0 (none)"
	}
	return fmt.Sprintf("%.2f (%s)", total, strings.Join(waits, ", "))
}

// placingReport is the placing cases' tables: each system's figures, and
// the ratios with issue 15's targets (≥ 0.25× the peer's plain INSERTs,
// ≥ 1,000 orders/s, p99 ≤ 50 ms).
func placingReport(rs []placingResult) string {
	var s strings.Builder
	fmt.Fprintf(&s, "### Placing orders concurrently, each case on a fresh PostgreSQL database\n\n"+
		"%v warm-up, %v measured. Channelgraph: createPurchaseOrder with one line over HTTP, one connection per writer; "+
		"many vendors = one vendor→reseller→customer chain and token per writer; one busy vendor = one token, every writer placing "+
		"direct sales to the next of its %d customers. The peer: a transaction inserting an order and its line, replayed by pgbench "+
		"(-M prepared) at the same concurrency on the peer's schema.sql and indexes.sql (foreign keys included). "+
		"Lock waits: backends of the database waiting on a lock (pg_locks, not granted), sampled every 10 ms. "+
		"CPU in cores of %d: server / postgres / load generator (this test process for Channelgraph, pgbench for the peer).\n\n",
		placingWarmup, *placingDuration, *busyCustomers, runtime.NumCPU())
	s.WriteString("| case | system | orders/s | p50 ms | p99 ms | errors | backends waiting on a lock (by type) | CPU server / postgres / loadgen |\n|---|---|---:|---:|---:|---:|---|---|\n")
	for _, r := range rs {
		errs := fmt.Sprint(r.errors)
		if r.errors > 0 {
			errs = "**" + errs + "**"
		}
		fmt.Fprintf(&s, "| %s | %s | **%.0f** | %.1f | %.1f | %s | %s | %s |\n", r.c, r.system, r.ordersPerS, r.p50, r.p99, errs, waitsString(r.waiting), r.cpu)
	}
	s.WriteString("\n| case | ours / peer (≥ 0.25×) | orders/s (≥ 1,000) | p99 (≤ 50 ms) |\n|---|---:|---:|---:|\n")
	for _, r := range rs {
		if r.system != placingOurs {
			continue
		}
		vsPeer := "–"
		for _, p := range rs {
			if p.system == placingPeer && p.c == r.c {
				vsPeer = ratioCell(r.ordersPerS/p.ordersPerS, 0.25)
			}
		}
		rate := fmt.Sprintf("%.0f met", r.ordersPerS)
		if r.ordersPerS < 1000 {
			rate = fmt.Sprintf("%.0f **missed**", r.ordersPerS)
		}
		p99 := fmt.Sprintf("%.1f ms met", r.p99)
		if r.p99 > 50 {
			p99 = fmt.Sprintf("%.1f ms **missed**", r.p99)
		}
		fmt.Fprintf(&s, "| %s | %s | %s | %s |\n", r.c, vsPeer, rate, p99)
	}
	return s.String()
}
