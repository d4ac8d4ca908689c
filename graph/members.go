package graph

import (
	"context"

	"github.com/channelgraph/channelgraph/internal/domain"
)

// member loads a member the viewer may see, or null.
func (r *Resolver) member(ctx context.Context, id int64) (*domain.Member, error) {
	found, err := r.Members.MembersByID(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	return found[id], nil
}
