package server

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/push"
	"github.com/channelgraph/channelgraph/internal/wstransport"
)

// wsExecutor connects the websocket transport to authentication and the
// push hub.
type wsExecutor struct {
	hub  *push.Hub
	auth *auth.Service
}

// Init authenticates a connection by the token in its connection_init
// payload (SPEC §1.3): {"Authorization": "Bearer <token>"}, the key matched
// case-insensitively, or {"token": "<token>"}.
func (e wsExecutor) Init(ctx context.Context, payload json.RawMessage) (context.Context, error) {
	token := tokenFromInit(payload)
	if token == "" {
		return ctx, domain.Errorf(domain.CodeUnauthenticated, `connection_init must carry {"Authorization": "Bearer <token>"}`)
	}
	viewer, err := e.auth.Authenticate(ctx, token)
	if err != nil {
		return ctx, err
	}
	return domain.WithViewer(ctx, viewer), nil
}

func tokenFromInit(payload json.RawMessage) string {
	var fields map[string]any
	if json.Unmarshal(payload, &fields) != nil {
		return ""
	}
	for k, v := range fields {
		s, ok := v.(string)
		switch {
		case !ok:
		case strings.EqualFold(k, "authorization"):
			if scheme, token, found := strings.Cut(s, " "); found && strings.EqualFold(scheme, "Bearer") {
				return strings.TrimSpace(token)
			}
		case k == "token":
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func (e wsExecutor) Start(ctx context.Context, req wstransport.Request, sink wstransport.Sink) func() {
	return e.hub.Start(ctx, req, sink)
}

// StillAuthorized ends connections whose token expired or was revoked; a
// database blip does not end every connection at once.
func (e wsExecutor) StillAuthorized(ctx context.Context) bool {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return false
	}
	ok, err := e.auth.StillValid(ctx, viewer)
	return ok || err != nil
}
