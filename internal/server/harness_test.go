package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/auth"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/relay"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

const adminToken = "test-platform-admin-token-0123456789"

// onEveryDatabase runs fn on a fresh SQLite file and a fresh PostgreSQL
// database, in parallel.
func onEveryDatabase(t *testing.T, fn func(t *testing.T, db *bun.DB)) {
	t.Helper()
	testdb.OnEveryDatabase(t, fn)
}

// MustOpen opens and migrates a fresh database of the named kind.
func MustOpen(tb testing.TB, kind string) *bun.DB { return testdb.MustOpen(tb, kind) }

func openURL(tb testing.TB, url string) *bun.DB { return testdb.MustOpenURL(tb, url) }

// api is a client of a real Channelgraph HTTP server.
type api struct {
	tb  testing.TB
	url string
	db  *bun.DB
}

func newAPI(tb testing.TB, db *bun.DB) *api {
	a, _ := newServer(tb, db, server.Config{})
	return a
}

// newServer starts a server on db (cfg gets the test admin token, a quiet
// logger and, when unset, a fast provisioner) and returns a client for it.
func newServer(tb testing.TB, db *bun.DB, cfg server.Config) (*api, *server.Server) {
	cfg.AdminToken = adminToken
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	app, err := server.New(context.Background(), db, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	app.Start()
	srv := httptest.NewServer(app.Handler())
	tb.Cleanup(func() {
		srv.Close()
		app.Close()
	})
	return &api{tb: tb, url: srv.URL + "/graphql", db: db}, app
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

func (r *response) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// do posts a GraphQL request as token ("" for none).
func (a *api) do(token, query string, vars map[string]any) *response {
	a.tb.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return a.raw(token, "application/json", body)
}

func (a *api) raw(token, contentType string, body []byte) *response {
	a.tb.Helper()
	return a.post(nil, token, contentType, body)
}

// post sends body with header (nil for none) besides the content type and
// the bearer token ("" for none).
func (a *api) post(header http.Header, token, contentType string, body []byte) *response {
	a.tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.url, bytes.NewReader(body))
	if header != nil {
		req.Header = header.Clone()
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.tb.Fatal(err)
	}
	defer res.Body.Close()
	out := &response{Status: res.StatusCode}
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, out); err != nil {
		a.tb.Fatalf("response is not JSON (%d): %s", res.StatusCode, raw)
	}
	return out
}

// must posts a request that must succeed, and decodes its data into dst.
func (a *api) must(token, query string, vars map[string]any, dst any) {
	a.tb.Helper()
	res := a.do(token, query, vars)
	if len(res.Errors) > 0 || res.Status != http.StatusOK {
		a.tb.Fatalf("request failed (%d): %+v\nquery: %s\nvars: %v", res.Status, res.Errors, query, vars)
	}
	if dst != nil {
		if err := json.Unmarshal(res.Data, dst); err != nil {
			a.tb.Fatal(err)
		}
	}
}

// MustToken issues an API token for an organization (by row id).
func (a *api) MustToken(orgID int64, role domain.Role) string {
	a.tb.Helper()
	token, err := auth.IssueForSetup(context.Background(), a.db, orgID, role, "test")
	if err != nil {
		a.tb.Fatal(err)
	}
	return token
}

type orgRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// MustOrg creates an organization as the platform administrator.
func (a *api) MustOrg(name string, kind domain.OrganizationKind) (gid string, id int64) {
	a.tb.Helper()
	var out struct {
		CreateOrganization struct{ Organization orgRef } `json:"createOrganization"`
	}
	a.must(adminToken, `mutation($in: CreateOrganizationInput!) { createOrganization(input: $in) { organization { id name } } }`,
		map[string]any{"in": map[string]any{"name": name, "kind": kind}}, &out)
	gid = out.CreateOrganization.Organization.ID
	return gid, rowID(a.tb, gid)
}

// MustEdge creates an ACTIVE edge as the platform administrator, with the
// purchase-order view grant set as asked.
func (a *api) MustEdge(up, down string, view bool) string {
	a.tb.Helper()
	var out struct {
		CreateChannelEdge struct {
			ChannelEdge struct{ ID string }
			UserErrors  []map[string]any
		} `json:"createChannelEdge"`
	}
	a.must(adminToken, `mutation($in: CreateChannelEdgeInput!) { createChannelEdge(input: $in) { channelEdge { id } userErrors { field message code } } }`,
		map[string]any{"in": map[string]any{"upstreamId": up, "downstreamId": down}}, &out)
	if len(out.CreateChannelEdge.UserErrors) > 0 {
		a.tb.Fatalf("createChannelEdge: %v", out.CreateChannelEdge.UserErrors)
	}
	id := out.CreateChannelEdge.ChannelEdge.ID
	if view {
		a.MustSetView(adminToken, id, true)
	}
	return id
}

func (a *api) MustSetView(token, edge string, on bool) {
	a.tb.Helper()
	var out struct {
		SetPurchaseOrderView struct{ UserErrors []map[string]any } `json:"setPurchaseOrderView"`
	}
	a.must(token, `mutation($in: SetPurchaseOrderViewInput!) { setPurchaseOrderView(input: $in) { userErrors { field message code } } }`,
		map[string]any{"in": map[string]any{"channelEdgeId": edge, "enabled": on}}, &out)
	if len(out.SetPurchaseOrderView.UserErrors) > 0 {
		a.tb.Fatalf("setPurchaseOrderView: %v", out.SetPurchaseOrderView.UserErrors)
	}
}

// MustProduct creates a product of a vendor as the platform administrator.
func (a *api) MustProduct(vendor, sku string) {
	a.tb.Helper()
	a.must(adminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } } }`,
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
	a.tb.Helper()
	var out orderPayload
	a.must(token, createOrderMutation, map[string]any{"in": o.input()}, &out)
	return &out
}

func rowID(tb testing.TB, gid string) int64 {
	tb.Helper()
	_, id, err := relay.ParseGlobalID(gid)
	if err != nil {
		tb.Fatalf("bad global id %q: %v", gid, err)
	}
	return id
}

func gidOf(typeName string, id int64) string { return relay.GlobalID(typeName, id) }

func describe(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return strings.TrimSpace(string(b))
}

var _ = fmt.Sprintf

func issueToken(db *bun.DB, org int64) (string, error) {
	return auth.IssueForSetup(context.Background(), db, org, domain.RoleOwner, "test")
}

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

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
