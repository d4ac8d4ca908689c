// Package pagebench_test is `make bench`: the first page of purchase orders
// with its count, served by Channelgraph beside PostGraphile with row-level
// security (the peer in ../shared/peers/postgraphile) on the same 1M-order
// data set, with the floor (Channelgraph's own SQL replayed by pgbench) and
// the rule's cost (the visibility index derived by a plain party filter).
// See docs/performance.md for what it measures and why.
package pagebench_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

var (
	enabled     = flag.Bool("page-bench", false, "run the page benchmark (make bench)")
	peerDir     = flag.String("page-bench-peer", "../../../shared/peers/postgraphile", "the PostGraphile peer's directory")
	poCount     = flag.Int("page-bench-pos", 1_000_000, "purchase orders in the data set")
	reuse       = flag.Bool("page-bench-reuse", false, "reuse databases a previous run loaded on BENCH_DATABASE_URL's server")
	runs        = flag.Int("page-bench-runs", 3, "measured runs per system and viewer (the median is reported)")
	duration    = flag.Duration("page-bench-duration", 20*time.Second, "measured time per run")
	warmup      = flag.Duration("page-bench-warmup", 5*time.Second, "warm-up per run")
	concurrency = flag.Int("page-bench-concurrency", 16, "concurrent connections")
	only        = flag.String("page-bench-systems", "a,p,b,c,d,rotated,writes,placing,sqlite", "systems to measure: a (Channelgraph), p (Channelgraph, lines with prices), b (peer), c (floor), d (plain party rule), rotated (a and b rotating over many viewers, -page-bench-rotate), writes (one at a time), placing (concurrently, beside the peer's INSERTs: -page-bench-placing-cases), sqlite")
	viewerList  = flag.String("page-bench-viewers", "reseller:223,distributor:55,customer:5256,vendor:17", "kind:organization id of each viewer")
	cartWrites  = flag.Bool("page-bench-carts", true, "time placeCart among the writes (false for a build from before carts)")
	outDir      = flag.String("page-bench-out", "", "directory for results (default: a new temp directory)")
)

func TestMain(m *testing.M) { testdb.Main(m) }

// pageQuery is the peer's query.graphql in Channelgraph's schema.
const pageQuery = `query PurchaseOrderPage {
  purchaseOrders(first: 50) {
    totalCount
    edges { node { number status customer { name } reseller { name } lines { sku quantity } } }
  }
}`

// pricedPageQuery is pageQuery with each line's prices as the viewer sees
// them (SPEC §8.3).
const pricedPageQuery = `query PricedPurchaseOrderPage {
  purchaseOrders(first: 50) {
    totalCount
    edges { node { number status customer { name } reseller { name }
      lines { sku quantity buyPrice { amount currency } sellPrice { amount currency } margin { amount } } } }
  }
}`

type viewer struct {
	kind string
	org  int64
}

func (v viewer) String() string {
	if v.org == 0 { // a rotation's key: many viewers of the kind
		return v.kind + "s, rotated"
	}
	return fmt.Sprintf("%s %d", v.kind, v.org)
}

func viewers(t *testing.T) []viewer {
	var out []viewer
	for _, s := range strings.Split(*viewerList, ",") {
		kind, id, ok := strings.Cut(strings.TrimSpace(s), ":")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil {
			t.Fatalf("-page-bench-viewers: %q is not kind:id", s)
		}
		out = append(out, viewer{kind, n})
	}
	return out
}

func measuring(system string) bool { return slices.Contains(strings.Split(*only, ","), system) }

// bench holds what one benchmark run set up.
type bench struct {
	t        *testing.T
	dir      string
	adminURL string
	peerURL  string // as superuser
	oursURL  string
	viewers  []viewer
	rotated  []*rotation
	tokens   map[int64]string
	results  []result
}

type result struct {
	system string
	viewer viewer
	runs   []run
}

