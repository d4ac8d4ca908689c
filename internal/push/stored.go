package push

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
)

// Stored operations are subscription documents kept on the server, such as
// a webhook endpoint's, run privately as a viewer with the same executor,
// limits and rules as a websocket subscriber's, and fed events one at a
// time by their owner rather than by the hub.

// CheckStored validates document as viewer would run it stored: a
// subscription with exactly one root field that streams events, no
// variables and no `after` (the owner keeps the cursor), within the
// limits every operation has. It returns the root field and its event
// type; a refusal is a BAD_USER_INPUT domain error.
func (h *Hub) CheckStored(ctx context.Context, viewer *domain.Viewer, document string) (string, events.Type, error) {
	_, kind, err := h.prepareStored(domain.WithViewer(ctx, viewer), document)
	if err != nil {
		return "", "", err
	}
	return kind.Field, kind.Type, nil
}

func (h *Hub) prepareStored(ctx context.Context, document string) (*graphql.OperationContext, *events.Kind, error) {
	rc, errResponse := h.prepare(ctx, Request{Query: document})
	if errResponse != nil {
		msgs := make([]string, len(errResponse.Errors))
		for i, e := range errResponse.Errors {
			msgs[i] = e.Message
		}
		return nil, nil, domain.Errorf(domain.CodeInvalid, "%s", strings.Join(msgs, "; "))
	}
	if rc.Operation.Operation != ast.Subscription {
		return nil, nil, domain.Errorf(domain.CodeInvalid, "the operation must be a subscription, not a %s", rc.Operation.Operation)
	}
	if len(rc.Operation.VariableDefinitions) > 0 {
		return nil, nil, domain.Errorf(domain.CodeInvalid, "a stored operation takes no variables: write the values into the document")
	}
	fields := graphql.CollectFields(rc, rc.Operation.SelectionSet, []string{"Subscription"})
	if len(fields) != 1 {
		return nil, nil, domain.Errorf(domain.CodeInvalid, "a subscription selects exactly one root field")
	}
	root := fields[0]
	if root.Arguments.ForName("after") != nil {
		return nil, nil, domain.Errorf(domain.CodeInvalid, "a stored operation passes no `after`: the endpoint keeps its own cursor (replay it instead)")
	}
	kind, ok := events.ForField(root.Name)
	if !ok {
		return nil, nil, domain.Errorf(domain.CodeInvalid, "unknown subscription %q", root.Name)
	}
	return rc, kind, nil
}

// Execution is a stored operation running as one viewer: Resolve feeds it
// one event at a time, in order, from one goroutine.
type Execution struct {
	p      *pipeline
	cancel context.CancelFunc
	// Field is the operation's root field, Type the events it streams:
	// feed it only those.
	Field string
	Type  events.Type
}

// OpenStored starts a private execution of document (checked as
// CheckStored checks it) as viewer, which lives until Close or ctx ends.
func (h *Hub) OpenStored(ctx context.Context, viewer *domain.Viewer, document string) (*Execution, error) {
	ctx, cancel := context.WithCancel(domain.WithViewer(ctx, viewer))
	rc, kind, err := h.prepareStored(ctx, document)
	if err != nil {
		cancel()
		return nil, err
	}
	return &Execution{p: h.newPipeline(ctx, rc, kind), cancel: cancel, Field: kind.Field, Type: kind.Type}, nil
}

var errExecutionEnded = errors.New("push: the stored operation's execution ended")

// Resolve runs the operation on ev: the GraphQL response, or send false
// when the viewer may not see ev's object. An error means the execution
// ended (Close was called, or its context ended): open another.
func (e *Execution) Resolve(ev events.Event) (response json.RawMessage, send bool, err error) {
	payload, send, alive := e.p.run(ev)
	if !alive {
		return nil, false, errExecutionEnded
	}
	return payload, send, nil
}

// Close ends the execution.
func (e *Execution) Close() { e.cancel() }
