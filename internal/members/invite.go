package members

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// InviteInput is what inviteMember takes.
type InviteInput struct {
	OrganizationID int64
	Email          string
	Role           domain.Role
	Name           *string
	Subject        *string
}

// Invite adds a member to an organization. The e-mail address is stored
// trimmed and lowercased, so the unique index compares addresses without
// regard to case.
func (s *Service) Invite(ctx context.Context, in InviteInput) (*domain.Member, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !viewer.IsPlatformAdmin && viewer.OrganizationID != in.OrganizationID {
		return nil, domain.NotFound("organization")
	}
	exists, err := s.db.NewSelect().TableExpr("organizations").Where("id = ?", in.OrganizationID).Exists(ctx)
	if err != nil {
		return nil, fmt.Errorf("members: reading organization: %w", err)
	}
	if !exists {
		return nil, domain.NotFound("organization")
	}
	if err := policy.MayManageMembers(viewer, in.OrganizationID); err != nil {
		return nil, err
	}
	m, err := validInvite(in)
	if err != nil {
		return nil, err
	}
	m.CreatedAt = s.Now()
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if err := taken(ctx, tx, m); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(m).Returning("id").Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				// A concurrent invitation took the address or subject
				// between the check and the insert.
				return domain.FieldErrorf(domain.CodeConflict, "email", "a current member already has this e-mail address or subject")
			}
			return fmt.Errorf("members: storing member: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func validInvite(in InviteInput) (*domain.Member, error) {
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" || len(email) > 254 {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "email", "email must be a well-formed address such as name@example.com")
	}
	if !in.Role.Valid() {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "role", "role must be one of OWNER, ADMIN_AGENT, SALES_AGENT, BILLING_ADMIN, VIEWER")
	}
	m := &domain.Member{OrganizationID: in.OrganizationID, Role: in.Role, Email: email}
	if in.Name != nil {
		m.Name = strings.TrimSpace(*in.Name)
		if utf8.RuneCountInString(m.Name) > 100 {
			return nil, domain.FieldErrorf(domain.CodeInvalid, "name", "name must be at most 100 characters")
		}
	}
	if in.Subject != nil {
		sub := *in.Subject
		if n := utf8.RuneCountInString(sub); n < 1 || n > 255 || strings.TrimSpace(sub) != sub {
			return nil, domain.FieldErrorf(domain.CodeInvalid, "subject", "subject must be 1 to 255 characters, without spaces at either end")
		}
		m.Subject = &sub
	}
	return m, nil
}

// taken refuses an address a current member of the organization has, and
// a subject any current member signs in with (a JWT's subject names one
// member of the whole deployment).
func taken(ctx context.Context, tx bun.IDB, m *domain.Member) error {
	dup, err := tx.NewSelect().TableExpr("members").
		Where("organization_id = ? AND email = ? AND removed_at IS NULL", m.OrganizationID, m.Email).Exists(ctx)
	if err != nil {
		return fmt.Errorf("members: checking e-mail: %w", err)
	}
	if dup {
		return domain.FieldErrorf(domain.CodeConflict, "email", "a current member of the organization already has this e-mail address")
	}
	if m.Subject == nil {
		return nil
	}
	dup, err = tx.NewSelect().TableExpr("members").Where("subject = ? AND removed_at IS NULL", *m.Subject).Exists(ctx)
	if err != nil {
		return fmt.Errorf("members: checking subject: %w", err)
	}
	if dup {
		return domain.FieldErrorf(domain.CodeConflict, "subject", "a current member already signs in with this subject")
	}
	return nil
}
