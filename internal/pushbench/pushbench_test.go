package pushbench_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

var (
	run         = flag.Bool("push-bench", false, "run the push benchmark (make bench-push)")
	sizes       = flag.String("push-subscribers", "1000,10000", "subscriber counts to measure")
	eventsPerN  = flag.Int("push-events", 30, "measured events per run (after 5 warm-up events)")
	cpuProfile  = flag.String("push-cpu-profile", "", "write a CPU profile of the events phase to this file prefix")
	heapProfile = flag.String("push-heap-profile", "", "write a heap profile of the idle subscribers' server to this file prefix")
	numberCount atomic.Int64
)

func TestMain(m *testing.M) {
	if os.Getenv("PUSHBENCH_N") != "" {
		runClient()
		return
	}
	testdb.Main(m)
}

type result struct {
	mode           string
	n              int
	p50, p99, max  time.Duration
	bytesPerSubscr float64
}

// TestPushBenchmark prints a table of commit-to-push latency and memory per
// idle subscriber, Channelgraph beside the floor.
func TestPushBenchmark(t *testing.T) {
	if !*run {
		t.Skip("a benchmark, not a test: run it with `make bench-push`")
	}
	var results []result
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, measure(t, "floor", n), measure(t, "channelgraph", n))
	}
	fmt.Printf("\n| subscribers | system | p50 ms | p99 ms | max ms | p99 − floor p99 | server bytes per idle subscriber | ratio to floor |\n|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for i, r := range results {
		floor := results[i-i%2]
		fmt.Printf("| %d | %s | %.2f | %.2f | %.2f | %+.2f ms | %.0f | %.2f× |\n", r.n, r.mode, ms(r.p50), ms(r.p99), ms(r.max),
			ms(r.p99-floor.p99), r.bytesPerSubscr, r.bytesPerSubscr/floor.bytesPerSubscr)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// measure runs one system with n subscribers and returns its numbers.
func measure(t *testing.T, mode string, n int) result {
	url := testdb.NewPostgres(t)
	db, err := database.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := database.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	var lastCommit atomic.Int64
	db.AddQueryHook(commitClock{&lastCommit})

	var wsURL, token string
	var commit func(i int) time.Time
	var subscribed func() int
	var stop func()
	if mode == "floor" {
		wsURL, commit, subscribed, stop = startFloor(t, db, url)
	} else {
		wsURL, token, commit, subscribed, stop = startChannelgraph(t, db, url, &lastCommit)
	}
	defer stop()

	// Warm the server first (database pool, caches, first-use allocations),
	// so the baseline leaves only what each subscriber costs.
	warm, _ := startClients(t, wsURL, mode, token, 50)
	for subscribed() < 50 {
		time.Sleep(10 * time.Millisecond)
	}
	warm.stdin.Close()
	_ = warm.cmd.Process.Kill()
	_ = warm.cmd.Wait()
	for subscribed() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	base := serverMemory()
	child, out := startClients(t, wsURL, mode, token, n)
	for subscribed() < n {
		time.Sleep(10 * time.Millisecond)
	}
	perSubscriber := float64(serverMemory()-base) / float64(n)
	if *heapProfile != "" {
		f, err := os.Create(fmt.Sprintf("%s-%s-%d.pprof", *heapProfile, mode, n))
		check(t, err)
		check(t, pprof.Lookup("heap").WriteTo(f, 0))
		f.Close()
	}

	if *cpuProfile != "" {
		f, err := os.Create(fmt.Sprintf("%s-%s-%d.pprof", *cpuProfile, mode, n))
		check(t, err)
		check(t, pprof.StartCPUProfile(f))
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	commits := map[int]time.Time{}
	const warmup = 5
	for k := 0; k < warmup+*eventsPerN; k++ {
		i := int(numberCount.Add(1))
		at := commit(i)
		if k >= warmup {
			commits[i] = at
		}
		child.waitDone(t, i)
	}
	lat := child.finish(t, out, commits)
	slices.Sort(lat)
	r := result{mode: mode, n: n, bytesPerSubscr: perSubscriber,
		p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], max: lat[len(lat)-1]}
	t.Logf("%s with %d subscribers: p50 %v, p99 %v, %.0f bytes per idle subscriber", mode, n, r.p50, r.p99, perSubscriber)
	return r
}

// serverMemory is this process's live heap and goroutine stacks, after GC.
func serverMemory() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// commitClock records when the last COMMIT of this process finished.
type commitClock struct{ at *atomic.Int64 }

func (c commitClock) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (c commitClock) AfterQuery(_ context.Context, ev *bun.QueryEvent) {
	if ev.Query == "COMMIT" {
		c.at.Store(time.Now().UnixNano())
	}
}

// startFloor serves bare gorilla connections and writes "I" to each of them
// when NOTIFY pushbench_floor, 'I' arrives.
func startFloor(t *testing.T, db *bun.DB, url string) (string, func(int) time.Time, func() int, func()) {
	var mu sync.Mutex
	var conns []*websocket.Conn
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		go func() { // a reader, as any server needs, to see closes
			for {
				if _, _, err := c.NextReader(); err != nil {
					mu.Lock()
					conns = slices.DeleteFunc(conns, func(x *websocket.Conn) bool { return x == c })
					mu.Unlock()
					c.Close()
					return
				}
			}
		}()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan struct{})
	go func() {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			panic(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "LISTEN pushbench_floor"); err != nil {
			panic(err)
		}
		close(listening)
		for {
			note, err := conn.WaitForNotification(ctx)
			if err != nil {
				return
			}
			msg := []byte(note.Payload)
			mu.Lock()
			for _, c := range conns {
				_ = c.WriteMessage(websocket.TextMessage, msg)
			}
			mu.Unlock()
		}
	}()
	<-listening
	commit := func(i int) time.Time {
		if _, err := db.ExecContext(context.Background(), "SELECT pg_notify('pushbench_floor', ?)", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
	stop := func() {
		cancel()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		srv.Close()
	}
	return "ws" + strings.TrimPrefix(srv.URL, "http"), commit, count, stop
}

// startChannelgraph serves the real thing; each event is a purchase order
// of a direct sale, recorded through the orders service.
func startChannelgraph(t *testing.T, db *bun.DB, url string, lastCommit *atomic.Int64) (string, string, func(int) time.Time, func() int, func()) {
	ctx := context.Background()
	admin := domain.WithViewer(ctx, &domain.Viewer{IsPlatformAdmin: true})
	ch := channel.New(db)
	vendor, err := ch.CreateOrganization(admin, channel.CreateOrganizationInput{Name: "Vendor", Kind: domain.KindVendor})
	check(t, err)
	customer, err := ch.CreateOrganization(admin, channel.CreateOrganizationInput{Name: "Customer", Kind: domain.KindCustomer})
	check(t, err)
	_, err = ch.CreateChannelEdge(admin, vendor.ID, customer.ID)
	check(t, err)
	_, err = catalog.New(db).CreateProduct(admin, catalog.CreateProductInput{VendorID: vendor.ID, SKU: "SKU-1", Name: "p", Type: domain.ProductLicense})
	check(t, err)
	token, err := auth.IssueForSetup(ctx, db, vendor.ID, domain.RoleViewer, "bench")
	check(t, err)

	app, err := server.New(ctx, db, server.Config{DatabaseURL: url, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	check(t, err)
	app.Start()
	srv := httptest.NewServer(app.Handler())
	ord := orders.New(db)
	commit := func(i int) time.Time {
		_, err := ord.CreatePurchaseOrder(admin, orders.CreateInput{Number: fmt.Sprintf("B-%d", i), VendorID: vendor.ID,
			CustomerID: customer.ID, Lines: []orders.LineInput{{SKU: "SKU-1", Quantity: 1}}})
		check(t, err)
		return time.Unix(0, lastCommit.Load())
	}
	count := func() int {
		members, _ := app.Hub().Subscribers()
		return members
	}
	stop := func() {
		srv.Close()
		app.Close()
	}
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/graphql", token, commit, count, stop
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type clients struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan int
}

func startClients(t *testing.T, url, mode, token string, n int) (*clients, string) {
	out := filepath.Join(t.TempDir(), "received.txt")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PUSHBENCH_URL="+url, "PUSHBENCH_MODE="+mode, "PUSHBENCH_TOKEN="+token,
		"PUSHBENCH_N="+strconv.Itoa(n), "PUSHBENCH_OUT="+out)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := &clients{cmd: cmd, stdin: stdin, done: make(chan int, 1024)}
	ready, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "ready":
				close(ready)
			case strings.HasPrefix(line, "done "):
				i, _ := strconv.Atoi(strings.TrimPrefix(line, "done "))
				c.done <- i
			}
		}
	}()
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("the subscriber process ended before its %d subscribers connected", n)
	case <-time.After(5 * time.Minute):
		t.Fatalf("%d subscribers did not connect", n)
	}
	return c, out
}

