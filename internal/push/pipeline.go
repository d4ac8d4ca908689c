package push

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
)

// pipeline is one gqlgen subscription execution driven in lock-step: run
// feeds it one event and returns that event's response, or reports a skip.
type pipeline struct {
	feed      chan events.Event
	skipped   bool // written by the resolver before it answers; read after
	ctx       context.Context
	responses graphql.ResponseHandler
	perEvent  func(context.Context) context.Context
	// kind loads each event's object as the viewer, from db.
	kind *events.Kind
	db   bun.IDB
	log  *slog.Logger
}

type pipelineKey struct{}

func (h *Hub) newPipeline(ctx context.Context, rc *graphql.OperationContext, kind *events.Kind) *pipeline {
	p := &pipeline{feed: make(chan events.Event), perEvent: h.perRequest, kind: kind, db: h.db, log: h.log}
	p.responses, p.ctx = h.exec.DispatchOperation(context.WithValue(ctx, pipelineKey{}, p), rc)
	return p
}

// run resolves one event: the response bytes, whether there is one to send
// (false when the viewer may not see the event's object), and whether the
// pipeline is still alive.
func (p *pipeline) run(ev events.Event) (payload []byte, send, alive bool) {
	select {
	case p.feed <- ev:
	case <-p.ctx.Done():
		return nil, false, false
	}
	resp := p.responses(graphql.StartOperationTrace(p.perEvent(p.ctx))) // each event is timed on its own
	if resp == nil {
		return nil, false, false
	}
	if p.skipped {
		return nil, false, true
	}
	b, err := json.Marshal(resp)
	if err != nil {
		p.log.Error("encoding a pushed event", "type", ev.Type, "event", ev.ID, "error", err)
		return nil, false, true
	}
	return b, true, true
}

// Stream is what subscription resolvers return: it reads the events the hub
// feeds the current execution, loads each one's object as the viewer (the
// event type's registered payload: only if the viewer was in its audience
// at commit and may see it now) and wraps it as the field's event with
// wrap. An event the viewer may not see is skipped; one whose object fails
// to load is logged and skipped.
func Stream[T, E any](ctx context.Context, wrap func(cursor string, obj *T) *E) (<-chan *E, error) {
	p, ok := ctx.Value(pipelineKey{}).(*pipeline)
	if !ok {
		return nil, domain.Errorf(domain.CodeInvalid, "subscriptions are served over a websocket at /graphql")
	}
	out := make(chan *E)
	go func() {
		defer close(out)
		for {
			var ev events.Event
			select {
			case ev = <-p.feed:
			case <-ctx.Done():
				return
			}
			var v *E
			obj, err := p.kind.Payload(ctx, p.db, ev)
			switch {
			case err == nil:
				if t, ok := obj.(*T); ok {
					v = wrap(Cursor(ev), t)
				} else {
					p.log.Error("a pushed event's object is not what its field streams", "type", ev.Type, "event", ev.ID)
				}
			case domain.ErrorCode(err) != domain.CodeNotFound && ctx.Err() == nil:
				p.log.Warn("resolving a pushed event", "type", ev.Type, "event", ev.ID, "error", err)
			}
			p.skipped = v == nil
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
