package domain

import (
	"io"
	"time"

	"github.com/uptrace/bun"
)

// InvitationCode is a partner's reusable invitation (SPEC §6.1, §8.6): a
// reseller's or distributor's own, or, with IndirectProviderID, a
// reseller's combined invitation with its indirect provider. It carries no
// customer data; rotating retires it.
type InvitationCode struct {
	bun.BaseModel `bun:"table:invitation_codes,alias:ic"`

	ID                 int64      `bun:"id,pk,autoincrement"`
	OrganizationID     int64      `bun:"organization_id"`
	IndirectProviderID *int64     `bun:"indirect_provider_id"`
	Code               string     `bun:"code"`
	CreatedAt          time.Time  `bun:"created_at"`
	RetiredAt          *time.Time `bun:"retired_at"`
}

// DelegatedAdminStatus is where a delegated admin privilege stands.
type DelegatedAdminStatus string

const (
	DelegatedAdminRequested DelegatedAdminStatus = "REQUESTED"
	DelegatedAdminActive    DelegatedAdminStatus = "ACTIVE"
	DelegatedAdminRemoved   DelegatedAdminStatus = "REMOVED"
)

func (s DelegatedAdminStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }
func (s *DelegatedAdminStatus) UnmarshalGQL(v any) error {
	str, err := parseEnum("DelegatedAdminStatus", v)
	*s = DelegatedAdminStatus(str)
	return err
}

// DelegatedAdmin is a partner's administrative privilege over one
// customer's service, with roles (SPEC §6.2). Transacting marks the one
// partner per customer and service that may transact for it.
type DelegatedAdmin struct {
	bun.BaseModel `bun:"table:delegated_admins,alias:da"`

	ID                      int64                `bun:"id,pk,autoincrement"`
	PartnerID               int64                `bun:"partner_id"`
	CustomerID              int64                `bun:"customer_id"`
	Service                 string               `bun:"service"`
	StoredRoles             string               `bun:"roles"`
	Transacting             bool                 `bun:"transacting"`
	Status                  DelegatedAdminStatus `bun:"status"`
	CreatedAt               time.Time            `bun:"created_at"`
	ApprovedAt              *time.Time           `bun:"approved_at"`
	RemovedAt               *time.Time           `bun:"removed_at"`
	RemovedByOrganizationID *int64               `bun:"removed_by_organization_id"`
}

// Roles are the roles granted, decoded from StoredRoles.
func (d *DelegatedAdmin) Roles() []string { return decodeSet[string](d.StoredRoles) }

// AuditEntry is one relationship or privilege change (SPEC §8.6): what
// changed, who changed it, when, and the organizations it involves.
type AuditEntry struct {
	bun.BaseModel `bun:"table:audit_entries,alias:ae"`

	ID                   int64     `bun:"id,pk,autoincrement"`
	Action               string    `bun:"action"`
	ObjectType           string    `bun:"object_type"`
	ObjectID             int64     `bun:"object_id"`
	FirstPartyID         int64     `bun:"first_party_id"`
	SecondPartyID        *int64    `bun:"second_party_id"`
	ActorOrganizationID  *int64    `bun:"actor_organization_id"`
	ActorMemberID        *int64    `bun:"actor_member_id"`
	ActorTokenID         *int64    `bun:"actor_token_id"`
	ActorIsPlatformAdmin bool      `bun:"actor_is_platform_admin"`
	Detail               string    `bun:"detail"`
	CreatedAt            time.Time `bun:"created_at"`
}
