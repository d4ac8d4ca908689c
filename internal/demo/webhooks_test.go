package demo_test

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/demo"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/server"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestDemoWebhookEndpoint: the demo's endpoint is Northwind's, PAUSED, at
// README's receiver, and its operation passes the checks registration makes
// (it is stored directly, before any server exists).
func TestDemoWebhookEndpoint(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		if _, err := demo.Load(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		var vendor domain.Organization
		if err := db.NewSelect().Model(&vendor).Where("o.name = ?", "Northwind Systems").Scan(context.Background()); err != nil {
			t.Fatal(err)
		}
		// As `make run` serves the demo: private targets allowed.
		api, _ := testapi.Start(t, db, server.Config{Webhooks: server.WebhookConfig{AllowPrivate: true}})
		owner := api.MustToken(vendor.ID, domain.RoleOwner)
		var read struct {
			Viewer struct {
				Organization struct {
					WebhookEndpoints struct {
						Edges []struct {
							Node struct{ ID, URL, Operation, Status, EventType string }
						}
					}
				}
			}
		}
		api.Must(owner, `{ viewer { organization { webhookEndpoints { edges { node { id url operation status eventType } } } } } }`, nil, &read)
		edges := read.Viewer.Organization.WebhookEndpoints.Edges
		if len(edges) != 1 {
			t.Fatalf("Northwind has %d webhook endpoints, want 1", len(edges))
		}
		ep := edges[0].Node
		if ep.URL != demo.DemoWebhookURL || ep.Operation != demo.DemoWebhookOperation || ep.Status != "PAUSED" || ep.EventType != "purchaseOrderUpdated" {
			t.Fatalf("the demo's endpoint is %+v", ep)
		}
		var changed struct {
			UpdateWebhookEndpoint struct{ UserErrors []testapi.GQLError }
		}
		// The operation and URL checked as registration checks them.
		api.Must(owner, `mutation($id: ID!, $op: String!, $url: String!) { updateWebhookEndpoint(input: {id: $id, operation: $op, url: $url}) {
			userErrors { field message } } }`, map[string]any{"id": ep.ID, "op": ep.Operation, "url": ep.URL}, &changed)
		if len(changed.UpdateWebhookEndpoint.UserErrors) > 0 {
			t.Fatalf("the demo's endpoint does not pass registration's checks: %+v", changed.UpdateWebhookEndpoint.UserErrors)
		}
	})
}
