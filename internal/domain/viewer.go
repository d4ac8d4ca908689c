package domain

import (
	"context"
	"time"
)

// Viewer is who a request acts as: a member of one organization with one
// role, or the platform administrator.
type Viewer struct {
	OrganizationID  int64
	Role            Role
	IsPlatformAdmin bool
	// Kind is the organization's kind (empty for the platform
	// administrator), read with the token so rules that depend on it need
	// no query of their own.
	Kind OrganizationKind
	// TokenID is the API token that authenticated the request (0 for the
	// bootstrap administrator token).
	TokenID int64
	// MemberID is the member the request acts as: the one a JWT's subject
	// names, or the member an API token belongs to (0 for a token that
	// belongs to the organization, and for the administrator).
	MemberID int64
	// ExpiresAt is when a JWT the viewer signed in with expires (nil for
	// API tokens, whose expiry is read from their row): live subscriptions
	// it opened end then.
	ExpiresAt *time.Time
}

type viewerKey struct{}

// WithViewer returns a context carrying v.
func WithViewer(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the viewer the context carries, or an UNAUTHENTICATED
// error when the request carried no valid token.
func ViewerFrom(ctx context.Context) (*Viewer, error) {
	v, ok := ctx.Value(viewerKey{}).(*Viewer)
	if !ok || v == nil {
		return nil, Errorf(CodeUnauthenticated, "a valid bearer token is required")
	}
	return v, nil
}
