package events

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
)

// Tailer reads the log as it grows and hands each batch of new events, in
// order, to a deliver function.
type Tailer struct {
	db  *bun.DB
	url string // PostgreSQL URL to LISTEN on; empty on SQLite
	log *slog.Logger

	wake chan struct{}
	last atomic.Int64
	// PollInterval bounds how long a missed wake-up can delay delivery.
	PollInterval time.Duration
}

// NewTailer returns a tailer for db, starting after the current head. url is
// the database URL, used on PostgreSQL for a dedicated LISTEN connection.
func NewTailer(ctx context.Context, db *bun.DB, url string, log *slog.Logger) (*Tailer, error) {
	head, err := Head(ctx, db)
	if err != nil {
		return nil, err
	}
	t := &Tailer{db: db, log: log, wake: make(chan struct{}, 1), PollInterval: time.Second}
	if database.IsPostgres(db) {
		t.url = url
	}
	t.last.Store(head)
	db.AddQueryHook(commitHook{t})
	return t, nil
}

// Last is the id of the last event delivered.
func (t *Tailer) Last() int64 { return t.last.Load() }

// Wake asks the tailer to read the log now. It never blocks.
func (t *Tailer) Wake() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Run reads and delivers until ctx ends. deliver runs on Run's goroutine,
// one batch at a time, in id order.
func (t *Tailer) Run(ctx context.Context, deliver func([]Event)) {
	if t.url != "" {
		go t.listen(ctx)
	}
	poll := time.NewTicker(t.PollInterval)
	defer poll.Stop()
	for {
		for {
			evs, err := After(ctx, t.db, t.last.Load(), nil, 500)
			if err != nil {
				if ctx.Err() == nil {
					t.log.Warn("reading the event log", "error", err)
				}
				break
			}
			if len(evs) == 0 {
				break
			}
			deliver(evs)
			t.last.Store(evs[len(evs)-1].ID)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		case <-poll.C:
		}
	}
}

// listen turns NOTIFY wake-ups from every replica into Wake, reconnecting
// with backoff; after each reconnect it wakes once, since notifications sent
// while it was away are lost but the log is not.
func (t *Tailer) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := t.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		t.log.Warn("event listener lost its connection; reconnecting", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (t *Tailer) listenOnce(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, t.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	t.Wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		t.Wake()
	}
}

// commitHook wakes the tailer after every commit in this process: reading a
// log with nothing new is one index probe, cheaper than tracking which
// transactions appended.
type commitHook struct{ t *Tailer }

func (h commitHook) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (h commitHook) AfterQuery(_ context.Context, ev *bun.QueryEvent) {
	if ev.Err == nil && ev.Query == "COMMIT" {
		h.t.Wake()
	}
}
