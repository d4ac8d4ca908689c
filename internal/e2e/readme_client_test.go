package e2e

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestReadmeClientResumes: the graphql-ws example in README.md, taken from
// the README as it is and saved under the file name the README gives, is run
// by Node.js against a server on PostgreSQL, through a proxy this test
// controls, while a writer records orders. The proxy cuts the connection
// and holds the client's next attempt (a dropped connection, which the
// client sees only as a close); later the server is stopped (SIGTERM) and
// started again on the same database, and the proxy refuses the client's
// attempts meanwhile. Both times the client gets back in only once orders
// have committed behind its back, so that they reach it only if it
// resubscribes with `after:` the last cursor it received. In the end the
// client must have printed every committed order exactly once, in commit
// order.
//
// It fails if the README has no marked ```js block, if the script cannot
// run under its name (an ES module saved as .js), if it exits, prints a
// line that is not an event, or stops reconnecting, or if an order is lost,
// repeated or out of order across a reconnection.
func TestReadmeClientResumes(t *testing.T) {
	t.Parallel()
	name, snippet := readmeSnippet(t)
	node, npm := needNode(t)
	// As a reader would have it: the script alone in a directory whose
	// package.json (what `npm install` writes) does not make .js a module;
	// the packages are found in the parent's node_modules.
	dir := filepath.Join(installJSClient(t, npm), "readme")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for file, text := range map[string]string{name: snippet, "package.json": "{}\n"} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	databaseURL := testdb.NewPostgres(t)
	srv := startServer(t, "server (first run)", databaseURL)
	c := newClient(t)
	ch := setupChannel(t, c, srv.graphqlURL())
	px := startProxy(t)
	px.open(srv.addr)

	rec := newRecorder()
	out := &logBuffer{}
	stdout := &logBuffer{onLine: func(line string) {
		ev, err := parseResult([]byte(`{"data":` + line + `}`))
		if err != nil {
			t.Errorf("the README's client printed %q: %v", line, err)
			return
		}
		rec.add(ev)
	}}
	cmd := exec.Command(node, name)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WS_URL=ws://"+px.addr()+"/graphql", "TOKEN="+ch.vendorToken)
	cmd.Stdout = io.MultiWriter(out, stdout)
	script, err := startProcess(t, "node "+name, cmd, out)
	if err != nil {
		t.Fatal(err)
	}
	state := func() string {
		select {
		case <-script.exited:
			return "ended: the script exited (" + cmd.ProcessState.String() + ")"
		default:
			return "of a script still running"
		}
	}
	next := func(d time.Duration) (event, bool) {
		if rec.waitFor(d, func(evs []event) bool { return len(evs) > 0 }) {
			return rec.snapshot()[0], true
		}
		return event{}, false
	}
	goLive(t, "W", func(n string) { ch.mustCreateOrder(t, c, srv.graphqlURL(), n) }, next)

	w := &writer{ch: ch, c: c}
	w.target.Store(srv.graphqlURL())
	writerDone := w.start()
	t.Cleanup(func() { w.abort(); <-writerDone })
	// waitDelivered waits until the client has printed the order
	// acknowledged n-th or a later one (if it skipped that order,
	// checkDeliveredOnce says so).
	waitDelivered := func(what string, n int64) {
		t.Helper()
		if !rec.waitFor(eventTimeout, func(evs []event) bool {
			for _, ev := range evs {
				if k, ok := strings.CutPrefix(ev.Number, "P-"); ok {
					if i, _ := strconv.ParseInt(k, 10, 64); i >= n {
						return true
					}
				}
			}
			return false
		}) {
			t.Fatalf("%s: P-%d was not printed within %v; received (number@cursor) %v; subscription %s",
				what, n, eventTimeout, numbersOf(rec.snapshot()), state())
		}
	}
	// holdUntil keeps the client out (px.cut) until more orders have
	// committed and it has tried to reconnect, then lets it through to addr.
	holdUntil := func(addr string, orders int64) {
		t.Helper()
		kept := px.kept.Load()
		w.waitAcked(t, w.acked.Load()+orders)
		for px.kept.Load() == kept {
			if !waitOrExit(script, 10*time.Millisecond) {
				t.Fatalf("the README's client exited while reconnecting (%s)", cmd.ProcessState)
			}
		}
		px.open(addr)
	}

	waitDelivered("before any disconnection", 5)

	// A dropped connection: the client's next attempt waits until orders
	// have committed (it gets no error, so it would not notice).
	px.cut(false)
	holdUntil(srv.addr, 5)
	waitDelivered("after the connection was cut", w.acked.Load()+3)
	cutEvents := len(rec.snapshot())

	// A server restart on the same database: the client's attempts are
	// refused until orders have committed on the restarted server.
	px.cut(true)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if waitOrExit(srv.process, 20*time.Second) {
		t.Fatal("the server did not exit within 20s of SIGTERM")
	}
	srv = startServer(t, "server (restarted)", databaseURL)
	w.target.Store(srv.graphqlURL())
	holdUntil(srv.addr, 5)
	waitDelivered("after the server restarted", w.acked.Load()+5)

	w.stop()
	<-writerDone
	if w.err != nil {
		t.Fatal(w.err)
	}
	got := checkDeliveredOnce(t, c, ch, srv.graphqlURL(), w.committed, rec, state)
	t.Logf("%d orders, %d events printed (%d before the restart); the proxy held or refused %d connections; %d failed writes",
		len(w.committed), len(got), cutEvents, px.kept.Load(), w.failures.Load())
}

