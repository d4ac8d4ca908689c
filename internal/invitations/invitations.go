// Package invitations keeps partners' invitation links (SPEC §6.1, §8.6):
// a reseller's or distributor's reusable code, its combined form with an
// indirect provider, rotation, and a customer's acceptance, which joins
// the two by ACTIVE channel edges.
package invitations

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/audit"
	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// DefaultPublicURL is where invitation links point when the deployment
// names no public URL of its own.
const DefaultPublicURL = "http://127.0.0.1:8080"

// Service reads, rotates and accepts invitations.
type Service struct {
	db *bun.DB
	// Now stamps codes and acceptances, and times the wrong-code limit.
	Now func() time.Time
	// PublicURL is the deployment's address customers open links at.
	PublicURL string
	guesses   *guessLimiter
	// betweenEdges, when set (by tests), runs in a combined acceptance's
	// transaction after its first edge is written.
	betweenEdges func() error
}

// New returns a Service on db, on the system clock, with links to
// DefaultPublicURL.
func New(db *bun.DB) *Service {
	return &Service{db: db, Now: clock.System{}.Now, PublicURL: DefaultPublicURL, guesses: newGuessLimiter()}
}

// URL is the invitation link carrying code, and nothing about a customer.
func (s *Service) URL(code string) string {
	base := strings.TrimRight(s.PublicURL, "/")
	if base == "" {
		base = DefaultPublicURL
	}
	return base + "/invitations/accept?code=" + code
}

// codeEncoding writes codes in upper-case letters and digits 2–7.
var codeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newCode is "cgi_" and 32 random bytes in base32: 256 bits no one guesses.
func newCode() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "cgi_" + codeEncoding.EncodeToString(b)
}

// Invitation returns organization orgID's current invitation, its own or,
// with indirectProviderID, its combined one with that distributor, made at
// the first read. It is nil (not an error) for a viewer who may not read it
// and for an organization that is not a reseller or distributor. A
// combined invitation needs a reseller and a distributor that sells to it
// by an ACTIVE edge (BAD_USER_INPUT on indirectProviderId otherwise).
func (s *Service) Invitation(ctx context.Context, orgID int64, indirectProviderID *int64) (*domain.InvitationCode, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !visibility.SeesInvitationOf(viewer, orgID) || policy.MayManageInvitation(viewer, orgID) != nil {
		return nil, nil
	}
	conn := database.Conn(ctx, s.db)
	kind, err := kindOf(ctx, conn, orgID)
	if err != nil || (kind != domain.KindReseller && kind != domain.KindDistributor) {
		return nil, err
	}
	if indirectProviderID != nil {
		if err := checkIndirectProvider(ctx, conn, kind, orgID, *indirectProviderID, false); err != nil {
			return nil, err
		}
	}
	code, err := current(ctx, conn, orgID, indirectProviderID)
	if err != nil || code != nil {
		return code, err
	}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		// Locking the partner serialises the first read with a rotation.
		if err := lockOrganization(ctx, tx, orgID); err != nil {
			return err
		}
		if code, err = current(ctx, tx, orgID, indirectProviderID); err != nil || code != nil {
			return err
		}
		code = &domain.InvitationCode{OrganizationID: orgID, IndirectProviderID: indirectProviderID, Code: newCode(), CreatedAt: s.Now()}
		if _, err := tx.NewInsert().Model(code).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("invitations: storing a code: %w", err)
		}
		return nil
	})
	return code, err
}

