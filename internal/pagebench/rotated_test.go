package pagebench_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

var (
	rotateList = flag.String("page-bench-rotate", "reseller:1000:50,customer:1000:1,distributor:1000:1",
		"rotated-viewer cases, kind:at most this many viewers:each seeing at least this many orders (empty: none)")
	rotateSanity = flag.Int("page-bench-rotate-sanity", 25, "rotated viewers of each kind whose totalCount is checked on both systems")
)

// The rotated-viewer systems: the first page, each request by the next of a
// thousand viewers of one kind, so no token, plan or heap page is hot for
// one viewer the way a single viewer's is.
const (
	systemAR = "a. Channelgraph, rotated viewers (HTTP)"
	systemBR = "b. PostGraphile 4.14.1, rotated viewers (HTTP, RLS)"
)

// rotation is one rotated-viewer case: viewers of one kind, picked from the
// loaded database, in the order the load generator sends them.
type rotation struct {
	kind      string
	want      int // at most this many viewers
	minOrders int // each sees at least this many orders
	orgs      []int64
	fewest    int64  // orders the viewer seeing fewest sees (purchase_order_visibility_counts)
	most      int64  // and the one seeing most
	available int    // viewers of the kind that qualify, before the cap
	tokenFile string // "Bearer <token>" per line, in orgs' order
	orgFile   string // the organization id per line, in orgs' order
}

// key is the rotation's place in b.results: its kind, no single organization.
func (r *rotation) key() viewer { return viewer{kind: r.kind} }

func (r *rotation) String() string {
	return fmt.Sprintf("%d %ss (each sees ≥ %d orders; %d–%d)", len(r.orgs), r.kind, max(r.minOrders, 1), r.fewest, r.most)
}

func rotations(t interface{ Fatalf(string, ...any) }) []*rotation {
	var out []*rotation
	for _, s := range strings.Split(*rotateList, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		f := strings.Split(s, ":")
		if len(f) != 3 {
			t.Fatalf("-page-bench-rotate: %q is not kind:viewers:min orders", s)
		}
		n, err1 := strconv.Atoi(f[1])
		m, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || n < 1 {
			t.Fatalf("-page-bench-rotate: %q is not kind:viewers:min orders", s)
		}
		out = append(out, &rotation{kind: f[0], want: n, minOrders: m})
	}
	return out
}

