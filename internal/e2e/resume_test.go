package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestKilledServerResumesWithoutLossOrDuplicates: the server is SIGKILLed
// while a writer records orders through its HTTP API and a subscriber
// receives them; the server is started again on the same database and the
// subscriber resumes with `after: <the last cursor it received>`. In the
// end the subscriber must have received every committed order exactly once,
// in commit order.
//
// The writer records P-1, P-2, … one at a time, each under an idempotency
// key, retrying an attempt whose outcome is unknown (the server died under
// it, or was down) until it is acknowledged, against whichever server is
// running; so the orders commit in number order, and each exactly once. The
// truth is what the restarted server lists.
//
// It fails if an order committed before the kill, while the subscriber was
// away, or after it came back is never delivered; if one is delivered twice
// (at the seam between replay and live, or across the restart); if events
// arrive out of order (cursors not strictly increasing, or orders out of
// number order); if the server lists an order the writer was never told of
// or misses one it acknowledged; or if the restarted server refuses the old
// cursor.
func TestKilledServerResumesWithoutLossOrDuplicates(t *testing.T) {
	t.Parallel()
	databaseURL := testdb.NewPostgres(t)
	srv := startServer(t, "server (first run)", databaseURL)
	c := newClient(t)
	ch := setupChannel(t, c, srv.graphqlURL())

	// The subscriber: every event it receives, over both connections.
	rec := newRecorder()
	sub := subscribe(t, srv.wsURL(), ch.vendorToken, "")
	_, first := goLive(t, "W", func(n string) { ch.mustCreateOrder(t, c, srv.graphqlURL(), n) }, sub.next)
	rec.add(first)
	// pump records a connection's events; the channel it returns is closed
	// once the connection has ended and every event it delivered is recorded.
	pump := func(s *wsSubscriber) <-chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ev := range s.events {
				rec.add(ev)
			}
		}()
		return done
	}
	pumped := pump(sub)

	w := &writer{ch: ch, c: c}
	w.target.Store(srv.graphqlURL())
	writerDone := w.start()
	t.Cleanup(func() { w.abort(); <-writerDone })

	countP := func(evs []event) int {
		n := 0
		for _, ev := range evs {
			if strings.HasPrefix(ev.Number, "P-") {
				n++
			}
		}
		return n
	}
	if !rec.waitFor(eventTimeout, func(evs []event) bool { return countP(evs) >= 10 }) {
		t.Fatalf("fewer than 10 orders delivered within %v: %d acknowledged; subscription %s", eventTimeout, w.acked.Load(), sub.state())
	}

	// Kill it mid-stream: the writer is sending orders as fast as they are
	// acknowledged, so one is usually in flight.
	srv.kill(t)
	killedAt := w.acked.Load()
	select {
	case <-pumped: // the connection is gone, and all it delivered recorded
	case <-time.After(stopTimeout):
		t.Fatalf("the subscription's connection was still open %v after its server was killed", stopTimeout)
	}
	delivered := len(rec.snapshot())

	srv = startServer(t, "server (after SIGKILL)", databaseURL)
	w.target.Store(srv.graphqlURL())
	// Let orders commit while the subscriber is away, so that resuming has
	// something to replay.
	w.waitAcked(t, w.acked.Load()+5)
	last := rec.snapshot()[delivered-1]
	resumedAt := w.acked.Load()
	sub = subscribe(t, srv.wsURL(), ch.vendorToken, last.Cursor)
	pump(sub)
	w.waitAcked(t, resumedAt+10)
	w.stop()
	<-writerDone
	if w.err != nil {
		t.Fatal(w.err)
	}
	committed := w.committed // P-1 … P-n, in commit order
	got := checkDeliveredOnce(t, c, ch, srv.graphqlURL(), committed, rec, sub.state)
	t.Logf("%d orders: %d acknowledged when the kill was done, %d failed attempts while it was down, %d events before the kill, %d after resuming (replay, then live)",
		len(committed), killedAt, w.failures.Load(), delivered, len(got)-delivered)
}