// Rotate retires every current code of organization orgID, its own and its
// combined ones, and returns a new own code, in one transaction with its
// audit entry: a retired code is refused from the moment this commits.
func (s *Service) Rotate(ctx context.Context, orgID int64) (*domain.InvitationCode, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if !visibility.SeesInvitationOf(viewer, orgID) {
		return nil, &domain.Error{Code: domain.CodeNotFound, Field: "organizationId", Message: "organization not found"}
	}
	if err := policy.MayManageInvitation(viewer, orgID); err != nil {
		return nil, err
	}
	kind, err := kindOf(ctx, database.Conn(ctx, s.db), orgID)
	if err != nil {
		return nil, err
	}
	if kind != domain.KindReseller && kind != domain.KindDistributor {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "organizationId", "only a reseller or distributor has an invitation")
	}
	var code *domain.InvitationCode
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if err := lockOrganization(ctx, tx, orgID); err != nil {
			return err
		}
		now := s.Now()
		if _, err := tx.NewUpdate().TableExpr("invitation_codes").Set("retired_at = ?", now).
			Where("organization_id = ? AND retired_at IS NULL", orgID).Exec(ctx); err != nil {
			return fmt.Errorf("invitations: retiring codes: %w", err)
		}
		code = &domain.InvitationCode{OrganizationID: orgID, Code: newCode(), CreatedAt: now}
		if _, err := tx.NewInsert().Model(code).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("invitations: storing a code: %w", err)
		}
		return audit.Record(ctx, tx, viewer, now, audit.Entry{Action: audit.InvitationRotated,
			ObjectType: audit.ObjectOrganization, ObjectID: orgID, FirstParty: orgID,
			Detail: "every invitation code retired; a new one made"})
	})
	return code, err
}

// kindOf is organization id's kind; NOT_FOUND when there is none.
func kindOf(ctx context.Context, db bun.IDB, id int64) (domain.OrganizationKind, error) {
	var kinds []domain.OrganizationKind
	if err := db.NewSelect().TableExpr("organizations").Column("kind").Where("id = ?", id).Scan(ctx, &kinds); err != nil {
		return "", fmt.Errorf("invitations: reading an organization: %w", err)
	}
	if len(kinds) == 0 {
		return "", &domain.Error{Code: domain.CodeNotFound, Field: "organizationId", Message: "organization not found"}
	}
	return kinds[0], nil
}

func lockOrganization(ctx context.Context, tx bun.IDB, id int64) error {
	var ids []int64
	q := tx.NewSelect().TableExpr("organizations").Column("id").Where("id = ?", id)
	if err := database.LockForUpdate(q).Scan(ctx, &ids); err != nil {
		return fmt.Errorf("invitations: locking an organization: %w", err)
	}
	return nil
}

// current is the organization's current code of the kind asked, or nil.
func current(ctx context.Context, db bun.IDB, orgID int64, indirectProviderID *int64) (*domain.InvitationCode, error) {
	var codes []domain.InvitationCode
	q := db.NewSelect().Model(&codes).Where("ic.organization_id = ? AND ic.retired_at IS NULL", orgID)
	if indirectProviderID == nil {
		q = q.Where("ic.indirect_provider_id IS NULL")
	} else {
		q = q.Where("ic.indirect_provider_id = ?", *indirectProviderID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("invitations: reading codes: %w", err)
	}
	if len(codes) == 0 {
		return nil, nil
	}
	return &codes[0], nil
}

// checkIndirectProvider refuses a combined invitation unless reseller is a
// reseller and distributor sells to it by an ACTIVE edge (locked FOR SHARE
// with lock, so the edge cannot be removed before the caller commits). The
// refusal is the same whether or not the distributor exists.
func checkIndirectProvider(ctx context.Context, db bun.IDB, kind domain.OrganizationKind, reseller, distributor int64, lock bool) error {
	refused := domain.FieldErrorf(domain.CodeInvalid, "indirectProviderId",
		"a combined invitation is a reseller's with a distributor that sells to it by an ACTIVE edge")
	if kind != domain.KindReseller {
		return refused
	}
	var ids []int64
	q := db.NewSelect().TableExpr("channel_edges AS e").Column("e.id").
		Where("e.upstream_id = ? AND e.downstream_id = ? AND e.status = 'ACTIVE'", distributor, reseller).
		Where("e.upstream_id IN (SELECT id FROM organizations WHERE kind = ?)", domain.KindDistributor)
	if lock {
		q = database.LockForShare(q)
	}
	if err := q.Scan(ctx, &ids); err != nil {
		return fmt.Errorf("invitations: reading edges: %w", err)
	}
	if len(ids) == 0 {
		return refused
	}
	return nil
}