// pickRotations fills each rotation's viewers from Channelgraph's loaded
// database: organizations of the kind seeing at least minOrders orders,
// at most want of them, in a fixed pseudo-random order (md5 of the id), so
// every run rotates over the same viewers and neighbouring ids (loaded
// together, often sharing a chain) do not follow one another.
func (b *bench) pickRotations(ctx context.Context, rs []*rotation) {
	t := b.t
	conn, err := pgx.Connect(ctx, b.oursURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, r := range rs {
		rows, err := conn.Query(ctx, `SELECT o.id, c.purchase_orders, COUNT(*) OVER ()
			FROM organizations o JOIN (SELECT viewer_organization_id, SUM(purchase_orders)::bigint AS purchase_orders
				FROM purchase_order_visibility_counts GROUP BY viewer_organization_id) c ON c.viewer_organization_id = o.id
			WHERE o.kind = upper($1) AND c.purchase_orders >= greatest($2, 1)
			ORDER BY md5(o.id::text) LIMIT $3`, r.kind, r.minOrders, r.want)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, n int64
			if err := rows.Scan(&id, &n, &r.available); err != nil {
				t.Fatal(err)
			}
			if len(r.orgs) == 0 || n < r.fewest {
				r.fewest = n
			}
			r.most = max(r.most, n)
			r.orgs = append(r.orgs, id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(r.orgs) == 0 {
			t.Fatalf("no %s sees ≥ %d orders", r.kind, r.minOrders)
		}
		t.Logf("rotating over %d of %d %ss that see ≥ %d orders (they see %d–%d)", len(r.orgs), r.available, r.kind,
			max(r.minOrders, 1), r.fewest, r.most)
	}
}

// writeRotationFiles writes each rotation's header values, one per line:
// the bearer tokens for Channelgraph, the organization ids for the peer
// (X-Org-Id), in the same order.
func (b *bench) writeRotationFiles(rs []*rotation) {
	for _, r := range rs {
		var tokens, orgs strings.Builder
		for _, id := range r.orgs {
			tok, ok := b.tokens[id]
			if !ok {
				b.t.Fatalf("no token for %s %d", r.kind, id)
			}
			fmt.Fprintf(&tokens, "Bearer %s\n", tok)
			fmt.Fprintf(&orgs, "%d\n", id)
		}
		r.tokenFile = filepath.Join(b.dir, "rotate-"+r.kind+"-tokens.txt")
		r.orgFile = filepath.Join(b.dir, "rotate-"+r.kind+"-orgs.txt")
		if err := os.WriteFile(r.tokenFile, []byte(tokens.String()), 0o600); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(r.orgFile, []byte(orgs.String()), 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// wrkRotateLua posts BODY_FILE with HEADER_NAME set to the next line of
// HEADER_FILE on every request. The requests are formatted once per thread;
// each thread starts at its own offset into the file (thread i of THREADS at
// i/THREADS of it), and a thread's connections share its position, so
// consecutive requests, on one connection or across them, carry different
// viewers.
const wrkRotateLua = `local values = {}
for line in io.lines(os.getenv("HEADER_FILE")) do
  if line ~= "" then values[#values + 1] = line end
end
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()
local name = os.getenv("HEADER_NAME")
local threads = tonumber(os.getenv("THREADS"))

local started = 0
function setup(thread)
  thread:set("thread_index", started)
  started = started + 1
end

local requests, position = {}, 0
function init(args)
  for i, v in ipairs(values) do
    local headers = {["Content-Type"] = "application/json"}
    headers[name] = v
    requests[i] = wrk.format("POST", nil, headers, body)
  end
  position = math.floor((thread_index or 0) * #requests / threads)
end

function request()
  position = position % #requests + 1
  return requests[position]
end
`

// wrkRotateRun drives url as wrkRun does, rotating headerName's value over
// the lines of headerFile.
func wrkRotateRun(ctx context.Context, dir, url, bodyFile, headerName, headerFile string, serverPID int) (run, error) {
	return wrkScriptRun(ctx, dir, url, "rotate.lua", wrkRotateLua, serverPID,
		"BODY_FILE="+bodyFile, "HEADER_NAME="+headerName, "HEADER_FILE="+headerFile, "THREADS="+strconv.Itoa(wrkThreads))
}

// sanityRotated checks, for an evenly spread sample of each rotation's
// viewers, that both systems answer the same totalCount, and that the
// first page has min(totalCount, 50) orders on both.
func (b *bench) sanityRotated(rs []*rotation, ours, peer *process) {
	t := b.t
	for _, r := range rs {
		n := min(*rotateSanity, len(r.orgs))
		for i := 0; i < n; i++ {
			id := r.orgs[i*len(r.orgs)/n]
			g, w := b.firstPages(ours, peer, id, fmt.Sprintf("%s %d", r.kind, id))
			if g.totalCount != w.totalCount || len(g.numbers) != len(w.numbers) || len(g.numbers) != min(g.totalCount, 50) {
				t.Fatalf("%s %d: Channelgraph answers totalCount %d with %d orders; PostGraphile %d with %d",
					r.kind, id, g.totalCount, len(g.numbers), w.totalCount, len(w.numbers))
			}
		}
		t.Logf("rotated %ss: %d of %d answer the same totalCount on both systems", r.kind, n, len(r.orgs))
	}
}

// rotationReport is the rotated cases' tables: each system's figures as the
// hot cases report them, and the ratios with their targets.
func (b *bench) rotationReport(rs []*rotation) string {
	if len(rs) == 0 || (b.find(systemAR, rs[0].key()) == nil && b.find(systemBR, rs[0].key()) == nil) {
		return ""
	}
	var s strings.Builder
	s.WriteString("\n### The first page, rotated over many viewers of a kind\n\n")
	s.WriteString("Each request carries the next viewer's token (the peer: its X-Org-Id), each wrk thread starting at its own offset, " +
		"so consecutive requests are by different viewers. The viewers: organizations of the kind that see at least the given " +
		"number of orders, at most 1,000 of them, in a fixed pseudo-random order (md5 of the id).\n\n")
	s.WriteString("| viewers | system | req/s | p50 ms | p99 ms | CPU server / postgres / loadgen |\n|---|---|---:|---:|---:|---|\n")
	for _, r := range rs {
		desc := r.String()
		if r.available > len(r.orgs) {
			desc += fmt.Sprintf(" of %d", r.available)
		} else {
			desc += ", all there are"
		}
		for _, sys := range []string{systemAR, systemBR} {
			if line := resultLine(b.find(sys, r.key())); line != "" {
				fmt.Fprintf(&s, "| %s | %s | %s |\n", desc, sys, line)
			}
		}
	}
	s.WriteString("\n| viewers | rotated / hot (≥ 0.8×) | rotated: ours / peer (target) | hot: ours / peer (target) | p99 rotated (≤ 50 ms) |\n|---|---:|---:|---:|---:|\n")
	for _, r := range rs {
		ar := b.find(systemAR, r.key())
		if ar == nil {
			continue
		}
		rar := medianRPS(ar)
		hot, hotViewer := b.hotResult(r.kind, systemA)
		rotHot := "– (no hot " + r.kind + " measured)"
		if hot != nil {
			rotHot = ratioCell(rar/medianRPS(hot), 0.8) + fmt.Sprintf(" (hot: %s)", hotViewer)
		}
		rotPeer := "–"
		if br := b.find(systemBR, r.key()); br != nil {
			rotPeer = ratioCell(rar/medianRPS(br), targetRotatedAB(r.kind)) + fmt.Sprintf(" (≥ %.1f×)", targetRotatedAB(r.kind))
		}
		hotPeer := "–"
		if hot != nil {
			if hb, _ := b.hotResult(r.kind, systemB); hb != nil {
				hotPeer = ratioCell(medianRPS(hot)/medianRPS(hb), targetAB(hotViewer)) + fmt.Sprintf(" (≥ %.1f×)", targetAB(hotViewer))
			}
		}
		p99 := medianRun(ar.runs).P99
		mark := "met"
		if p99 > 50 {
			mark = "**missed**"
		}
		fmt.Fprintf(&s, "| %d %ss | %s | %s | %s | %.1f ms %s |\n", len(r.orgs), r.kind, rotHot, rotPeer, hotPeer, p99, mark)
	}
	return s.String()
}

// targetRotatedAB is issue 15's: the rotated page ≥ 5× the peer's for
// resellers and distributors, ≥ 2.5× for customers.
func targetRotatedAB(kind string) float64 {
	if kind == "customer" {
		return 2.5
	}
	return 5
}

// hotResult is system's result for the first hot viewer of kind.
func (b *bench) hotResult(kind, system string) (*result, viewer) {
	for _, v := range b.viewers {
		if v.kind == kind {
			return b.find(system, v), v
		}
	}
	return nil, viewer{}
}

func medianRPS(r *result) float64 {
	m, _, _ := median(r.runs, func(x run) float64 { return x.RPS })
	return m
}

func ratioCell(x, target float64) string {
	if x < target {
		return fmt.Sprintf("%.2f× **missed**", x)
	}
	return fmt.Sprintf("%.2f× met", x)
}

// resultLine is a result's req/s (median, min–max, errors), p50, p99 and
// CPU split as the report's tables show them; "" without a result.
func resultLine(r *result) string {
	if r == nil {
		return ""
	}
	med, lo, hi := median(r.runs, func(x run) float64 { return x.RPS })
	m := medianRun(r.runs)
	errs := ""
	for _, x := range r.runs {
		if x.Errors > 0 {
			errs = fmt.Sprintf(" (**%d errors**)", x.Errors)
		}
	}
	return fmt.Sprintf("**%.0f** (%.0f–%.0f)%s | %.1f | %.1f | %s", med, lo, hi, errs, m.P50, m.P99, m.CPU)
}
