// Package members keeps the people of organizations (SPEC §1.2, §8.1):
// who belongs to which organization with which role, and the JWT subject
// each signs in as.
package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Service reads and changes members.
type Service struct {
	db *bun.DB
	// Now stamps members as they are added and removed.
	Now func() time.Time
	// Changed, when set, is told of a member whose role changed or who was
	// removed, after the change commits (the authenticator forgets what it
	// remembered of the member's tokens).
	Changed func(memberID int64)
}

// New returns a Service on db, on the system clock.
func New(db *bun.DB) *Service { return &Service{db: db, Now: clock.System{}.Now} }

// MembersOf returns the current members of organizations, oldest first, as
// the viewer may see them (visibility.RestrictMembers).
func (s *Service) MembersOf(ctx context.Context, orgIDs []int64) (map[int64][]*domain.Member, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	orgIDs = slices.DeleteFunc(slices.Clone(orgIDs), func(org int64) bool { return !visibility.MaySeeMembersOf(viewer, org) })
	out := make(map[int64][]*domain.Member, len(orgIDs))
	if len(orgIDs) == 0 {
		return out, nil
	}
	var found []*domain.Member
	q := database.Conn(ctx, s.db).NewSelect().Model(&found).Where("m.organization_id IN (?)", bun.In(orgIDs)).Order("m.id")
	if err := visibility.RestrictMembers(q, viewer, "m").Scan(ctx); err != nil {
		return nil, fmt.Errorf("members: reading members: %w", err)
	}
	for _, m := range found {
		out[m.OrganizationID] = append(out[m.OrganizationID], m)
	}
	return out, nil
}

// MembersByID returns the members among ids the viewer may see, by id.
func (s *Service) MembersByID(ctx context.Context, ids []int64) (map[int64]*domain.Member, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var found []*domain.Member
	q := database.Conn(ctx, s.db).NewSelect().Model(&found).Where("m.id IN (?)", bun.In(ids))
	if err := visibility.RestrictMembers(q, viewer, "m").Scan(ctx); err != nil {
		return nil, fmt.Errorf("members: reading members: %w", err)
	}
	out := make(map[int64]*domain.Member, len(found))
	for _, m := range found {
		out[m.ID] = m
	}
	return out, nil
}

// managed reads a current member the viewer may manage: NOT_FOUND unless
// it is in the viewer's organization (the platform administrator: any),
// FORBIDDEN unless the viewer may manage its members.
func (s *Service) managed(ctx context.Context, viewer *domain.Viewer, id int64) (*domain.Member, error) {
	var m domain.Member
	err := s.db.NewSelect().Model(&m).Where("m.id = ? AND m.removed_at IS NULL", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !viewer.IsPlatformAdmin && m.OrganizationID != viewer.OrganizationID) {
		return nil, domain.NotFound("member")
	}
	if err != nil {
		return nil, fmt.Errorf("members: reading member: %w", err)
	}
	if err := policy.MayManageMembers(viewer, m.OrganizationID); err != nil {
		return nil, err
	}
	return &m, nil
}

// lockOwners locks the organization's current members (PostgreSQL; SQLite
// runs one writing transaction at a time) and returns how many are OWNERs,
// so two concurrent demotions or removals cannot both see another OWNER.
func lockOwners(ctx context.Context, tx bun.IDB, orgID int64) (int, error) {
	var roles []domain.Role
	q := tx.NewSelect().TableExpr("members AS m").Column("m.role").
		Where("m.organization_id = ? AND m.removed_at IS NULL", orgID).Order("m.id")
	if err := database.LockForUpdate(q).Scan(ctx, &roles); err != nil {
		return 0, fmt.Errorf("members: locking members: %w", err)
	}
	owners := 0
	for _, r := range roles {
		if r == domain.RoleOwner {
			owners++
		}
	}
	return owners, nil
}

// reread reads the member again inside tx, after the lock: a concurrent
// change may have committed since managed read it.
func reread(ctx context.Context, tx bun.IDB, id int64) (*domain.Member, error) {
	var m domain.Member
	err := tx.NewSelect().Model(&m).Where("m.id = ? AND m.removed_at IS NULL", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.NotFound("member")
	}
	if err != nil {
		return nil, fmt.Errorf("members: reading member: %w", err)
	}
	return &m, nil
}

// ChangeRole gives a member another role; the organization's last OWNER
// keeps the role (CONFLICT on role).
func (s *Service) ChangeRole(ctx context.Context, id int64, role domain.Role) (*domain.Member, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.managed(ctx, viewer, id)
	if err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "role", "role must be one of OWNER, ADMIN_AGENT, SALES_AGENT, BILLING_ADMIN, VIEWER")
	}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		owners, err := lockOwners(ctx, tx, m.OrganizationID)
		if err != nil {
			return err
		}
		if m, err = reread(ctx, tx, id); err != nil {
			return err
		}
		if m.Role == domain.RoleOwner && role != domain.RoleOwner && owners <= 1 {
			return domain.FieldErrorf(domain.CodeConflict, "role", "the organization's last OWNER keeps the role: make another member OWNER first")
		}
		m.Role = role
		if _, err := tx.NewUpdate().TableExpr("members").Set("role = ?", role).Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("members: storing role: %w", err)
		}
		return auth.CredentialsChanged(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	s.changed(id)
	return m, nil
}

// Remove removes a member and revokes its API tokens in the same
// transaction; the organization's last OWNER cannot be removed (CONFLICT
// on memberId).
func (s *Service) Remove(ctx context.Context, id int64) (*domain.Member, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.managed(ctx, viewer, id)
	if err != nil {
		return nil, err
	}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		owners, err := lockOwners(ctx, tx, m.OrganizationID)
		if err != nil {
			return err
		}
		if m, err = reread(ctx, tx, id); err != nil {
			return err
		}
		if m.Role == domain.RoleOwner && owners <= 1 {
			return domain.FieldErrorf(domain.CodeConflict, "memberId", "the organization's last OWNER cannot be removed: make another member OWNER first")
		}
		now := s.Now()
		m.RemovedAt = &now
		if _, err := tx.NewUpdate().TableExpr("members").Set("removed_at = ?", now).Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("members: removing member: %w", err)
		}
		if _, err := tx.NewUpdate().TableExpr("api_tokens").Set("revoked_at = ?", now).
			Where("member_id = ? AND revoked_at IS NULL", id).Exec(ctx); err != nil {
			return fmt.Errorf("members: revoking the member's tokens: %w", err)
		}
		return auth.CredentialsChanged(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	s.changed(id)
	return m, nil
}

func (s *Service) changed(id int64) {
	if s.Changed != nil {
		s.Changed(id)
	}
}
