// Package events is the log every state change is announced in, and the
// reader replicas tail to push those changes live.
//
// # Order
//
// Readers read events by position, and an event's cursor is its position.
// Ids cannot serve: two transactions may take ids 7 and 8 and commit 8
// first, and a reader that has read 8 would never go back for 7. Making ids
// follow commit order takes a lock held through every writer's commit, which
// serialises the deployment's writes; so instead an event is inserted
// without a position, and positions are given after commit.
//
// On PostgreSQL the sequencer (sequencer.go), which any replica may run,
// gives them: in a short transaction of its own it takes an advisory lock,
// reads the highest position, numbers the events still without one (only
// committed ones are visible to it) in id order after it, and commits. The
// lock is held through that commit, so each run's positions become visible
// after the previous run's and above them: a reader that has seen position
// N+1 has seen N, and positions never go backwards. An event that commits
// late is numbered by the next run, after everything read so far. A
// transaction that appends after another has committed gets a higher id
// (the identity sequence only grows), and any run that sees it committed
// sees the earlier one too, so its position is higher as well. Events of one
// object are such a pair: every writer locks the object's row before it
// appends, so a later writer's insert waits for the earlier one's commit.
//
// SQLite has one writer at a time, so ids already follow commit order and
// Append gives position = id in the appending transaction.
//
// # Wake-ups
//
// On PostgreSQL the sequencer issues NOTIFY channelgraph_events with no
// payload when it has numbered events: NOTIFY is delivered at commit,
// carries only "look again", and every replica LISTENs and then reads the
// log from its own last position, so a lost notification loses nothing.
// Writers neither lock nor notify, since NOTIFY too takes a database-wide
// lock during commit. Within one process, a commit wakes the sequencer (or,
// on SQLite, the readers) without the database round trip.
package events

import (
	"context"
	"encoding/json"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
)

// Type names what changed; each is registered once (see Register).
type Type string

const (
	notifyChannel         = "channelgraph_events"
	sequenceLockKey int64 = 0x63675f6576656e74 // "cg_event"
)

// Event is one committed change.
type Event struct {
	bun.BaseModel `bun:"table:events,alias:ev"`

	ID int64 `bun:"id,pk,autoincrement"`
	// Position orders the log for readers (see the package doc); 0 until the
	// sequencer has given one, and readers never see such an event.
	Position  int64     `bun:"position,nullzero"`
	Type      Type      `bun:"type"`
	ObjectID  int64     `bun:"object_id"`
	Snapshot  string    `bun:"snapshot"`
	CreatedAt time.Time `bun:"created_at"`
}

// Decode reads the event's snapshot of its object (its row as the event's
// transaction committed it) into dst.
func (e *Event) Decode(dst any) error { return json.Unmarshal([]byte(e.Snapshot), dst) }

// insert writes ev in tx. On PostgreSQL its position is given after commit
// by the sequencer (see the package doc); SQLite has one writer at a time,
// so the id is already in commit order and is the position.
func insert(ctx context.Context, tx bun.IDB, ev *Event) error {
	if _, err := tx.NewInsert().Model(ev).Returning("id").Exec(ctx); err != nil {
		return err
	}
	if !database.IsPostgres(tx) {
		_, err := tx.NewUpdate().Model(ev).Set("position = id").WherePK().Exec(ctx)
		return err
	}
	return nil
}

// After reads up to limit events of the given types with a position above
// after, in order.
func After(ctx context.Context, db bun.IDB, after int64, types []Type, limit int) ([]Event, error) {
	var evs []Event
	q := db.NewSelect().Model(&evs).Where("ev.position > ?", after).Order("ev.position").Limit(int64(limit))
	if len(types) > 0 {
		q = q.Where("ev.type IN (?)", bun.In(types))
	}
	err := q.Scan(ctx)
	return evs, err
}

// Head is the position of the newest event readers can see, 0 when there is
// none.
func Head(ctx context.Context, db bun.IDB) (int64, error) {
	var pos int64
	err := db.NewSelect().TableExpr("events").ColumnExpr("COALESCE(MAX(position), 0)").Scan(ctx, &pos)
	return pos, err
}
