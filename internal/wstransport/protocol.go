package wstransport

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// protocol is one of the two subprotocols; they differ in message names and
// in how they treat malformed input, not in how operations run.
type protocol struct {
	name     string
	legacy   bool   // subscriptions-transport-ws
	nextType string // the server's result message
}

var (
	transportWS = &protocol{name: "graphql-transport-ws", nextType: "next"}
	legacyWS    = &protocol{name: "graphql-ws", legacy: true, nextType: "data"}
)

var (
	ackMessage      = []byte(`{"type":"connection_ack"}`)
	legacyKeepAlive = []byte(`{"type":"ka"}`)
)

type msgKind uint8

const (
	kindNext msgKind = iota
	kindError
	kindComplete
)

// outMsg is one queued outbound message: an operation's result, or (op nil) a
// complete message in payload.
type outMsg struct {
	op      *operation
	kind    msgKind
	payload []byte
}

// inMessage is any client message; fields of the wrong JSON type fail decoding.
type inMessage struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// requestPayload is the payload of subscribe (and legacy start).
type requestPayload struct {
	Query         *string        `json:"query"`
	OperationName *string        `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

// encode writes an operation's message without copying its payload.
// Write errors are kept by the websocket writer and returned by its Close.
func (p *protocol) encode(w io.Writer, m outMsg) {
	_, _ = io.WriteString(w, `{"id":`)
	_, _ = w.Write(m.op.idJSON)
	switch m.kind {
	case kindNext:
		_, _ = io.WriteString(w, `,"type":"`+p.nextType+`","payload":`)
		_, _ = w.Write(orDefault(m.payload, "null"))
	case kindError:
		_, _ = io.WriteString(w, `,"type":"error","payload":`)
		_, _ = w.Write(orDefault(m.payload, "[]"))
	case kindComplete:
		_, _ = io.WriteString(w, `,"type":"complete"`)
	}
	_, _ = io.WriteString(w, `}`)
}

func orDefault(b []byte, def string) []byte {
	if len(b) == 0 {
		return []byte(def)
	}
	return b
}

// handle dispatches one text message from the client.
func (p *protocol) handle(c *conn, data []byte) {
	var m inMessage
	if err := json.Unmarshal(data, &m); err != nil {
		c.invalid("", "Invalid message received: not a JSON message object with string id and type")
		return
	}
	switch {
	case m.Type == "connection_init":
		c.initialize(m.Payload)
	case m.Type == "subscribe" && !p.legacy, m.Type == "start" && p.legacy:
		c.subscribe(m)
	case m.Type == "complete" && !p.legacy, m.Type == "stop" && p.legacy:
		if m.ID == "" {
			c.invalid("", `"`+m.Type+`" requires an id`)
			return
		}
		c.stopOperation(m.ID)
	case m.Type == "ping" && !p.legacy:
		c.pong(m.Payload)
	case m.Type == "pong" && !p.legacy:
		// An answer to a ping we never send, or unsolicited: nothing to do.
	case m.Type == "connection_terminate" && p.legacy:
		c.closeWith(closeReq{code: 1000, frame: true, flush: true})
	default:
		c.invalid(m.ID, "Unknown message type "+quoteForReason(m.Type))
	}
}

// invalid answers a malformed message: graphql-transport-ws closes with 4400,
// legacy reports the problem (on the operation when there is an id) and goes on.
func (c *conn) invalid(id, reason string) {
	switch {
	case !c.proto.legacy:
		c.fail(codeBadRequest, reason)
	case id != "":
		c.enqueue(outMsg{payload: errorMessage(id, reason)})
	default:
		c.enqueue(outMsg{payload: connectionError(reason)})
	}
}

// initialize handles connection_init.
func (c *conn) initialize(payload json.RawMessage) {
	if c.initSeen {
		c.fail(codeTooManyInits, "Too many initialisation requests")
		return
	}
	c.initSeen = true
	if isNull(payload) {
		payload = nil
	} else if !isObject(payload) {
		c.rejectInit(codeBadRequest, "connection_init payload must be an object")
		return
	}
	ctx, err := c.exec.Init(c.ctx, payload)
	if err != nil {
		reason := err.Error()
		if reason == "" {
			reason = "Forbidden"
		}
		c.rejectInit(codeForbidden, reason)
		return
	}
	if ctx == nil {
		ctx = c.ctx
	}
	c.opCtx = ctx
	c.acked.Store(true)
	c.enqueue(outMsg{payload: ackMessage})
	if c.proto.legacy {
		c.enqueue(outMsg{payload: legacyKeepAlive}) // the legacy client expects one at once
	}
}

// rejectInit closes the connection; legacy clients only learn why from a connection_error.
func (c *conn) rejectInit(code int, reason string) {
	if c.proto.legacy {
		c.enqueue(outMsg{payload: connectionError(reason)})
	}
	c.fail(code, reason)
}

// pong answers a graphql-transport-ws ping, echoing its payload.
func (c *conn) pong(payload json.RawMessage) {
	if !isNull(payload) && !isObject(payload) {
		c.fail(codeBadRequest, "ping payload must be an object")
		return
	}
	msg, _ := json.Marshal(struct {
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload,omitempty"`
	}{"pong", compactOrNil(payload)})
	c.enqueue(outMsg{payload: msg})
}

