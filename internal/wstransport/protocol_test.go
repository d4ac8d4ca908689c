package wstransport_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/channelgraph/channelgraph/internal/wstransport"
)

// nextType is the result message of each protocol.
var nextType = map[string]string{transportWS: "next", legacyWS: "data"}

// subscribe sends the protocol's subscribe message.
func (c *client) subscribe(protocol, id, query, variables string) {
	c.t.Helper()
	typ := "subscribe"
	if protocol == legacyWS {
		typ = "start"
	}
	if variables == "" {
		variables = "null"
	}
	c.sendf(`{"type":%q,"id":%q,"payload":{"query":%q,"variables":%s}}`, typ, id, query, variables)
}

func (c *client) stop(protocol, id string) {
	c.t.Helper()
	typ := "complete"
	if protocol == legacyWS {
		typ = "stop"
	}
	c.sendf(`{"type":%q,"id":%q}`, typ, id)
}

func bothProtocols(t *testing.T, f func(t *testing.T, protocol string)) {
	for _, p := range []string{transportWS, legacyWS} {
		t.Run(p, func(t *testing.T) { f(t, p) })
	}
}

func TestSubscribeNextComplete(t *testing.T) {
	bothProtocols(t, func(t *testing.T, protocol string) {
		e := newEnv(t, envConfig{})
		c := e.dialInit(protocol)
		c.subscribe(protocol, "a", "subscription count", `{"n":3}`)
		for i := 1; i <= 3; i++ {
			m := c.expect(nextType[protocol])
			if m.ID != "a" {
				t.Fatalf("id %q, want a", m.ID)
			}
			jsonEq(t, m.Payload, fmt.Sprintf(`{"data":{"count":%d}}`, i))
		}
		if m := c.expect("complete"); m.ID != "a" {
			t.Fatalf("complete for %q, want a", m.ID)
		}
		if v := e.exec.op(t, "a").req.Variables["n"]; v != json.Number("3") {
			t.Fatalf("variable n = %#v, want json.Number 3", v)
		}

		// An operation completed from inside Start, and the id reused after completion.
		c.subscribe(protocol, "a", "query now", "")
		jsonEq(t, c.expect(nextType[protocol]).Payload, `{"data":{"now":"2024"}}`)
		c.expect("complete")
	})
}

func TestErrorResult(t *testing.T) {
	bothProtocols(t, func(t *testing.T, protocol string) {
		e := newEnv(t, envConfig{})
		c := e.dialInit(protocol)
		for _, q := range []string{"subscription fail", "query failnow"} {
			c.subscribe(protocol, q, q, "")
			m := c.expect("error")
			if m.ID != q {
				t.Fatalf("error for %q, want %q", m.ID, q)
			}
			var errs []map[string]any
			if err := json.Unmarshal(m.Payload, &errs); err != nil || len(errs) != 1 || errs[0]["message"] == nil {
				t.Fatalf("error payload %s is not a list of GraphQL errors", m.Payload)
			}
		}
	})
}

func TestClientStop(t *testing.T) {
	t.Run(transportWS, func(t *testing.T) {
		e := newEnv(t, envConfig{})
		c := e.dialInit(transportWS)
		c.subscribe(transportWS, "f", "subscription forever", `{"ms":1}`)
		c.expect("next")
		c.stop(transportWS, "f")
		waitClosed(t, e.exec.op(t, "f").stopped, "stop")
		// Results may still be in flight until the server has read the
		// complete; after a ping round trip nothing more may come.
		c.send(`{"type":"ping"}`)
		for m := c.read(); m.Type != "pong"; m = c.read() {
			if m.Type != "next" {
				t.Fatalf("unexpected %s", m.Type)
			}
		}
		c.send(`{"type":"ping"}`)
		c.expect("pong")
		c.stop(transportWS, "unknown") // ignored
		c.send(`{"type":"ping"}`)
		c.expect("pong")
	})
	t.Run(legacyWS, func(t *testing.T) {
		e := newEnv(t, envConfig{})
		c := e.dialInit(legacyWS)
		c.subscribe(legacyWS, "f", "subscription forever", `{"ms":1}`)
		c.expect("data")
		c.stop(legacyWS, "f")
		waitClosed(t, e.exec.op(t, "f").stopped, "stop")
		c.subscribe(legacyWS, "b", "subscription count", `{"n":1}`)
		sawB := false
		for m := c.read(); m.Type != "complete" || m.ID != "b"; m = c.read() {
			sawB = sawB || m.ID == "b"
			if m.ID == "f" && sawB {
				t.Fatal("a result of the stopped operation came after a later operation's")
			}
		}
	})
}

