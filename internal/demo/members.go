package demo

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// demoMember is a person of a persona organization; Email is also the JWT
// subject the member signs in as.
type demoMember struct {
	organization, name, email string
	role                      domain.Role
}

// demoMembers gives each persona organization (and Initech Schools, a
// customer joining Cobalt IT by invitation) an OWNER and the roles its work
// shows: the vendor's ADMIN_AGENT activates SaaS subscriptions, the
// reseller's SALES_AGENT sells but may not change a SaaS subscription,
// billing admins and viewers only read.
var demoMembers = []demoMember{
	{"Northwind Systems", "Nora Lind", "nora@northwind.example", domain.RoleOwner},
	{"Northwind Systems", "Victor Hale", "victor@northwind.example", domain.RoleAdminAgent},
	{"Northwind Systems", "Sam Ortiz", "sam@northwind.example", domain.RoleSalesAgent},
	{"Atlas Distribution", "Anna Berg", "anna@atlas.example", domain.RoleOwner},
	{"Atlas Distribution", "Bill Kramer", "bill@atlas.example", domain.RoleBillingAdmin},
	{"Cobalt IT", "Alice Meyer", "alice@cobalt.example", domain.RoleOwner},
	{"Cobalt IT", "Carl Weber", "carl@cobalt.example", domain.RoleAdminAgent},
	{"Cobalt IT", "Sally Koch", "sally@cobalt.example", domain.RoleSalesAgent},
	{"Cobalt IT", "Vera Braun", "vera@cobalt.example", domain.RoleViewer},
	{"Delta Solutions", "Dora Vogel", "dora@delta.example", domain.RoleOwner},
	{"Globex Manufacturing", "Greta Schulz", "greta@globex.example", domain.RoleOwner},
	{"Globex Manufacturing", "Bob Fischer", "bob@globex.example", domain.RoleBillingAdmin},
	// Initech Schools buys through Ember Networks; its OWNER accepts Cobalt
	// IT's invitation in README's relationships walk.
	{"Initech Schools", "Ines Park", "ines@initech.example", domain.RoleOwner},
}

// members adds the demo's people, each signing in with a JWT whose subject
// is its email.
func (b *builder) members(db bun.IDB) {
	if b.err != nil {
		return
	}
	now := clock.System{}.Now()
	rows := make([]domain.Member, len(demoMembers))
	for i, m := range demoMembers {
		subject := m.email
		rows[i] = domain.Member{OrganizationID: b.orgs[m.organization].ID, Role: m.role, Email: m.email,
			Name: m.name, Subject: &subject, CreatedAt: now}
	}
	if _, err := db.NewInsert().Model(&rows).Exec(b.ctx); err != nil {
		b.err = fmt.Errorf("demo: adding members: %w", err)
	}
}

// ownPersonaTokens makes each persona's token belong to its
// organization's OWNER, so removing that member would revoke it.
func ownPersonaTokens(ctx context.Context, db bun.IDB, ps []Persona) error {
	for _, p := range ps {
		_, err := db.NewRaw(`UPDATE api_tokens SET member_id = (
				SELECT m.id FROM members m JOIN organizations o ON o.id = m.organization_id
				WHERE o.name = ? AND m.role = ? AND m.removed_at IS NULL ORDER BY m.id LIMIT 1)
			WHERE name = ?`, p.Organization, domain.RoleOwner, "demo "+p.Name).Exec(ctx)
		if err != nil {
			return fmt.Errorf("demo: giving %s's token to its OWNER: %w", p.Name, err)
		}
	}
	return nil
}