func (c *clients) waitDone(t *testing.T, i int) {
	for {
		select {
		case got := <-c.done:
			if got == i {
				return
			}
		case <-time.After(time.Minute):
			t.Fatalf("event %d did not reach every subscriber", i)
		}
	}
}

// finish stops the clients and returns the latency of every delivery of
// the measured events.
func (c *clients) finish(t *testing.T, out string, commits map[int]time.Time) []time.Duration {
	c.stdin.Close()
	_ = c.cmd.Wait()
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var lat []time.Duration
	first := map[int]time.Duration{}
	for _, line := range strings.Split(string(data), "\n") {
		i, rest, ok := strings.Cut(line, " ")
		idx, err1 := strconv.Atoi(i)
		at, err2 := strconv.ParseInt(rest, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		if c, ok := commits[idx]; ok {
			d := time.Unix(0, at).Sub(c)
			lat = append(lat, d)
			if f, seen := first[idx]; !seen || d < f {
				first[idx] = d
			}
		}
	}
	if len(lat) == 0 {
		t.Fatal("no deliveries recorded")
	}
	firsts := slices.Sorted(maps.Values(first))
	t.Logf("first delivery of an event: median %v, max %v", firsts[len(firsts)/2], firsts[len(firsts)-1])
	return lat
}
