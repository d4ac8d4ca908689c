package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// poSubscription is the operation every subscriber runs.
const poSubscription = `subscription($after: String) { purchaseOrderUpdated(after: $after) {
	cursor purchaseOrder { number status } } }`

// event is one purchaseOrderUpdated result.
type event struct {
	Cursor string
	Number string
	Status string
	Seq    int64 // the event's position in the log, read from its cursor
}

// parseResult decodes a subscription result payload ({"data": …}); a result
// with errors is an error.
func parseResult(payload []byte) (event, error) {
	var res struct {
		Data struct {
			PurchaseOrderUpdated *struct {
				Cursor        string
				PurchaseOrder struct{ Number, Status string }
			}
		}
		Errors json.RawMessage
	}
	if err := json.Unmarshal(payload, &res); err != nil {
		return event{}, fmt.Errorf("result %s: %v", payload, err)
	}
	if len(res.Errors) > 0 && string(res.Errors) != "null" {
		return event{}, fmt.Errorf("result with errors: %s", payload)
	}
	po := res.Data.PurchaseOrderUpdated
	if po == nil || po.Cursor == "" || po.PurchaseOrder.Number == "" {
		return event{}, fmt.Errorf("result without an event: %s", payload)
	}
	seq, err := cursorSeq(po.Cursor)
	if err != nil {
		return event{}, err
	}
	return event{Cursor: po.Cursor, Number: po.PurchaseOrder.Number, Status: po.PurchaseOrder.Status, Seq: seq}, nil
}

// cursorSeq reads the event id out of an event cursor. Cursors are opaque to
// clients, but "received in commit order" can only be checked by comparing
// them: an event cursor is base64url (unpadded) of the JSON ["events", id],
// the encoding of internal/relay.Cursor. If that encoding changes, this
// function fails loudly rather than the order check passing by accident.
func cursorSeq(cursor string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	var parts []json.RawMessage
	if err == nil {
		err = json.Unmarshal(raw, &parts)
	}
	var list string
	var id int64
	if err == nil && len(parts) == 2 && json.Unmarshal(parts[0], &list) == nil && list == "events" &&
		json.Unmarshal(parts[1], &id) == nil {
		return id, nil
	}
	return 0, fmt.Errorf("event cursor %q is not base64url of [\"events\", id] (update cursorSeq if the encoding changed)", cursor)
}

// wsSubscriber is a graphql-transport-ws client (gorilla/websocket) running
// one purchaseOrderUpdated subscription. Its reader goroutine puts each
// event on events and closes it when the connection ends, after setting err.
type wsSubscriber struct {
	conn   *websocket.Conn
	events chan event
	done   chan struct{}
	err    error // why the connection ended; read after done is closed
}

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subscribe connects to wsURL as token and subscribes, resuming after
// cursor when it is not empty. It fails the test unless the server
// acknowledges the connection.
func subscribe(t *testing.T, wsURL, token, after string) *wsSubscriber {
	t.Helper()
	s, err := subscribeErr(t, wsURL, token, after)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// subscribeErr is subscribe for any goroutine.
func subscribeErr(t *testing.T, wsURL, token, after string) (*wsSubscriber, error) {
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 10 * time.Second}
	conn, res, err := d.Dial(wsURL, http.Header{})
	if err != nil {
		return nil, fmt.Errorf("dialling %s: %v (%v)", wsURL, err, res)
	}
	if p := conn.Subprotocol(); p != "graphql-transport-ws" {
		conn.Close()
		return nil, fmt.Errorf("the server chose subprotocol %q", p)
	}
	s := &wsSubscriber{conn: conn, events: make(chan event, 1000), done: make(chan struct{})}
	fail := func(err error) (*wsSubscriber, error) {
		conn.Close()
		return nil, err
	}
	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	if err := s.write(wsMessage{Type: "connection_init", Payload: init}); err != nil {
		return fail(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m wsMessage
		if err := conn.ReadJSON(&m); err != nil {
			return fail(fmt.Errorf("waiting for connection_ack: %v", err))
		}
		if m.Type == "connection_ack" {
			break
		}
		if m.Type != "ping" && m.Type != "pong" {
			return fail(fmt.Errorf("connection_init answered %s %s", m.Type, m.Payload))
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	vars := map[string]any{}
	if after != "" {
		vars["after"] = after
	}
	payload, _ := json.Marshal(map[string]any{"query": poSubscription, "variables": vars})
	if err := s.write(wsMessage{ID: "po", Type: "subscribe", Payload: payload}); err != nil {
		return fail(err)
	}
	go s.read()
	t.Cleanup(s.close)
	return s, nil
}

func (s *wsSubscriber) write(m wsMessage) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := s.conn.WriteJSON(m); err != nil {
		return fmt.Errorf("writing %s: %v", m.Type, err)
	}
	return nil
}

// read runs until the connection ends. After the subscribe message only this
// goroutine writes (pongs), as gorilla allows one writer at a time.
func (s *wsSubscriber) read() {
	defer close(s.done)
	defer close(s.events)
	for {
		var m wsMessage
		if err := s.conn.ReadJSON(&m); err != nil {
			s.err = err
			return
		}
		switch m.Type {
		case "next":
			ev, err := parseResult(m.Payload)
			if err != nil {
				s.err = err
				return
			}
			select {
			case s.events <- ev:
			default:
				s.err = fmt.Errorf("more than %d events unread", cap(s.events))
				return
			}
		case "ping":
			_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := s.conn.WriteJSON(wsMessage{Type: "pong"}); err != nil {
				s.err = err
				return
			}
		case "pong":
		default: // error, complete, or anything unexpected ends the subscription
			s.err = fmt.Errorf("unexpected %s message: %s", m.Type, m.Payload)
			return
		}
	}
}

// next waits up to d for the next event; ok is false on a timeout or when
// the connection ended (state then says why).
func (s *wsSubscriber) next(d time.Duration) (ev event, ok bool) {
	select {
	case ev, ok = <-s.events:
		return ev, ok
	case <-time.After(d):
		return event{}, false
	}
}

// mustNext is next that fails the test.
func (s *wsSubscriber) mustNext(t *testing.T) event {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			<-s.done
			t.Fatalf("the subscription %s", s.state())
		}
		return ev
	case <-time.After(eventTimeout):
		t.Fatalf("no event within %v", eventTimeout)
	}
	return event{}
}

