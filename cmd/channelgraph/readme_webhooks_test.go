package main

import "testing"

// TestReadmeWebhooksFlow runs README's webhook walk as written against the
// demo served as `make run` serves it (private targets allowed): register
// an endpoint, change an order, read the delivery (failing: no receiver
// runs here; internal/e2e runs README's receivers), pause, resume and
// rotate the secret.
func TestReadmeWebhooksFlow(t *testing.T) {
	t.Setenv("CHANNELGRAPH_WEBHOOK_ALLOW_PRIVATE", "1")
	got := runReadmeSection(t, "## Webhooks: events pushed to your server")
	checkWalk(t, got, 0,
		`"createWebhookEndpoint":{"webhookEndpoint":{"id":"`,
		`"status":"ACTIVE","eventType":"purchaseOrderUpdated"},"secret":"whsec_`,
		`"updatePurchaseOrderStatus":{"purchaseOrder":{"number":"PO-`,
		`"status":"PROCESSING"},"userErrors":[]`,
		`"eventType":"purchaseOrderUpdated","status":"PENDING","attempts":`,
		`"status":"FAILING","failures":`,
		`"pauseWebhookEndpoint":{"webhookEndpoint":{"status":"PAUSED"}`,
		`"resumeWebhookEndpoint":{"webhookEndpoint":{"status":"ACTIVE"}`,
		`"rotateWebhookSecret":{"secret":"whsec_`,
		`"previousSecretExpiresAt":"`)
}
