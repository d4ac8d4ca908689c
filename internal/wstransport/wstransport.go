package wstransport

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Request is one operation a client started over the socket.
//
// Numbers in Variables and Extensions are json.Number, so that large integers
// survive decoding.
type Request struct {
	ID            string
	Query         string
	OperationName string
	Variables     map[string]any
	Extensions    map[string]any
}

// Sink receives one operation's results. It is safe for concurrent use and never blocks.
//
// Messages are sent in the order the calls returned; calls made concurrently
// for the same operation have no defined order between them, so an executor
// that cares about order calls a sink from one goroutine at a time. Payload
// slices are written as they are, after the call returns, by another
// goroutine: they must not be modified once handed over (sharing one slice
// among many sinks is the point).
type Sink interface {
	// Next sends one result: payload is a complete GraphQL response object ({"data":…,"errors":…}) as JSON.
	// It returns false when the operation is over for this client (client stopped it, connection closed,
	// or the client was cut off as too slow); the executor should stop producing then.
	Next(payload []byte) bool
	// Error ends the operation with GraphQL errors: errs is a JSON array of GraphQL error objects.
	Error(errs []byte)
	// Complete ends the operation normally (the server side finished it).
	Complete()
}

// Executor is what the transport needs from the GraphQL side.
type Executor interface {
	// Init is called with the connection_init payload (may be null/empty). It authenticates and returns the
	// context operations on this connection run under. Any error rejects the connection with close code
	// 4403 (its message as reason, truncated to fit; "Forbidden" when empty), so the message must be fit
	// for the client's eyes. ctx carries the values of the upgrade request's context (middleware can put
	// cookies or the remote address there) and is canceled when the connection closes.
	Init(ctx context.Context, payload json.RawMessage) (context.Context, error)
	// Start begins an operation (query, mutation or subscription). It must not block for long: it starts its
	// work (e.g. a goroutine or a registration) and delivers through sink until the returned stop is called or
	// it calls sink.Complete/Error itself. stop is called exactly once when the client stops the operation,
	// the connection ends, or after the executor completed/errored (idempotent use is fine). stop is never
	// called from inside a Sink method, so it may take locks held around sink calls.
	Start(ctx context.Context, req Request, sink Sink) (stop func())
	// StillAuthorized is polled every Options.AuthCheckInterval for each live connection; false closes the
	// connection with 4403 and reason "token expired or revoked" (an expired or revoked token ends the
	// subscriptions it opened).
	StillAuthorized(ctx context.Context) bool
}

// Options tune a Handler. Zero values take the defaults given.
type Options struct {
	// AllowedOrigins: if empty, requests with an Origin header are accepted only when the origin's host equals the
	// request Host (same-origin); requests without an Origin header (non-browser clients) are accepted.
	// Entries are full origins like "https://app.example.com"; "*" allows any.
	AllowedOrigins []string
	InitTimeout    time.Duration // default 10s: no connection_ack in time → close 4408 "Connection initialisation timeout"
	// PingInterval (default 25s) paces websocket-level pings, and legacy "ka" messages once acknowledged;
	// a peer that sends nothing (no pong either) for 2×PingInterval is closed.
	PingInterval      time.Duration
	AuthCheckInterval time.Duration // default 30s
	// SendBuffer is the number of outbound messages queued per connection (default 64). When it is full the
	// client is too slow: the connection is closed with 1013 and reason
	// "too slow: resubscribe with after: your last cursor"; the caller is never blocked.
	SendBuffer    int
	ReadLimit     int64         // default 64 KiB per incoming message; larger → close 1009 (message too big)
	MaxOperations int           // default 100 concurrent operations per connection; more → error message for that id
	WriteTimeout  time.Duration // default 10s: a single frame that cannot be written in time drops the connection
	Logger        *slog.Logger  // may be nil
}

