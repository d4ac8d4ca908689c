package wstransport

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// closeGrace is how long the writer waits, after sending its close frame, for
// the client's answering close frame before dropping the TCP connection.
const closeGrace = time.Second

// Close codes beyond gorilla's named ones (see doc.go for when each is used).
const (
	codeTryAgainLater  = 1013
	codeBadRequest     = 4400
	codeUnauthorized   = 4401
	codeForbidden      = 4403
	codeInitTimeout    = 4408
	codeDuplicateID    = 4409
	codeTooManyInits   = 4429
	codeAbnormal       = websocket.CloseAbnormalClosure
	tooSlowReason      = "too slow: resubscribe with after: your last cursor"
	maxCloseReasonSize = 123 // a control frame carries 125 bytes, 2 of them the code
)

// closeReq is why a connection closes and how.
type closeReq struct {
	code   int
	reason string
	frame  bool // send a close frame (false when the socket is already unusable)
	flush  bool // write what is queued first, e.g. a connection_error explaining the close
}

// conn is one websocket connection.
type conn struct {
	ws    *websocket.Conn
	proto *protocol
	exec  Executor
	opts  Options

	ctx    context.Context // canceled when the connection closes
	cancel context.CancelFunc

	done         chan struct{} // closed once the close is decided
	readDone     chan struct{} // closed when the reader has returned
	shutdownDone chan struct{} // closed when the writer has closed the socket
	opsDone      chan struct{} // closed when every operation has been stopped
	timers       []*time.Timer

	initSeen bool            // a connection_init arrived (used by the reader only)
	acked    atomic.Bool     // Init succeeded; opCtx is set before this is stored
	opCtx    context.Context // what Init returned

	mu      sync.Mutex
	closed  bool
	why     closeReq
	ops     map[string]*operation
	queue   []outMsg // bounded by Options.SendBuffer; nil while idle
	writing bool     // a writer goroutine is running
}

// kindPing queues a keepalive for the writer.
const kindPing msgKind = 255

func newConn(parent context.Context, ws *websocket.Conn, p *protocol, exec Executor, opts Options) *conn {
	// The request context is not canceled when a hijacked connection ends, so
	// operations get their own.
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &conn{
		ws: ws, proto: p, exec: exec, opts: opts,
		ctx: ctx, cancel: cancel,
		done:         make(chan struct{}),
		readDone:     make(chan struct{}),
		shutdownDone: make(chan struct{}),
		opsDone:      make(chan struct{}),
		ops:          map[string]*operation{},
	}
}

// serve runs the connection until it is closed and everything it started has
// ended. An idle connection costs one goroutine, this one, reading: the
// writer runs only while there is something to write, and the timers run
// their checks only when they fire. Most subscribers are idle most of the time.
func (c *conn) serve() {
	c.armTimers()
	c.readLoop()
	<-c.shutdownDone
	<-c.opsDone
	for _, t := range c.timers {
		t.Stop()
	}
	level := slog.LevelDebug
	if c.why.code == codeTryAgainLater {
		level = slog.LevelInfo // slow consumers are worth noticing in production
	}
	c.opts.Logger.Log(c.ctx, level, "websocket closed", "remote", c.ws.RemoteAddr().String(),
		"protocol", c.proto.name, "code", c.why.code, "reason", c.why.reason)
}

// armTimers enforces the init timeout, sends keepalives and re-checks
// authorization until the connection closes. Each check re-arms itself.
func (c *conn) armTimers() {
	c.timers = []*time.Timer{
		time.AfterFunc(c.opts.InitTimeout, func() {
			if !c.acked.Load() {
				c.closeWith(closeReq{code: codeInitTimeout, reason: "Connection initialisation timeout", frame: true})
			}
		}),
		c.every(c.opts.PingInterval, func() { c.enqueue(outMsg{kind: kindPing}) }),
		c.every(c.opts.AuthCheckInterval, func() {
			if c.acked.Load() && !c.exec.StillAuthorized(c.opCtx) {
				c.closeWith(closeReq{code: codeForbidden, reason: "token expired or revoked", frame: true, flush: true})
			}
		}),
	}
}

func (c *conn) every(d time.Duration, f func()) *time.Timer {
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		if c.isClosed() {
			return
		}
		f()
		t.Reset(d)
	})
	return t
}

// closeWith decides the close; the first decision wins. It never blocks, so
// it is safe from Sink methods: the writer and watch do the actual work.
func (c *conn) closeWith(r closeReq) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	r.reason = truncateReason(r.reason)
	c.why = r
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	close(c.done)
	if start {
		go c.writeLoop() // it sees the close and shuts down
	}
	// Operations stop now, not when a stuck socket finally gives up; on a
	// goroutine of their own, since closeWith may run inside a Sink call.
	go func() {
		c.cancel()
		c.stopAll()
		close(c.opsDone)
	}()
}

// fail closes with a close frame, after writing what is queued.
func (c *conn) fail(code int, reason string) {
	c.closeWith(closeReq{code: code, reason: reason, frame: true, flush: true})
}