func TestPingPong(t *testing.T) {
	e := newEnv(t, envConfig{})
	c := e.dialInit(transportWS)
	c.send(`{"type":"ping","payload":{"x":1}}`)
	jsonEq(t, c.expect("pong").Payload, `{"x":1}`)
	c.send(`{"type":"ping"}`)
	if m := c.expect("pong"); m.Payload != nil {
		t.Fatalf("pong payload %s, want none", m.Payload)
	}
	c.send(`{"type":"pong"}`) // unsolicited pongs are allowed
	c.send(`{"type":"ping","payload":null}`)
	c.expect("pong")

	// Before connection_init too.
	c2 := e.dial(transportWS)
	c2.send(`{"type":"ping"}`)
	c2.expect("pong")
}

// A client that answers websocket pings stays connected across several intervals;
// legacy clients get a "ka" every interval as well.
func TestKeepAlive(t *testing.T) {
	e := newEnv(t, envConfig{opts: wstransport.Options{PingInterval: 30 * time.Millisecond}})
	pings := make(chan struct{}, 100)
	c := e.dialInit(transportWS)
	answer := c.ws.PingHandler()
	c.ws.SetPingHandler(func(s string) error { pings <- struct{}{}; return answer(s) })

	// Reading processes pings; the pong round trip proves the connection survived them.
	for n := 0; n < 5; {
		c.send(`{"type":"ping"}`)
		c.expect("pong")
		select {
		case <-pings:
			n++
		case <-time.After(10 * time.Millisecond):
		}
	}
	c.ws.Close() // it would not answer pings while the legacy client reads

	l := e.dialInit(legacyWS)
	for range 5 {
		l.expect("ka")
	}
}

func TestNoPongCloses(t *testing.T) {
	e := newEnv(t, envConfig{opts: wstransport.Options{PingInterval: 30 * time.Millisecond}})
	c := e.dialInit(transportWS)
	c.ws.SetPingHandler(func(string) error { return nil }) // never answer
	start := time.Now()
	if reason := c.expectClose(websocket.CloseGoingAway); reason != "ping timeout" {
		t.Fatalf("reason %q", reason)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("closed after %v, before two ping intervals", d)
	}
}

func TestInitAuth(t *testing.T) {
	good := []string{
		`{"Authorization":"Bearer good"}`,
		`{"authorization":"bearer good"}`,
		`{"AUTHORIZATION":"Bearer good"}`,
		`{"token":"good"}`,
	}
	bad := []string{`{"Authorization":"Bearer bad"}`, `{"token":"bad"}`, `{}`, `null`}
	bothProtocols(t, func(t *testing.T, protocol string) {
		e := newEnv(t, envConfig{})
		for _, p := range good {
			c := e.dial(protocol)
			c.sendf(`{"type":"connection_init","payload":%s}`, p)
			c.expect("connection_ack")
			c.ws.Close()
		}
		for _, p := range bad {
			c := e.dial(protocol)
			c.sendf(`{"type":"connection_init","payload":%s}`, p)
			if protocol == legacyWS {
				jsonEq(t, c.expect("connection_error").Payload, `{"message":"bad token"}`)
			}
			if reason := c.expectClose(4403); reason != "bad token" {
				t.Fatalf("payload %s: reason %q", p, reason)
			}
		}
		c := e.dial(protocol)
		c.send(`{"type":"connection_init"}`) // no payload at all
		c.expectClose(4403)
	})
}

