package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// storedToken is a token row with what authenticating it needs: its
// organization's kind and, for a token that belongs to a member, the
// member's current role and whether it was removed.
type storedToken struct {
	domain.APIToken
	Kind            domain.OrganizationKind `bun:"kind"`
	MemberRole      *domain.Role            `bun:"member_role"`
	MemberRemovedAt *time.Time              `bun:"member_removed_at"`
}

func readToken(ctx context.Context, db bun.IDB, where string, arg any) (*storedToken, error) {
	var t storedToken
	err := db.NewSelect().Model(&t.APIToken).ColumnExpr("t.*, o.kind, m.role AS member_role, m.removed_at AS member_removed_at").
		Join("JOIN organizations AS o ON o.id = t.organization_id").
		Join("LEFT JOIN members AS m ON m.id = t.member_id").
		Where(where, arg).Scan(ctx, &t)
	if err != nil {
		if isNoRows(err) {
			return nil, err
		}
		return nil, fmt.Errorf("auth: reading token: %w", err)
	}
	return &t, nil
}

// usable: neither revoked nor expired, and its member (if any) not removed.
func (t *storedToken) usable(now time.Time) bool {
	return t.Usable(now) && (t.MemberID == nil || t.MemberRemovedAt == nil)
}

// viewer is who the token acts as. A member's token issued with a role
// other than VIEWER follows the member's current role, so demoting a
// member demotes its tokens; a VIEWER token stays read-only.
func (t *storedToken) viewer() domain.Viewer {
	v := domain.Viewer{OrganizationID: t.OrganizationID, Role: t.Role, Kind: t.Kind, TokenID: t.ID}
	if t.MemberID != nil {
		v.MemberID = *t.MemberID
		if t.Role != domain.RoleViewer && t.MemberRole != nil {
			v.Role = *t.MemberRole
		}
	}
	return v
}

// checkTokenMember refuses a token for a member that is not a current
// member of the organization, or with a role other than the member's own
// or VIEWER.
func (s *Service) checkTokenMember(ctx context.Context, in CreateTokenInput) error {
	var m domain.Member
	err := s.db.NewSelect().Model(&m).
		Where("m.id = ? AND m.organization_id = ? AND m.removed_at IS NULL", *in.MemberID, in.OrganizationID).Scan(ctx)
	if isNoRows(err) {
		return domain.FieldErrorf(domain.CodeInvalid, "memberId", "memberId must name a current member of the organization")
	}
	if err != nil {
		return fmt.Errorf("auth: reading member: %w", err)
	}
	if in.Role != m.Role && in.Role != domain.RoleViewer {
		return domain.FieldErrorf(domain.CodeInvalid, "role", "a member's token has the member's role (%s) or VIEWER", m.Role)
	}
	return nil
}

// memberUnchanged reports whether the viewer's member is current and still
// has the viewer's role.
func (s *Service) memberUnchanged(ctx context.Context, viewer *domain.Viewer) (bool, error) {
	ok, err := s.db.NewSelect().TableExpr("members").
		Where("id = ? AND removed_at IS NULL AND role = ?", viewer.MemberID, viewer.Role).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("auth: reading member: %w", err)
	}
	return ok, nil
}

// ForgetMember drops what this replica remembers of a member's tokens, so
// its removal or role change takes effect here at once (other replicas
// follow within CacheFor).
func (s *Service) ForgetMember(memberID int64) {
	for _, key := range s.recent.Keys() {
		if c, ok := s.recent.Peek(key); ok && c.viewer.MemberID == memberID {
			s.recent.Remove(key)
		}
	}
}
