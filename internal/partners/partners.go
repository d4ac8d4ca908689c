// Package partners answers a customer's partner relationships view (SPEC
// §8.6): every partner with the channel edges and delegated admin
// privileges joining it to the customer.
package partners

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// Service reads the view.
type Service struct {
	db *bun.DB
}

// New returns a Service on db.
func New(db *bun.DB) *Service { return &Service{db: db} }

// Relationship is one partner of a customer: the channel edges from it to
// the customer and the privileges it holds or requested over the
// customer's services, each newest first.
type Relationship struct {
	PartnerID       int64
	ChannelEdges    []*domain.ChannelEdge
	DelegatedAdmins []*domain.DelegatedAdmin
}

// Of lists the partners of customer — every organization with a channel
// edge to it (removed ones included) or a delegated admin privilege over
// it — as the viewer may read them (visibility.RestrictPartnerView: the
// customer itself and the platform administrator; nothing for anyone
// else, and nothing for an organization that is not a customer). Two
// statements, whatever the number of partners; partners come in order of
// their latest edge or privilege, newest first.
func (s *Service) Of(ctx context.Context, customer *domain.Organization) ([]*Relationship, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if customer.Kind != domain.KindCustomer {
		return []*Relationship{}, nil // the view is defined for customers only
	}
	db := database.Conn(ctx, s.db)
	var edges []*domain.ChannelEdge
	q := db.NewSelect().Model(&edges).Where("e.downstream_id = ?", customer.ID)
	if err := visibility.RestrictPartnerView(q, viewer, "e.downstream_id").
		Order("e.created_at DESC", "e.id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("partners: reading channel edges: %w", err)
	}
	var admins []*domain.DelegatedAdmin
	q = db.NewSelect().Model(&admins).Where("da.customer_id = ?", customer.ID)
	if err := visibility.RestrictPartnerView(q, viewer, "da.customer_id").
		Order("da.created_at DESC", "da.id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("partners: reading delegated admins: %w", err)
	}
	return group(edges, admins), nil
}

// group gathers rows already newest first by partner, keeping that order
// within each partner and ordering partners by their newest row.
func group(edges []*domain.ChannelEdge, admins []*domain.DelegatedAdmin) []*Relationship {
	byPartner := map[int64]*Relationship{}
	latest := map[int64]int64{} // a partner's newest row's time, in Unix nanoseconds
	of := func(id int64, at int64) *Relationship {
		r, ok := byPartner[id]
		if !ok {
			r = &Relationship{PartnerID: id, ChannelEdges: []*domain.ChannelEdge{}, DelegatedAdmins: []*domain.DelegatedAdmin{}}
			byPartner[id] = r
		}
		latest[id] = max(latest[id], at)
		return r
	}
	for _, e := range edges {
		r := of(e.UpstreamID, e.CreatedAt.UnixNano())
		r.ChannelEdges = append(r.ChannelEdges, e)
	}
	for _, d := range admins {
		r := of(d.PartnerID, d.CreatedAt.UnixNano())
		r.DelegatedAdmins = append(r.DelegatedAdmins, d)
	}
	out := make([]*Relationship, 0, len(byPartner))
	for _, r := range byPartner {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Relationship) int {
		if c := cmp.Compare(latest[b.PartnerID], latest[a.PartnerID]); c != 0 {
			return c
		}
		return cmp.Compare(a.PartnerID, b.PartnerID)
	})
	return out
}
