package push

import (
	"context"
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"

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
}

type pipelineKey struct{}

func (h *Hub) newPipeline(ctx context.Context, rc *graphql.OperationContext) *pipeline {
	p := &pipeline{feed: make(chan events.Event), perEvent: h.perRequest}
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
	return b, err == nil, true
}

// Stream is what subscription resolvers return: it reads the events the hub
// feeds the current execution and resolves each as the viewer; resolve
// answers nil for an event the viewer may not see, which is skipped.
func Stream[T any](ctx context.Context, resolve func(context.Context, events.Event) (*T, error)) (<-chan *T, error) {
	p, ok := ctx.Value(pipelineKey{}).(*pipeline)
	if !ok {
		return nil, domain.Errorf(domain.CodeInvalid, "subscriptions are served over a websocket at /graphql")
	}
	out := make(chan *T)
	go func() {
		defer close(out)
		for {
			var ev events.Event
			select {
			case ev = <-p.feed:
			case <-ctx.Done():
				return
			}
			v, err := resolve(ctx, ev)
			if err != nil {
				v = nil // logged by the caller's error path; the event is not sent
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
