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

	send     chan outMsg   // bounded; never closed, the writer stops on done
	done     chan struct{} // closed once the close is decided
	readDone chan struct{} // closed when the reader has returned
	wg       sync.WaitGroup

	initSeen bool            // a connection_init arrived (used by the reader only)
	acked    atomic.Bool     // Init succeeded; opCtx is set before this is stored
	opCtx    context.Context // what Init returned

	mu     sync.Mutex
	closed bool
	why    closeReq
	ops    map[string]*operation
}

func newConn(parent context.Context, ws *websocket.Conn, p *protocol, exec Executor, opts Options) *conn {
	// The request context is not canceled when a hijacked connection ends, so
	// operations get their own.
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &conn{
		ws: ws, proto: p, exec: exec, opts: opts,
		ctx: ctx, cancel: cancel,
		send:     make(chan outMsg, opts.SendBuffer),
		done:     make(chan struct{}),
		readDone: make(chan struct{}),
		ops:      map[string]*operation{},
	}
}

// serve runs the connection until it is closed and everything it started has ended.
func (c *conn) serve() {
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	c.watch()
	c.cancel()
	c.stopAll()
	c.wg.Wait()
	level := slog.LevelDebug
	if c.why.code == codeTryAgainLater {
		level = slog.LevelInfo // slow consumers are worth noticing in production
	}
	c.opts.Logger.Log(c.ctx, level, "websocket closed", "remote", c.ws.RemoteAddr().String(),
		"protocol", c.proto.name, "code", c.why.code, "reason", c.why.reason)
}

// watch enforces the init timeout and re-checks authorization until the connection closes.
func (c *conn) watch() {
	initTimer := time.NewTimer(c.opts.InitTimeout)
	defer initTimer.Stop()
	authTicker := time.NewTicker(c.opts.AuthCheckInterval)
	defer authTicker.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-initTimer.C:
			if !c.acked.Load() {
				c.closeWith(closeReq{code: codeInitTimeout, reason: "Connection initialisation timeout", frame: true})
			}
		case <-authTicker.C:
			if c.acked.Load() && !c.exec.StillAuthorized(c.opCtx) {
				c.closeWith(closeReq{code: codeForbidden, reason: "token expired or revoked", frame: true, flush: true})
			}
		}
	}
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
	c.mu.Unlock()
	close(c.done)
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
	if c.isClosed() {
		return false
	}
	select {
	case c.send <- m:
		return true
	default:
		c.closeWith(closeReq{code: codeTryAgainLater, reason: tooSlowReason, frame: true})
		return false
	}
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
	defer c.wg.Done()
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

// writeLoop is the only goroutine writing data frames.
func (c *conn) writeLoop() {
	defer c.wg.Done()
	ping := time.NewTicker(c.opts.PingInterval)
	defer ping.Stop()
	for {
		// Check done first: select picks at random among ready cases, and
		// after a close nothing more should go out unless flushed on purpose.
		if c.isClosed() {
			c.shutdown()
			return
		}
		select {
		case <-c.done:
		case m := <-c.send:
			c.writeOrFail(m)
		case <-ping.C:
			c.pingOrFail()
		}
	}
}

func (c *conn) writeOrFail(m outMsg) {
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
	for range cap(c.send) {
		select {
		case m := <-c.send:
			c.writeOrFail(m)
		default:
			return
		}
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
