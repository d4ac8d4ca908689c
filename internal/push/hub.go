package push

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/uptrace/bun"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/wstransport"
)

// Request and Sink are the websocket transport's: the hub is what runs its
// operations.
type (
	Request = wstransport.Request
	Sink    = wstransport.Sink
)

// maxPending bounds what a group buffers for a member still replaying; a
// member that falls further behind is ended and must resubscribe.
const maxPending = 10_000

// Hub shares subscription executions among subscribers and runs other
// operations one at a time.
type Hub struct {
	exec *executor.Executor
	db   *bun.DB
	// perRequest adds what each execution needs fresh, such as loaders.
	perRequest func(context.Context) context.Context
	log        *slog.Logger

	mu             sync.Mutex
	groups         map[groupKey]*group
	lastDispatched int64
}

// New returns a hub executing operations with exec, whose log reading starts
// after position head. Call Dispatch with each batch of new events, in order
// (as an events.Tailer consumer).
func New(exec *executor.Executor, db *bun.DB, perRequest func(context.Context) context.Context, log *slog.Logger, head int64) *Hub {
	return &Hub{exec: exec, db: db, perRequest: perRequest, log: log, groups: map[groupKey]*group{}, lastDispatched: head}
}

// Start runs an operation for a client and returns the function that stops
// it. Queries and mutations answer once; subscriptions stream.
func (h *Hub) Start(ctx context.Context, req Request, sink Sink) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	rc, errResponse := h.prepare(ctx, req)
	if errResponse != nil {
		sink.Error(errorsJSON(errResponse))
		return cancel
	}
	if rc.Operation.Operation != ast.Subscription {
		go func() {
			responses, rctx := h.exec.DispatchOperation(h.perRequest(ctx), rc)
			if resp := responses(rctx); resp != nil && ctx.Err() == nil {
				b, _ := json.Marshal(resp)
				sink.Next(b)
			}
			sink.Complete()
		}()
		return cancel
	}
	m, err := h.subscribe(ctx, rc, req, sink)
	if err != nil {
		cancel()
		sink.Error(errorsJSON(h.exec.DispatchError(graphql.WithOperationContext(ctx, rc), gqlerror.List{gqlerror.Wrap(err)})))
		return func() {}
	}
	return func() {
		cancel()
		h.leave(m)
	}
}

// prepare parses and validates an operation; a failure comes back as the
// response to send.
func (h *Hub) prepare(ctx context.Context, req Request) (*graphql.OperationContext, *graphql.Response) {
	params := &graphql.RawParams{Query: req.Query, OperationName: req.OperationName, Variables: req.Variables, Extensions: req.Extensions}
	ctx = graphql.StartOperationTrace(ctx)
	rc, errs := h.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		return nil, h.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
	}
	return rc, nil
}

// Dispatch hands new events, in order, to the groups subscribed to their
// type. It has the signature of an events.Tailer consumer, and never fails.
func (h *Hub) Dispatch(_ context.Context, evs []events.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range evs {
		h.lastDispatched = ev.Position
		for _, g := range h.groups {
			if g.kind.Type == ev.Type {
				g.enqueue(ev)
			}
		}
	}
	return nil
}

// Subscribers counts live subscribers and groups (for tests and metrics).
func (h *Hub) Subscribers() (members, groups int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, g := range h.groups {
		members += g.size()
	}
	return members, len(h.groups)
}

// Cursor is the opaque cursor of an event: its position in the log (see
// internal/events), which is what `after` replays from.
func Cursor(ev events.Event) string { return CursorAt(ev.Position) }

// CursorAt is the cursor of the event at position in the log.
func CursorAt(position int64) string { return relay.Cursor("events", position) }

// ParseCursor decodes an event cursor into its position in the log.
func ParseCursor(c string) (int64, error) {
	page, err := relay.NewPage(nil, &c)
	if err != nil {
		return 0, err
	}
	var id int64
	if _, err := page.ScanAfter("events", &id); err != nil {
		return 0, err
	}
	return id, nil
}

func errorsJSON(resp *graphql.Response) []byte {
	b, _ := json.Marshal(resp.Errors)
	return b
}

func viewerOf(ctx context.Context) *domain.Viewer {
	v, _ := domain.ViewerFrom(ctx)
	if v == nil {
		return &domain.Viewer{}
	}
	return v
}
