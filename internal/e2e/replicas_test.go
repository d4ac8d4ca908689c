package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestTwoReplicasShareOneDatabase: two server processes on one PostgreSQL
// database act as one service. A subscriber on replica B receives, live and
// in commit order, the orders recorded through replica A's HTTP API; and a
// cursor B handed out resumes the same stream on A (a client reconnecting
// through a load balancer lands on either).
//
// It fails if B never hears of A's commits (no cross-process wake-up), if
// it skips, repeats or reorders them, or if A does not accept B's cursor or
// replays anything else.
func TestTwoReplicasShareOneDatabase(t *testing.T) {
	t.Parallel()
	databaseURL := testdb.NewPostgres(t)
	// One after the other: started together on an empty database, one of
	// them fails to migrate (see TestReplicasStartTogether).
	a := startServer(t, "replica A", databaseURL)
	b := startServer(t, "replica B", databaseURL)
	c := newClient(t)
	ch := setupChannel(t, c, a.graphqlURL())

	subB := subscribe(t, b.wsURL(), ch.vendorToken, "")
	create := func(number string) { ch.mustCreateOrder(t, c, a.graphqlURL(), number) }
	created, first := goLive(t, "W", create, subB.next)
	got := []event{first}
	// Warm-up orders created after the one that arrived first are still on
	// their way; they must come, then the three below, and nothing else.
	for i := 1; i <= 3; i++ {
		number := fmt.Sprintf("A-%d", i)
		create(number)
		created = append(created, number)
	}
	for got[len(got)-1].Number != "A-3" {
		got = append(got, subB.mustNext(t))
		if len(got) > len(created) {
			break // checkSuffix reports it
		}
	}
	checkSuffix(t, created, got)
	if ev, ok := subB.next(200 * time.Millisecond); ok {
		t.Fatalf("an event after the last order: %+v", ev)
	}

	// B's first cursor resumes on A: A replays exactly what B delivered after
	// it, with the same cursors.
	subA := subscribe(t, a.wsURL(), ch.vendorToken, got[0].Cursor)
	for i, want := range got[1:] {
		ev := subA.mustNext(t)
		if ev != want {
			t.Fatalf("replay on A, event %d: got %+v, B delivered %+v", i+1, ev, want)
		}
	}
	create("A-4")
	if ev := subA.mustNext(t); ev.Number != "A-4" || ev.Seq <= got[len(got)-1].Seq {
		t.Fatalf("after the replay A delivered %+v, want A-4 after cursor %d", ev, got[len(got)-1].Seq)
	}
	if ev := subB.mustNext(t); ev.Number != "A-4" {
		t.Fatalf("B delivered %+v, want A-4", ev)
	}
}

// TestReplicasStartTogether: replicas of a new deployment start at the same
// time on its empty database; each must come up (one migrates, the other
// waits for the migration lock).
func TestReplicasStartTogether(t *testing.T) {
	t.Parallel()
	databaseURL := testdb.NewPostgres(t)
	type started struct {
		s   *server
		err error
	}
	results := make(chan started, 2)
	for _, name := range []string{"replica A", "replica B"} {
		go func() {
			s, err := startServerErr(t, name, databaseURL)
			results <- started{s, err}
		}()
	}
	var servers []*server
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Error(r.err)
			continue
		}
		servers = append(servers, r.s)
	}
	if t.Failed() {
		return
	}
	c := newClient(t)
	ch := setupChannel(t, c, servers[0].graphqlURL())
	ch.mustCreateOrder(t, c, servers[1].graphqlURL(), "T-1")
	if n := ch.listOrderNumbers(t, c, servers[0].graphqlURL()); len(n) != 1 || n[0] != "T-1" {
		t.Fatalf("replica A lists %v, want [T-1]", n)
	}
}
