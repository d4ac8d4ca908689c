package webhooks

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/push"
)

// outcome is one attempt's: the HTTP status (0 when none came back), how
// long it took, and why it failed (nil: accepted).
type outcome struct {
	status  int
	latency time.Duration
	err     error
}

// deliveryBody is what is POSTed: the root field, the event's cursor, and
// the operation's data (and errors, when it has any), as a subscriber's
// next message carries them.
func deliveryBody(field string, position int64, response []byte) ([]byte, error) {
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors json.RawMessage `json:"errors,omitempty"`
	}
	if err := json.Unmarshal(response, &r); err != nil {
		return nil, fmt.Errorf("reading the operation's response: %w", err)
	}
	if len(r.Data) == 0 {
		r.Data = json.RawMessage("null")
	}
	return json.Marshal(struct {
		Type   string          `json:"type"`
		Cursor string          `json:"cursor"`
		Data   json.RawMessage `json:"data"`
		Errors json.RawMessage `json:"errors,omitempty"`
	}{field, push.CursorAt(position), r.Data, r.Errors})
}

// signatures signs with the secret and, during a rotation's overlap, the
// one it replaced, space-separated as Standard Webhooks has it.
func (d *Deliverer) signatures(ep *domain.WebhookEndpoint, id string, ts int64, body []byte) (string, error) {
	sig, err := Sign(ep.Secret, id, ts, body)
	if err != nil {
		return "", err
	}
	if ep.PreviousSecret != nil && ep.PreviousSecretUntil != nil && ep.PreviousSecretUntil.After(d.Now()) {
		old, err := Sign(*ep.PreviousSecret, id, ts, body)
		if err != nil {
			return "", err
		}
		sig += " " + old
	}
	return sig, nil
}

