package orders_test

import (
	"context"
	"errors"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/catalog"
	"github.com/channelgraph/channelgraph/internal/channel"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/orders"
	"github.com/channelgraph/channelgraph/internal/tenants"
	"github.com/channelgraph/channelgraph/internal/testdb"
)

// directSale is a vendor selling straight to a customer, with one product.
type directSale struct {
	vendor, customer int64
}

func mustDirectSale(t *testing.T, db *bun.DB) directSale {
	t.Helper()
	admin := domain.WithViewer(context.Background(), &domain.Viewer{IsPlatformAdmin: true})
	ch := channel.New(db)
	vendor, err := ch.CreateOrganization(admin, channel.CreateOrganizationInput{Name: "Vendor", Kind: domain.KindVendor})
	if err != nil {
		t.Fatal(err)
	}
	customer, err := ch.CreateOrganization(admin, channel.CreateOrganizationInput{Name: "Customer", Kind: domain.KindCustomer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.CreateChannelEdge(admin, vendor.ID, customer.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := catalog.New(db).CreateProduct(admin, catalog.CreateProductInput{VendorID: vendor.ID, SKU: "SKU-1", Name: "Seat", Type: domain.ProductLicense}); err != nil {
		t.Fatal(err)
	}
	return directSale{vendor: vendor.ID, customer: customer.ID}
}

func count(t *testing.T, db *bun.DB, table string) int {
	t.Helper()
	n, err := db.NewSelect().TableExpr(table).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestOperationsComposeInOneTransaction: placing an order and creating a
// tenant, each a domain operation with its own event, run inside one
// transaction commit together — and roll back together, leaving no order,
// tenant, visibility row or event behind.
func TestOperationsComposeInOneTransaction(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		sale := mustDirectSale(t, db)
		ord, ten := orders.New(db), tenants.New(db)
		vendor := domain.WithViewer(context.Background(),
			&domain.Viewer{OrganizationID: sale.vendor, Kind: domain.KindVendor, Role: domain.RoleOwner})
		eventsBefore := count(t, db, "events")
		both := func(ctx context.Context, number, tenantDomain string) error {
			if _, err := ord.CreatePurchaseOrder(ctx, orders.CreateInput{Number: number, VendorID: sale.vendor,
				CustomerID: sale.customer, Lines: []orders.LineInput{{SKU: "SKU-1", Quantity: 3}}}); err != nil {
				return err
			}
			_, err := ten.Create(ctx, sale.customer, tenantDomain)
			return err
		}

		errAbandon := errors.New("abandoned after both operations")
		err := database.InTx(vendor, db, func(ctx context.Context, _ bun.IDB) error {
			if err := both(ctx, "PO-ROLLED-BACK", "rolled-back.example.com"); err != nil {
				return err
			}
			// Inside the transaction, each operation sees the other's work.
			if po, err := ord.PurchaseOrdersByID(ctx, []int64{1}); err != nil || len(po) != 1 {
				t.Errorf("inside the transaction the order is not visible: %v %v", po, err)
			}
			return errAbandon
		})
		if !errors.Is(err, errAbandon) {
			t.Fatalf("InTx returned %v", err)
		}
		for _, table := range []string{"purchase_orders", "purchase_order_lines", "purchase_order_visibility", "tenants"} {
			if n := count(t, db, table); n != 0 {
				t.Errorf("after the rollback %s has %d rows", table, n)
			}
		}
		if n := count(t, db, "events"); n != eventsBefore {
			t.Errorf("after the rollback there are %d events, want %d", n, eventsBefore)
		}

		if err := database.InTx(vendor, db, func(ctx context.Context, _ bun.IDB) error {
			return both(ctx, "PO-COMMITTED", "committed.example.com")
		}); err != nil {
			t.Fatal(err)
		}
		if count(t, db, "purchase_orders") != 1 || count(t, db, "tenants") != 1 || count(t, db, "events") != eventsBefore+2 {
			t.Errorf("after the commit: %d orders, %d tenants, %d events (from %d)", count(t, db, "purchase_orders"),
				count(t, db, "tenants"), count(t, db, "events"), eventsBefore)
		}

		// A refusal inside a composed operation rolls back to its savepoint
		// only: the caller may go on, and what it did before commits.
		if err := database.InTx(vendor, db, func(ctx context.Context, _ bun.IDB) error {
			if _, err := ten.Create(ctx, sale.customer, "second.example.com"); err != nil {
				return err
			}
			_, err := ten.Create(ctx, sale.customer, "committed.example.com")
			if domain.ErrorCode(err) != domain.CodeConflict {
				t.Errorf("a taken domain inside a transaction: %v, want CONFLICT", err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, "tenants"); n != 2 {
			t.Errorf("after a refused step, %d tenants, want 2", n)
		}
	})
}
