package server_test

import (
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/testapi"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// TestListPriceOnlyForTheVendorAndItsDirectDownstream: a vendor's list price
// is what its direct partners pay it (SPEC §4.2, §8.3). The vendor and the
// organizations joined to it by an ACTIVE edge read it; an anonymous caller
// of the public catalog, a partner further down the chain, the customer of
// an indirect sale and a partner whose edge was removed read null — through
// product(id) and through an order's lines alike.
func TestListPriceOnlyForTheVendorAndItsDirectDownstream(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		a := newAPI(t, db)
		vendor, vendorID := a.MustOrg("Vendor", domain.KindVendor)
		dist, distID := a.MustOrg("Distributor", domain.KindDistributor)
		reseller, resellerID := a.MustOrg("Indirect reseller", domain.KindReseller)
		direct, directID := a.MustOrg("Direct reseller", domain.KindReseller)
		customer, customerID := a.MustOrg("Indirect customer", domain.KindCustomer)
		directCustomer, directCustomerID := a.MustOrg("Direct customer", domain.KindCustomer)
		removed, removedID := a.MustOrg("Removed reseller", domain.KindReseller)
		a.MustEdge(vendor, dist, false)
		a.MustEdge(dist, reseller, true)
		a.MustEdge(reseller, customer, true)
		a.MustEdge(vendor, direct, false)
		a.MustEdge(vendor, directCustomer, false)
		gone := a.MustEdge(vendor, removed, false)
		a.Must(testapi.AdminToken, `mutation($in: RemoveChannelEdgeInput!) { removeChannelEdge(input: $in) { userErrors { code } } }`,
			map[string]any{"in": map[string]any{"channelEdgeId": gone, "reason": "ended", "acknowledgeNotice": true}}, nil)
		var created struct {
			CreateProduct struct{ Product struct{ ID string } }
		}
		a.Must(testapi.AdminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } } }`,
			map[string]any{"in": map[string]any{"vendorId": vendor, "sku": "SKU-1", "name": "Seat", "type": "LICENSE",
				"listPrice": map[string]any{"amount": "10.5", "currency": "EUR"}}}, &created)
		product := created.CreateProduct.Product.ID
		var placed orderPayload
		a.Must(testapi.AdminToken, createOrderMutation, map[string]any{"in": order{Number: "PO-1", Vendor: vendor,
			Customer: customer, Reseller: reseller, Distributor: dist}.input()}, &placed)

		cases := []struct {
			name  string
			token string
			sees  bool
		}{
			{"anonymous", "", false},
			{"the vendor", a.MustToken(vendorID, domain.RoleViewer), true},
			{"its distributor", a.MustToken(distID, domain.RoleOwner), true},
			{"its direct reseller", a.MustToken(directID, domain.RoleOwner), true},
			{"its direct customer", a.MustToken(directCustomerID, domain.RoleOwner), true},
			{"the distributor's reseller", a.MustToken(resellerID, domain.RoleOwner), false},
			{"the indirect customer", a.MustToken(customerID, domain.RoleOwner), false},
			{"a reseller whose edge was removed", a.MustToken(removedID, domain.RoleOwner), false},
			{"the platform administrator", testapi.AdminToken, true},
		}
		for _, c := range cases {
			var out struct {
				Product struct {
					ListPrice *struct{ Amount, Currency string }
				}
			}
			a.Must(c.token, `query($id: ID!) { product(id: $id) { listPrice { amount currency } } }`, map[string]any{"id": product}, &out)
			if got := out.Product.ListPrice; (got != nil) != c.sees || (got != nil && (got.Amount != "10.50" || got.Currency != "EUR")) {
				t.Errorf("%s reads listPrice %+v; sees: %v", c.name, got, c.sees)
			}
			if c.token == "" {
				continue
			}
			var orders struct {
				PurchaseOrders struct {
					Edges []struct {
						Node struct {
							Lines []struct {
								Product struct {
									ListPrice *struct{ Amount string }
								}
							}
						}
					}
				}
			}
			a.Must(c.token, `{ purchaseOrders { edges { node { lines { product { listPrice { amount } } } } } } }`, nil, &orders)
			for _, e := range orders.PurchaseOrders.Edges {
				for _, l := range e.Node.Lines {
					if (l.Product.ListPrice != nil) != c.sees {
						t.Errorf("%s reads an order line's listPrice %+v; sees: %v", c.name, l.Product.ListPrice, c.sees)
					}
				}
			}
		}
	})
}
