package auth

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
)

// CredentialsChanged records, in tx, that a credential's answer may have
// changed (a token revoked, a member removed or given another role), so
// every replica stops trusting the tokens it remembers once tx commits.
// Call it in the transaction that makes the change.
func CredentialsChanged(ctx context.Context, tx bun.IDB) error {
	if _, err := tx.NewUpdate().TableExpr("credential_generation").Set("generation = generation + 1").
		Where("id = 1").Exec(ctx); err != nil {
		return fmt.Errorf("auth: recording a credential change: %w", err)
	}
	return nil
}

// RememberFor bounds how long a replica trusts a token it read, while it
// keeps reading the credential generation (WatchCredentials). Without that,
// CacheFor bounds it.
const RememberFor = 10 * time.Minute

// WatchEvery is how often WatchCredentials reads the credential generation.
const WatchEvery = 500 * time.Millisecond

// generationWatch is what WatchCredentials last read: the generation, and
// when (on the monotonic clock) the read that found it had started.
type generationWatch struct {
	generation atomic.Int64
	readAt     atomic.Pointer[time.Time]
}

// trusted reports whether an answer remembered at cachedAt under
// generation gen may still be served at now.
func (w *generationWatch) trusted(gen int64, cachedAt, now time.Time) bool {
	age := now.Sub(cachedAt)
	if age < CacheFor {
		return true
	}
	readAt := w.readAt.Load()
	// The generation must have been read recently, by a read that started
	// after the answer was cached, and found unchanged since.
	return readAt != nil && now.Sub(*readAt) < CacheFor && readAt.After(cachedAt) &&
		w.generation.Load() == gen && age < RememberFor
}

// WatchCredentials reads the credential generation every WatchEvery until
// ctx ends, so a remembered token stays trusted only while nothing that
// could change its answer has committed. When the reads fail, remembered
// answers fall back to CacheFor.
func (s *Service) WatchCredentials(ctx context.Context, log *slog.Logger) {
	ctx = context.WithValue(ctx, watching{}, true)
	t := time.NewTicker(WatchEvery)
	defer t.Stop()
	for {
		started := s.Now()
		var gen int64
		err := s.db.NewSelect().TableExpr("credential_generation").Column("generation").Where("id = 1").Scan(ctx, &gen)
		switch {
		case err == nil:
			s.watch.generation.Store(gen)
			s.watch.readAt.Store(&started)
		case ctx.Err() == nil:
			log.Warn("auth: reading the credential generation", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type watching struct{}

// InWatcher reports whether a query hook's ctx is WatchCredentials': work on
// a timer, which a count of what a request costs leaves out.
func InWatcher(ctx context.Context) bool { return ctx.Value(watching{}) != nil }
