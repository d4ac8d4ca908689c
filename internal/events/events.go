// Package events is the log every state change is announced in, and the
// reader replicas tail to push those changes live.
//
// # Order
//
// An event's cursor is its id, and readers read ids in ascending order. A
// plain identity column is not enough: two transactions may take ids 7 and 8
// and commit 8 first, and a reader that has read 8 would never go back for 7.
// So Append, on PostgreSQL, first takes a transaction-scoped advisory lock and
// holds it until the transaction ends: ids are then assigned, and become
// visible, strictly in commit order, and a reader that sees id N+1 sees N.
// Append is the last statement of a transaction, so the lock is held only for
// the insert and the commit. SQLite has one writer at a time, which gives the
// same order without a lock.
//
// # Wake-ups
//
// On PostgreSQL, Append also issues NOTIFY channelgraph_events with no
// payload: NOTIFY is delivered at commit, carries only "look again", and
// every replica LISTENs and then reads the log from its own last id, so a
// lost notification loses nothing. Within one process, Wake does the same
// without the database round trip (and is the only path on SQLite).
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
	notifyChannel       = "channelgraph_events"
	appendLockKey int64 = 0x63675f6576656e74 // "cg_event"
)

// Event is one committed change.
type Event struct {
	bun.BaseModel `bun:"table:events,alias:ev"`

	ID        int64     `bun:"id,pk,autoincrement"`
	Type      Type      `bun:"type"`
	ObjectID  int64     `bun:"object_id"`
	Snapshot  string    `bun:"snapshot"`
	CreatedAt time.Time `bun:"created_at"`
}

// Decode reads the event's snapshot of its object (its row as the event's
// transaction committed it) into dst.
func (e *Event) Decode(dst any) error { return json.Unmarshal([]byte(e.Snapshot), dst) }

// insert writes ev in tx, in commit order (see the package doc).
func insert(ctx context.Context, tx bun.IDB, ev *Event) error {
	if database.IsPostgres(tx) {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", appendLockKey); err != nil {
			return err
		}
	}
	if _, err := tx.NewInsert().Model(ev).Returning("id").Exec(ctx); err != nil {
		return err
	}
	if database.IsPostgres(tx) {
		_, err := tx.ExecContext(ctx, "NOTIFY "+notifyChannel)
		return err
	}
	return nil
}

// After reads up to limit events of the given types with an id above after,
// in order.
func After(ctx context.Context, db bun.IDB, after int64, types []Type, limit int) ([]Event, error) {
	var evs []Event
	q := db.NewSelect().Model(&evs).Where("ev.id > ?", after).Order("ev.id").Limit(int64(limit))
	if len(types) > 0 {
		q = q.Where("ev.type IN (?)", bun.In(types))
	}
	err := q.Scan(ctx)
	return evs, err
}

// Head is the id of the newest event, 0 when there is none.
func Head(ctx context.Context, db bun.IDB) (int64, error) {
	var id int64
	err := db.NewSelect().TableExpr("events").ColumnExpr("COALESCE(MAX(id), 0)").Scan(ctx, &id)
	return id, err
}
