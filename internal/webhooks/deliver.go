package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
)

// DeliveryConfig tunes delivery; zero values take the defaults beside.
type DeliveryConfig struct {
	// Timeout bounds one attempt, connection to last byte read (10 s).
	Timeout time.Duration
	// FirstRetry is the wait before the first retry (about 1 s, with
	// jitter); each later one doubles, up to MaxRetry (10 min).
	FirstRetry time.Duration
	MaxRetry   time.Duration
	// DisableAfter is the run of failed attempts that disables an endpoint (20).
	DisableAfter int
	// LeaseTTL is how long a replica holds an endpoint without renewing
	// (30 s): after a crash, another replica takes it over then.
	LeaseTTL time.Duration
	// Poll is how often a replica looks for endpoints to take on, and for
	// events a wake-up missed (1 s).
	Poll time.Duration
	// MaxResponseBytes is how much of a response body is read (64 KiB).
	MaxResponseBytes int64
	// Replica names this replica in leases (random when empty).
	Replica string
}

func (c DeliveryConfig) withDefaults() DeliveryConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, 10*time.Second)
	def(&c.FirstRetry, time.Second)
	def(&c.MaxRetry, 10*time.Minute)
	def(&c.LeaseTTL, 30*time.Second)
	def(&c.Poll, time.Second)
	if c.DisableAfter <= 0 {
		c.DisableAfter = 20
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = 64 << 10
	}
	if c.Replica == "" {
		// The host name tells an operator which replica holds what; the
		// random part keeps two processes on one host apart.
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		host, _ := os.Hostname()
		c.Replica = strings.TrimPrefix(host+"-", "-") + hex.EncodeToString(b)
	}
	return c
}

// Deliverer sends events to the endpoints this replica holds the lease of,
// each from its own goroutine and cursor, so one slow or dead endpoint
// never delays another.
type Deliverer struct {
	db      *bun.DB
	ops     Operations
	targets *Targets
	cfg     DeliveryConfig
	log     *slog.Logger
	client  *http.Client
	metrics *metrics
	// Now is the clock for retries' due times and secrets' overlaps.
	// Leases use the wall clock: they are not business rules, and a
	// replica's lease must not move with a test's clock.
	Now func() time.Time

	wake    chan struct{} // the claimer's
	mu      sync.Mutex
	workers map[int64]*worker
}

// NewDeliverer returns a deliverer on db; its metrics go to reg.
func NewDeliverer(db *bun.DB, ops Operations, targets *Targets, cfg DeliveryConfig, log *slog.Logger, reg prometheus.Registerer) *Deliverer {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	return &Deliverer{db: db, ops: ops, targets: targets, cfg: cfg, log: log, Now: time.Now,
		client: newClient(targets), metrics: newMetrics(reg),
		wake: make(chan struct{}, 1), workers: map[int64]*worker{}}
}

// newClient connects only where targets allows, on the addresses it
// checked; it uses no proxy (which would connect elsewhere) and follows no
// redirect (which could lead anywhere): a redirect is a failed attempt.
func newClient(targets *Targets) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           targets.DialContext,
			Proxy:                 nil,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run delivers until ctx ends: it takes and renews leases on deliverable
