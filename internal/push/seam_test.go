package push

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/uptrace/bun"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestResumeSeamWhileTheGroupLags: a subscriber resumes with `after` while
// its group is still working through events at or below the join point.
// The replay sends those privately; when the group gets to them it must not
// send them again (it used to, to the member's buffer or, once the replay
// was done, straight to it: the duplicated, out-of-order runs seen when
// many subscribers resumed after a replica was killed).
func TestResumeSeamWhileTheGroupLags(t *testing.T) {
	db := testdb.MustOpen(t, "sqlite")
	ctx := context.Background()
	log := appendEvents(t, db, 6)
	release := make(chan struct{})
	h := New(executor.New(newCursorSchema(t, release)), db, func(ctx context.Context) context.Context { return ctx },
		slog.New(slog.NewTextHandler(io.Discard, nil)), 0)

	op := Request{Query: `subscription($after: String) { purchaseOrderUpdated(after: $after) }`}
	live := &sink{}
	stopLive := h.Start(context.WithValue(ctx, subscriberKey{}, true), op, live)
	defer stopLive()
	// The group takes event 1 and stalls on it, with 2…5 queued behind.
	_ = h.Dispatch(ctx, log[:5])

	resumed := &sink{}
	op.Variables = map[string]any{"after": Cursor(log[1])} // after 2: joins at 5
	stopResumed := h.Start(context.WithValue(ctx, subscriberKey{}, true), op, resumed)
	defer stopResumed()
	resumed.waitFor(t, 3)
	waitReplayed(t, h)
	close(release) // the group catches up on 1…5
	_ = h.Dispatch(ctx, log[5:])
	live.waitFor(t, 6)

	if got, want := resumed.positions(t), []int64{3, 4, 5, 6}; !slices.Equal(got, want) {
		t.Fatalf("resumed after position 2, received positions %v; want %v", got, want)
	}
}

// TestResumeAheadOfThisReplica: a subscriber resumes with a cursor another
// replica handed out, further along than this replica has read the log.
// Nothing is to be replayed, and this replica must not send again what the
// cursor says the subscriber has (it did: everything between its own
// position and the cursor, when replicas were killed under load).
func TestResumeAheadOfThisReplica(t *testing.T) {
	db := testdb.MustOpen(t, "sqlite")
	log := appendEvents(t, db, 3)
	unstalled := make(chan struct{})
	close(unstalled)
	h := New(executor.New(newCursorSchema(t, unstalled)), db, func(ctx context.Context) context.Context { return ctx },
		slog.New(slog.NewTextHandler(io.Discard, nil)), 0)
	resumed := &sink{}
	op := Request{Query: `subscription($after: String) { purchaseOrderUpdated(after: $after) }`,
		Variables: map[string]any{"after": Cursor(log[1])}}
	stop := h.Start(context.WithValue(context.Background(), subscriberKey{}, true), op, resumed)
	defer stop()
	waitReplayed(t, h)
	_ = h.Dispatch(context.Background(), log) // this replica catches up
	resumed.waitFor(t, 1)
	time.Sleep(50 * time.Millisecond) // for anything wrongly sent after it
	if got := resumed.positions(t); !slices.Equal(got, []int64{3}) {
		t.Fatalf("resumed after position 2 on a replica at 0, received positions %v; want [3]", got)
	}
}

// appendEvents puts n purchase-order events at positions 1…n in the log.
func appendEvents(t *testing.T, db *bun.DB, n int64) []events.Event {
	var log []events.Event
	for pos := int64(1); pos <= n; pos++ {
		ev := events.Event{Type: testEvents.Type, ObjectID: pos, Snapshot: "{}", CreatedAt: time.Now().UTC(), Position: pos}
		if _, err := db.NewInsert().Model(&ev).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		log = append(log, ev)
	}
	return log
}

// waitReplayed waits until no member of any group is replaying.
func waitReplayed(t *testing.T, h *Hub) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		pending := false
		h.mu.Lock()
		for _, g := range h.groups {
			g.mu.Lock()
			for m := range g.members {
				pending = pending || m.pending
			}
			g.mu.Unlock()
		}
		h.mu.Unlock()
		if !pending {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a replay did not finish")
		}
	}
}

// subscriberKey marks a subscriber's context; a group's execution runs on
// a context of its own, without it.
type subscriberKey struct{}

// cursorSchema is a one-field schema whose subscription resolves each event
// to its cursor, through Stream as the real resolvers do; the group's
// executions (not the replays) wait for release first.
type cursorSchema struct {
	schema  *ast.Schema
	release <-chan struct{}
}

func newCursorSchema(t *testing.T, release <-chan struct{}) graphql.ExecutableSchema {
	s, err := gqlparser.LoadSchema(&ast.Source{Input: `type Query { ok: Boolean }
		type Subscription { purchaseOrderUpdated(after: String): String }`})
	if err != nil {
		t.Fatal(err)
	}
	return cursorSchema{schema: s, release: release}
}

func (s cursorSchema) Schema() *ast.Schema { return s.schema }

func (s cursorSchema) Complexity(context.Context, string, string, int, map[string]any) (int, bool) {
	return 1, true
}

func (s cursorSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	out, err := Stream(ctx, func(cursor string, _ *testObject) *string { return &cursor })
	if err != nil {
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{gqlerror.Wrap(err)}})
	}
	return func(ctx context.Context) *graphql.Response {
		if ctx.Value(subscriberKey{}) == nil {
			select {
			case <-s.release:
			case <-ctx.Done():
			}
		}
		c, ok := <-out
		if !ok {
			return nil
		}
		data, _ := json.Marshal(map[string]any{"purchaseOrderUpdated": c})
		return &graphql.Response{Data: data}
	}
}

// testObject is what testEvents are about; every viewer may see it.
type testObject struct{}

// testEvents is the type of event these tests push, streamed by the field
// the cursor schema has.
var testEvents = events.Register(events.Registration[testObject]{
	Type:  "TEST_UPDATED",
	Field: "purchaseOrderUpdated",
	Audience: func(context.Context, bun.IDB, int64, *testObject) error {
		return nil
	},
	Payload: func(context.Context, bun.IDB, events.Event) (*testObject, error) { return &testObject{}, nil },
})

// sink records what a subscriber is sent.
type sink struct {
	mu       sync.Mutex
	payloads [][]byte
	errs     [][]byte
}

func (s *sink) Next(p []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payloads = append(s.payloads, p)
	return true
}

func (s *sink) Error(errs []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, errs)
}

func (s *sink) Complete() {}

func (s *sink) waitFor(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		got, errs := len(s.payloads), len(s.errs)
		s.mu.Unlock()
		if errs > 0 {
			t.Fatalf("an error was sent: %s", s.errs[0])
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d results within 5s, want %d", got, n)
		}
	}
}

func (s *sink) positions(t *testing.T) []int64 {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, p := range s.payloads {
		var r struct {
			Data struct{ PurchaseOrderUpdated string }
		}
		if err := json.Unmarshal(p, &r); err != nil {
			t.Fatal(err)
		}
		pos, err := ParseCursor(r.Data.PurchaseOrderUpdated)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pos)
	}
	return out
}
