package e2e

import (
	"flag"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

// The soak's size: `make test` runs the short default; `make soak` the long
// one (see the Makefile).
var (
	soakKills       = flag.Int("soak-kills", 4, "replica SIGKILLs in TestSoakReplicasKilledUnderLoad")
	soakEvery       = flag.Duration("soak-every", 1500*time.Millisecond, "time between SIGKILLs in the soak")
	soakWriters     = flag.Int("soak-writers", 6, "concurrent writers in the soak")
	soakSubscribers = flag.Int("soak-subscribers", 8, "subscribers in the soak, each resuming from its last cursor")
)

// TestSoakReplicasKilledUnderLoad: two replicas on one PostgreSQL database;
// writers record orders through both at once (so commits overlap and some
// die with a replica before their events are sequenced), subscribers
// follow the log on either, and one replica after the other is SIGKILLed
// and started again. A subscriber whose connection ends resubscribes, on a
// replica that is up, with `after` its last cursor. In the end every
// subscriber must have received every acknowledged order exactly once, each
// writer's orders in the order they committed, with strictly increasing
// cursors: 0 missing, 0 duplicates, 0 out of order.
func TestSoakReplicasKilledUnderLoad(t *testing.T) {
	t.Parallel()
	databaseURL := testdb.NewPostgres(t)
	var reps replicaSet
	reps.servers[0] = startServer(t, "replica 0", databaseURL)
	reps.servers[1] = startServer(t, "replica 1", databaseURL)
	c := newClient(t)
	ch := setupChannel(t, c, reps.get(0).graphqlURL())

	// A cursor every subscriber starts after: all that commits later must
	// reach each of them.
	first := subscribe(t, reps.get(1).wsURL(), ch.vendorToken, "")
	_, start := goLive(t, "W", func(n string) { ch.mustCreateOrder(t, c, reps.get(0).graphqlURL(), n) }, first.next)
	first.close()

	subs := make([]*soakSubscriber, *soakSubscribers)
	for i := range subs {
		subs[i] = &soakSubscriber{rec: newRecorder(), last: start.Cursor}
		go subs[i].run(t, &reps, i, ch.vendorToken)
	}
	defer func() {
		for _, s := range subs {
			s.stop()
		}
	}()
	writers := make([]*writer, *soakWriters)
	done := make([]<-chan struct{}, len(writers))
	for i := range writers {
		writers[i] = &writer{ch: ch, c: c, prefix: fmt.Sprintf("S%d", i)}
		writers[i].target.Store(reps.get(i % 2).graphqlURL())
		done[i] = writers[i].start()
	}
	t.Cleanup(func() {
		for i, w := range writers {
			w.abort()
			<-done[i]
		}
	})

	for k := range *soakKills {
		time.Sleep(*soakEvery)
		victim := k % 2
		reps.get(victim).kill(t)
		s := startServer(t, fmt.Sprintf("replica %d (after kill %d)", victim, k+1), databaseURL)
		reps.set(victim, s)
		for i, w := range writers {
			if i%2 == victim {
				w.target.Store(s.graphqlURL())
			}
		}
	}
	time.Sleep(*soakEvery)
	for i, w := range writers {
		w.stop()
		<-done[i]
		if w.err != nil {
			t.Fatal(w.err)
		}
	}

	// Committed after every other order: once a subscriber has it, it has
	// everything it will ever get.
	const sentinel = "Z-end"
	ch.mustCreateOrder(t, c, reps.get(0).graphqlURL(), sentinel)
	var missing, duplicates, disordered, acked int
	for _, w := range writers {
		acked += len(w.committed)
	}
	for i, s := range subs {
		if !s.rec.waitFor(eventTimeout, func(evs []event) bool { return len(evs) > 0 && evs[len(evs)-1].Number == sentinel }) {
			t.Fatalf("subscriber %d: %s was not delivered within %v (%d resubscriptions; last connection %s)",
				i, sentinel, eventTimeout, s.resubscribed.Load(), s.lastState())
		}
		got := s.rec.snapshot()
		seen := map[string]int{}
		index := map[string]int{}
		for j, ev := range got {
			if j > 0 && ev.Seq <= got[j-1].Seq {
				disordered++
				t.Errorf("subscriber %d: %s (cursor %d) came after %s (cursor %d)", i, ev.Number, ev.Seq, got[j-1].Number, got[j-1].Seq)
			}
			if seen[ev.Number]++; seen[ev.Number] == 2 {
				duplicates++
				t.Errorf("subscriber %d: %s delivered more than once", i, ev.Number)
			}
			if _, ok := index[ev.Number]; !ok {
				index[ev.Number] = j
			}
		}
		for _, w := range writers {
			prev := -1
			for _, n := range w.committed {
				j, ok := index[n]
				switch {
				case !ok:
					missing++
					t.Errorf("subscriber %d never received %s", i, n)
				case j < prev:
					disordered++
					t.Errorf("subscriber %d received %s before the order its writer committed before it", i, n)
				default:
					prev = j
				}
			}
		}
		for n := range seen {
			if !strings.HasPrefix(n, "S") && !strings.HasPrefix(n, "W-") && n != sentinel {
				t.Errorf("subscriber %d received %s, which nobody created", i, n)
			}
		}
	}
	resubscribed := 0
	ends := map[string]int{}
	for _, s := range subs {
		resubscribed += int(s.resubscribed.Load())
		s.mu.Lock()
		for _, e := range s.ends {
			ends[e]++
		}
		s.mu.Unlock()
	}
	t.Logf("connections ended by: %v", ends)
	t.Logf("%d kills, %d orders acknowledged by %d writers, %d subscribers resubscribed %d times: %d missing, %d duplicates, %d out of order",
		*soakKills, acked, len(writers), len(subs), resubscribed, missing, duplicates, disordered)
}

// replicaSet is the two replicas running now; a killed one is replaced.
type replicaSet struct {
	mu      sync.Mutex
	servers [2]*server
}

func (r *replicaSet) get(i int) *server {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.servers[i]
}

func (r *replicaSet) set(i int, s *server) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.servers[i] = s
}

// soakSubscriber is one client following the log across connections.
type soakSubscriber struct {
	rec          *recorder
	last         string // cursor of the last event received; read by run only
	resubscribed atomic.Int64
	stopped      atomic.Bool

	mu   sync.Mutex
	conn *wsSubscriber
	ends []string // why each connection ended, for the log
}

// run keeps a subscription open until stop, alternating replicas from
// connection to connection and resuming from the last cursor each time.
func (s *soakSubscriber) run(t *testing.T, reps *replicaSet, i int, token string) {
	for n := i; !s.stopped.Load(); n++ {
		sub, err := subscribeErr(t, reps.get(n%2).wsURL(), token, s.last)
		if err != nil { // that replica is down or coming up: try the other
			time.Sleep(20 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		s.conn = sub
		s.mu.Unlock()
		if s.stopped.Load() {
			sub.close()
		}
		for ev := range sub.events {
			s.rec.add(ev)
			s.last = ev.Cursor
		}
		<-sub.done
		if !s.stopped.Load() {
			s.resubscribed.Add(1)
			s.mu.Lock()
			s.ends = append(s.ends, sub.err.Error())
			s.mu.Unlock()
		}
	}
}

func (s *soakSubscriber) stop() {
	s.stopped.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.close()
	}
}

func (s *soakSubscriber) lastState() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return "never opened"
	}
	return s.conn.state()
}
