// Package tenants manages customers' tenants and their asynchronous
// provisioning (SPEC §5): REQUESTED → PROVISIONING → VERIFYING → ACTIVE, or
// FAILED with a reason. A tenant is visible to whoever may see its customer
// (SPEC §1.5). Every status change appends its event in the same transaction.
package tenants

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Status is a tenant's provisioning state.
type Status = domain.TenantStatus

// Service manages tenants.
type Service struct{ db *bun.DB }

// New returns a Service on db.
func New(db *bun.DB) *Service { return &Service{db: db} }

// Tenant returns a tenant the viewer may see.
func (s *Service) Tenant(ctx context.Context, id int64) (*domain.Tenant, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var t domain.Tenant
	q := s.db.NewSelect().Model(&t).Where("tn.id = ?", id)
	err = visibility.RestrictOrganizations(q, viewer, "tn.customer_id").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.NotFound("tenant")
	}
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// OfCustomers lists the tenants of each customer of customerIDs, oldest
// first, in one statement; the caller has checked the viewer may see the
// customers (a tenant is visible with its customer). A customer without
// tenants is absent.
func (s *Service) OfCustomers(ctx context.Context, customerIDs []int64) (map[int64][]*domain.Tenant, error) {
	out := make(map[int64][]*domain.Tenant, len(customerIDs))
	if len(customerIDs) == 0 {
		return out, nil
	}
	var ts []*domain.Tenant
	if err := s.db.NewSelect().Model(&ts).Where("tn.customer_id IN (?)", bun.In(customerIDs)).
		Order("tn.customer_id", "tn.id").Scan(ctx); err != nil {
		return nil, err
	}
	for _, t := range ts {
		out[t.CustomerID] = append(out[t.CustomerID], t)
	}
	return out, nil
}

// NormalizeDomain checks a tenant domain is DNS-label syntax — at least two
// dot-separated labels of 1 to 63 letters, digits or inner hyphens, 253
// characters at most — and returns it lower-cased (domains are
// case-insensitive, and unique across the deployment in that form).
func NormalizeDomain(d string) (string, error) {
	d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
	bad := domain.FieldErrorf(domain.CodeInvalid, "domain",
		"domain must be a DNS name such as contoso.example.com: labels of letters, digits and inner hyphens")
	labels := strings.Split(d, ".")
	if len(d) > 253 || len(labels) < 2 {
		return "", bad
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", bad
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", bad
			}
		}
	}
	return d, nil
}