// readmeMarker precedes, in README.md, the example client: the file name
// the README tells the reader to save it under, then its ```js block.
var readmeMarker = regexp.MustCompile("(?s)<!-- e2e: (\\S+) [^>]*-->\n```js\n(.*?\n)```\n")

// readmeSnippet returns the README's example client and its file name.
func readmeSnippet(t *testing.T) (name, snippet string) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := readmeMarker.FindAllSubmatch(readme, -1)
	if len(m) != 1 {
		t.Fatalf("README.md has %d blocks marked <!-- e2e: FILE … --> followed by ```js, want 1", len(m))
	}
	name = string(m[0][1])
	if !strings.Contains(string(readme), "node "+name) {
		t.Fatalf("README.md does not say to run `node %s`", name)
	}
	return name, string(m[0][2])
}

// waitOrExit waits d for p to exit; it reports whether p is still running.
func waitOrExit(p *process, d time.Duration) bool {
	select {
	case <-p.exited:
		return false
	case <-time.After(d):
		return true
	}
}

// proxy forwards TCP connections on a port of 127.0.0.1 to the server at
// its target, so that a client keeps one address across server restarts. It
// can cut every connection it carries; until it is given a target again, it
// then holds new connections (they wait, as on a slow network) or refuses
// them (accepts and closes them at once, as for a server that is down).
type proxy struct {
	ln       net.Listener
	mu       sync.Mutex
	target   string // host:port; "" holds or refuses
	refusing bool
	conns    map[net.Conn]bool
	kept     atomic.Int64 // connections held or refused so far
}

func startProxy(t *testing.T) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut(true) })
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// open lets connections through to target, held ones included.
func (p *proxy) open(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

// cut closes every connection, and holds new ones (or refuses them) until
// open.
func (p *proxy) cut(refuse bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target, p.refusing = "", refuse
	for conn := range p.conns {
		conn.Close()
		delete(p.conns, conn)
	}
}

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(in)
	}
}

func (p *proxy) forward(in net.Conn) {
	p.mu.Lock()
	p.conns[in] = true
	if p.target == "" {
		p.kept.Add(1)
	}
	for p.target == "" && !p.refusing && p.conns[in] {
		p.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		p.mu.Lock()
	}
	target := p.target
	p.mu.Unlock()
	var out net.Conn
	var err error
	if target != "" {
		out, err = net.DialTimeout("tcp", target, 5*time.Second)
	}
	p.mu.Lock()
	if target == "" || err != nil || p.target != target || !p.conns[in] {
		delete(p.conns, in)
		p.mu.Unlock()
		in.Close()
		if out != nil {
			out.Close()
		}
		return
	}
	p.conns[out] = true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) { _, _ = io.Copy(dst, src); done <- struct{}{} }
	go pipe(out, in)
	go pipe(in, out)
	<-done
	in.Close()
	out.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, in)
	delete(p.conns, out)
	p.mu.Unlock()
}
