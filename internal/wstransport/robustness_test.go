package wstransport_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/channelgraph/channelgraph/internal/wstransport"
)

// A client that stops reading is cut off as too slow, without ever blocking
// the shared producer, while another client of the same producer keeps
// receiving.
func TestSlowConsumer(t *testing.T) {
	e := newEnv(t, envConfig{opts: wstransport.Options{SendBuffer: 32}, smallSendBufs: true})
	fast := e.dialInit(transportWS)
	fast.subscribe(transportWS, "fast", "subscription shared", "")
	fast.expect("next")

	slow := e.dialInit(transportWS)
	slow.subscribe(transportWS, "slow", "subscription shared", "")
	slowOp := e.exec.op(t, "slow")

	// Keep the fast client reading while the slow one backs up.
	received := make(chan int, 1024)
	readErr := make(chan error, 1)
	go func() {
		for {
			_ = fast.ws.SetReadDeadline(time.Now().Add(waitLimit))
			_, data, err := fast.ws.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			if strings.Contains(string(data), `"fast"`) {
				received <- len(data)
			}
		}
	}()

	waitClosed(t, slowOp.nextFalse, "Next to return false for the slow client")
	if d := time.Duration(slowOp.maxNext.Load()); d > 500*time.Millisecond {
		t.Fatalf("Next blocked the producer for %v", d)
	}
	// The fast client still gets the shared producer's results, promptly.
	for i := 0; i < 50; i++ {
		select {
		case <-received:
		case err := <-readErr:
			t.Fatalf("fast client: %v", err)
		case <-time.After(2 * time.Second):
			t.Fatalf("fast client got only %d results after the slow one was cut off", i)
		}
	}
	waitClosed(t, slowOp.stopped, "stop of the slow operation")

	// Once the slow client reads again it finds the reason after its backlog.
	if reason := slow.expectClose(1013); reason != "too slow: resubscribe with after: your last cursor" {
		t.Fatalf("reason %q", reason)
	}
	fast.ws.Close()
	<-readErr
}

func TestReadLimit(t *testing.T) {
	bothProtocols(t, func(t *testing.T, protocol string) {
		e := newEnv(t, envConfig{opts: wstransport.Options{ReadLimit: 1024}})
		c := e.dialInit(protocol)
		c.subscribe(protocol, "f", "subscription forever", "")
		c.subscribe(protocol, "big", "query now", `{"pad":"`+strings.Repeat("x", 2048)+`"}`)
		c.expectClose(websocket.CloseMessageTooBig)
		waitClosed(t, e.exec.op(t, "f").stopped, "stop")
	})
}

func TestBadFrames(t *testing.T) {
	bothProtocols(t, func(t *testing.T, protocol string) {
		t.Run("binary", func(t *testing.T) {
			e := newEnv(t, envConfig{})
			c := e.dialInit(protocol)
			if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping"}`)); err != nil {
				t.Fatal(err)
			}
			c.expectClose(websocket.CloseUnsupportedData)
		})
		t.Run("invalid UTF-8", func(t *testing.T) {
			e := newEnv(t, envConfig{})
			c := e.dialInit(protocol)
			c.send("{\"type\":\"ping\",\"payload\":{\"x\":\"\xff\xfe\"}}")
			c.expectClose(websocket.CloseInvalidFramePayloadData)
		})
	})
}

// garbage is a seed list of hostile or odd client messages.
var garbage = []string{
	``, ` `, `{}`, `[]`, `null`, `true`, `0`, `"x"`, `{"type":`, `}}}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	`{"type":null,"id":null,"payload":null}`,
	`{"type":["subscribe"]}`,
	`{"type":"subscribe","id":"` + strings.Repeat("é", 5000) + `","payload":{"query":"query now"}}`,
	`{"type":"subscribe","id":"x","payload":{"query":"query now","variables":{"n":1e400}}}`,
	`{"type":"subscribe","id":"x","payload":{"query":"query now","variables":{"n":12345678901234567890123}}}`,
	`{"type":"start","id":"x","payload":{"query":"query now","operationName":7}}`,
	`{"type":"stop"}`, `{"type":"complete","id":""}`, `{"type":"connection_terminate"}`,
	`{"type":"connection_init","payload":{"token":"good"}}`,
	`{"type":"connection_init","payload":{"token":"good"},"type":"ping"}`,
	`{"type":"ping","payload":[]}`, `{"type":"pong","payload":1}`, `{"type":"ka"}`,
	`{"type":"next","id":"1","payload":{}}`, `{"type":"data","id":"1"}`, `{"type":"error","id":"1"}`,
	"{\"type\":\"ping\",\"payload\":{\"\\ud800\":1}}",
	"\x00\x01\x02", "{\"type\":\"ping\"}\x00",
}

// FuzzMessage feeds one arbitrary message, before or after init, to a fresh
// connection of each protocol. The server must answer it or close the
// connection, never panic (a panic in a connection goroutine kills the test
// binary; one in the handler is caught by the env) and keep serving. The seeds
// run with go test; go test -fuzz=FuzzMessage explores further.
func FuzzMessage(f *testing.F) {
	for _, g := range garbage {
		f.Add(g, false)
		f.Add(g, true)
	}
	f.Fuzz(func(t *testing.T, text string, init bool) {
		e := newEnv(t, envConfig{})
		for _, protocol := range []string{transportWS, legacyWS} {
			c := e.dial(protocol)
			if init {
				c.send(`{"type":"connection_init","payload":{"token":"good"}}`)
			}
			_ = c.ws.WriteMessage(websocket.TextMessage, []byte(text))
			readUntilSentinelOrClose(t, c, protocol)
			c.ws.Close()

			c = e.dialInit(protocol)
			c.subscribe(protocol, "after", "query now", "")
			c.expect(nextType[protocol])
		}
	})
}

// readUntilSentinelOrClose sends a message with a known answer, and reads
// until that answer or the server's close.
func readUntilSentinelOrClose(t *testing.T, c *client, protocol string) {
	t.Helper()
	sentinel, answer := `{"type":"ping","payload":{"sentinel":1}}`, "pong"
	if protocol == legacyWS {
		sentinel, answer = `{"type":"sentinel"}`, "connection_error"
	}
	// If the server has closed already this write may fail; its close frame is still there to read.
	_ = c.ws.WriteMessage(websocket.TextMessage, []byte(sentinel))
	_ = c.ws.SetReadDeadline(time.Now().Add(waitLimit))
	for {
		_, data, err := c.ws.ReadMessage()
		var ce *websocket.CloseError
		switch {
		case errors.As(err, &ce):
			return
		case err != nil:
			t.Fatalf("%s: want an answer or a close frame, got %v", protocol, err)
		case strings.Contains(string(data), answer) && strings.Contains(string(data), "sentinel"):
			return
		}
	}
}