// Create requests a tenant for a customer: by the customer's own OWNER or
// ADMIN_AGENT, or a partner's that may see the customer.
func (s *Service) Create(ctx context.Context, customerID int64, rawDomain string) (*domain.Tenant, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var customer domain.Organization
	q := s.db.NewSelect().Model(&customer).Where("o.id = ?", customerID)
	if err := visibility.RestrictOrganizations(q, viewer, "o.id").Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, domain.FieldErrorf(domain.CodeNotFound, "customerId", "organization not found")
		}
		return nil, err
	}
	if !viewer.May(domain.ManagerRoles...) {
		return nil, domain.Errorf(domain.CodeForbidden, "creating tenants needs the OWNER or ADMIN_AGENT role")
	}
	if customer.Kind != domain.KindCustomer {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "customerId", "only a CUSTOMER has tenants")
	}
	d, err := NormalizeDomain(rawDomain)
	if err != nil {
		return nil, err
	}
	now := domain.Now()
	t := &domain.Tenant{CustomerID: customerID, Domain: d, Status: domain.TenantRequested, CreatedAt: now, UpdatedAt: now}
	if !viewer.IsPlatformAdmin {
		t.RequestedByOrganizationID = &viewer.OrganizationID
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(t).Returning("id").Exec(ctx); err != nil {
			return err
		}
		return events.Append(ctx, tx, events.TenantProvisioningUpdated, t.ID)
	})
	if database.IsUniqueViolation(err) {
		return nil, domain.FieldErrorf(domain.CodeConflict, "domain", "the domain %q is already taken", d)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Report records a provisioning step from an external fulfilment system: a
// vendor's OWNER or ADMIN_AGENT that may see the customer, or a platform
// administrator.
func (s *Service) Report(ctx context.Context, id int64, next Status, failureReason string) (*domain.Tenant, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.Tenant(ctx, id)
	if err != nil {
		return nil, err
	}
	if !viewer.IsPlatformAdmin {
		var kind domain.OrganizationKind
		if err := s.db.NewSelect().TableExpr("organizations").Column("kind").Where("id = ?", viewer.OrganizationID).Scan(ctx, &kind); err != nil {
			return nil, err
		}
		if kind != domain.KindVendor || !viewer.May(domain.ManagerRoles...) {
			return nil, domain.Errorf(domain.CodeForbidden, "provisioning is reported by a vendor's OWNER or ADMIN_AGENT")
		}
	}
	return s.advance(ctx, t.ID, t.Status, next, failureReason)
}

// advance moves a tenant from `from` to next if it is still in `from`, so
// replicas racing on the same step advance it once.
func (s *Service) advance(ctx context.Context, id int64, from, next Status, failureReason string) (*domain.Tenant, error) {
	failureReason = strings.TrimSpace(failureReason)
	switch {
	case !from.CanMoveTo(next):
		return nil, domain.FieldErrorf(domain.CodeConflict, "status", "the tenant is %s and cannot move to %s", from, next)
	case next == domain.TenantFailed && (failureReason == "" || len(failureReason) > 1000):
		return nil, domain.FieldErrorf(domain.CodeInvalid, "failureReason", "a FAILED tenant needs a failureReason of 1 to 1000 characters")
	case next != domain.TenantFailed && failureReason != "":
		return nil, domain.FieldErrorf(domain.CodeInvalid, "failureReason", "failureReason is only for FAILED")
	}
	var t domain.Tenant
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*domain.Tenant)(nil)).
			Set("status = ?", next).Set("failure_reason = ?", failureReason).Set("updated_at = ?", domain.Now()).
			Where("id = ? AND status = ?", id, from).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.FieldErrorf(domain.CodeConflict, "status", "the tenant changed meanwhile; read it again")
		}
		if err := tx.NewSelect().Model(&t).Where("tn.id = ?", id).Scan(ctx); err != nil {
			return err
		}
		if next == domain.TenantActive || next == domain.TenantFailed {
			if err := notifyCompletion(ctx, tx, &t); err != nil {
				return err
			}
		}
		return events.Append(ctx, tx, events.TenantProvisioningUpdated, id)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// notifyCompletion records a notification for the customer and for the
// partner that requested the tenant (SPEC §5).
func notifyCompletion(ctx context.Context, tx bun.IDB, t *domain.Tenant) error {
	msg := fmt.Sprintf("Tenant %s is ready.", t.Domain)
	if t.Status == domain.TenantFailed {
		msg = fmt.Sprintf("Tenant %s could not be provisioned: %s", t.Domain, t.FailureReason)
	}
	orgs := []int64{t.CustomerID}
	if t.RequestedByOrganizationID != nil && *t.RequestedByOrganizationID != t.CustomerID {
		orgs = append(orgs, *t.RequestedByOrganizationID)
	}
	for _, org := range orgs {
		n := &domain.Notification{OrganizationID: org, Kind: "TENANT_" + string(t.Status), Message: msg,
			TenantID: &t.ID, CreatedAt: domain.Now()}
		if _, err := tx.NewInsert().Model(n).Returning("id").Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Notifications lists the viewer organization's notifications, newest first.
func (s *Service) Notifications(ctx context.Context, limit int) ([]*domain.Notification, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var ns []*domain.Notification
	err = s.db.NewSelect().Model(&ns).Where("n.organization_id = ?", viewer.OrganizationID).
		Order("n.id DESC").Limit(int64(limit)).Scan(ctx)
	return ns, err
}

// stepAfter says which status the built-in provisioner moves a tenant to
// next; ok is false for a finished tenant.
func stepAfter(s Status) (Status, bool) {
	switch s {
	case domain.TenantRequested:
		return domain.TenantProvisioning, true
	case domain.TenantProvisioning:
		return domain.TenantVerifying, true
	case domain.TenantVerifying:
		return domain.TenantActive, true
	}
	return "", false
}

// ForEvent returns the tenant of an event as the event committed it, if the
// viewer may see it now.
func (s *Service) ForEvent(ctx context.Context, ev events.Event) (*domain.Tenant, error) {
	if _, err := s.Tenant(ctx, ev.ObjectID); err != nil {
		return nil, err
	}
	var then domain.Tenant
	err := ev.Decode(&then)
	return &then, err
}
