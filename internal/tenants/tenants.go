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
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Status is a tenant's provisioning state.
type Status = domain.TenantStatus

// Service manages tenants.
type Service struct {
	db *bun.DB
	// Now is the clock that stamps tenants and paces the provisioner.
	Now func() time.Time
}

// New returns a Service on db, on the system clock.
func New(db *bun.DB) *Service { return &Service{db: db, Now: clock.System{}.Now} }

// Tenant returns a tenant the viewer may see.
func (s *Service) Tenant(ctx context.Context, id int64) (*domain.Tenant, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var t domain.Tenant
	q := database.Conn(ctx, s.db).NewSelect().Model(&t).Where("tn.id = ?", id)
	err = visibility.RestrictOrganizations(q, viewer, "tn.customer_id").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.NotFound("tenant")
	}
	if err != nil {
		return nil, fmt.Errorf("tenants: reading tenant: %w", err)
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
	if err := database.Conn(ctx, s.db).NewSelect().Model(&ts).Where("tn.customer_id IN (?)", database.IDs(customerIDs)).
		Order("tn.customer_id", "tn.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("tenants: reading tenants: %w", err)
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
	q := database.Conn(ctx, s.db).NewSelect().Model(&customer).Where("o.id = ?", customerID)
	if err := visibility.RestrictOrganizations(q, viewer, "o.id").Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, domain.FieldErrorf(domain.CodeNotFound, "customerId", "organization not found")
		}
		return nil, fmt.Errorf("tenants: reading customer: %w", err)
	}
	if err := policy.MayCreateTenant(viewer); err != nil {
		return nil, err
	}
	if customer.Kind != domain.KindCustomer {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "customerId", "only a CUSTOMER has tenants")
	}
	d, err := NormalizeDomain(rawDomain)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	t := &domain.Tenant{CustomerID: customerID, Domain: d, Status: domain.TenantRequested, CreatedAt: now, UpdatedAt: now}
	if !viewer.IsPlatformAdmin {
		t.RequestedByOrganizationID = &viewer.OrganizationID
	}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewInsert().Model(t).Returning("id").Exec(ctx); err != nil {
			return err
		}
		return ProvisioningUpdated.Append(ctx, tx, t.ID, now)
	})
	if database.IsUniqueViolation(err) {
		return nil, domain.FieldErrorf(domain.CodeConflict, "domain", "the domain %q is already taken", d)
	}
	if err != nil {
		return nil, fmt.Errorf("tenants: storing tenant: %w", err)
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
	if err := policy.MayReportTenantProvisioning(viewer); err != nil {
		return nil, err
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
	now := s.Now()
	err := database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		res, err := tx.NewUpdate().Model((*domain.Tenant)(nil)).
			Set("status = ?", next).Set("failure_reason = ?", failureReason).Set("updated_at = ?", now).
			Where("id = ? AND status = ?", id, from).Exec(ctx)
		if err != nil {
			return fmt.Errorf("tenants: storing status: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.FieldErrorf(domain.CodeConflict, "status", "the tenant changed meanwhile; read it again")
		}
		if err := tx.NewSelect().Model(&t).Where("tn.id = ?", id).Scan(ctx); err != nil {
			return fmt.Errorf("tenants: reading tenant: %w", err)
		}
		if next == domain.TenantActive || next == domain.TenantFailed {
			if err := notifyCompletion(ctx, tx, &t, now); err != nil {
				return err
			}
		}
		return ProvisioningUpdated.Append(ctx, tx, id, now)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// notifyCompletion records a notification for the customer and for the
// partner that requested the tenant (SPEC §5).
func notifyCompletion(ctx context.Context, tx bun.IDB, t *domain.Tenant, now time.Time) error {
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
			TenantID: &t.ID, CreatedAt: now}
		if _, err := tx.NewInsert().Model(n).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("tenants: storing notification: %w", err)
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
	err = database.Conn(ctx, s.db).NewSelect().Model(&ns).Where("n.organization_id = ?", viewer.OrganizationID).
		Order("n.id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("tenants: reading notifications: %w", err)
	}
	return ns, nil
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

// ProvisioningUpdated announces every step of a tenant's provisioning
// (SPEC §5, §7.3). Its audience is whoever may see the tenant's customer as
// the step commits; delivery also needs the viewer to see the tenant then.
var ProvisioningUpdated = events.Register(events.Registration[domain.Tenant]{
	Type:  "TENANT_PROVISIONING_UPDATED",
	Field: "tenantProvisioningUpdated",
	Audience: func(ctx context.Context, tx bun.IDB, eventID int64, t *domain.Tenant) error {
		return visibility.OrganizationAudience(ctx, tx, eventID, t.CustomerID)
	},
	Payload: func(ctx context.Context, db bun.IDB, ev events.Event) (*domain.Tenant, error) {
		viewer, err := domain.ViewerFrom(ctx)
		if err != nil {
			return nil, err
		}
		q := db.NewSelect().TableExpr("tenants AS tn").Where("tn.id = ?", ev.ObjectID)
		q = visibility.RestrictToAudience(visibility.RestrictOrganizations(q, viewer, "tn.customer_id"), viewer, ev.ID)
		ok, err := q.Exists(ctx)
		if err != nil {
			return nil, fmt.Errorf("tenants: reading an event's tenant: %w", err)
		}
		if !ok {
			return nil, domain.NotFound("tenant")
		}
		var then domain.Tenant
		return &then, ev.Decode(&then)
	},
})
