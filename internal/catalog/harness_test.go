package catalog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/testapi"
)

// api is a real server with helpers that build a catalog through its
// mutations, as the platform administrator.
type api struct{ *testapi.Client }

func newAPI(t *testing.T, db *bun.DB) api { return api{testapi.New(t, db)} }

// org creates an organization; industry and segment only for customers.
func (a api) org(name string, kind domain.OrganizationKind, industry, segment string) (string, int64) {
	a.TB.Helper()
	in := map[string]any{"name": name, "kind": kind}
	if industry != "" {
		in["industry"] = industry
	}
	if segment != "" {
		in["segment"] = segment
	}
	var out struct {
		CreateOrganization struct{ Organization struct{ ID string } }
	}
	a.Must(testapi.AdminToken, `mutation($in: CreateOrganizationInput!) { createOrganization(input: $in) { organization { id } } }`,
		map[string]any{"in": in}, &out)
	id := out.CreateOrganization.Organization.ID
	return id, testapi.RowID(a.TB, id)
}

// edge joins upstream to downstream by an ACTIVE edge.
func (a api) edge(upstream, downstream string) {
	a.TB.Helper()
	a.Must(testapi.AdminToken, `mutation($in: CreateChannelEdgeInput!) { createChannelEdge(input: $in) { channelEdge { id } } }`,
		map[string]any{"in": map[string]any{"upstreamId": upstream, "downstreamId": downstream}}, nil)
}

// product creates a product of vendor with sku as its name too, plus the
// given fields of CreateProductInput; it must succeed.
func (a api) product(vendor, sku string, fields map[string]any) (string, int64) {
	a.TB.Helper()
	res := a.createProduct(testapi.AdminToken, vendor, sku, fields)
	if len(res.UserErrors) > 0 || res.Product == nil {
		a.TB.Fatalf("createProduct %s: %+v", sku, res.UserErrors)
	}
	return res.Product.ID, testapi.RowID(a.TB, res.Product.ID)
}

type userError struct {
	Field, Code, Message string
}

type productOut struct {
	ID, SKU, Name, Description string
	Category                   *string
	Segments, Industries       []string
	Terms, BillingCycles       []string
	TrialDays                  *int
	Parent                     *struct{ ID string }
	AddOns                     []struct{ ID string }
	RecommendedPrice           *struct{ Amount, Currency string }
}

const productFields = `id sku name description category segments industries terms billingCycles trialDays
	parent { id } addOns { id } recommendedPrice { amount currency }`

type createProductResult struct {
	Product    *productOut
	UserErrors []userError
}

func (a api) createProduct(token, vendor, sku string, fields map[string]any) createProductResult {
	a.TB.Helper()
	in := map[string]any{"vendorId": vendor, "sku": sku, "name": sku, "type": "LICENSE"}
	for k, v := range fields {
		in[k] = v
	}
	var out struct{ CreateProduct createProductResult }
	a.Must(token, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { `+productFields+` } userErrors { field code message } } }`,
		map[string]any{"in": in}, &out)
	return out.CreateProduct
}

// productPage is one page of Query.products.
type productPage struct {
	Edges []struct {
		Cursor string
		Node   productOut
	}
	PageInfo struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	TotalCount int
}

func (p productPage) skus() []string {
	out := []string{}
	for _, e := range p.Edges {
		out = append(out, e.Node.SKU)
	}
	return out
}

// products reads one page of Query.products as token; args are its
// arguments as GraphQL variables (first, after, last, before, filter).
func (a api) products(token string, args map[string]any) productPage {
	a.TB.Helper()
	var out struct{ Products productPage }
	a.Must(token, `query($first: Int, $after: String, $last: Int, $before: String, $filter: ProductFilter) {
		products(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
			edges { cursor node { `+productFields+` } }
			pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
			totalCount } }`, args, &out)
	return out.Products
}

// allSKUs reads the whole list (first: 100) as token with filter.
func (a api) allSKUs(token string, filter map[string]any) []string {
	a.TB.Helper()
	page := a.products(token, map[string]any{"first": 100, "filter": filter})
	if page.TotalCount != len(page.Edges) {
		a.TB.Errorf("totalCount %d, but %d products listed (filter %v)", page.TotalCount, len(page.Edges), filter)
	}
	return page.skus()
}

func fields(errs []userError) string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field + ":" + e.Code
	}
	return strings.Join(out, " ")
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func gidOf(typeName string, id int64) string { return relay.GlobalID(typeName, id) }

func relayCursor(list string, values ...any) string { return relay.Cursor(list, values...) }
