package invitations

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/audit"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// unknownCode is the one answer for a code that is not current, whether it
// never existed or was retired: it says nothing about which.
func unknownCode() error {
	return domain.FieldErrorf(domain.CodeInvalid, "code", "unknown or retired invitation code")
}

// Accept joins the viewer's customer to the partner whose current code
// this is (SPEC §6.1): the partner→customer edge becomes ACTIVE, an INVITED
// one accepted or a new one made (a REMOVED one stays as history). A
// combined code does the same for the indirect provider→customer edge, in
// the same transaction: both or neither; an indirect provider the customer
// is already ACTIVE with keeps that edge. It returns the edges it made
// ACTIVE, each announced and audited. The customer's tenants come along:
// partners see a customer's tenants through the customer.
//
// Refusals: FORBIDDEN unless the viewer is a customer's OWNER;
// RATE_LIMITED after WrongCodeBurst wrong codes; BAD_USER_INPUT on code
// for an unknown or retired one; CONFLICT on code when the customer is
// already joined to the partner by an ACTIVE edge, or when a combined
// invitation's distributor no longer sells to its reseller.
func (s *Service) Accept(ctx context.Context, code string) ([]*domain.ChannelEdge, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := policy.MayAcceptInvitation(viewer); err != nil {
		return nil, err
	}
	customer := viewer.OrganizationID
	now := s.Now()
	giveBack, ok := s.guesses.take(customer, now)
	if !ok {
		return nil, domain.Errorf(domain.CodeRateLimited,
			"too many wrong invitation codes: wait up to %s and try again", WrongCodeWindow)
	}
	var made []*domain.ChannelEdge
	known := false
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		inv, err := lookUp(ctx, tx, strings.TrimSpace(code))
		if err != nil || inv == nil {
			return err
		}
		known = true
		made, err = s.join(ctx, tx, viewer, inv, customer, now)
		return err
	})
	if known || (err != nil && domain.ErrorCode(err) == domain.CodeInternal) {
		giveBack()
	}
	if err == nil && !known {
		return nil, unknownCode()
	}
	return made, err
}

// lookUp finds the current code equal to code, locked against a rotation
// until the caller commits; nil when there is none. The index finds the
// row; the comparison that decides is constant-time.
func lookUp(ctx context.Context, tx bun.IDB, code string) (*domain.InvitationCode, error) {
	if !strings.HasPrefix(code, "cgi_") || len(code) > 100 {
		return nil, nil
	}
	var found []domain.InvitationCode
	q := tx.NewSelect().Model(&found).Where("ic.code = ? AND ic.retired_at IS NULL", code)
	if err := database.LockForShare(q).Scan(ctx); err != nil {
		return nil, fmt.Errorf("invitations: reading codes: %w", err)
	}
	if len(found) == 0 || subtle.ConstantTimeCompare([]byte(found[0].Code), []byte(code)) != 1 {
		return nil, nil
	}
	return &found[0], nil
}

// join makes the invitation's edges to customer ACTIVE in tx.
func (s *Service) join(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, inv *domain.InvitationCode, customer int64, now time.Time) ([]*domain.ChannelEdge, error) {
	kind, err := kindOf(ctx, tx, inv.OrganizationID)
	if err != nil {
		return nil, err
	}
	type step struct {
		up     int64
		detail string
	}
	steps := []step{{inv.OrganizationID, "own invitation of the " + strings.ToLower(string(kind))}}
	if d := inv.IndirectProviderID; d != nil {
		if err := checkIndirectProvider(ctx, tx, kind, inv.OrganizationID, *d, true); err != nil {
			return nil, domain.FieldErrorf(domain.CodeConflict, "code",
				"this combined invitation no longer holds: its distributor no longer sells to its reseller; ask the reseller for a new one")
		}
		joined, err := activeEdge(ctx, tx, *d, customer)
		if err != nil {
			return nil, err
		}
		steps = steps[:0]
		if !joined {
			steps = append(steps, step{*d, "combined invitation of a reseller with this indirect provider"})
		}
		steps = append(steps, step{inv.OrganizationID, "combined invitation of this reseller with its indirect provider"})
	}
	var made []*domain.ChannelEdge
	for i, st := range steps {
		if i > 0 && s.betweenEdges != nil {
			if err := s.betweenEdges(); err != nil {
				return nil, err
			}
		}
		edge, err := channel.ActivateInTx(ctx, tx, st.up, customer, now)
		if domain.ErrorCode(err) == domain.CodeConflict {
			return nil, domain.FieldErrorf(domain.CodeConflict, "code", "already joined: your organization and this partner are joined by an ACTIVE edge")
		}
		if err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, viewer, now, audit.Entry{Action: audit.InvitationAccepted,
			ObjectType: audit.ObjectChannelEdge, ObjectID: edge.ID, FirstParty: st.up, SecondParty: customer,
			Detail: "accepted the " + st.detail}); err != nil {
			return nil, err
		}
		made = append(made, edge)
	}
	return made, nil
}

// activeEdge reports whether up→down is ACTIVE.
func activeEdge(ctx context.Context, tx bun.IDB, up, down int64) (bool, error) {
	ok, err := tx.NewSelect().TableExpr("channel_edges").
		Where("upstream_id = ? AND downstream_id = ? AND status = 'ACTIVE'", up, down).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("invitations: reading edges: %w", err)
	}
	return ok, nil
}