// attempt POSTs body to the endpoint once, within the timeout, reading at
// most MaxResponseBytes of the answer; a 2xx is acceptance, anything else
// (a redirect included) a failure.
func (d *Deliverer) attempt(ctx context.Context, ep *domain.WebhookEndpoint, id string, body []byte) outcome {
	// The receiver checks the timestamp against its own clock.
	ts := time.Now().Unix()
	sig, err := d.signatures(ep, id, ts, body)
	if err != nil {
		return outcome{err: err}
	}
	actx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("user-agent", "Channelgraph-Webhooks")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	start := time.Now()
	resp, err := d.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, d.cfg.MaxResponseBytes))
		_ = resp.Body.Close()
	}
	out := outcome{latency: time.Since(start)}
	if resp != nil {
		out.status = resp.StatusCode
	}
	switch {
	case err != nil && errors.Is(actx.Err(), context.DeadlineExceeded):
		out.err = fmt.Errorf("timeout after %s", d.cfg.Timeout)
	case err != nil:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		out.err = err
	case out.status < 200 || out.status > 299:
		out.err = fmt.Errorf("HTTP %d", out.status)
		if loc := resp.Header.Get("location"); loc != "" && out.status >= 300 && out.status < 400 {
			out.err = fmt.Errorf("HTTP %d: redirects are not followed (to %s)", out.status, truncate(loc, 200))
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// pending is the PENDING delivery of the event at position to the
// endpoint, if any: after a restart or a lease takeover, attempts continue
// on it.
func (d *Deliverer) pending(ctx context.Context, endpoint, position int64) (*domain.WebhookDelivery, error) {
	row := new(domain.WebhookDelivery)
	err := d.db.NewSelect().Model(row).
		Where("wd.endpoint_id = ? AND wd.event_position = ? AND wd.status = ?", endpoint, position, domain.DeliveryPending).
		Order("wd.id DESC").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return row, err
}

// held limits a change of the endpoint to the generation the worker read
// and to this replica's lease: a change its organization made meanwhile,
// or a lease another replica took, wins.
func (d *Deliverer) held(q *bun.UpdateQuery, ep *domain.WebhookEndpoint) *bun.UpdateQuery {
	return q.Where("id = ? AND generation = ? AND lease_owner = ? AND status IN (?)",
		ep.ID, ep.Generation, d.cfg.Replica, bun.In(deliverable))
}

// advance moves the cursor past events the organization may not see.
func (d *Deliverer) advance(ctx context.Context, ep *domain.WebhookEndpoint, position int64) (bool, error) {
	res, err := d.held(d.db.NewUpdate().TableExpr("webhook_endpoints").Set("cursor = ?", position), ep).
		Where("cursor < ?", position).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// accepted records an acceptance: the delivery SUCCEEDED and, in the same
// transaction, the endpoint's cursor past it, its run of failures over.
// moved is false when the endpoint changed meanwhile: the worker then reads
// it again (the receiver did accept, so the row still says so).
func (d *Deliverer) accepted(ctx context.Context, ep *domain.WebhookEndpoint, row *domain.WebhookDelivery, res outcome) (moved bool, err error) {
	now := d.Now()
	err = database.InTx(ctx, d.db, func(ctx context.Context, tx bun.IDB) error {
		r, err := d.held(tx.NewUpdate().TableExpr("webhook_endpoints").
			Set("updated_at = CASE WHEN status <> ? THEN ? ELSE updated_at END", domain.WebhookActive, now).
			Set("cursor = ?", row.EventPosition).Set("failures = 0").Set("last_error = ''").
			Set("status = ?", domain.WebhookActive), ep).Exec(ctx)
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		moved = n > 0
		row.Status, row.NextAttemptAt, row.DeliveredAt, row.LastError = domain.DeliverySucceeded, nil, &now, ""
		return d.saveAttempt(ctx, tx, row, res, now)
	})
	return moved, err
}

// failed records a failed attempt, and moves the cursor past the events
// skipped before it (so that its delivery, while PENDING, is always the
// first after the cursor): the endpoint FAILING (DISABLED after
// DisableAfter in a row, the delivery then FAILED), the delivery PENDING
// until its next attempt, whose wait it returns (again when the endpoint
// was disabled, or changed meanwhile: the delivery is then dropped,
// FAILED, as a change of the endpoint drops it).
func (d *Deliverer) failed(ctx context.Context, ep *domain.WebhookEndpoint, row *domain.WebhookDelivery, res outcome, skipped int64) (time.Duration, error) {
	now := d.Now()
	reason := truncate(res.err.Error(), 500)
	disable := ep.Failures+1 >= d.cfg.DisableAfter
	wait := d.backoff(ep.Failures + 1)
	var moved bool
	err := database.InTx(ctx, d.db, func(ctx context.Context, tx bun.IDB) error {
		q := d.failure(tx, ep, reason, now)
		if skipped > 0 {
			q = q.Set("cursor = ?", skipped)
		}
		r, err := d.held(q, ep).Exec(ctx)
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		moved = n > 0
		next := now.Add(wait)
		switch {
		case !moved || disable:
			row.Status, row.NextAttemptAt = domain.DeliveryFailed, nil
		default:
			row.NextAttemptAt = &next
		}
		row.LastError = reason
		return d.saveAttempt(ctx, tx, row, res, now)
	})
	switch {
	case err != nil:
		return 0, err
	case !moved:
		return again, nil
	case disable:
		d.log.Warn("webhooks: endpoint disabled", "endpoint", ep.ID, "failures", ep.Failures+1, "error", reason)
		return again, nil // nothing more: the worker reads DISABLED and stops
	}
	return wait, nil
}

// failure counts a failed attempt on the endpoint: FAILING with the
// reason, or DISABLED after DisableAfter in a row.
func (d *Deliverer) failure(db bun.IDB, ep *domain.WebhookEndpoint, reason string, now time.Time) *bun.UpdateQuery {
	q := db.NewUpdate().TableExpr("webhook_endpoints").
		Set("failures = failures + 1").Set("last_error = ?", reason).Set("updated_at = ?", now)
	if ep.Failures+1 >= d.cfg.DisableAfter {
		// Free the lease, so whichever replica is free takes the endpoint
		// up again when it is resumed.
		return q.Set("status = ?", domain.WebhookDisabled).Set("lease_owner = ''").Set("lease_until = NULL")
	}
	return q.Set("status = ?", domain.WebhookFailing)
}

// unrunnable records a failure that is no delivery's: the endpoint's
// operation does not open. It returns the wait before trying again.
func (d *Deliverer) unrunnable(ctx context.Context, ep *domain.WebhookEndpoint, reason string) (time.Duration, error) {
	reason = truncate(reason, 500)
	if _, err := d.held(d.failure(d.db, ep, reason, d.Now()), ep).Exec(ctx); err != nil {
		return 0, err
	}
	if ep.Failures+1 >= d.cfg.DisableAfter {
		d.log.Warn("webhooks: endpoint disabled", "endpoint", ep.ID, "failures", ep.Failures+1, "error", reason)
		return again, nil
	}
	return d.backoff(ep.Failures + 1), nil
}

// saveAttempt writes the delivery with one more attempt, inserting it on
// its first.
func (d *Deliverer) saveAttempt(ctx context.Context, tx bun.IDB, row *domain.WebhookDelivery, res outcome, now time.Time) error {
	row.Attempts++
	row.UpdatedAt = now
	if res.status != 0 {
		row.ResponseStatus = &res.status
	} else {
		row.ResponseStatus = nil
	}
	ms := int(res.latency.Milliseconds())
	row.LatencyMS = &ms
	if row.ID == 0 {
		row.CreatedAt = now
		_, err := tx.NewInsert().Model(row).Exec(ctx)
		return err
	}
	_, err := tx.NewUpdate().Model(row).WherePK().
		Column("status", "attempts", "response_status", "latency_ms", "last_error", "next_attempt_at", "updated_at", "delivered_at").
		Exec(ctx)
	return err
}
