package domain

import (
	"io"
	"time"

	"github.com/uptrace/bun"
)

// WebhookEndpointStatus is where a webhook endpoint's delivery stands.
type WebhookEndpointStatus string

const (
	// WebhookActive delivers as events commit.
	WebhookActive WebhookEndpointStatus = "ACTIVE"
	// WebhookFailing delivers, but its last attempt failed: the event is
	// being retried with backoff, and later events wait behind it.
	WebhookFailing WebhookEndpointStatus = "FAILING"
	// WebhookPaused was paused by its organization; it resumes where it
	// stopped.
	WebhookPaused WebhookEndpointStatus = "PAUSED"
	// WebhookDisabled stopped after a run of failed attempts; it resumes
	// where it stopped when its organization resumes it.
	WebhookDisabled WebhookEndpointStatus = "DISABLED"
)

func (s WebhookEndpointStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }
func (s *WebhookEndpointStatus) UnmarshalGQL(v any) error {
	str, err := parseEnum("WebhookEndpointStatus", v)
	*s = WebhookEndpointStatus(str)
	return err
}

// WebhookEndpoint is a URL an organization registered to receive, as
// signed POSTs, the events of one subscription operation it stored,
// resolved as the organization (SPEC §7.5, §8.9).
type WebhookEndpoint struct {
	bun.BaseModel `bun:"table:webhook_endpoints,alias:we"`

	ID             int64  `bun:"id,pk,autoincrement"`
	OrganizationID int64  `bun:"organization_id"`
	URL            string `bun:"url"`
	Operation      string `bun:"operation"`
	// Field is the operation's root field, EventType the events it streams.
	Field     string                `bun:"field"`
	EventType string                `bun:"event_type"`
	Status    WebhookEndpointStatus `bun:"status"`
	// Secret signs deliveries; PreviousSecret also signs them until
	// PreviousSecretUntil, after a rotation. Never shown after it is made.
	Secret              string     `bun:"secret" json:"-"`
	PreviousSecret      *string    `bun:"previous_secret" json:"-"`
	PreviousSecretUntil *time.Time `bun:"previous_secret_until"`
	// Cursor is the position of the last event accepted or skipped.
	Cursor      int64  `bun:"cursor"`
	ReplayUntil int64  `bun:"replay_until"`
	Failures    int    `bun:"failures"`
	LastError   string `bun:"last_error"`
	// Generation rises with every change the organization makes.
	Generation int64      `bun:"generation"`
	LeaseOwner string     `bun:"lease_owner" json:"-"`
	LeaseUntil *time.Time `bun:"lease_until" json:"-"`
	CreatedAt  time.Time  `bun:"created_at"`
	UpdatedAt  time.Time  `bun:"updated_at"`
}

// WebhookDeliveryStatus is where one event's delivery to an endpoint stands.
type WebhookDeliveryStatus string

const (
	// DeliveryPending waits for its first attempt or its next retry.
	DeliveryPending WebhookDeliveryStatus = "PENDING"
	// DeliverySucceeded: the receiver answered 2xx.
	DeliverySucceeded WebhookDeliveryStatus = "SUCCEEDED"
	// DeliveryFailed: its endpoint was disabled while it failed, or a
	// replay or a change of operation or URL superseded it.
	DeliveryFailed WebhookDeliveryStatus = "FAILED"
)

func (s WebhookDeliveryStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }
func (s *WebhookDeliveryStatus) UnmarshalGQL(v any) error {
	str, err := parseEnum("WebhookDeliveryStatus", v)
	*s = WebhookDeliveryStatus(str)
	return err
}

// WebhookDelivery is one event sent (or being sent) to one endpoint, with
// its attempts.
type WebhookDelivery struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:wd"`

	ID             int64                 `bun:"id,pk,autoincrement"`
	EndpointID     int64                 `bun:"endpoint_id"`
	EventPosition  int64                 `bun:"event_position"`
	EventType      string                `bun:"event_type"`
	MessageID      string                `bun:"message_id"`
	Status         WebhookDeliveryStatus `bun:"status"`
	Attempts       int                   `bun:"attempts"`
	ResponseStatus *int                  `bun:"response_status"`
	LatencyMS      *int                  `bun:"latency_ms"`
	LastError      string                `bun:"last_error"`
	NextAttemptAt  *time.Time            `bun:"next_attempt_at"`
	Replay         bool                  `bun:"replay"`
	CreatedAt      time.Time             `bun:"created_at"`
	UpdatedAt      time.Time             `bun:"updated_at"`
	DeliveredAt    *time.Time            `bun:"delivered_at"`
}