// state says whether the connection is open, or why it ended.
func (s *wsSubscriber) state() string {
	select {
	case <-s.done:
		return fmt.Sprintf("ended: %v", s.err)
	default:
		return "still open"
	}
}

// close drops the connection and waits for the reader goroutine.
func (s *wsSubscriber) close() {
	s.conn.Close()
	<-s.done
}

// goLive makes sure a subscription that was just started is live: it
// records warm-up orders prefix-1, prefix-2, … with create until the
// subscription delivers the first event (a subscription has no
// acknowledgement, so there is no other way to know), and returns the numbers
// created and that first event, which must be one of them.
func goLive(t *testing.T, prefix string, create func(number string), next func(time.Duration) (event, bool)) ([]string, event) {
	t.Helper()
	var created []string
	deadline := time.Now().Add(eventTimeout)
	for i := 1; time.Now().Before(deadline); i++ {
		number := fmt.Sprintf("%s-%d", prefix, i)
		create(number)
		created = append(created, number)
		if ev, ok := next(500 * time.Millisecond); ok {
			return created, ev
		}
	}
	t.Fatalf("no event within %v while creating %v", eventTimeout, created)
	return nil, event{}
}

// checkSuffix checks that got is exactly the last len(got) orders of
// created, in the order they were created (one writer at a time, so their
// commit order), once each, with strictly increasing cursors.
func checkSuffix(t *testing.T, created []string, got []event) {
	t.Helper()
	if len(got) == 0 {
		t.Fatal("no events")
	}
	start := -1
	for i, n := range created {
		if n == got[0].Number {
			start = i
		}
	}
	var numbers []string
	for _, ev := range got {
		numbers = append(numbers, ev.Number)
	}
	if start < 0 || len(created)-start != len(got) {
		t.Fatalf("received %v; created, in order, %v: want a suffix of what was created", numbers, created)
	}
	for i, ev := range got {
		if ev.Number != created[start+i] {
			t.Fatalf("received %v; created, in order, %v: want a suffix of what was created", numbers, created)
		}
		if i > 0 && ev.Seq <= got[i-1].Seq {
			t.Fatalf("event %s (cursor %d) came after %s (cursor %d): cursors must increase", ev.Number, ev.Seq, got[i-1].Number, got[i-1].Seq)
		}
	}
}

// recorder keeps every event one logical subscriber received, across
// reconnections, and lets a test wait for a condition on them.
type recorder struct {
	mu      sync.Mutex
	events  []event
	changed chan struct{} // closed and replaced on every change
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) add(ev event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) snapshot() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

// waitFor waits up to d for cond to hold on the events so far.
func (r *recorder) waitFor(d time.Duration, cond func([]event) bool) bool {
	deadline := time.After(d)
	for {
		r.mu.Lock()
		ok, changed := cond(r.events), r.changed
		r.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-deadline:
			return false
		}
	}
}
