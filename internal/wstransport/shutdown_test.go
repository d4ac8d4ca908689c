package wstransport_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestShutdown closes live connections of both protocols with 1001 and a
// hint to resume, stops their operations, and refuses new connections.
func TestShutdown(t *testing.T) {
	e := newEnv(t, envConfig{})
	modern := e.dialInit(transportWS)
	modern.subscribe(transportWS, "a", "subscription forever", "")
	legacy := e.dialInit(legacyWS)
	legacy.subscribe(legacyWS, "b", "subscription forever", "")
	opA, opB := e.exec.op(t, "a"), e.exec.op(t, "b")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.transport.Shutdown(ctx) }()
	for _, c := range []*client{modern, legacy} {
		if reason := c.expectClose(websocket.CloseGoingAway); !strings.Contains(reason, "resubscribe with after") {
			t.Fatalf("reason %q", reason)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	waitClosed(t, opA.stopped, "stop of a")
	waitClosed(t, opB.stopped, "stop of b")

	d := websocket.Dialer{Subprotocols: []string{transportWS}}
	_, res, err := d.Dial(e.url, http.Header{})
	if err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a connection after shutdown: %v %v", err, res)
	}
}
