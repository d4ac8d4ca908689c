package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// api is a client of a real Channelgraph HTTP server, with the setup steps
// this package's tests share.
type api struct{ *testapi.Client }

func newAPI(tb testing.TB, db *bun.DB) *api { return &api{testapi.New(tb, db)} }

// newServer starts a server on db (see testapi.Start) and returns a client
// for it.
func newServer(tb testing.TB, db *bun.DB, cfg server.Config) (*api, *server.Server) {
	c, app := testapi.Start(tb, db, cfg)
	return &api{c}, app
}

type orgRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// MustOrg creates an organization as the platform administrator.
func (a *api) MustOrg(name string, kind domain.OrganizationKind) (gid string, id int64) {
	a.TB.Helper()
	var out struct {
		CreateOrganization struct{ Organization orgRef } `json:"createOrganization"`
	}
	a.Must(testapi.AdminToken, `mutation($in: CreateOrganizationInput!) { createOrganization(input: $in) { organization { id name } } }`,
		map[string]any{"in": map[string]any{"name": name, "kind": kind}}, &out)
	gid = out.CreateOrganization.Organization.ID
	return gid, rowID(a.TB, gid)
}

// MustEdge creates an ACTIVE edge as the platform administrator, with the
// purchase-order view grant set as asked.
func (a *api) MustEdge(up, down string, view bool) string {
	a.TB.Helper()
	var out struct {
		CreateChannelEdge struct {
			ChannelEdge struct{ ID string }
			UserErrors  []map[string]any
		} `json:"createChannelEdge"`
	}
	a.Must(testapi.AdminToken, `mutation($in: CreateChannelEdgeInput!) { createChannelEdge(input: $in) { channelEdge { id } userErrors { field message code } } }`,
		map[string]any{"in": map[string]any{"upstreamId": up, "downstreamId": down}}, &out)
	if len(out.CreateChannelEdge.UserErrors) > 0 {
		a.TB.Fatalf("createChannelEdge: %v", out.CreateChannelEdge.UserErrors)
	}
	id := out.CreateChannelEdge.ChannelEdge.ID
	if view {
		a.MustSetView(testapi.AdminToken, id, true)
	}
	return id
}

func (a *api) MustSetView(token, edge string, on bool) {
	a.TB.Helper()
	var out struct {
		SetPurchaseOrderView struct{ UserErrors []map[string]any } `json:"setPurchaseOrderView"`
	}
	a.Must(token, `mutation($in: SetPurchaseOrderViewInput!) { setPurchaseOrderView(input: $in) { userErrors { field message code } } }`,
		map[string]any{"in": map[string]any{"channelEdgeId": edge, "enabled": on}}, &out)
	if len(out.SetPurchaseOrderView.UserErrors) > 0 {
		a.TB.Fatalf("setPurchaseOrderView: %v", out.SetPurchaseOrderView.UserErrors)
	}
}

// MustProduct creates a product of a vendor as the platform administrator.
func (a *api) MustProduct(vendor, sku string) {
	a.TB.Helper()
	a.Must(testapi.AdminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } } }`,
		map[string]any{"in": map[string]any{"vendorId": vendor, "sku": sku, "name": sku, "type": "LICENSE"}}, nil)
}

// order is the createPurchaseOrder input with the fields tests vary.
type order struct {
	Number, Vendor, Customer, Reseller, Distributor string
	Draft                                           bool
	Key                                             string
}

func (o order) input() map[string]any {
	in := map[string]any{"number": o.Number, "vendorId": o.Vendor, "customerId": o.Customer,
		"lines": []map[string]any{{"sku": "SKU-1", "quantity": 2}}, "draft": o.Draft}
	if o.Reseller != "" {
		in["resellerId"] = o.Reseller
	}
	if o.Distributor != "" {
		in["distributorId"] = o.Distributor
	}
	if o.Key != "" {
		in["idempotencyKey"] = o.Key
	}
	return in
}

type orderPayload struct {
	CreatePurchaseOrder struct {
		PurchaseOrder *struct {
			ID     string
			Status string
		}
		UserErrors []struct{ Field, Message, Code string }
	} `json:"createPurchaseOrder"`
}

const createOrderMutation = `mutation($in: CreatePurchaseOrderInput!) { createPurchaseOrder(input: $in) {
	purchaseOrder { id status } userErrors { field message code } } }`

// createOrder records an order as token and returns the payload.
func (a *api) createOrder(token string, o order) *orderPayload {
	a.TB.Helper()
	var out orderPayload
	a.Must(token, createOrderMutation, map[string]any{"in": o.input()}, &out)
	return &out
}

func rowID(tb testing.TB, gid string) int64 { return testapi.RowID(tb, gid) }

func gidOf(typeName string, id int64) string { return relay.GlobalID(typeName, id) }

func describe(v any) string { return testapi.Describe(v) }

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

func readAll(tb testing.TB, res *http.Response) string {
	tb.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
