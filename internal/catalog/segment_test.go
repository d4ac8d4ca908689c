package catalog_test

import (
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestOrganizationSegment: a customer's segment is the Segment enum (SPEC
// §8.2) in createOrganization and on Organization; a value outside it is
// refused before anything runs, and only customers have one.
func TestOrganizationSegment(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		const create = `mutation($in: CreateOrganizationInput!) { createOrganization(input: $in) {
			organization { segment } userErrors { field code } } }`
		type result struct {
			CreateOrganization struct {
				Organization *struct{ Segment *string }
				UserErrors   []userError
			}
		}
		var out result
		a.Must(testapi.AdminToken, create, map[string]any{"in": map[string]any{"name": "School", "kind": "CUSTOMER", "segment": "EDUCATION"}}, &out)
		if o := out.CreateOrganization.Organization; o == nil || o.Segment == nil || *o.Segment != "EDUCATION" {
			t.Errorf("a customer's segment: %s", testapi.Describe(out))
		}
		out = result{}
		a.Must(testapi.AdminToken, create, map[string]any{"in": map[string]any{"name": "Shop", "kind": "CUSTOMER"}}, &out)
		if o := out.CreateOrganization.Organization; o == nil || o.Segment != nil {
			t.Errorf("a customer without a segment: %s", testapi.Describe(out))
		}
		out = result{}
		a.Must(testapi.AdminToken, create, map[string]any{"in": map[string]any{"name": "Reseller", "kind": "RESELLER", "segment": "COMMERCIAL"}}, &out)
		if got := fields(out.CreateOrganization.UserErrors); got != "industry:BAD_USER_INPUT" {
			t.Errorf("a reseller with a segment: %q", got)
		}
		res := a.Do(testapi.AdminToken, create, map[string]any{"in": map[string]any{"name": "X", "kind": "CUSTOMER", "segment": "education"}})
		if len(res.Errors) == 0 {
			t.Errorf("a segment outside the enum was accepted: %s", res.Data)
		}
		var list struct{ Organizations struct{ TotalCount int } }
		a.Must(testapi.AdminToken, `{ organizations { totalCount } }`, nil, &list)
		if list.Organizations.TotalCount != 2 {
			t.Errorf("%d organizations, want the 2 accepted", list.Organizations.TotalCount)
		}
	})
}