func TestSubscribeBeforeAck(t *testing.T) {
	bothProtocols(t, func(t *testing.T, protocol string) {
		e := newEnv(t, envConfig{})
		c := e.dial(protocol)
		c.subscribe(protocol, "a", "subscription count", "")
		if reason := c.expectClose(4401); reason != "Unauthorized" {
			t.Fatalf("reason %q", reason)
		}
		if n := e.exec.started(); n != 0 {
			t.Fatalf("%d operations started", n)
		}
	})
}

func TestInitTimeout(t *testing.T) {
	bothProtocols(t, func(t *testing.T, protocol string) {
		e := newEnv(t, envConfig{opts: wstransport.Options{InitTimeout: 50 * time.Millisecond}})
		c := e.dial(protocol)
		if reason := c.expectClose(4408); reason != "Connection initialisation timeout" {
			t.Fatalf("reason %q", reason)
		}
		// An acknowledged connection outlives the timeout.
		c = e.dialInit(protocol)
		time.Sleep(100 * time.Millisecond)
		c.subscribe(protocol, "a", "query now", "")
		c.expect(nextType[protocol])
	})
}

func TestDuplicateID(t *testing.T) {
	bothProtocols(t, func(t *testing.T, protocol string) {
		e := newEnv(t, envConfig{})
		c := e.dialInit(protocol)
		c.subscribe(protocol, "1", "subscription forever", "")
		c.expect(nextType[protocol])
		c.subscribe(protocol, "1", "subscription forever", "")
		if reason := c.expectClose(4409); reason != "Subscriber for 1 already exists" {
			t.Fatalf("reason %q", reason)
		}
		waitClosed(t, e.exec.op(t, "1").stopped, "stop of the live operation")
	})
}

func TestSecondInit(t *testing.T) {
	bothProtocols(t, func(t *testing.T, protocol string) {
		e := newEnv(t, envConfig{})
		c := e.dialInit(protocol)
		c.send(`{"type":"connection_init","payload":{"token":"good"}}`)
		if reason := c.expectClose(4429); reason != "Too many initialisation requests" {
			t.Fatalf("reason %q", reason)
		}
	})
}

func TestInvalidMessagesTransportWS(t *testing.T) {
	cases := map[string]string{
		"not JSON":                 `{"type":`,
		"not an object":            `[1,2]`,
		"null":                     `null`,
		"unknown type":             `{"type":"hello"}`,
		"legacy type":              `{"type":"start","id":"1","payload":{"query":"q"}}`,
		"type of wrong JSON type":  `{"type":1}`,
		"id of wrong JSON type":    `{"type":"subscribe","id":1,"payload":{"query":"q"}}`,
		"subscribe without id":     `{"type":"subscribe","payload":{"query":"q"}}`,
		"subscribe without query":  `{"type":"subscribe","id":"1","payload":{}}`,
		"subscribe null payload":   `{"type":"subscribe","id":"1","payload":null}`,
		"subscribe array payload":  `{"type":"subscribe","id":"1","payload":[]}`,
		"query of wrong type":      `{"type":"subscribe","id":"1","payload":{"query":5}}`,
		"variables of wrong type":  `{"type":"subscribe","id":"1","payload":{"query":"q","variables":[1]}}`,
		"extensions of wrong type": `{"type":"subscribe","id":"1","payload":{"query":"q","extensions":"x"}}`,
		"complete without id":      `{"type":"complete"}`,
		"ping payload not object":  `{"type":"ping","payload":"x"}`,
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envConfig{})
			c := e.dialInit(transportWS)
			c.send(text)
			if reason := c.expectClose(4400); reason == "" {
				t.Fatal("no reason given")
			}
			if n := e.exec.started(); n != 0 {
				t.Fatalf("%d operations started", n)
			}
		})
	}
	t.Run("init payload not an object", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		c := e.dial(transportWS)
		c.send(`{"type":"connection_init","payload":"Bearer good"}`)
		c.expectClose(4400)
	})
}