func (o Options) withDefaults() Options {
	if o.InitTimeout <= 0 {
		o.InitTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 25 * time.Second
	}
	if o.AuthCheckInterval <= 0 {
		o.AuthCheckInterval = 30 * time.Second
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = 64
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = 64 << 10
	}
	if o.MaxOperations <= 0 {
		o.MaxOperations = 100
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Transport upgrades websocket requests and serves both subprotocols;
// non-websocket requests go to next (or are answered 426 Upgrade Required
// when next is nil). It keeps the live connections, so Shutdown can close
// them with a hint to resume.
type Transport struct {
	exec     Executor
	opts     Options
	next     http.Handler
	upgrader *websocket.Upgrader

	mu       sync.Mutex
	conns    map[*conn]struct{}
	draining bool
	drained  chan struct{} // closed when draining and the last connection has ended
}

// Handler returns the transport for exec.
func Handler(exec Executor, opts Options, next http.Handler) *Transport {
	if exec == nil {
		panic("wstransport: nil Executor")
	}
	return &Transport{exec: exec, opts: opts.withDefaults(), next: next, conns: map[*conn]struct{}{},
		drained: make(chan struct{}),
		upgrader: &websocket.Upgrader{
			Subprotocols: []string{transportWS.name, legacyWS.name}, // order is preference
			// Most subscribers are idle most of the time: share write buffers
			// instead of keeping one per connection.
			WriteBufferPool: &sync.Pool{},
			// Origins are checked before Upgrade, where the answer can say why.
			CheckOrigin: func(*http.Request) bool { return true },
		}}
}

func (t *Transport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		if t.next != nil {
			t.next.ServeHTTP(w, r)
		} else {
			http.Error(w, "this endpoint only speaks websocket", http.StatusUpgradeRequired)
		}
		return
	}
	if !originAllowed(r, t.opts.AllowedOrigins) {
		http.Error(w, "websocket: origin not allowed", http.StatusForbidden)
		return
	}
	if pickProtocol(websocket.Subprotocols(r)) == nil {
		http.Error(w, `websocket: offer subprotocol "graphql-transport-ws" or "graphql-ws"`, http.StatusBadRequest)
		return
	}
	t.mu.Lock()
	draining := t.draining
	t.mu.Unlock()
	if draining {
		http.Error(w, "the server is shutting down", http.StatusServiceUnavailable)
		return
	}
	ws, err := t.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has already answered
	}
	c := newConn(r.Context(), ws, pickProtocol([]string{ws.Subprotocol()}), t.exec, t.opts)
	if !t.add(c) {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, shuttingDownReason),
			time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	// Serve on a fresh goroutine and let the handler's return: its stack
	// has grown through net/http's request handling, and an idle
	// connection's one goroutine should be as small as it can be.
	go func() {
		c.serve()
		t.remove(c)
	}()
}

// Connections is how many websocket connections are open.
func (t *Transport) Connections() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

const shuttingDownReason = "server shutting down: resubscribe with after: your last cursor"

func (t *Transport) add(c *conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.draining {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *Transport) remove(c *conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, c)
	if t.draining && len(t.conns) == 0 {
		close(t.drained)
	}
}

// Shutdown refuses new connections and closes every live one with 1001
// (going away) and a reason telling clients to resubscribe from their last
// cursor, after what is already queued for them. It returns when all have
// ended, or with ctx's error.
func (t *Transport) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	if !t.draining {
		t.draining = true
		if len(t.conns) == 0 {
			close(t.drained)
		}
	}
	conns := make([]*conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.closeWith(closeReq{code: websocket.CloseGoingAway, reason: shuttingDownReason, frame: true, flush: true})
	}
	select {
	case <-t.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pickProtocol returns the preferred protocol among those offered, or nil.
func pickProtocol(offered []string) *protocol {
	for _, p := range []*protocol{transportWS, legacyWS} {
		for _, o := range offered {
			if o == p.name {
				return p
			}
		}
	}
	return nil
}

// originAllowed implements Options.AllowedOrigins. Browsers always send
// Origin on websocket handshakes, so checking it is what stops another site
// from opening a socket with the user's cookies.
func originAllowed(r *http.Request, allowed []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if len(allowed) == 0 {
		u, err := url.Parse(origin)
		return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
	}
	for _, a := range allowed {
		if a == "*" || strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	return false
}
