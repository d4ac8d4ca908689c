package domain

import "context"

// Viewer is who a request acts as: a member of one organization with one
// role, or the platform administrator.
type Viewer struct {
	OrganizationID  int64
	Role            Role
	IsPlatformAdmin bool
	// TokenID is the API token that authenticated the request (0 for the
	// bootstrap administrator token).
	TokenID int64
}

// May reports whether the viewer's role is one of roles. The platform
// administrator may do everything.
func (v *Viewer) May(roles ...Role) bool {
	if v.IsPlatformAdmin {
		return true
	}
	for _, r := range roles {
		if v.Role == r {
			return true
		}
	}
	return false
}

// ActsFor reports whether the viewer acts for organization id with one of
// roles (the platform administrator acts for every organization).
func (v *Viewer) ActsFor(id int64, roles ...Role) bool {
	if v.IsPlatformAdmin {
		return true
	}
	return v.OrganizationID == id && v.May(roles...)
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

// Roles that may manage an organization's channel (SPEC §1.2).
var (
	ManagerRoles = []Role{RoleOwner, RoleAdminAgent}
	OrderRoles   = []Role{RoleOwner, RoleAdminAgent, RoleSalesAgent}
)
