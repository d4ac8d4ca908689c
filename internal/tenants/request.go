package tenants

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// RequestInTx requests a tenant in the caller's transaction, for an operation
// that creates it with something else (a cart's order, SPEC §8.4): the
// tenant starts REQUESTED, so the provisioner takes it up once the
// transaction commits, and its event commits with it. d must already be
// normalized (NormalizeDomain); the caller has decided who may. A domain
// taken meanwhile is a CONFLICT on field; on PostgreSQL the failed insert
// also ends the transaction, which is what the caller wants: nothing of it
// commits.
func RequestInTx(ctx context.Context, tx bun.IDB, customerID int64, d string, requestedBy *int64, field string, now time.Time) (*domain.Tenant, error) {
	t := &domain.Tenant{CustomerID: customerID, Domain: d, Status: domain.TenantRequested,
		RequestedByOrganizationID: requestedBy, CreatedAt: now, UpdatedAt: now}
	if _, err := tx.NewInsert().Model(t).Returning("id").Exec(ctx); err != nil {
		if database.IsUniqueViolation(err) {
			return nil, domain.FieldErrorf(domain.CodeConflict, field, "the domain %q is already taken", d)
		}
		return nil, fmt.Errorf("tenants: storing tenant: %w", err)
	}
	if err := ProvisioningUpdated.Append(ctx, tx, t.ID, now); err != nil {
		return nil, err
	}
	return t, nil
}

// DomainTaken reports whether a tenant already has the (normalized) domain.
func DomainTaken(ctx context.Context, db bun.IDB, d string) (bool, error) {
	ok, err := db.NewSelect().TableExpr("tenants").Where("domain = ?", d).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("tenants: reading domains: %w", err)
	}
	return ok, nil
}

// OfCustomer returns the ids among ids that are tenants of customerID.
func OfCustomer(ctx context.Context, db bun.IDB, customerID int64, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	var found []int64
	if err := db.NewSelect().TableExpr("tenants").Column("id").
		Where("customer_id = ? AND id IN (?)", customerID, database.IDs(ids)).Scan(ctx, &found); err != nil {
		return nil, fmt.Errorf("tenants: reading tenants: %w", err)
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}
