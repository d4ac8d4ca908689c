package events_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// edges makes n channel edges to append events about, returning their ids.
func edges(t *testing.T, db *bun.DB, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for i := range n {
		var up, down, edge int64
		now := time.Now().UTC()
		for _, org := range []*int64{&up, &down} {
			if err := db.NewRaw("INSERT INTO organizations (kind, name, created_at) VALUES ('VENDOR', ?, ?) RETURNING id",
				fmt.Sprintf("org %d", i), now).Scan(ctx, org); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.NewRaw(`INSERT INTO channel_edges (upstream_id, downstream_id, status, created_at, updated_at)
			VALUES (?, ?, 'ACTIVE', ?, ?) RETURNING id`, up, down, now, now).Scan(ctx, &edge); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, edge)
	}
	return ids
}

// change does what every writer does: locks the object's row by changing it
// (here its removal_reason, to mark), then appends its event.
func change(ctx context.Context, tx bun.IDB, edge int64, mark string) error {
	if _, err := tx.NewRaw("UPDATE channel_edges SET removal_reason = ? WHERE id = ?", mark, edge).Exec(ctx); err != nil {
		return err
	}
	return channel.EdgeUpdated.Append(ctx, tx, edge, time.Now().UTC())
}

func commitChange(t *testing.T, db *bun.DB, edge int64, mark string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return change(ctx, tx, edge, mark) }); err != nil {
		t.Fatal(err)
	}
}

// appendUncommitted changes edge in a transaction it leaves open (rolled
// back when the test ends, unless committed).
func appendUncommitted(t *testing.T, db *bun.DB, edge int64, mark string) bun.Tx {
	t.Helper()
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	if err := change(context.Background(), tx, edge, mark); err != nil {
		t.Fatal(err)
	}
	return tx
}

func markOf(t *testing.T, ev events.Event) string {
	t.Helper()
	var e domain.ChannelEdge
	if err := ev.Decode(&e); err != nil {
		t.Fatal(err)
	}
	return e.RemovalReason
}

