package relay

// Type names of members and product subscriptions (SPEC §8.1, §8.5).
const (
	TypeMember              = "Member"
	TypeProductSubscription = "ProductSubscription"
)

// Type names of relationships (SPEC §8.6).
const (
	TypeDelegatedAdmin = "DelegatedAdmin"
	TypeAuditEntry     = "AuditEntry"
)

// Type names of webhooks (SPEC §8.9).
const (
	TypeWebhookEndpoint = "WebhookEndpoint"
	TypeWebhookDelivery = "WebhookDelivery"
)
