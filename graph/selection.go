package graph

import (
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

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
