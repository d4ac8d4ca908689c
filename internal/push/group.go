package push

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
)

// groupKey identifies subscribers that can share one execution.
type groupKey struct {
	org   int64
	role  domain.Role
	admin bool
	// member: a member sees itself among its organization's members
	// (SPEC §8.1), so two members with one role do not share results.
	member    int64
	operation string // query text, operation name and variables less the cursor
}

type group struct {
	key    groupKey
	kind   *events.Kind
	cancel context.CancelFunc

	mu      sync.Mutex
	members map[*member]struct{}
	queue   []events.Event
	ready   chan struct{} // signalled when queue grows
}

type member struct {
	sink    Sink
	group   *group
	pending bool // replaying: what the group sends is buffered instead
	buffer  [][]byte
	ended   bool
	// replays is the position the member has or will have from elsewhere:
	// its cursor, or the end of its replay, where the group may still hold
	// events queued before the member joined. The group sends it nothing at
	// or below it.
	replays int64
}

// subscribe joins a client to its group, creating the group if needed, and
// starts its replay when it passed a cursor.
func (h *Hub) subscribe(ctx context.Context, rc *graphql.OperationContext, req Request, sink Sink) (*member, error) {
	fields := graphql.CollectFields(rc, rc.Operation.SelectionSet, []string{"Subscription"})
	if len(fields) != 1 {
		return nil, domain.Errorf(domain.CodeInvalid, "a subscription selects exactly one field")
	}
	root := fields[0]
	kind, ok := events.ForField(root.Name)
	if !ok {
		return nil, domain.Errorf(domain.CodeInvalid, "unknown subscription %q", root.Name)
	}
	var after *int64
	if raw, ok := root.ArgumentMap(rc.Variables)["after"].(string); ok {
		id, err := ParseCursor(raw)
		if err != nil {
			return nil, err
		}
		after = &id
	}
	viewer := viewerOf(ctx)
	key := groupKey{org: viewer.OrganizationID, role: viewer.Role, admin: viewer.IsPlatformAdmin,
		member: viewer.MemberID, operation: operationKey(req, root)}

	h.mu.Lock()
	g, ok := h.groups[key]
	if !ok {
		g = h.startGroup(key, kind, rc, viewer)
		h.groups[key] = g
	}
	joinedAt := h.lastDispatched
	m := &member{sink: sink, group: g, pending: after != nil}
	if after != nil {
		// A cursor from a replica further along than this one is ahead of
		// joinedAt: then nothing is replayed, and the group must send only
		// what comes after the cursor.
		m.replays = max(joinedAt, *after)
	}
	g.mu.Lock()
	g.members[m] = struct{}{}
	g.mu.Unlock()
	h.mu.Unlock()

	if after != nil {
		go h.replay(ctx, m, req, kind, *after, joinedAt)
	}
	return m, nil
}

// operationKey is the operation less the `after` argument's variable, so
// subscribers resuming from different cursors still share a group.
func operationKey(req Request, root graphql.CollectedField) string {
	vars := req.Variables
	if arg := root.Arguments.ForName("after"); arg != nil && arg.Value.Kind == ast.Variable {
		vars = make(map[string]any, len(req.Variables))
		for k, v := range req.Variables {
			if k != arg.Value.Raw {
				vars[k] = v
			}
		}
	}
	b, _ := json.Marshal(vars)
	return fmt.Sprintf("%s\x00%s\x00%s", req.OperationName, req.Query, b)
}

// startGroup starts a group's execution as viewer, detached from any one
// subscriber's connection.
func (h *Hub) startGroup(key groupKey, kind *events.Kind, rc *graphql.OperationContext, viewer *domain.Viewer) *group {
	ctx, cancel := context.WithCancel(domain.WithViewer(context.Background(), viewer))
	g := &group{key: key, kind: kind, cancel: cancel, members: map[*member]struct{}{}, ready: make(chan struct{}, 1)}
	p := h.newPipeline(ctx, rc, kind)
	go g.run(ctx, p)
	return g
}

func (g *group) enqueue(ev events.Event) {
	g.mu.Lock()
	g.queue = append(g.queue, ev)
	g.mu.Unlock()
	select {
	case g.ready <- struct{}{}:
	default:
	}
}

func (g *group) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.members)
}

// run resolves the group's events in order, once each, and hands the bytes
// to every member.
func (g *group) run(ctx context.Context, p *pipeline) {
	for {
		g.mu.Lock()
		var ev events.Event
		have := len(g.queue) > 0
		if have {
			ev, g.queue = g.queue[0], g.queue[1:]
		}
		g.mu.Unlock()
		if !have {
			select {
			case <-ctx.Done():
				return
			case <-g.ready:
				continue
			}
		}
		payload, send, alive := p.run(ev)
		if !alive {
			return
		}
		if send {
			g.broadcast(ev.Position, payload)
		}
	}
}

func (g *group) broadcast(position int64, payload []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for m := range g.members {
		switch {
		case m.ended, position <= m.replays:
		case m.pending && len(m.buffer) >= maxPending:
			m.ended = true
			m.sink.Error(tooFarBehind)
		case m.pending:
			m.buffer = append(m.buffer, payload)
		case !m.sink.Next(payload):
			m.ended = true
		}
	}
}

var tooFarBehind = []byte(`[{"message":"too far behind while replaying: resubscribe with after: your last cursor","extensions":{"code":"RATE_LIMITED"}}]`)

// replay sends a member the events after its cursor up to joinedAt through
// a private execution, then flushes what its group buffered meanwhile.
func (h *Hub) replay(ctx context.Context, m *member, req Request, kind *events.Kind, after, joinedAt int64) {
	rc, errResponse := h.prepare(ctx, req)
	if errResponse != nil {
		m.sink.Error(errorsJSON(errResponse))
		return
	}
	p := h.newPipeline(ctx, rc, kind)
	for after < joinedAt {
		evs, err := events.After(ctx, h.db, after, []events.Type{kind.Type}, 200)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("replaying events", "error", err)
				m.sink.Error([]byte(`[{"message":"internal error","extensions":{"code":"INTERNAL"}}]`))
			}
			return
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if ev.Position > joinedAt {
				after = joinedAt
				break
			}
			after = ev.Position
			payload, send, alive := p.run(ev)
			if !alive {
				return
			}
			if send && !m.sink.Next(payload) {
				return
			}
		}
	}
	g := m.group
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, payload := range m.buffer {
		if m.ended || !m.sink.Next(payload) {
			m.ended = true
			break
		}
	}
	m.buffer, m.pending = nil, false
}

// leave removes a member; the last one out stops its group.
func (h *Hub) leave(m *member) {
	g := m.group
	h.mu.Lock()
	defer h.mu.Unlock()
	g.mu.Lock()
	delete(g.members, m)
	m.ended = true
	empty := len(g.members) == 0
	g.mu.Unlock()
	if empty && h.groups[g.key] == g {
		delete(h.groups, g.key)
		g.cancel()
	}
}
