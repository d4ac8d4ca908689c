package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// worker delivers one endpoint's events, one at a time, from its cursor.
type worker struct {
	d      *Deliverer
	id     int64
	wake   chan struct{} // buffered (1): a wake-up never blocks the tailer
	cancel context.CancelFunc
	done   chan struct{}

	// The execution of the endpoint's operation, opened for one
	// generation of the endpoint (a change of operation raises it).
	exec       Execution
	generation int64
	// viewer is who the execution runs as: the endpoint's organization.
	viewer *domain.Viewer
	// reopenAt is when to try again an operation that would not open.
	reopenAt time.Time
}

func newWorker(d *Deliverer, id int64) *worker {
	return &worker{d: d, id: id, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// start runs the worker until stop or parent ends.
func (w *worker) start(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	w.cancel = cancel
	go w.run(ctx)
}

func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) stop() { w.cancel() }

func (w *worker) ended() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	defer w.closeExec()
	for {
		wait, err := w.deliver(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				w.d.log.Warn("webhooks: delivering", "endpoint", w.id, "error", err)
			}
			w.closeExec()
			wait = w.d.cfg.Poll // not at once: the database may be down
		case wait < 0:
			continue // the endpoint changed under the worker: read it again now
		}
		if wait == 0 || wait > w.d.cfg.Poll {
			wait = w.d.cfg.Poll
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (w *worker) closeExec() {
	if w.exec != nil {
		w.exec.Close()
		w.exec = nil
	}
}

// again is the wait that means "read the endpoint again now": it changed
// under the worker, or there are more events than one read returns.
const again time.Duration = -1

// deliver sends the endpoint's events after its cursor, in order, until
// none is left (0), an attempt fails (the wait until the retry is due), or
// the endpoint changed under it (again).
func (w *worker) deliver(ctx context.Context) (time.Duration, error) {
	ep := new(domain.WebhookEndpoint)
	err := w.d.db.NewSelect().Model(ep).Where("we.id = ?", w.id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // deleted: the claimer stops this worker
	}
	if err != nil {
		return 0, err
	}
	if (ep.Status != domain.WebhookActive && ep.Status != domain.WebhookFailing) || ep.LeaseOwner != w.d.cfg.Replica {
		return 0, nil
	}
	if w.exec == nil || w.generation != ep.Generation {
		w.closeExec()
		if due := time.Until(w.reopenAt); w.generation == ep.Generation && due > 0 {
			return due, nil
		}
		viewer, err := EndpointViewer(ctx, w.d.db, ep.OrganizationID)
		if err != nil {
			return 0, err
		}
		w.generation, w.viewer = ep.Generation, viewer
		w.exec, err = w.d.ops.Open(ctx, viewer, ep.Operation)
		if domain.ErrorCode(err) == domain.CodeInvalid {
			// The operation no longer runs (the schema changed under it):
			// a failed attempt of the endpoint's, with backoff, until it is
			// disabled or its organization changes the operation.
			wait, err := w.d.unrunnable(ctx, ep, "the operation no longer runs: "+err.Error())
			w.reopenAt = time.Now().Add(wait)
			return wait, err
		}
		if err != nil {
			return 0, fmt.Errorf("opening the endpoint's operation: %w", err)
		}
	}
	// Only the events whose audience at commit held the organization are
	// read (resolving the others would find them invisible anyway): up to
	// the head read first, so once fewer than a batch come back, every
	// event of the endpoint's type up to the head was seen, and the cursor
	// moves to it.
	head, err := events.Head(ctx, w.d.db)
	if err != nil {
		return 0, err
	}
	var evs []events.Event
	q := w.d.db.NewSelect().Model(&evs).Where("ev.position > ? AND ev.position <= ?", ep.Cursor, head).
		Where("ev.type = ?", ep.EventType).OrderExpr("ev.position").Limit(batch)
	if err := visibility.RestrictEventsToAudience(q, w.viewer, "ev").Scan(ctx); err != nil {
		return 0, err
	}
	// Events the organization may not see move the cursor in one write
	// after the run of them, not one each.
	var skipTo int64
	flush := func() error {
		if skipTo == 0 {
			return nil
		}
		_, err := w.d.advance(ctx, ep, skipTo)
		return err
	}
	for i, ev := range evs {
		wait, skipped, err := w.event(ctx, ep, ev, i == 0, skipTo)
		if wait > 0 {
			return wait, err // a failed attempt moved the cursor past the skipped events itself
		}
		if err != nil || wait != 0 {
			if ferr := flush(); err == nil {
				err = ferr
			}
			return wait, err
		}
		if skipped {
			skipTo = ev.Position
		} else {
			skipTo = 0 // the acceptance moved the cursor past them
		}
		ep.Cursor = ev.Position
	}
	if len(evs) == batch {
		if err := flush(); err != nil {
			return 0, err
		}
		return again, nil
	}
	if head > ep.Cursor {
		skipTo = head
	}
	return 0, flush()
}

// batch is how many events a worker reads at once.
const batch = 100

// event delivers one event: 0 once it was accepted or is to be skipped
// (skip: the organization may not see it, so nothing is sent and no row
// kept), else the wait until its next attempt (again when the endpoint
// changed under the worker). Only the first event after the cursor can
// have a delivery under way (PENDING): a later one is never attempted
// before it is accepted, and a failed attempt moves the cursor past the
// skipped events before it (skipped) in the transaction that records it.
func (w *worker) event(ctx context.Context, ep *domain.WebhookEndpoint, ev events.Event, first bool, skipped int64) (wait time.Duration, skip bool, err error) {
	var row *domain.WebhookDelivery
	if first {
		if row, err = w.d.pending(ctx, ep.ID, ev.Position); err != nil {
			return 0, false, err
		}
	}
	if row != nil && row.NextAttemptAt != nil {
		if due := row.NextAttemptAt.Sub(w.d.Now()); due > 0 {
			return due, false, nil
		}
	}
	response, send, err := w.exec.Resolve(ev)
	if err != nil {
		return 0, false, fmt.Errorf("resolving event %d: %w", ev.Position, err)
	}
	if !send {
		return 0, true, nil
	}
	body, err := deliveryBody(ep.Field, ev.Position, response)
	if err != nil {
		return 0, false, err
	}
	if row == nil {
		row = &domain.WebhookDelivery{EndpointID: ep.ID, EventPosition: ev.Position, EventType: ep.Field,
			MessageID: messageID(ep.ID, ev.Position), Status: domain.DeliveryPending, Replay: ev.Position <= ep.ReplayUntil}
	}
	res := w.d.attempt(ctx, ep, row.MessageID, body)
	if ctx.Err() != nil {
		return 0, false, ctx.Err() // stopped mid-attempt: not the receiver's failure
	}
	if res.err == nil {
		w.d.metrics.attempts.WithLabelValues("accepted").Inc()
		if lag := time.Since(ev.CreatedAt); lag > 0 {
			w.d.metrics.lag.Observe(lag.Seconds())
		}
		moved, err := w.d.accepted(ctx, ep, row, res)
		if err != nil || !moved {
			return again, false, err
		}
		return 0, false, nil
	}
	w.d.metrics.attempts.WithLabelValues("failed").Inc()
	wait, err = w.d.failed(ctx, ep, row, res, skipped)
	return wait, false, err
}

// backoff is the wait after the failures-th failed attempt in a row:
// FirstRetry doubling with each, with ±20% jitter so endpoints that failed
// together do not retry together (the first retry stays "about"
// FirstRetry, which full jitter would not keep), never past MaxRetry.
func (d *Deliverer) backoff(failures int) time.Duration {
	wait := d.cfg.FirstRetry
	for i := 1; i < failures && wait < d.cfg.MaxRetry; i++ {
		wait *= 2
	}
	return min(time.Duration(float64(wait)*(0.8+0.4*rand.Float64())), d.cfg.MaxRetry)
}

func messageID(endpoint, position int64) string {
	return fmt.Sprintf("msg_%d_%d", endpoint, position)
}
