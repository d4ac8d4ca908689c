package delegation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/audit"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// RequestInput is requestDelegatedAdmin's input.
type RequestInput struct {
	CustomerID  int64
	Service     string
	Roles       []string
	Transacting bool
}

var serviceName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// check refuses malformed input, naming the field. A role may not hold a
// comma: roles are stored as one delimited column (domain.EncodeSet).
func (in RequestInput) check() error {
	var faults domain.Faults
	if !serviceName.MatchString(in.Service) {
		faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "service", "service must be 1 to 64 letters, digits, '_' or '-'"))
	}
	if len(in.Roles) < 1 || len(in.Roles) > 20 {
		faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "roles", "give 1 to 20 roles"))
	}
	seen := map[string]bool{}
	for _, r := range in.Roles {
		n := utf8.RuneCountInString(r)
		switch {
		case n < 1 || n > 100 || strings.TrimSpace(r) == "":
			faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "roles", "each role must be 1 to 100 characters"))
		case strings.Contains(r, ","):
			faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "roles", "a role must not contain a comma"))
		case seen[r]:
			faults = append(faults, domain.FieldErrorf(domain.CodeInvalid, "roles", "role %q is given twice", r))
		}
		seen[r] = true
	}
	return faults.OrNil()
}

// Request records the viewer's partner's request for privileges over a
// customer's service; the customer's OWNER approves it.
func (s *Service) Request(ctx context.Context, in RequestInput) (*domain.DelegatedAdmin, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var customer domain.Organization
	q := s.db.NewSelect().Model(&customer).Column("o.id", "o.kind").Where("o.id = ?", in.CustomerID)
	err = visibility.RestrictOrganizations(q, viewer, "o.id").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.NotFound("organization")
	}
	if err != nil {
		return nil, fmt.Errorf("delegation: reading the customer: %w", err)
	}
	if err := policy.MayRequestDelegatedAdmin(viewer); err != nil {
		return nil, err
	}
	if customer.Kind != domain.KindCustomer {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "customerId", "delegated admin privileges are over a customer's services; this organization is a %s", customer.Kind)
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	d := &domain.DelegatedAdmin{PartnerID: viewer.OrganizationID, CustomerID: customer.ID, Service: in.Service,
		StoredRoles: domain.EncodeSet(in.Roles), Transacting: in.Transacting, Status: domain.DelegatedAdminRequested}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		// The partner's row serialises its own requests, so two at once
		// cannot both find none held.
		lock := tx.NewSelect().TableExpr("organizations AS o").Column("o.id").Where("o.id = ?", d.PartnerID)
		var locked int64
		if err := database.LockForUpdate(lock).Scan(ctx, &locked); err != nil {
			return fmt.Errorf("delegation: locking the partner: %w", err)
		}
		held, err := tx.NewSelect().Model((*domain.DelegatedAdmin)(nil)).
			Where("da.partner_id = ? AND da.customer_id = ? AND da.service = ? AND da.status <> ?",
				d.PartnerID, d.CustomerID, d.Service, domain.DelegatedAdminRemoved).Exists(ctx)
		if err != nil {
			return fmt.Errorf("delegation: reading held privileges: %w", err)
		}
		if held {
			return domain.FieldErrorf(domain.CodeConflict, "service",
				"you already hold or requested delegated admin privileges over this customer's %s: remove them first", d.Service)
		}
		now := s.Now()
		d.CreatedAt = now
		if _, err := tx.NewInsert().Model(d).Exec(ctx); err != nil {
			return fmt.Errorf("delegation: storing the request: %w", err)
		}
		return s.changed(ctx, tx, viewer, now, d, audit.DelegatedAdminRequested)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Approve makes a requested privilege ACTIVE (the customer's OWNER). The
// unique index delegated_admins_one_transacting holds one transacting
// partner per customer and service, under any number of concurrent
// approvals: each one that loses is a CONFLICT.
func (s *Service) Approve(ctx context.Context, id int64) (*domain.DelegatedAdmin, error) {
	return s.change(ctx, id, policy.MayApproveDelegatedAdmin, func(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, now time.Time, d *domain.DelegatedAdmin) error {
		if d.Status != domain.DelegatedAdminRequested {
			return domain.FieldErrorf(domain.CodeConflict, "delegatedAdminId", "the privilege is %s; only a REQUESTED one is approved", d.Status)
		}
		d.Status, d.ApprovedAt = domain.DelegatedAdminActive, &now
		_, err := tx.NewUpdate().Model(d).Column("status", "approved_at").WherePK().Exec(ctx)
		if database.IsUniqueViolation(err) {
			return domain.FieldErrorf(domain.CodeConflict, "delegatedAdminId",
				"another partner already transacts for this customer's %s: at most one transacting partner per customer and service; remove its privilege first", d.Service)
		}
		if err != nil {
			return fmt.Errorf("delegation: approving: %w", err)
		}
		return s.changed(ctx, tx, viewer, now, d, audit.DelegatedAdminApproved)
	})
}

// Remove removes a requested or active privilege (either side); REMOVED is
// final.
func (s *Service) Remove(ctx context.Context, id int64) (*domain.DelegatedAdmin, error) {
	return s.change(ctx, id, policy.MayRemoveDelegatedAdmin, func(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, now time.Time, d *domain.DelegatedAdmin) error {
		if d.Status == domain.DelegatedAdminRemoved {
			return domain.FieldErrorf(domain.CodeConflict, "delegatedAdminId", "the privilege is already REMOVED")
		}
		d.Status, d.RemovedAt = domain.DelegatedAdminRemoved, &now
		if !viewer.IsPlatformAdmin {
			by := viewer.OrganizationID
			d.RemovedByOrganizationID = &by
		}
		if _, err := tx.NewUpdate().Model(d).Column("status", "removed_at", "removed_by_organization_id").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("delegation: removing: %w", err)
		}
		return s.changed(ctx, tx, viewer, now, d, audit.DelegatedAdminRemoved)
	})
}

// change runs one change of a privilege the viewer may see (NOT_FOUND
// otherwise) and may act on (may), in one transaction with its row locked.
func (s *Service) change(ctx context.Context, id int64, may func(*domain.Viewer, *domain.DelegatedAdmin) error,
	apply func(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, now time.Time, d *domain.DelegatedAdmin) error) (*domain.DelegatedAdmin, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var d domain.DelegatedAdmin
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		err := database.LockForUpdate(visible(tx, viewer, &d).Where("da.id = ?", id)).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.NotFound("delegated admin")
		}
		if err != nil {
			return fmt.Errorf("delegation: reading the privilege: %w", err)
		}
		if err := may(viewer, &d); err != nil {
			return err
		}
		return apply(ctx, tx, viewer, s.Now(), &d)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// changed appends the privilege's event and its audit entry, in the
// change's transaction.
func (s *Service) changed(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, now time.Time, d *domain.DelegatedAdmin, action string) error {
	if err := Updated.Append(ctx, tx, d.ID, now); err != nil {
		return err
	}
	return audit.Record(ctx, tx, viewer, now, audit.Entry{Action: action, ObjectType: audit.ObjectDelegatedAdmin,
		ObjectID: d.ID, FirstParty: d.PartnerID, SecondParty: d.CustomerID, Detail: detail(d)})
}