// subscribe handles subscribe (legacy: start).
func (c *conn) subscribe(m inMessage) {
	if !c.acked.Load() {
		c.fail(codeUnauthorized, "Unauthorized")
		return
	}
	if m.ID == "" {
		c.invalid("", `"`+m.Type+`" requires an id`)
		return
	}
	req, err := decodeRequest(m.Payload, !c.proto.legacy)
	if err != nil {
		c.invalid(m.ID, err.Error())
		return
	}
	req.ID = m.ID
	c.startOperation(req)
}

func decodeRequest(raw json.RawMessage, needQuery bool) (Request, error) {
	if !isObject(raw) {
		return Request{}, errors.New("payload must be an object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep big integers in variables exact
	var p requestPayload
	if err := dec.Decode(&p); err != nil {
		return Request{}, errors.New("invalid payload: query and operationName must be strings, variables and extensions objects")
	}
	if needQuery && p.Query == nil {
		return Request{}, errors.New("payload.query must be a string")
	}
	req := Request{Variables: p.Variables, Extensions: p.Extensions}
	if p.Query != nil {
		req.Query = *p.Query
	}
	if p.OperationName != nil {
		req.OperationName = *p.OperationName
	}
	return req, nil
}

// startOperation registers an operation and hands it to the executor.
func (c *conn) startOperation(req Request) {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
	case c.ops[req.ID] != nil:
		c.mu.Unlock()
		c.fail(codeDuplicateID, "Subscriber for "+req.ID+" already exists")
	case len(c.ops) >= c.opts.MaxOperations:
		c.mu.Unlock()
		c.enqueue(outMsg{payload: errorMessage(req.ID, "too many concurrent operations on this connection")})
	default:
		o := newOperation(c, req.ID)
		c.ops[req.ID] = o
		c.mu.Unlock()
		o.setStarted(c.exec.Start(o.ctx, req, o))
	}
}

// stopOperation is the client stopping an operation; unknown ids are ignored
// (the operation may have completed while the stop was on its way).
func (c *conn) stopOperation(id string) {
	c.mu.Lock()
	o := c.ops[id]
	c.mu.Unlock()
	if o != nil && o.finish(true) {
		o.release()
	}
}

func errorMessage(id, message string) []byte {
	b, _ := json.Marshal(struct {
		ID      string              `json:"id"`
		Type    string              `json:"type"`
		Payload []map[string]string `json:"payload"`
	}{id, "error", []map[string]string{{"message": message}}})
	return b
}

func connectionError(message string) []byte {
	b, _ := json.Marshal(struct {
		Type    string            `json:"type"`
		Payload map[string]string `json:"payload"`
	}{"connection_error", map[string]string{"message": message}})
	return b
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// isObject reports whether raw, already known to be valid JSON, is an object.
func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

func compactOrNil(raw json.RawMessage) json.RawMessage {
	if isNull(raw) {
		return nil
	}
	return raw
}

// quoteForReason quotes a client-supplied string short enough to leave room in a close reason.
func quoteForReason(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
