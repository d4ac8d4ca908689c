package wstransport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/channelgraph/channelgraph/internal/wstransport"
)

const (
	transportWS = "graphql-transport-ws"
	legacyWS    = "graphql-ws"
	waitLimit   = 10 * time.Second // generous: only reached when something is wrong
)

// env is one server with a fake executor. Its cleanup checks that every
// connection goroutine and executor goroutine has ended and that stop was
// called exactly once for every operation started.
type env struct {
	t         *testing.T
	exec      *fakeExec
	srv       *httptest.Server
	url       string
	transport *wstransport.Transport
}

type envConfig struct {
	opts          wstransport.Options
	smallSendBufs bool // small kernel send buffers, so a client that does not read backs up quickly
	next          http.Handler
}

func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	e := &env{t: t, exec: newFakeExec()}
	panics := &panicWatch{}
	e.transport = wstransport.Handler(e.exec, cfg.opts, cfg.next)
	e.srv = httptest.NewUnstartedServer(e.transport)
	e.srv.Config.ErrorLog = log.New(panics, "", 0)
	if cfg.smallSendBufs {
		e.srv.Listener = smallBufListener{e.srv.Listener}
	}
	e.srv.Start()
	e.url = "ws" + strings.TrimPrefix(e.srv.URL, "http")
	t.Cleanup(func() {
		e.srv.Close()
		waitNoLeaks(t)
		e.exec.checkStops(t)
		if p := panics.String(); p != "" {
			t.Errorf("the server logged a panic:\n%s", p)
		}
	})
	return e
}

// panicWatch collects what the HTTP server logs about panics in handlers.
type panicWatch struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (p *panicWatch) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if bytes.Contains(b, []byte("panic")) {
		p.buf.Write(b)
	}
	return len(b), nil
}

func (p *panicWatch) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return c, err
}

// waitNoLeaks waits until no goroutine runs transport or fake executor code.
func waitNoLeaks(t *testing.T) {
	t.Helper()
	var left []string
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		if left = leakedGoroutines(); len(left) == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("%d goroutines still running:\n%s", len(left), strings.Join(left, "\n\n"))
}

func leakedGoroutines() []string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "internal/wstransport.") || strings.Contains(g, "wstransport_test.(*fakeExec)") {
			left = append(left, g)
		}
	}
	return left
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ---- fake executor ----

type viewerKey struct{}

// opRecord is what the fake executor saw of one operation.
type opRecord struct {
	req       wstransport.Request
	sink      wstransport.Sink
	stops     atomic.Int32
	stopped   chan struct{} // closed at the first stop
	nextFalse chan struct{} // closed when Next first returned false
	once      sync.Once
	falseOnce sync.Once
	maxNext   atomic.Int64 // longest Next call, in nanoseconds
}

func (r *opRecord) stop() {
	r.stops.Add(1)
	r.once.Do(func() { close(r.stopped) })
}

// next calls sink.Next, recording how long it took and whether it said stop.
func (r *opRecord) next(sink wstransport.Sink, payload []byte) bool {
	start := time.Now()
	ok := sink.Next(payload)
	if d := int64(time.Since(start)); d > r.maxNext.Load() {
		r.maxNext.Store(d)
	}
	if !ok {
		r.falseOnce.Do(func() { close(r.nextFalse) })
	}
	return ok
}

// fakeExec accepts {"Authorization":"Bearer good"} (keys and scheme in any
// case) or {"token":"good"}, and runs operations chosen by their query:
//
//	subscription count    n (variable) results, then complete
//	subscription forever  a result every ms (variable, default 5) until stopped
//	subscription shared   results fanned out by one shared producer (a tiny hub)
//	subscription fail     an error result, from another goroutine
//	query now             one result and complete, from inside Start
//	query failnow         an error, from inside Start
type fakeExec struct {
	authorized atomic.Bool

	mu         sync.Mutex
	ops        []*opRecord
	hub        map[*opRecord]wstransport.Sink
	hubRunning bool
}

func newFakeExec() *fakeExec {
	f := &fakeExec{hub: map[*opRecord]wstransport.Sink{}}
	f.authorized.Store(true)
	return f
}

func (f *fakeExec) Init(ctx context.Context, payload json.RawMessage) (context.Context, error) {
	var fields map[string]any
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &fields); err != nil {
			return nil, err
		}
	}
	for k, v := range fields {
		s, _ := v.(string)
		scheme, token, _ := strings.Cut(s, " ")
		if strings.EqualFold(k, "authorization") && strings.EqualFold(scheme, "bearer") && token == "good" ||
			strings.EqualFold(k, "token") && s == "good" {
			return context.WithValue(ctx, viewerKey{}, "good"), nil
		}
	}
	return nil, errors.New("bad token")
}

func (f *fakeExec) StillAuthorized(ctx context.Context) bool {
	return ctx.Value(viewerKey{}) == "good" && f.authorized.Load()
}

