package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// selects reports whether the operation selects the field at path below
// the field being resolved (fragments included).
func selects(ctx context.Context, path ...string) bool {
	_, found := below(graphql.GetOperationContext(ctx), graphql.GetFieldContext(ctx).Field.Selections, path...)
	return found
}

// below returns what the operation selects at path below set, and whether
// it selects that path at all.
func below(rc *graphql.OperationContext, set ast.SelectionSet, path ...string) (ast.SelectionSet, bool) {
	for _, name := range path {
		var next ast.SelectionSet
		found := false
		for _, f := range graphql.CollectFields(rc, set, selectableTypes) {
			if f.Name == name {
				next, found = append(next, f.Selections...), true
			}
		}
		if !found {
			return nil, false
		}
		set = next
	}
	return set, true
}

// selectableTypes are the type conditions selects and below look into.
var selectableTypes = []string{"PurchaseOrderConnection", "PurchaseOrderEdge", "PurchaseOrder", "PurchaseOrderLine", "Product",
	"OrganizationConnection", "OrganizationEdge", "Organization", "ChannelEdgeConnection", "ChannelEdgeEdge", "ChannelEdge", "Node"}
