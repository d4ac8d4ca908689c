package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/testdb"
	"github.com/channelgraph/channelgraph/internal/visibility"
)

// TestConcurrentGrantChanges places orders through a distributor while the
// distributor flips its grant to the reseller, then checks the visibility
// index equals a fresh derivation from the final state: a grant change and
// a new order committed at the same time must never miss each other.
func TestConcurrentGrantChanges(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		a := f.a
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 8; i++ {
					a.createOrder(f.tok[f.reseller], f.indirect(fmt.Sprintf("W%d-%d", w, i)))
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 12; i++ {
				a.MustSetView(f.tok[f.dist], f.drEdge, i%2 == 1) // ends on
			}
		}()
		wg.Wait()
		want := snapshotVisibility(t, db)
		if err := db.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
			return visibility.Refresh(ctx, tx, visibility.Everything())
		}); err != nil {
			t.Fatal(err)
		}
		if got := snapshotVisibility(t, db); got != want {
			t.Fatalf("the visibility index drifted under concurrent changes:\n before re-derivation: %s\n after: %s", want, got)
		}
		if n, _ := f.visible(f.tok[f.reseller]); n != 32 {
			t.Fatalf("the reseller sees %d of 32 orders with the grant on", n)
		}
	})
}

func snapshotVisibility(t *testing.T, db *bun.DB) string {
	var rows []struct {
		Viewer int64  `bun:"viewer_organization_id"`
		Order  int64  `bun:"purchase_order_id"`
		Party  string `bun:"party"`
	}
	if err := db.NewSelect().TableExpr("purchase_order_visibility").
		Column("viewer_organization_id", "purchase_order_id", "party").
		Order("viewer_organization_id", "purchase_order_id").Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(rows)
}

// TestConcurrentRetries sends the same order under one idempotency key from
// several clients at once: one order is recorded and every client gets it.
func TestConcurrentRetries(t *testing.T) {
	testdb.OnEveryDatabase(t, func(t *testing.T, db *bun.DB) {
		f := newChannelFixture(t, db)
		o := f.indirect("R-1")
		o.Key = "the-same-key"
		ids := make([]string, 6)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := f.a.createOrder(f.tok[f.vendor], o)
				if p.CreatePurchaseOrder.PurchaseOrder != nil {
					ids[i] = p.CreatePurchaseOrder.PurchaseOrder.ID
				} else {
					ids[i] = fmt.Sprint(p.CreatePurchaseOrder.UserErrors)
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("concurrent retries got different answers: %v", ids)
			}
		}
		if n, _ := f.visible(f.tok[f.vendor]); n != 1 {
			t.Fatalf("%d orders recorded", n)
		}
	})
}
