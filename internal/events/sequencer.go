package events

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// maxSequenced bounds one sequencer run, so its transaction stays short
// after a backlog (a replica that was down while others wrote, say).
const maxSequenced = 5000

// Sequence gives positions, on PostgreSQL, to committed events that have
// none, in id order after the highest position, and wakes every replica's
// readers when it gave any. It returns how many it gave. Any replica may call
// it at any time; concurrent runs take turns (see the package doc for why
// that keeps readers from skipping).
func Sequence(ctx context.Context, db *bun.DB) (int, error) {
	ctx = context.WithValue(ctx, sequencing{}, true)
	// Most wake-ups find nothing to do (another replica's run took it): a
	// probe of the small partial index, without taking the lock.
	var pending bool
	if err := db.NewRaw("SELECT EXISTS (SELECT 1 FROM events WHERE position IS NULL)").Scan(ctx, &pending); err != nil {
		return 0, fmt.Errorf("events: looking for events to sequence: %w", err)
	}
	if !pending {
		return 0, nil
	}
	var n int
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The lock is held through this transaction's commit: the next run
		// reads the highest position only after this one's are visible. A
		// replica that hangs holding it would stall every replica's
		// positions, so the server ends this transaction if it sits idle.
		if _, err := tx.ExecContext(ctx, "SELECT set_config('idle_in_transaction_session_timeout', '5s', true), pg_advisory_xact_lock(?)",
			sequenceLockKey); err != nil {
			return err
		}
		// One statement, so one snapshot, taken after the lock: the events
		// it numbers are exactly the committed unnumbered ones it sees.
		res, err := tx.ExecContext(ctx, `WITH base AS (SELECT COALESCE(MAX(position), 0) AS p FROM events),
			next AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM events
				WHERE position IS NULL ORDER BY id LIMIT ?)
			UPDATE events SET position = base.p + next.n FROM base, next WHERE events.id = next.id`, maxSequenced)
		if err != nil {
			return err
		}
		rows, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n = int(rows); n > 0 {
			_, err = tx.ExecContext(ctx, "NOTIFY "+notifyChannel)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("events: sequencing: %w", err)
	}
	return n, nil
}

// sequencing marks the sequencer's statements: its commit need not wake the
// sequencer again, and InSequencer tells them apart.
type sequencing struct{}

// InSequencer reports whether a query hook's ctx is the sequencer's:
// background work any commit may set off, which a count of what a request
// costs leaves out.
func InSequencer(ctx context.Context) bool { return ctx.Value(sequencing{}) != nil }
