package demo

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/webhooks"
)

// DemoWebhookURL is where the demo's webhook endpoint points: README's
// example receiver, run on its default port.
const DemoWebhookURL = "http://127.0.0.1:9000/channelgraph"

// webhooks gives Northwind a PAUSED webhook endpoint for README's example
// receiver: nothing is sent until its OWNER takes a secret
// (rotateWebhookSecret) and resumes it, so a demo with no receiver running
// logs no failed attempts. Stored directly, as the demo loads before any
// server exists to check its operation (TestDemoWebhookEndpoint does).
func (b *builder) webhooks(db *bun.DB) {
	if b.err != nil {
		return
	}
	secret, err := webhooks.NewSecret()
	if err != nil {
		b.err = err
		return
	}
	b.err = database.InTx(b.ctx, db, func(ctx context.Context, tx bun.IDB) error {
		head, err := events.Head(ctx, tx)
		if err != nil {
			return err
		}
		now := clock.System{}.Now()
		kind, ok := events.ForField("purchaseOrderUpdated")
		if !ok {
			return fmt.Errorf("demo: no purchaseOrderUpdated events")
		}
		_, err = tx.NewInsert().Model(&domain.WebhookEndpoint{
			OrganizationID: b.orgs["Northwind Systems"].ID, URL: DemoWebhookURL, Operation: DemoWebhookOperation,
			Field: kind.Field, EventType: string(kind.Type), Status: domain.WebhookPaused,
			Secret: secret, Cursor: head, CreatedAt: now, UpdatedAt: now,
		}).Exec(ctx)
		if err != nil {
			return fmt.Errorf("demo: the webhook endpoint: %w", err)
		}
		return nil
	})
}

// DemoWebhookOperation is the demo endpoint's operation.
const DemoWebhookOperation = "subscription { purchaseOrderUpdated { cursor purchaseOrder { number status customer { name } reseller { name } } } }"