// Legacy answers malformed messages and keeps the connection, as subscriptions-transport-ws does.
func TestInvalidMessagesLegacy(t *testing.T) {
	e := newEnv(t, envConfig{})
	c := e.dialInit(legacyWS)
	c.send(`{"type":`)
	c.expect("connection_error")
	c.send(`{"type":"bogus","id":"7"}`)
	if m := c.expect("error"); m.ID != "7" {
		t.Fatalf("error for %q, want 7", m.ID)
	}
	c.send(`{"type":"bogus"}`)
	c.expect("connection_error")
	c.send(`{"type":"start","id":"8","payload":{"query":"q","variables":"x"}}`)
	if m := c.expect("error"); m.ID != "8" {
		t.Fatalf("error for %q, want 8", m.ID)
	}
	c.send(`{"type":"start","payload":{"query":"q"}}`)
	c.expect("connection_error")
	c.subscribe(legacyWS, "9", "query now", "")
	c.expect("data")
	c.expect("complete")

	bad := e.dial(legacyWS)
	bad.send(`{"type":"connection_init","payload":[1]}`)
	bad.expect("connection_error")
	bad.expectClose(4400)
}

func TestConnectionTerminateLegacy(t *testing.T) {
	e := newEnv(t, envConfig{})
	c := e.dialInit(legacyWS)
	c.subscribe(legacyWS, "f", "subscription forever", "")
	c.expect("data")
	c.send(`{"type":"connection_terminate"}`)
	c.expectClose(websocket.CloseNormalClosure)
	waitClosed(t, e.exec.op(t, "f").stopped, "stop")
}

func TestMaxOperations(t *testing.T) {
	bothProtocols(t, func(t *testing.T, protocol string) {
		e := newEnv(t, envConfig{opts: wstransport.Options{MaxOperations: 2}})
		c := e.dialInit(protocol)
		c.subscribe(protocol, "1", "subscription forever", `{"ms":1000}`)
		c.subscribe(protocol, "2", "subscription forever", `{"ms":1000}`)
		c.subscribe(protocol, "3", "subscription forever", `{"ms":1000}`)
		if m := c.expect("error"); m.ID != "3" {
			t.Fatalf("error for %q, want 3", m.ID)
		}
		// Freeing a slot lets a new operation in.
		c.stop(protocol, "1")
		c.subscribe(protocol, "4", "query now", "")
		c.expect(nextType[protocol])
		c.expect("complete")
		if e.exec.started() != 3 {
			t.Fatalf("%d operations started, want 3", e.exec.started())
		}
	})
}

func TestStillAuthorized(t *testing.T) {
	bothProtocols(t, func(t *testing.T, protocol string) {
		interval := 30 * time.Millisecond
		e := newEnv(t, envConfig{opts: wstransport.Options{AuthCheckInterval: interval}})
		c := e.dialInit(protocol)
		c.subscribe(protocol, "f", "subscription forever", "")
		c.expect(nextType[protocol])
		e.exec.authorized.Store(false)
		revoked := time.Now()
		if reason := c.expectClose(4403); reason != "token expired or revoked" {
			t.Fatalf("reason %q", reason)
		}
		if d := time.Since(revoked); d > time.Second {
			t.Fatalf("closed %v after revocation, check interval is %v", d, interval)
		}
		waitClosed(t, e.exec.op(t, "f").stopped, "stop")
	})
}