func (c *conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// enqueue queues m for the writer without blocking; a full queue closes the
// connection as too slow. It reports whether m was queued.
func (c *conn) enqueue(m outMsg) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.opts.SendBuffer {
		c.mu.Unlock()
		c.closeWith(closeReq{code: codeTryAgainLater, reason: tooSlowReason, frame: true})
		return false
	}
	c.queue = append(c.queue, m)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
	return true
}

// stopAll ends every live operation once the connection is closed.
func (c *conn) stopAll() {
	c.mu.Lock()
	ops := c.ops
	c.ops = nil // closed: no operation is added after this
	c.mu.Unlock()
	for _, o := range ops {
		if o.finish(true) {
			o.release()
		}
	}
}

// readLoop reads client messages until the socket fails or is closed.
func (c *conn) readLoop() {
	defer close(c.readDone)
	c.ws.SetReadLimit(c.opts.ReadLimit)
	c.extendReadDeadline()
	c.ws.SetPongHandler(func(string) error { c.extendReadDeadline(); return nil })
	answerPing := c.ws.PingHandler()
	c.ws.SetPingHandler(func(data string) error { c.extendReadDeadline(); return answerPing(data) })
	c.ws.SetCloseHandler(func(code int, _ string) error {
		// Answer with the client's own code; the writer sends it.
		c.closeWith(closeReq{code: code, frame: true})
		return nil
	})
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			c.closeWith(readErrorClose(err))
			return
		}
		c.extendReadDeadline()
		if c.isClosed() {
			continue // only waiting for the client's close frame now
		}
		c.handleFrame(typ, data)
	}
}

// extendReadDeadline gives the peer two ping intervals to show it is alive.
func (c *conn) extendReadDeadline() {
	_ = c.ws.SetReadDeadline(time.Now().Add(2 * c.opts.PingInterval))
}

func readErrorClose(err error) closeReq {
	var ne net.Error
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return closeReq{code: websocket.CloseMessageTooBig} // gorilla has sent the close frame
	case errors.As(err, &ne) && ne.Timeout():
		return closeReq{code: websocket.CloseGoingAway, reason: "ping timeout", frame: true}
	default: // EOF, reset, or a protocol error gorilla has already answered
		return closeReq{code: codeAbnormal}
	}
}

func (c *conn) handleFrame(typ int, data []byte) {
	switch {
	case typ != websocket.TextMessage:
		c.fail(websocket.CloseUnsupportedData, "binary messages are not supported")
	case !utf8.Valid(data):
		c.fail(websocket.CloseInvalidFramePayloadData, "text message is not valid UTF-8")
	default:
		c.proto.handle(c, data)
	}
}

// writeLoop writes what is queued and returns when the queue is empty; at
// most one runs at a time (c.writing), so it is the only writer of data
// frames. Once the close is decided, it performs the shutdown.
func (c *conn) writeLoop() {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			c.shutdown()
			close(c.shutdownDone)
			return
		}
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for _, m := range batch {
			if c.isClosed() {
				c.requeue(batch) // kept for a flushing shutdown
				break
			}
			c.writeOrFail(m)
			batch = batch[1:]
		}
	}
}

// requeue puts unwritten messages back in front of the queue.
func (c *conn) requeue(rest []outMsg) {
	c.mu.Lock()
	c.queue = append(rest, c.queue...)
	c.mu.Unlock()
}

func (c *conn) writeOrFail(m outMsg) {
	if m.kind == kindPing && m.op == nil {
		c.pingOrFail()
		return
	}
	if err := c.write(m); err != nil {
		c.closeWith(closeReq{code: codeAbnormal})
	}
}

func (c *conn) pingOrFail() {
	err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.opts.WriteTimeout))
	if err == nil && c.proto.legacy && c.acked.Load() {
		err = c.writeRaw(legacyKeepAlive)
	}
	if err != nil {
		c.closeWith(closeReq{code: codeAbnormal})
	}
}

// shutdown sends the close frame (after flushing, if asked), gives the peer a
// moment to answer it, and drops the connection, which also ends the reader.
func (c *conn) shutdown() {
	r := c.why
	if r.frame {
		if r.flush {
			c.flushQueued()
		}
		msg := websocket.FormatCloseMessage(r.code, r.reason)
		if c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.opts.WriteTimeout)) == nil {
			select {
			case <-c.readDone:
			case <-time.After(closeGrace):
			}
		}
	}
	_ = c.ws.Close()
}

// flushQueued writes what is already queued, without waiting for more.
func (c *conn) flushQueued() {
	c.mu.Lock()
	batch := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, m := range batch {
		c.writeOrFail(m)
	}
}

func (c *conn) write(m outMsg) error {
	if m.op == nil {
		return c.writeRaw(m.payload)
	}
	if m.kind == kindNext && m.op.dropped.Load() {
		return nil // the client stopped the operation; it no longer wants results
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	w, err := c.ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	c.proto.encode(w, m)
	return w.Close() // the writer keeps the first write error and returns it here
}

func (c *conn) writeRaw(b []byte) error {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// truncateReason cuts a close reason to what fits in a close frame, on a rune boundary.
func truncateReason(s string) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= maxCloseReasonSize {
		return s
	}
	s = s[:maxCloseReasonSize]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
