package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wsClient is a graphql-transport-ws (or legacy graphql-ws) client over a
// real websocket.
type wsClient struct {
	tb     testing.TB
	conn   *websocket.Conn
	legacy bool
}

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialWS connects and initialises with token; it fails the test unless the
// server acknowledges.
func (a *api) dialWS(token string, legacy bool) *wsClient {
	a.TB.Helper()
	c := a.dialWSRaw(legacy)
	c.send(wsMessage{Type: "connection_init", Payload: mustJSON(map[string]any{"Authorization": "Bearer " + token})})
	if m := c.read(); m.Type != "connection_ack" {
		a.TB.Fatalf("connection_init answered %+v", m)
	}
	return c
}

func (a *api) dialWSRaw(legacy bool) *wsClient {
	a.TB.Helper()
	proto := "graphql-transport-ws"
	if legacy {
		proto = "graphql-ws"
	}
	d := websocket.Dialer{Subprotocols: []string{proto}, HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial(strings.Replace(a.URL, "http://", "ws://", 1), http.Header{})
	if err != nil {
		a.TB.Fatalf("dial: %v (%v)", err, res)
	}
	a.TB.Cleanup(func() { conn.Close() })
	return &wsClient{tb: a.TB, conn: conn, legacy: legacy}
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func (c *wsClient) send(m wsMessage) {
	c.tb.Helper()
	if err := c.conn.WriteJSON(m); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// subscribe starts an operation under id.
func (c *wsClient) subscribe(id, query string, vars map[string]any) {
	c.tb.Helper()
	typ := "subscribe"
	if c.legacy {
		typ = "start"
	}
	c.send(wsMessage{ID: id, Type: typ, Payload: mustJSON(map[string]any{"query": query, "variables": vars})})
}

// read returns the next message that is not a keep-alive, failing the test
// after a timeout.
func (c *wsClient) read() wsMessage {
	c.tb.Helper()
	for {
		m, err := c.readWithin(10 * time.Second)
		if err != nil {
			c.tb.Fatalf("read: %v", err)
		}
		if m.Type != "ka" && m.Type != "ping" && m.Type != "pong" {
			return m
		}
	}
}

func (c *wsClient) readWithin(d time.Duration) (wsMessage, error) {
	var m wsMessage
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	err := c.conn.ReadJSON(&m)
	return m, err
}

// next reads the next result of a subscription and decodes its data.
func (c *wsClient) next(dst any) string {
	c.tb.Helper()
	m := c.read()
	if m.Type != "next" && m.Type != "data" {
		c.tb.Fatalf("expected a result, got %s: %s", m.Type, m.Payload)
	}
	var res struct {
		Data   json.RawMessage
		Errors []any
	}
	if err := json.Unmarshal(m.Payload, &res); err != nil || len(res.Errors) > 0 {
		c.tb.Fatalf("result %s: %v", m.Payload, err)
	}
	if dst != nil {
		if err := json.Unmarshal(res.Data, dst); err != nil {
			c.tb.Fatal(err)
		}
	}
	return m.ID
}

// closeCode waits for the server to close the connection and returns the code.
func (c *wsClient) closeCode() int {
	c.tb.Helper()
	for {
		_, err := c.readWithin(15 * time.Second)
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		c.tb.Fatalf("expected a close, got %v", err)
	}
}