func TestPageBenchmark(t *testing.T) {
	if !*enabled {
		t.Skip("a benchmark, not a test: run it with `make bench`")
	}
	ctx := context.Background()
	for _, tool := range []string{"psql", "pgbench", "wrk", "node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("make bench needs %s on PATH (Debian: apt-get install -y postgresql-client wrk nodejs npm)", tool)
		}
	}
	if !fileExists(filepath.Join(*peerDir, "data.sql")) {
		t.Fatalf("the PostGraphile peer is not at %s (set -page-bench-peer, or PEER_DIR for make bench)", *peerDir)
	}
	b := &bench{t: t, viewers: viewers(t)}
	b.dir = *outDir
	if b.dir == "" {
		b.dir = t.TempDir()
	} else if err := os.MkdirAll(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.setupDatabases(ctx)
	logf := func(f string, a ...any) { t.Logf(f, a...) }

	orgs := make([]int64, len(b.viewers))
	for i, v := range b.viewers {
		orgs[i] = v.org
	}
	if measuring("rotated") {
		b.rotated = rotations(t)
		b.pickRotations(ctx, b.rotated)
		for _, r := range b.rotated {
			orgs = append(orgs, r.orgs...)
		}
	}
	issuing := time.Now()
	tokens, err := issueTokens(ctx, b.oursURL, orgs)
	if err != nil {
		t.Fatal(err)
	}
	b.tokens = tokens
	t.Logf("issued %d tokens in %v", len(tokens), time.Since(issuing).Round(time.Millisecond))
	b.writeRotationFiles(b.rotated)

	bin := serverBinary(t, b.dir)
	ours := startServer(t, bin, b.oursURL, b.dir, "channelgraph")
	peer := b.startPeer(ctx)
	b.sanity(ours, peer)
	b.sanityRotated(b.rotated, ours, peer)
	scripts := b.captureFloor(ctx)
	body := filepath.Join(b.dir, "body.json")
	mustWriteJSON(t, body, map[string]string{"query": pageQuery})
	pricedBody := filepath.Join(b.dir, "priced-body.json")
	mustWriteJSON(t, pricedBody, map[string]string{"query": pricedPageQuery})
	if measuring("p") {
		b.priceLines(ctx)
	}
	peerBody := filepath.Join(b.dir, "peer-body.json")
	q, err := os.ReadFile(filepath.Join(*peerDir, "query.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	mustWriteJSON(t, peerBody, map[string]string{"query": string(q)})

	add := func(system string, v viewer, r run, err error) {
		if err != nil {
			t.Fatalf("%s, %s: %v", system, v, err)
		}
		logf("%-40s %-18s %8.0f req/s  p50 %6.1f ms  p99 %6.1f ms  errors %d  cpu server/postgres/loadgen %s",
			system, v, r.RPS, r.P50, r.P99, r.Errors, r.CPU)
		for i := range b.results {
			if b.results[i].system == system && b.results[i].viewer == v {
				b.results[i].runs = append(b.results[i].runs, r)
				return
			}
		}
		b.results = append(b.results, result{system: system, viewer: v, runs: []run{r}})
	}
	for i := 0; i < *runs; i++ {
		for _, v := range b.viewers {
			if measuring("a") {
				r, err := wrkRun(ctx, b.dir, ours.url, body, "Authorization", "Bearer "+b.tokens[v.org], ours.pid())
				add(systemA, v, r, err)
			}
			if measuring("p") {
				r, err := wrkRun(ctx, b.dir, ours.url, pricedBody, "Authorization", "Bearer "+b.tokens[v.org], ours.pid())
				add(systemP, v, r, err)
			}
			if measuring("b") {
				r, err := wrkRun(ctx, b.dir, peer.url, peerBody, "X-Org-Id", strconv.FormatInt(v.org, 10), peer.pid())
				add(systemB, v, r, err)
			}
			if measuring("c") {
				r, err := pgbenchRun(ctx, b.dir, b.oursURL, scripts[v.org])
				add(systemC, v, r, err)
			}
		}
		for _, rot := range b.rotated {
			r, err := wrkRotateRun(ctx, b.dir, ours.url, body, "Authorization", rot.tokenFile, ours.pid())
			add(systemAR, rot.key(), r, err)
			r, err = wrkRotateRun(ctx, b.dir, peer.url, peerBody, "X-Org-Id", rot.orgFile, peer.pid())
			add(systemBR, rot.key(), r, err)
		}
	}
	peer.stop()
	if measuring("d") {
		b.derivePartyOnly(ctx)
		for i := 0; i < *runs; i++ {
			for _, v := range b.viewers {
				r, err := wrkRun(ctx, b.dir, ours.url, body, "Authorization", "Bearer "+b.tokens[v.org], ours.pid())
				add(systemD, v, r, err)
			}
		}
		b.deriveRule(ctx)
	}
	var writes []writeResult
	if measuring("writes") {
		writes = b.measureWrites(ctx, ours)
	}
	ours.stop()
	var placing []placingResult
	if measuring("placing") {
		placing = measurePlacing(t, bin, b.dir)
	}
	if measuring("sqlite") {
		b.measureSQLite(ctx, bin, body, add)
	}
	report := b.report(writes, placing)
	fmt.Println(report)
	if err := os.WriteFile(filepath.Join(b.dir, "results.md"), []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("results in %s", filepath.Join(b.dir, "results.md"))
}

const (
	systemA = "a. Channelgraph (HTTP)"
	systemP = "p. Channelgraph, lines with prices (HTTP)"
	systemB = "b. PostGraphile 4.14.1 (HTTP, RLS)"
	systemC = "c. floor: Channelgraph's SQL via pgbench"
	systemD = "d. Channelgraph, plain party rule"
	systemS = "Channelgraph on SQLite (HTTP)"
)

// setupDatabases loads the peer's data set and Channelgraph's translation of
// it, on BENCH_DATABASE_URL's server or a throwaway cluster.
func (b *bench) setupDatabases(ctx context.Context) {
	t := b.t
	const peerDB, oursDB = "cg_peer_postgraphile", "cg_bench_channelgraph"
	if raw := os.Getenv("BENCH_DATABASE_URL"); raw != "" {
		b.adminURL = raw
		b.peerURL, b.oursURL = withDatabase(t, raw, peerDB), withDatabase(t, raw, oursDB)
	} else {
		if *reuse {
			t.Fatal("-page-bench-reuse needs BENCH_DATABASE_URL: a throwaway cluster keeps nothing")
		}
		b.peerURL = testdb.NewPostgres(t)
		b.oursURL = testdb.NewPostgres(t)
		b.adminURL = b.peerURL
	}
	if *reuse && loaded(ctx, b.peerURL, "purchase_orders") == *poCount && loaded(ctx, b.oursURL, "purchase_order_visibility") > 0 {
		t.Logf("reusing the loaded databases")
		return
	}
	if os.Getenv("BENCH_DATABASE_URL") != "" {
		for _, name := range []string{peerDB, oursDB} {
			adminExec(t, b.adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			adminExec(t, b.adminURL, "CREATE DATABASE "+name)
		}
	}
	start := time.Now()
	if err := loadPeer(ctx, b.adminURL, b.peerURL); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded the peer's data set (%d purchase orders) in %v", *poCount, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := loadChannelgraph(ctx, t.Logf, b.peerURL, b.oursURL); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded Channelgraph's database in %v", time.Since(start).Round(time.Millisecond))
}

func loaded(ctx context.Context, url, table string) int {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0
	}
	defer conn.Close(ctx)
	var n int
	_ = conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
	return n
}

func withDatabase(t *testing.T, raw, name string) string {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		t.Fatalf("BENCH_DATABASE_URL: %v", err)
	}
	u := fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", cfg.User, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), name)
	return u
}

func adminExec(t *testing.T, url, sql string) {
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// process is a server the benchmark started.
type process struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
}

func start(t *testing.T, cmd *exec.Cmd, url, logPath string) *process {
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, url: url, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func buildServer(t *testing.T, dir string) string {
	bin := filepath.Join(dir, "channelgraph")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/channelgraph")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServer runs the channelgraph binary on dbURL as a production
// deployment would, less the per-token rate limit (the load generator sends
// thousands of requests a second with one token per viewer).
func startServer(t *testing.T, bin, dbURL, dir, name string) *process {
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "CHANNELGRAPH_DATABASE_URL="+dbURL, "CHANNELGRAPH_ADDR="+addr,
		"CHANNELGRAPH_RATE_LIMIT=0", "CHANNELGRAPH_INTROSPECTION=off", "CHANNELGRAPH_ADMIN_TOKEN="+adminToken)
	p := start(t, cmd, "http://"+addr+"/graphql", filepath.Join(dir, name+".log"))
	waitFor(t, "http://"+addr+"/readyz", nil)
	return p
}

const adminToken = "page-benchmark-platform-administrator"

// startPeer installs the peer's pinned packages (as its run.sh does) and
// runs its server.js against its database as cg_peer_app, so RLS applies.
func (b *bench) startPeer(ctx context.Context) *process {
	t := b.t
	if !fileExists(filepath.Join(*peerDir, "node_modules", "postgraphile")) {
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = *peerDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", *peerDir, err, out)
		}
	}
	cfg, err := pgx.ParseConfig(b.peerURL)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("node", "server.js")
	cmd.Dir = *peerDir
	cmd.Env = append(os.Environ(), "NODE_ENV=production", "PORT="+port,
		fmt.Sprintf("DATABASE_URL=postgres://cg_peer_app@%s/%s", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg.Database))
	p := start(t, cmd, "http://"+addr+"/graphql", filepath.Join(b.dir, "postgraphile.log"))
	waitFor(t, p.url, func() (*http.Request, error) {
		r, err := http.NewRequest("POST", p.url, strings.NewReader(`{"query":"{__typename}"}`))
		if r != nil {
			r.Header.Set("Content-Type", "application/json")
		}
		return r, err
	})
	return p
}

func waitFor(t *testing.T, url string, req func() (*http.Request, error)) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var r *http.Request
		var err error
		if req != nil {
			r, err = req()
		} else {
			r, err = http.NewRequest("GET", url, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := http.DefaultClient.Do(r); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 60 s", url)
}

func post(url, body string, header ...string) ([]byte, error) {
	return postWith(http.DefaultClient, url, body, header...)
}

func postWith(client *http.Client, url, body string, header ...string) ([]byte, error) {
	r, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return out, fmt.Errorf("HTTP %d: %s", resp.StatusCode, out)
	}
	return out, err
}

func mustWriteJSON(t *testing.T, path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sanity checks that both systems serve each viewer the same page: the same
// totalCount and the same order numbers, newest first (ties in createdAt
// aside: the peer breaks them by id ascending, Channelgraph descending).
func (b *bench) sanity(ours, peer *process) {
	t := b.t
	for _, v := range b.viewers {
		g, w := b.firstPages(ours, peer, v.org, v.String())
		if g.totalCount != w.totalCount || !samePage(g.numbers, w.numbers) {
			t.Fatalf("%s: Channelgraph answers totalCount %d, page %v; PostGraphile %d, %v", v,
				g.totalCount, g.numbers, w.totalCount, w.numbers)
		}
		t.Logf("%s: both answer totalCount %d and the same page of %d", v, g.totalCount, len(g.numbers))
	}
}

// firstPage is one system's answer to the page query: its totalCount and
// the order numbers on the page.
type firstPage struct {
	totalCount int
	numbers    []string
}

// firstPages asks both systems for org's first page, as org (named by who
// in failures): Channelgraph with org's token, the peer with X-Org-Id.
func (b *bench) firstPages(ours, peer *process, org int64, who string) (got, want firstPage) {
	t := b.t
	peerQuery, err := os.ReadFile(filepath.Join(*peerDir, "query.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"query": pageQuery})
	raw, err := post(ours.url, string(body), "Authorization", "Bearer "+b.tokens[org])
	if err != nil {
		t.Fatalf("Channelgraph, %s: %v", who, err)
	}
	var ourAnswer struct {
		Data struct {
			PurchaseOrders struct {
				TotalCount int
				Edges      []struct{ Node struct{ Number string } }
			}
		}
		Errors []any
	}
	if err := json.Unmarshal(raw, &ourAnswer); err != nil || len(ourAnswer.Errors) > 0 {
		t.Fatalf("Channelgraph, %s: %v %s", who, err, raw)
	}
	body, _ = json.Marshal(map[string]string{"query": string(peerQuery)})
	raw, err = post(peer.url, string(body), "X-Org-Id", strconv.FormatInt(org, 10))
	if err != nil {
		t.Fatalf("PostGraphile, %s: %v", who, err)
	}
	var peerAnswer struct {
		Data struct {
			AllPurchaseOrders struct {
				TotalCount int
				Nodes      []struct{ Number string }
			}
		}
		Errors []any
	}
	if err := json.Unmarshal(raw, &peerAnswer); err != nil || len(peerAnswer.Errors) > 0 {
		t.Fatalf("PostGraphile, %s: %v %s", who, err, raw)
	}
	got.totalCount, want.totalCount = ourAnswer.Data.PurchaseOrders.TotalCount, peerAnswer.Data.AllPurchaseOrders.TotalCount
	for _, e := range ourAnswer.Data.PurchaseOrders.Edges {
		got.numbers = append(got.numbers, e.Node.Number)
	}
	for _, n := range peerAnswer.Data.AllPurchaseOrders.Nodes {
		want.numbers = append(want.numbers, n.Number)
	}
	return got, want
}

// samePage compares two pages as sets of order numbers (the order of ties in
// createdAt differs; the set of the newest 50 can differ only at a tie on
// the page's last createdAt, which the data set does not have for these
// viewers, so a difference there is reported).
func samePage(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// summary helpers

func median(runs []run, f func(run) float64) (med, lo, hi float64) {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v[len(v)/2], v[0], v[len(v)-1]
}

// medianRun is the run whose req/s is the median.
func medianRun(runs []run) run {
	s := slices.Clone(runs)
	slices.SortFunc(s, func(a, b run) int {
		switch {
		case a.RPS < b.RPS:
			return -1
		case a.RPS > b.RPS:
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}
