// Package channel manages the channel graph (SPEC §1.1, §1.5, §2):
// organizations and the edges that join them, with the purchaseOrderView
// grant each edge carries.
package channel

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/policy"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Service manages organizations and channel edges.
type Service struct {
	db *bun.DB
	// Now is the clock that stamps organizations and edge changes.
	Now func() time.Time
}

// New returns a Service on db, on the system clock.
func New(db *bun.DB) *Service { return &Service{db: db, Now: clock.System{}.Now} }

// CreateOrganizationInput is what createOrganization takes.
type CreateOrganizationInput struct {
	Name     string
	Kind     domain.OrganizationKind
	Country  string
	Industry string
	Segment  string
}

var (
	countryCode = regexp.MustCompile(`^[A-Z]{2}$`)
	segments    = map[string]bool{"": true, "COMMERCIAL": true, "EDUCATION": true, "GOVERNMENT": true, "NONPROFIT": true}
)

func (in *CreateOrganizationInput) validate() error {
	in.Name = strings.TrimSpace(in.Name)
	in.Country = strings.ToUpper(strings.TrimSpace(in.Country))
	in.Industry = strings.TrimSpace(in.Industry)
	switch {
	case in.Name == "" || len(in.Name) > 200:
		return domain.FieldErrorf(domain.CodeInvalid, "name", "name must be 1 to 200 characters")
	case !in.Kind.Valid():
		return domain.FieldErrorf(domain.CodeInvalid, "kind", "kind must be VENDOR, DISTRIBUTOR, RESELLER or CUSTOMER")
	case in.Country != "" && !countryCode.MatchString(in.Country):
		return domain.FieldErrorf(domain.CodeInvalid, "country", "country must be an ISO 3166-1 alpha-2 code such as DE")
	case len(in.Industry) > 100:
		return domain.FieldErrorf(domain.CodeInvalid, "industry", "industry must be at most 100 characters")
	case !segments[in.Segment]:
		return domain.FieldErrorf(domain.CodeInvalid, "segment", "segment must be COMMERCIAL, EDUCATION, GOVERNMENT or NONPROFIT")
	case in.Kind != domain.KindCustomer && (in.Industry != "" || in.Segment != ""):
		return domain.FieldErrorf(domain.CodeInvalid, "industry", "only customers have an industry and segment")
	}
	return nil
}

// CreateOrganization creates an organization. A platform administrator may
// create any; a partner's OWNER or ADMIN_AGENT may create one of a kind it
// can sell to, which joins its channel at once by an ACTIVE edge from the
// partner (there is nobody yet on the other side to accept an invitation).
func (s *Service) CreateOrganization(ctx context.Context, in CreateOrganizationInput) (*domain.Organization, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := policy.MayWithRole(viewer, "creating organizations", policy.Managers); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	if err := policy.MayCreateOrganization(viewer, in.Kind); err != nil {
		return nil, err
	}
	now := s.Now()
	org := &domain.Organization{Name: in.Name, Kind: in.Kind, Country: in.Country,
		Industry: in.Industry, Segment: in.Segment, CreatedAt: now}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewInsert().Model(org).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("channel: storing organization: %w", err)
		}
		if viewer.IsPlatformAdmin {
			return nil
		}
		// Nobody is on the other side yet to accept an invitation: the
		// creator's edge to its new organization is ACTIVE at once.
		_, err := insertEdge(ctx, tx, viewer.OrganizationID, org.ID, domain.EdgeActive, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return org, nil
}

// Organization returns an organization the viewer may see.
func (s *Service) Organization(ctx context.Context, id int64) (*domain.Organization, error) {
	found, err := s.VisibleOrganizations(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if org, ok := found[id]; ok {
		return org, nil
	}
	return nil, domain.NotFound("organization")
}

// VisibleOrganizations loads, in one query, those of ids that the viewer
// may see (SPEC §1.5); the others are missing from the map.
func (s *Service) VisibleOrganizations(ctx context.Context, ids []int64) (map[int64]*domain.Organization, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var orgs []domain.Organization
	if len(ids) > 0 {
		q := database.Conn(ctx, s.db).NewSelect().Model(&orgs).Where("o.id IN (?)", database.IDs(ids))
		if err := visibility.RestrictOrganizations(q, viewer, "o.id").Scan(ctx); err != nil {
			return nil, fmt.Errorf("channel: reading organizations: %w", err)
		}
	}
	out := make(map[int64]*domain.Organization, len(orgs))
	for i := range orgs {
		out[orgs[i].ID] = &orgs[i]
	}
	return out, nil
}

// TrustedOrganizationsByID loads organizations by id WITHOUT a visibility
// check: the caller vouches that the viewer may see each of them. Only for
// the parties of an object the viewer was already allowed to see: SPEC §1.5
// makes the parties of a visible purchase order (its distributor already
// masked for a customer) and both ends of a visible edge visible. Anything
// else goes through VisibleOrganizations.
func (s *Service) TrustedOrganizationsByID(ctx context.Context, ids []int64) (map[int64]*domain.Organization, error) {
	var orgs []domain.Organization
	if len(ids) > 0 {
		db := database.Conn(ctx, s.db)
		bound, byID := database.BindIn(ctx, db, "o.id", ids)
		if err := db.NewSelect().Model(&orgs).Where("?", byID).Scan(bound); err != nil {
			return nil, fmt.Errorf("channel: reading organizations: %w", err)
		}
	}
	out := make(map[int64]*domain.Organization, len(orgs))
	for i := range orgs {
		out[orgs[i].ID] = &orgs[i]
	}
	return out, nil
}

// OrganizationFilter narrows the organizations list.
type OrganizationFilter struct {
	Kind   *domain.OrganizationKind
	Search string
}

// organizationsOrder is the organizations list's order: by name, then id.
var organizationsOrder = relay.Keyset{List: "organizations", Columns: []string{"o.name", "o.id"}}

// Organizations lists the organizations the viewer may see (SPEC §1.5), by
// name, a page of it either way.
func (s *Service) Organizations(ctx context.Context, f OrganizationFilter, page relay.Page) (*relay.Connection[*domain.Organization], error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if len(f.Search) > 200 {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "filter.search", "search must be at most 200 characters")
	}
	filtered := func(q *bun.SelectQuery) *bun.SelectQuery {
		q = visibility.RestrictOrganizations(q, viewer, "o.id")
		if f.Kind != nil {
			q = q.Where("o.kind = ?", *f.Kind)
		}
		if f.Search != "" {
			q = q.Where("LOWER(o.name) LIKE ? ESCAPE '\\'", database.ContainsPattern(f.Search))
		}
		return q
	}
	q, err := page.Seek(filtered(database.Conn(ctx, s.db).NewSelect()), organizationsOrder,
		func() []any { return []any{new(string), new(int64)} })
	if err != nil {
		return nil, err
	}
	var orgs []*domain.Organization
	if err := q.Model(&orgs).OrderExpr(page.OrderBy(organizationsOrder)).Limit(page.Limit()).Scan(ctx); err != nil {
		return nil, fmt.Errorf("channel: listing organizations: %w", err)
	}
	cursor := func(o *domain.Organization) string { return relay.Cursor("organizations", o.Name, o.ID) }
	return relay.NewConnection(page, orgs, cursor, func(ctx context.Context) (int, error) {
		n, err := filtered(database.Conn(ctx, s.db).NewSelect().TableExpr("organizations AS o")).Count(ctx)
		return int(n), err
	}), nil
}
