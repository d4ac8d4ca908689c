package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

func TestAuthentication(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		vendor, vendorID := a.MustOrg("Vendor", domain.KindVendor)
		other, otherID := a.MustOrg("Other vendor", domain.KindVendor)
		a.MustProduct(vendor, "SKU-1")
		owner := a.MustToken(vendorID, domain.RoleOwner)

		t.Run("no token: only the public catalog answers", func(t *testing.T) {
			res := a.Do("", `{ viewer { isPlatformAdmin } }`, nil)
			if res.Code() != "UNAUTHENTICATED" {
				t.Fatalf("viewer without a token: %+v", res.Errors)
			}
			res = a.Do("", `{ purchaseOrders { totalCount } }`, nil)
			if res.Code() != "UNAUTHENTICATED" {
				t.Fatalf("purchaseOrders without a token: %+v", res.Errors)
			}
			var out struct{ Product struct{ SKU string } }
			a.Must("", `{ product(id: "`+gidOf("Product", 1)+`") { sku } }`, nil, &out)
			if out.Product.SKU != "SKU-1" {
				t.Fatalf("public product: %+v", out)
			}
		})

		t.Run("bad tokens are refused with 401", func(t *testing.T) {
			for _, header := range []string{"Bearer nope", "Bearer cgt_" + strings.Repeat("a", 52), "Basic abc", "Bearer", "Bearer " + strings.Repeat("x", 300)} {
				req, _ := http.NewRequest(http.MethodPost, a.URL, strings.NewReader(`{"query":"{ viewer { isPlatformAdmin } }"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", header)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusUnauthorized {
					t.Errorf("%q: status %d, want 401", header, res.StatusCode)
				}
			}
		})

		t.Run("viewer", func(t *testing.T) {
			var out struct {
				Viewer struct {
					Organization    *orgRef
					Role            *string
					IsPlatformAdmin bool
				}
			}
			a.Must(owner, `{ viewer { organization { id name } role isPlatformAdmin } }`, nil, &out)
			if out.Viewer.Organization == nil || out.Viewer.Organization.ID != vendor || *out.Viewer.Role != "OWNER" || out.Viewer.IsPlatformAdmin {
				t.Fatalf("viewer: %+v", out.Viewer)
			}
			a.Must(testapi.AdminToken, `{ viewer { organization { id } role isPlatformAdmin } }`, nil, &out)
			if out.Viewer.Organization != nil || out.Viewer.Role != nil || !out.Viewer.IsPlatformAdmin {
				t.Fatalf("admin viewer: %+v", out.Viewer)
			}
		})

		t.Run("create, use and revoke a token", func(t *testing.T) {
			var out struct {
				CreateApiToken struct {
					Token    *string
					ApiToken struct{ ID, Prefix, Role string }
				}
			}
			a.Must(owner, `mutation($in: CreateApiTokenInput!) { createApiToken(input: $in) { token apiToken { id prefix role } } }`,
				map[string]any{"in": map[string]any{"organizationId": vendor, "role": "VIEWER", "name": "dashboard"}}, &out)
			token := *out.CreateApiToken.Token
			if !strings.HasPrefix(token, "cgt_") || !strings.HasPrefix(token, out.CreateApiToken.ApiToken.Prefix) {
				t.Fatalf("token %q, prefix %q", token, out.CreateApiToken.ApiToken.Prefix)
			}
			var stored int
			if err := db.NewSelect().TableExpr("api_tokens").ColumnExpr("count(*)").Where("secret_hash = ? OR prefix = ?", token, token).Scan(context.Background(), &stored); err != nil || stored != 0 {
				t.Fatalf("the secret is stored in clear (%d rows, %v)", stored, err)
			}
			var v struct{ Viewer struct{ Role string } }
			a.Must(token, `{ viewer { role } }`, nil, &v)
			if v.Viewer.Role != "VIEWER" {
				t.Fatalf("role %q", v.Viewer.Role)
			}
			// A VIEWER may not create tokens or organizations.
			if res := a.Do(token, `mutation { createApiToken(input: {organizationId: "`+vendor+`", role: OWNER, name: "x"}) { token } }`, nil); res.Code() != "FORBIDDEN" {
				t.Fatalf("viewer creating a token: %+v", res.Errors)
			}
			a.Must(owner, `mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } } }`,
				map[string]any{"id": out.CreateApiToken.ApiToken.ID}, nil)
			if res := a.Do(token, `{ viewer { role } }`, nil); res.Status != http.StatusUnauthorized || res.Code() != "UNAUTHENTICATED" {
				t.Fatalf("revoked token: %d %+v", res.Status, res.Errors)
			}
		})

		t.Run("expired tokens are refused", func(t *testing.T) {
			token := a.MustToken(vendorID, domain.RoleViewer)
			if _, err := db.NewUpdate().TableExpr("api_tokens").Set("expires_at = ?", clock.System{}.Now().Add(-time.Minute)).
				Where("id = (SELECT max(id) FROM api_tokens)").Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
			if res := a.Do(token, `{ viewer { role } }`, nil); res.Status != http.StatusUnauthorized {
				t.Fatalf("expired token: %d %+v", res.Status, res.Errors)
			}
			res := a.Do(owner, `mutation { createApiToken(input: {organizationId: "`+vendor+`", role: VIEWER, name: "x", expiresAt: "2001-01-01T00:00:00Z"}) { userErrors { field code } } }`, nil)
			if !strings.Contains(string(res.Data), `"field":"expiresAt"`) {
				t.Fatalf("expiry in the past: %s %+v", res.Data, res.Errors)
			}
		})

		t.Run("tokens of another organization", func(t *testing.T) {
			res := a.Do(owner, `mutation { createApiToken(input: {organizationId: "`+other+`", role: OWNER, name: "x"}) { token } }`, nil)
			if res.Code() != "NOT_FOUND" {
				t.Fatalf("token for another organization: %+v", res.Errors)
			}
			a.MustToken(otherID, domain.RoleOwner)
			var last int64
			_ = db.NewSelect().TableExpr("api_tokens").ColumnExpr("max(id)").Scan(context.Background(), &last)
			res = a.Do(owner, `mutation { revokeApiToken(input: {id: "`+gidOf("ApiToken", last)+`"}) { apiToken { id } } }`, nil)
			if res.Code() != "NOT_FOUND" {
				t.Fatalf("revoking another organization's token: %+v", res.Errors)
			}
		})
	})
}
