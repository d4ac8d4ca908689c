package events

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
)

// Tailer reads the log as it grows and hands each batch of new events, in
// position order, to every consumer attached to it. Each consumer reads from
// its own cursor at its own pace, so a slow one never holds back another.
// On PostgreSQL it also runs this replica's sequencer.
type Tailer struct {
	db  *bun.DB
	url string // PostgreSQL URL to LISTEN on; empty on SQLite
	log *slog.Logger

	sequence chan struct{} // wakes the sequencer (PostgreSQL only)

	mu        sync.Mutex
	consumers []*Consumer
	running   context.Context // set by Run; consumers attached later start at once
	wg        sync.WaitGroup

	// PollInterval bounds how long a missed wake-up can delay delivery, and
	// how long an event whose writer died before waking any sequencer waits
	// for a position.
	PollInterval time.Duration
}

// Consumer is one reader of the log attached to a Tailer.
type Consumer struct {
	name    string
	deliver func(context.Context, []Event) error
	wake    chan struct{}
	last    atomic.Int64
}

// Last is the position of the last event the consumer has taken.
func (c *Consumer) Last() int64 { return c.last.Load() }

// NewTailer returns a tailer for db. url is the database URL, used on
// PostgreSQL for a dedicated LISTEN connection.
func NewTailer(ctx context.Context, db *bun.DB, url string, log *slog.Logger) (*Tailer, error) {
	t := &Tailer{db: db, log: log, PollInterval: time.Second}
	if database.IsPostgres(db) {
		t.url = url
		t.sequence = make(chan struct{}, 1)
	}
	db.AddQueryHook(commitHook{t})
	return t, nil
}

// Attach adds a consumer that receives every event after position from, in
// order, in batches, on a goroutine of its own; it may be called before or
// while Run runs. The tailer never skips a batch: one that deliver fails is
// offered again on the next wake-up or poll, until it succeeds or the
// tailer stops.
func (t *Tailer) Attach(name string, from int64, deliver func(context.Context, []Event) error) *Consumer {
	c := &Consumer{name: name, deliver: deliver, wake: make(chan struct{}, 1)}
	c.last.Store(from)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.consumers = append(t.consumers, c)
	if t.running != nil {
		t.start(t.running, c)
	}
	return c
}

// Wake asks every consumer to read the log now. It never blocks.
func (t *Tailer) Wake() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.consumers {
		signal(c.wake)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// committed is what a local commit means: new events may be waiting for a
// position (PostgreSQL) or already have one (SQLite).
func (t *Tailer) committed() {
	if t.sequence != nil {
		signal(t.sequence)
		return
	}
	t.Wake()
}

// Run runs the consumers (and on PostgreSQL the sequencer and listener)
// until ctx ends, and waits for them.
func (t *Tailer) Run(ctx context.Context) {
	t.mu.Lock()
	t.running = ctx
	for _, c := range t.consumers {
		t.start(ctx, c)
	}
	t.mu.Unlock()
	if t.sequence != nil {
		t.wg.Add(1)
		go func() { defer t.wg.Done(); t.runSequencer(ctx) }()
	}
	if t.url != "" {
		t.wg.Add(1)
		go func() { defer t.wg.Done(); t.listen(ctx) }()
	}
	<-ctx.Done()
	t.wg.Wait()
}

func (t *Tailer) start(ctx context.Context, c *Consumer) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.consume(ctx, c)
	}()
}

// consume reads the log from c's cursor and delivers it, until ctx ends.
func (t *Tailer) consume(ctx context.Context, c *Consumer) {
	poll := time.NewTicker(t.PollInterval)
	defer poll.Stop()
	for {
		for ctx.Err() == nil {
			evs, err := After(ctx, t.db, c.last.Load(), nil, 500)
			if err != nil {
				if ctx.Err() == nil {
					t.log.Warn("reading the event log", "consumer", c.name, "error", err)
				}
				break
			}
			if len(evs) == 0 {
				break
			}
			if err := c.deliver(ctx, evs); err != nil {
				if ctx.Err() == nil {
					t.log.Warn("delivering events; retrying", "consumer", c.name, "error", err)
				}
				break // the next poll offers the same batch again
			}
			c.last.Store(evs[len(evs)-1].Position)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-poll.C:
		}
	}
}

// runSequencer gives positions whenever woken: by a local commit, by
// another replica's NOTIFY, or by the poll, which also covers events a
// replica committed and then died before sequencing.
func (t *Tailer) runSequencer(ctx context.Context) {
	poll := time.NewTicker(t.PollInterval)
	defer poll.Stop()
	for {
		n, err := Sequence(ctx, t.db)
		if err != nil && ctx.Err() == nil {
			t.log.Warn("sequencing the event log", "error", err)
		}
		if n > 0 {
			t.Wake()
			if n == maxSequenced {
				continue // a backlog: carry on
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.sequence:
		case <-poll.C:
		}
	}
}

// listen turns NOTIFY wake-ups from every replica into Wake (and a
// sequencer run, for events another replica committed but did not number), reconnecting
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
	t.notified()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		t.notified()
	}
}

func (t *Tailer) notified() {
	signal(t.sequence)
	t.Wake()
}

// commitHook wakes the sequencer (or on SQLite the consumers) after every
// commit in this process: finding nothing new is one index probe, cheaper
// than tracking which transactions appended.
type commitHook struct{ t *Tailer }

func (h commitHook) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (h commitHook) AfterQuery(ctx context.Context, ev *bun.QueryEvent) {
	if ev.Err == nil && ev.Query == "COMMIT" && !InSequencer(ctx) {
		h.t.committed()
	}
}