func sequence(t *testing.T, db *bun.DB) {
	t.Helper()
	if _, err := events.Sequence(context.Background(), db); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, db *bun.DB, after int64) []events.Event {
	t.Helper()
	evs, err := events.After(context.Background(), db, after, nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestWritersCommitConcurrently: a transaction that has appended an event
// and not yet committed does not stop another from appending and
// committing. (Appending used to take a lock held to commit, so every
// writer of the deployment waited for the one before.)
func TestWritersCommitConcurrently(t *testing.T) {
	db := testdb.MustOpen(t, "postgres")
	ids := edges(t, db, 2)
	ctx := context.Background()
	held := appendUncommitted(t, db, ids[0], "held")
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := db.RunInTx(wctx, nil, func(ctx context.Context, tx bun.Tx) error { return change(ctx, tx, ids[1], "other") })
	if err != nil {
		t.Fatalf("appending and committing while another appending transaction is open: %v", err)
	}
	if err := held.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestLateCommitIsNotSkipped: an event whose transaction took its id first
// but commits last reaches a reader after the events that committed before
// it, with a position above everything the reader has read, never below.
func TestLateCommitIsNotSkipped(t *testing.T) {
	db := testdb.MustOpen(t, "postgres")
	ids := edges(t, db, 3)
	ctx := context.Background()
	held := appendUncommitted(t, db, ids[0], "late") // takes the lowest id
	commitChange(t, db, ids[1], "first")
	commitChange(t, db, ids[2], "second")
	sequence(t, db)
	got := readAll(t, db, 0)
	if len(got) != 2 || markOf(t, got[0]) != "first" || markOf(t, got[1]) != "second" {
		t.Fatalf("read %v, want the events of first and second", got)
	}
	last := got[1].Position
	if got[0].Position != 1 || last != 2 {
		t.Fatalf("positions %d, %d; want 1, 2", got[0].Position, last)
	}
	if got[0].ID < 2 {
		t.Fatalf("the held transaction's event should have the lowest id; first has %d", got[0].ID)
	}

	if err := held.Commit(); err != nil {
		t.Fatal(err)
	}
	sequence(t, db)
	got = readAll(t, db, last)
	if len(got) != 1 || markOf(t, got[0]) != "late" {
		t.Fatalf("after the held transaction committed, read %v after position %d; want its event", got, last)
	}
	if got[0].Position != last+1 {
		t.Fatalf("the late event has position %d; want %d, after what was read", got[0].Position, last+1)
	}
	if head, err := events.Head(ctx, db); err != nil || head != 3 {
		t.Fatalf("head %d (%v), want 3", head, err)
	}
}

// TestTailerDeliversEveryEventOnceInOrder: writers on many connections
// change their own objects at once, while two consumers tail the log, one
// of them stalled until the writers are done. Each consumer must get every
// event exactly once, at consecutive positions, and each object's changes
// in the order they committed; the stalled one must not hold back the other.
func TestTailerDeliversEveryEventOnceInOrder(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		const writers, each = 8, 25
		ids := edges(t, db, writers)
		tailer, err := events.NewTailer(context.Background(), db, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		tailer.PollInterval = 50 * time.Millisecond // no LISTEN here: the poll stands in for other replicas

		type received struct {
			mu  sync.Mutex
			evs []events.Event
		}
		var fast, slow received
		stalled := make(chan struct{})
		collect := func(r *received, wait <-chan struct{}) func(context.Context, []events.Event) error {
			return func(ctx context.Context, evs []events.Event) error {
				if wait != nil {
					select {
					case <-wait:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				r.mu.Lock()
				defer r.mu.Unlock()
				r.evs = append(r.evs, evs...)
				return nil
			}
		}
		tailer.Attach("fast", 0, collect(&fast, nil))
		tailer.Attach("slow", 0, collect(&slow, stalled))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); tailer.Run(ctx) }()
		defer func() { cancel(); <-done }()

		var wg sync.WaitGroup
		for w, edge := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					err := db.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
						return change(ctx, tx, edge, strconv.Itoa(i))
					})
					if err != nil {
						t.Errorf("writer %d: %v", w, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		wait := func(r *received, who string) []events.Event {
			deadline := time.Now().Add(10 * time.Second)
			for {
				r.mu.Lock()
				n := len(r.evs)
				evs := append([]events.Event(nil), r.evs...)
				r.mu.Unlock()
				if n >= writers*each || time.Now().After(deadline) {
					return evs
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		check := func(who string, evs []events.Event) {
			if len(evs) != writers*each {
				t.Fatalf("%s consumer received %d events, want %d", who, len(evs), writers*each)
			}
			next := map[int64]int{}
			for i, ev := range evs {
				if ev.Position != int64(i+1) {
					t.Fatalf("%s consumer: event %d has position %d, want %d", who, i, ev.Position, i+1)
				}
				if m := markOf(t, ev); m != strconv.Itoa(next[ev.ObjectID]) {
					t.Fatalf("%s consumer: edge %d's change %s arrived when %d was due", who, ev.ObjectID, m, next[ev.ObjectID])
				}
				next[ev.ObjectID]++
			}
		}
		check("fast", wait(&fast, "fast")) // while the slow one is still stalled
		close(stalled)
		check("slow", wait(&slow, "slow"))
	})
}

// TestEventsOfAReplicaThatDiedGetPositions: an event committed through a
// replica that never sequenced it (here: a connection pool with no tailer,
// as if its process died right after the commit) is still given a position
// by another replica's sequencer, and delivered there.
func TestEventsOfAReplicaThatDiedGetPositions(t *testing.T) {
	url := testdb.NewPostgres(t)
	dead, alive := testdb.MustOpenURL(t, url), testdb.MustOpenURL(t, url)
	ids := edges(t, dead, 1)
	tailer, err := events.NewTailer(context.Background(), alive, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	tailer.PollInterval = 50 * time.Millisecond
	got := make(chan events.Event, 1)
	tailer.Attach("test", 0, func(_ context.Context, evs []events.Event) error {
		for _, ev := range evs {
			got <- ev
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tailer.Run(ctx) }()
	defer func() { cancel(); <-done }()

	commitChange(t, dead, ids[0], "orphan")
	select {
	case ev := <-got:
		if markOf(t, ev) != "orphan" || ev.Position != 1 {
			t.Fatalf("delivered %+v, want the orphan at position 1", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event of a replica that died before sequencing was not delivered within 5 s")
	}
}
