package database

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"
)

// A transaction that must wait longer than SQLite's busy_timeout for
// another one of this process still runs, in its turn: SQLite alone would
// fail it with SQLITE_BUSY.
func TestSQLiteTransactionsQueueInsteadOfFailingBusy(t *testing.T) {
	db, err := openSQLite(filepath.Join(t.TempDir(), "gate.db"), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE turns (writer INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}

	holding := make(chan struct{})
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO turns VALUES (0)"); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
		if err != nil {
			t.Errorf("holder: %v", err)
		}
	}()
	<-holding

	const waiters = 3
	for w := 1; w <= waiters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO turns VALUES (?)", w)
				return err
			})
			if err != nil {
				t.Errorf("writer %d, waiting longer than busy_timeout: %v", w, err)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // five busy_timeouts
	close(release)
	wg.Wait()

	var n int
	if err := db.NewRaw("SELECT count(*) FROM turns").Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if n != waiters+1 {
		t.Fatalf("%d rows committed, want %d", n, waiters+1)
	}
}

// A waiting transaction gives up when its context ends, and the one
// holding the turn still commits.
func TestSQLiteGateHonoursContext(t *testing.T) {
	db, err := openSQLite(filepath.Join(t.TempDir(), "gate.db"), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := db.BeginTx(short, nil); err != context.DeadlineExceeded {
		t.Fatalf("second transaction while the first holds the turn: %v, want %v", err, context.DeadlineExceeded)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	next, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("after the commit the turn is free: %v", err)
	}
	next.Rollback()
}