// checkDeliveredOnce checks, once the writer is done, that the orders it
// committed (P-1 … P-n, in commit order) are exactly the P- orders the
// server at url lists, and that the subscriber whose events rec records
// receives each of them once, in commit order, with strictly increasing
// cursors and no event twice. It records one more order, Z-end, and waits
// for it: events come in commit order, so once it has arrived everything
// before it has, duplicates included. state describes the subscription for
// a failure message. It returns every event received.
func checkDeliveredOnce(t *testing.T, c *client, ch channel, url string, committed []string, rec *recorder, state func() string) []event {
	t.Helper()
	// The truth: every order the server lists.
	listed := map[string]bool{}
	for _, n := range ch.listOrderNumbers(t, c, url) {
		if strings.HasPrefix(n, "P-") {
			listed[n] = true
		}
	}
	for _, n := range committed {
		if !listed[n] {
			t.Errorf("the server does not list %s, which it acknowledged", n)
		}
		delete(listed, n)
	}
	for n := range listed {
		t.Errorf("the server lists %s, which the writer never recorded", n)
	}
	if t.Failed() {
		t.FailNow()
	}

	const sentinel = "Z-end"
	ch.mustCreateOrder(t, c, url, sentinel)
	if !rec.waitFor(eventTimeout, func(evs []event) bool { return evs[len(evs)-1].Number == sentinel }) {
		t.Logf("received (number@cursor): %v", numbersOf(rec.snapshot()))
		t.Fatalf("%s, the last order committed, was not delivered within %v; subscription %s", sentinel, eventTimeout, state())
	}
	got := rec.snapshot()

	seen := map[string]int{}
	var gotP []string
	for i, ev := range got {
		if i > 0 && ev.Seq <= got[i-1].Seq {
			t.Errorf("event %d (%s, cursor %d) came after %s, cursor %d: cursors must strictly increase", i, ev.Number, ev.Seq, got[i-1].Number, got[i-1].Seq)
		}
		if seen[ev.Number]++; seen[ev.Number] == 2 {
			t.Errorf("%s was delivered more than once", ev.Number)
		}
		if strings.HasPrefix(ev.Number, "P-") && seen[ev.Number] == 1 {
			gotP = append(gotP, ev.Number)
		}
	}
	if fmt.Sprint(gotP) != fmt.Sprint(committed) {
		t.Errorf("delivered orders, in order: %v\ncommitted, in order:        %v", gotP, committed)
	}
	if t.Failed() {
		t.Logf("received (number@cursor): %v", numbersOf(got))
	}
	return got
}

func numbersOf(evs []event) []string {
	var s []string
	for _, ev := range evs {
		s = append(s, ev.Number+"@"+strconv.FormatInt(ev.Seq, 10))
	}
	return s
}

// writer records orders P-1, P-2, … (or its prefix's) one at a time through
// the server at target, retrying each until it is acknowledged.
type writer struct {
	ch     channel
	c      *client
	target atomic.Value // string: the GraphQL URL of the server running now
	prefix string       // of the order numbers; "P" when empty

	acked    atomic.Int64 // orders acknowledged so far
	failures atomic.Int64 // attempts that failed (server down, or died under them)
	stopOnce sync.Once
	stopping chan struct{}
	ctx      context.Context // cancelled by abort
	abort    context.CancelFunc

	// Read after the writer is done.
	committed []string
	err       error
}

// giveUp bounds how long one order may take to be acknowledged.
const giveUp = 90 * time.Second

// start runs the writer; the channel it returns is closed when it is done.
func (w *writer) start() <-chan struct{} {
	w.stopping = make(chan struct{})
	w.ctx, w.abort = context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.err = w.run()
	}()
	return done
}

// stop makes the writer finish the order it is recording and return.
func (w *writer) stop() { w.stopOnce.Do(func() { close(w.stopping) }) }

func (w *writer) run() error {
	for i := 1; ; i++ {
		select {
		case <-w.stopping:
			return nil
		default:
		}
		prefix := w.prefix
		if prefix == "" {
			prefix = "P"
		}
		number := fmt.Sprintf("%s-%d", prefix, i)
		deadline := time.Now().Add(giveUp)
		for {
			ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
			err := w.ch.createOrder(ctx, w.c, w.target.Load().(string), number)
			cancel()
			if err == nil {
				break
			}
			var refused refusedError
			if errors.As(err, &refused) {
				return err
			}
			w.failures.Add(1)
			if time.Now().After(deadline) {
				return fmt.Errorf("%s was not acknowledged within %v; last error: %v", number, giveUp, err)
			}
			select { // back off while the server is down
			case <-time.After(20 * time.Millisecond):
			case <-w.ctx.Done():
				return fmt.Errorf("aborted while recording %s", number)
			}
		}
		w.committed = append(w.committed, number)
		w.acked.Add(1)
	}
}

// waitAcked waits until n orders have been acknowledged in all.
func (w *writer) waitAcked(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(giveUp)
	for w.acked.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the writer has %d orders acknowledged after %v, want %d", w.acked.Load(), giveUp, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