// endpoints, runs a worker for each one held, and stops the workers of
// endpoints it no longer holds or that are no longer deliverable.
func (d *Deliverer) Run(ctx context.Context) {
	ctx = context.WithValue(ctx, delivering{}, true)
	every := d.cfg.Poll
	if r := d.cfg.LeaseTTL / 3; r < every {
		every = r
	}
	t := time.NewTicker(every)
	defer t.Stop()
	defer d.release()
	defer d.stopAll()
	for {
		held, err := d.claim(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Warn("webhooks: taking leases", "error", err)
		} else {
			d.keep(ctx, held)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

type delivering struct{}

// InDeliverer reports whether a query hook's ctx is the deliverer's: work
// on a timer, which a count of what a request costs leaves out.
func InDeliverer(ctx context.Context) bool { return ctx.Value(delivering{}) != nil }

var deliverable = []domain.WebhookEndpointStatus{domain.WebhookActive, domain.WebhookFailing}

// claim renews this replica's leases and takes the deliverable endpoints
// nobody holds (or whose holder let its lease lapse); it returns the
// endpoints held. It writes only when there is a lease to take or renew,
// so an idle replica only reads; the UPDATE checks again what the SELECT
// found, so two replicas never both take one endpoint.
func (d *Deliverer) claim(ctx context.Context) ([]int64, error) {
	now := time.Now().UTC()
	// Free or lapsed, or ours with a third of it gone: renewing every pass
	// would write every held row every Poll.
	claimable := func(q bun.QueryBuilder) bun.QueryBuilder {
		return q.Where("status IN (?)", bun.In(deliverable)).
			Where("(lease_owner = '' OR lease_until IS NULL OR lease_until < ? OR (lease_owner = ? AND lease_until < ?))",
				now, d.cfg.Replica, now.Add(d.cfg.LeaseTTL-d.cfg.LeaseTTL/3))
	}
	var due []int64
	sel := d.db.NewSelect().TableExpr("webhook_endpoints").Column("id")
	claimable(sel.QueryBuilder())
	if err := sel.Scan(ctx, &due); err != nil {
		return nil, err
	}
	if len(due) > 0 {
		upd := d.db.NewUpdate().TableExpr("webhook_endpoints").
			Set("lease_owner = ?", d.cfg.Replica).Set("lease_until = ?", now.Add(d.cfg.LeaseTTL)).
			Where("id IN (?)", bun.In(due))
		claimable(upd.QueryBuilder())
		if _, err := upd.Exec(ctx); err != nil {
			return nil, err
		}
	}
	var held []int64
	err := d.db.NewSelect().TableExpr("webhook_endpoints").Column("id").
		Where("status IN (?) AND lease_owner = ?", bun.In(deliverable), d.cfg.Replica).Scan(ctx, &held)
	return held, err
}

// keep runs a worker for each endpoint held and stops the others.
func (d *Deliverer) keep(ctx context.Context, held []int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	want := make(map[int64]bool, len(held))
	for _, id := range held {
		want[id] = true
		if w, ok := d.workers[id]; ok && !w.ended() {
			continue
		}
		w := newWorker(d, id)
		d.workers[id] = w
		w.start(ctx)
	}
	for id, w := range d.workers {
		if !want[id] {
			w.stop()
			delete(d.workers, id)
		}
	}
	d.metrics.held.Set(float64(len(d.workers)))
}

// release gives up this replica's leases when it stops, so that another
// replica takes its endpoints on at its next poll rather than after the
// lease runs out (which is what happens after a crash).
func (d *Deliverer) release() {
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), delivering{}, true), 2*time.Second)
	defer cancel()
	if _, err := d.db.NewUpdate().TableExpr("webhook_endpoints").Set("lease_owner = ''").Set("lease_until = NULL").
		Where("lease_owner = ?", d.cfg.Replica).Exec(ctx); err != nil {
		d.log.Warn("webhooks: releasing leases", "error", err)
	}
}

func (d *Deliverer) stopAll() {
	d.mu.Lock()
	ws := d.workers
	d.workers = map[int64]*worker{}
	d.mu.Unlock()
	for _, w := range ws {
		w.stop()
	}
	for _, w := range ws {
		<-w.done
	}
}

// Wake makes every endpoint worker read the log (and the claimer look for
// endpoints) now. It never blocks.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
	d.pokeWorkers()
}

func (d *Deliverer) pokeWorkers() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.workers {
		w.poke()
	}
}

// Dispatch has the signature of an events.Tailer consumer: new events wake
// the workers, which read the log from their own cursors. They do not wake
// the claimer: an event changes no lease, and looking for endpoints on
// every commit cost every order two statements; a change to an endpoint
// calls Wake, and the claimer's timer catches the rest.
func (d *Deliverer) Dispatch(_ context.Context, _ []events.Event) error {
	d.pokeWorkers()
	return nil
}