func (f *fakeExec) Start(ctx context.Context, req wstransport.Request, sink wstransport.Sink) func() {
	rec := &opRecord{req: req, sink: sink, stopped: make(chan struct{}), nextFalse: make(chan struct{})}
	f.mu.Lock()
	f.ops = append(f.ops, rec)
	f.mu.Unlock()
	if ctx.Value(viewerKey{}) != "good" {
		sink.Error([]byte(`[{"message":"not run under the Init context"}]`))
		return rec.stop
	}
	switch req.Query {
	case "subscription count":
		go f.count(rec, sink, intVar(req, "n", 3))
	case "subscription forever":
		go f.forever(rec, sink, time.Duration(max(intVar(req, "ms", 5), 1))*time.Millisecond)
	case "subscription shared":
		return f.hubAdd(rec, sink)
	case "subscription fail":
		go sink.Error([]byte(`[{"message":"boom"}]`))
	case "query now":
		rec.next(sink, []byte(`{"data":{"now":"2024"}}`))
		sink.Complete()
	case "query failnow":
		sink.Error([]byte(`[{"message":"no"}]`))
	default:
		sink.Error([]byte(`[{"message":"unknown operation"}]`))
	}
	return rec.stop
}

func intVar(req wstransport.Request, name string, def int) int {
	if n, ok := req.Variables[name].(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return int(i)
		}
	}
	return def
}

func (f *fakeExec) count(rec *opRecord, sink wstransport.Sink, n int) {
	for i := 1; i <= n; i++ {
		if !rec.next(sink, fmt.Appendf(nil, `{"data":{"count":%d}}`, i)) {
			return
		}
	}
	sink.Complete()
}

func (f *fakeExec) forever(rec *opRecord, sink wstransport.Sink, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 1; ; i++ {
		select {
		case <-rec.stopped:
			return
		case <-tick.C:
			if !rec.next(sink, fmt.Appendf(nil, `{"data":{"tick":%d}}`, i)) {
				return
			}
		}
	}
}

// hubAdd registers a sink with the shared producer. The producer holds f.mu
// while it calls Next and stop takes f.mu: this deadlocks if the transport
// ever called stop from inside Next.
func (f *fakeExec) hubAdd(rec *opRecord, sink wstransport.Sink) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hub[rec] = sink
	if !f.hubRunning {
		f.hubRunning = true
		go f.hubLoop()
	}
	return func() {
		f.mu.Lock()
		delete(f.hub, rec)
		f.mu.Unlock()
		rec.stop()
	}
}

func (f *fakeExec) hubLoop() {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	pad := strings.Repeat("x", 4<<10)
	for i := 1; ; i++ {
		<-tick.C
		payload := fmt.Appendf(nil, `{"data":{"shared":%d,"pad":"%s"}}`, i, pad) // one slice for every subscriber
		f.mu.Lock()
		if len(f.hub) == 0 {
			f.hubRunning = false
			f.mu.Unlock()
			return
		}
		for rec, sink := range f.hub {
			if !rec.next(sink, payload) {
				delete(f.hub, rec)
			}
		}
		f.mu.Unlock()
	}
}

// op waits for the operation with this id to have started, and returns the latest such.
func (f *fakeExec) op(t *testing.T, id string) *opRecord {
	t.Helper()
	var found *opRecord
	waitFor(t, "operation "+id+" to start", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, r := range f.ops {
			if r.req.ID == id {
				found = r
			}
		}
		return found != nil
	})
	return found
}

func (f *fakeExec) started() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ops)
}

func (f *fakeExec) checkStops(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.ops {
		if n := r.stops.Load(); n != 1 {
			t.Errorf("operation %q (%s): stop called %d times, want exactly 1", r.req.ID, r.req.Query, n)
		}
	}
}

// ---- client ----

type msg struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func (e *env) dialRaw(protocols []string, header http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: waitLimit}
	ws, resp, err := d.Dial(e.url, header)
	if err == nil {
		e.t.Cleanup(func() { ws.Close() })
	}
	return ws, resp, err
}

func (e *env) dial(protocol string) *client {
	e.t.Helper()
	ws, _, err := e.dialRaw([]string{protocol}, nil)
	if err != nil {
		e.t.Fatalf("dial %s: %v", protocol, err)
	}
	if ws.Subprotocol() != protocol {
		e.t.Fatalf("negotiated %q, want %q", ws.Subprotocol(), protocol)
	}
	return &client{t: e.t, ws: ws}
}

// dialInit dials and completes connection_init with a good token.
func (e *env) dialInit(protocol string) *client {
	e.t.Helper()
	c := e.dial(protocol)
	c.send(`{"type":"connection_init","payload":{"Authorization":"Bearer good"}}`)
	c.expect("connection_ack")
	if protocol == legacyWS {
		c.expect("ka")
	}
	return c
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send %s: %v", s, err)
	}
}

func (c *client) sendf(format string, args ...any) {
	c.t.Helper()
	c.send(fmt.Sprintf(format, args...))
}

func (c *client) read() msg {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(waitLimit))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var m msg
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Fatalf("server sent invalid JSON %q: %v", data, err)
	}
	return m
}

// expect reads the next message and checks its type.
func (c *client) expect(typ string) msg {
	c.t.Helper()
	m := c.read()
	if m.Type != typ {
		c.t.Fatalf("got %s %s %s, want type %s", m.Type, m.ID, m.Payload, typ)
	}
	return m
}

// expectClose reads, skipping messages, until the server closes, and checks the code.
func (c *client) expectClose(code int) string {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(2 * waitLimit))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("want close %d, got %v", code, err)
		}
		if ce.Code != code {
			c.t.Fatalf("want close %d, got %d %q", code, ce.Code, ce.Text)
		}
		// Then the server drops the TCP connection: EOF, or a reset when the
		// server did not wait for our answering close frame.
		var ne net.Error
		if n, err := c.ws.NetConn().Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("after the close frame: read %d bytes, %v; want the connection closed", n, err)
		}
		return ce.Text
	}
}

func jsonEq(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %s: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
	}
}
