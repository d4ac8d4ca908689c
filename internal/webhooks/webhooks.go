// Package webhooks keeps organizations' webhook endpoints and delivers
// events to them (SPEC §7.5, §8.9): each endpoint stores a subscription
// operation, which shapes every delivery exactly as a live subscription
// would, resolved as the endpoint's organization by package push (so the
// visibility and price rules are the ones every subscriber gets, not a
// copy). Deliveries come from the event log with a cursor per endpoint, in
// order, at least once, signed as Standard Webhooks sign them, retried
// with backoff, replayable, and never sent to a private address unless the
// operator allows it.
//
// Service (this file, manage.go and read.go) registers and changes endpoints and
// reads them and their deliveries; Deliverer (deliver.go) sends.
package webhooks

import (
	"context"
	"encoding/json"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
)

// Operations checks and runs stored subscription operations as a viewer.
// Package push implements it, with the executor and rules live
// subscriptions use.
type Operations interface {
	// Check validates a subscription document as viewer would run it (one
	// root field, no variables, within the limits every operation has) and
	// returns its root field and the event type that field streams. A
	// refusal is a domain error naming what is wrong.
	Check(ctx context.Context, viewer *domain.Viewer, document string) (field string, eventType events.Type, err error)
	// Open starts a private execution of document as viewer, to which
	// events are fed one at a time.
	Open(ctx context.Context, viewer *domain.Viewer, document string) (Execution, error)
}

// Execution is one stored operation being run for one endpoint.
type Execution interface {
	// Resolve runs the operation on one event: the GraphQL response
	// ({"data": …, "errors": …}), or send false when the viewer may not see
	// the event. An error means the execution is dead: open another.
	Resolve(ev events.Event) (response json.RawMessage, send bool, err error)
	Close()
}

// Service registers, changes and reads webhook endpoints.
type Service struct {
	db *bun.DB
	// Ops checks operations at registration.
	Ops Operations
	// Now stamps changes and times secrets' overlaps.
	Now func() time.Time
	// Targets decides which URLs may be registered (and, in the Deliverer,
	// connected to).
	Targets *Targets
	// Wake, when set, is told that an endpoint changed, so its delivery
	// starts, stops or replays now rather than at the next poll.
	Wake func()
}

// New returns a Service on db, on the system clock, that allows public
// https targets only.
func New(db *bun.DB, ops Operations) *Service {
	return &Service{db: db, Ops: ops, Now: clock.System{}.Now, Targets: &Targets{}}
}

// CreateInput is what createWebhookEndpoint takes.
type CreateInput struct {
	OrganizationID int64
	URL            string
	Operation      string
}

// UpdateInput is what updateWebhookEndpoint takes; nil leaves a field as is.
type UpdateInput struct {
	ID        int64
	URL       *string
	Operation *string
}