func TestOrigins(t *testing.T) {
	dialStatus := func(e *env, origin string) int {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		ws, resp, err := e.dialRaw([]string{transportWS}, h)
		if err == nil {
			ws.Close()
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatalf("dial with origin %q: %v", origin, err)
		}
		return resp.StatusCode
	}
	t.Run("allow-list", func(t *testing.T) {
		e := newEnv(t, envConfig{opts: wstransport.Options{AllowedOrigins: []string{"https://app.example.com"}}})
		for origin, want := range map[string]int{
			"https://app.example.com":      101,
			"https://APP.example.com":      101,
			"https://evil.example.com":     403,
			"http://app.example.com":       403,
			"https://app.example.com:8443": 403,
			"":                             101,
		} {
			if got := dialStatus(e, origin); got != want {
				t.Errorf("origin %q: status %d, want %d", origin, got, want)
			}
		}
	})
	t.Run("same origin by default", func(t *testing.T) {
		e := newEnv(t, envConfig{})
		host := e.srv.Listener.Addr().String()
		for origin, want := range map[string]int{
			"http://" + host:          101,
			"https://" + host:         101, // the host is what counts, as in gorilla's default
			"https://app.example.com": 403,
			"null":                    403,
			"http://127.0.0.1:1":      403,
			"":                        101,
		} {
			if got := dialStatus(e, origin); got != want {
				t.Errorf("origin %q: status %d, want %d", origin, got, want)
			}
		}
	})
	t.Run("any", func(t *testing.T) {
		e := newEnv(t, envConfig{opts: wstransport.Options{AllowedOrigins: []string{"*"}}})
		if got := dialStatus(e, "https://anything.example"); got != 101 {
			t.Fatalf("status %d", got)
		}
	})
}

func TestSubprotocolNegotiation(t *testing.T) {
	nextCalled := make(chan struct{}, 1)
	e := newEnv(t, envConfig{next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nextCalled <- struct{}{}
		w.WriteHeader(http.StatusTeapot)
	})})

	_, resp, err := e.dialRaw(nil, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("no subprotocol: err %v, response %v; want 400", err, resp)
	}
	_, resp, err = e.dialRaw([]string{"mqtt"}, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown subprotocol: err %v, response %v; want 400", err, resp)
	}
	ws, _, err := e.dialRaw([]string{legacyWS, transportWS}, nil)
	if err != nil || ws.Subprotocol() != transportWS {
		t.Fatalf("both offered: %v, negotiated %q; want %s", err, ws.Subprotocol(), transportWS)
	}

	res, err := http.Get(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTeapot || len(nextCalled) != 1 {
		t.Fatalf("plain request: status %d; want it passed to next", res.StatusCode)
	}
}

// Every way an operation can end calls stop exactly once (the env cleanup
// counts), and ends every goroutine (the env cleanup waits for that).
func TestStopOnConnectionEnd(t *testing.T) {
	ends := map[string]func(c *client){
		"client close frame": func(c *client) {
			_ = c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
			c.expectClose(websocket.CloseNormalClosure)
		},
		"client drops TCP": func(c *client) { c.ws.NetConn().Close() },
		"client half-close": func(c *client) {
			_ = c.ws.NetConn().(*net.TCPConn).CloseWrite()
		},
	}
	for name, end := range ends {
		t.Run(name, func(t *testing.T) {
			bothProtocols(t, func(t *testing.T, protocol string) {
				e := newEnv(t, envConfig{})
				c := e.dialInit(protocol)
				ids := []string{"a", "b", "c"}
				for _, id := range ids {
					c.subscribe(protocol, id, "subscription forever", "")
				}
				c.subscribe(protocol, "done", "subscription count", `{"n":1}`)
				for seen := []string{}; len(seen) < len(ids); {
					if m := c.read(); m.Type == nextType[protocol] && m.ID != "done" && !slices.Contains(seen, m.ID) {
						seen = append(seen, m.ID)
					}
				}
				end(c)
				for _, id := range ids {
					op := e.exec.op(t, id)
					waitClosed(t, op.stopped, "stop of "+id)
					// Late calls are harmless and quick.
					if op.sink.Next([]byte(`{"data":null}`)) {
						t.Fatalf("Next after the connection ended returned true")
					}
					op.sink.Error([]byte(`[]`))
					op.sink.Complete()
				}
			})
		})
	}
}
