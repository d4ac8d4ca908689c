// Package audit keeps the trail of relationship and privilege changes
// (SPEC §8.6): who changed what, when, readable by the organizations the
// change involves.
package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/clock"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// Actions recorded.
const (
	ChannelEdgeCreated      = "CHANNEL_EDGE_CREATED"
	ChannelEdgeAccepted     = "CHANNEL_EDGE_ACCEPTED"
	ChannelEdgeRemoved      = "CHANNEL_EDGE_REMOVED"
	PurchaseOrderViewSet    = "PURCHASE_ORDER_VIEW_SET"
	InvitationRotated       = "INVITATION_ROTATED"
	InvitationAccepted      = "INVITATION_ACCEPTED"
	DelegatedAdminRequested = "DELEGATED_ADMIN_REQUESTED"
	DelegatedAdminApproved  = "DELEGATED_ADMIN_APPROVED"
	DelegatedAdminRemoved   = "DELEGATED_ADMIN_REMOVED"
	WebhookEndpointCreated  = "WEBHOOK_ENDPOINT_CREATED"
	WebhookEndpointUpdated  = "WEBHOOK_ENDPOINT_UPDATED"
	WebhookSecretRotated    = "WEBHOOK_SECRET_ROTATED"
	WebhookEndpointPaused   = "WEBHOOK_ENDPOINT_PAUSED"
	WebhookEndpointResumed  = "WEBHOOK_ENDPOINT_RESUMED"
	WebhookEndpointReplayed = "WEBHOOK_ENDPOINT_REPLAYED"
	WebhookEndpointDeleted  = "WEBHOOK_ENDPOINT_DELETED"
)

// Object types an entry names.
const (
	ObjectChannelEdge    = "ChannelEdge"
	ObjectDelegatedAdmin = "DelegatedAdmin"
	ObjectOrganization   = "Organization"
	// ObjectWebhookEndpoint: the entry outlives a deleted endpoint, whose
	// ID then names nothing.
	ObjectWebhookEndpoint = "WebhookEndpoint"
)

// Entry is what a change records; the actor comes from the viewer.
type Entry struct {
	Action     string
	ObjectType string
	ObjectID   int64
	// FirstParty and SecondParty are the organizations involved (the
	// second is zero when only one is): each may read the entry.
	FirstParty, SecondParty int64
	Detail                  string
}

// Record writes e in the caller's transaction, so the trail commits with
// the change it describes, as viewer did it at now.
func Record(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, now time.Time, e Entry) error {
	row := &domain.AuditEntry{Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID,
		FirstPartyID: e.FirstParty, Detail: e.Detail, CreatedAt: now, ActorIsPlatformAdmin: viewer.IsPlatformAdmin}
	if e.SecondParty != 0 {
		second := e.SecondParty
		row.SecondPartyID = &second
	}
	if !viewer.IsPlatformAdmin {
		org := viewer.OrganizationID
		row.ActorOrganizationID = &org
	}
	if viewer.MemberID != 0 {
		member := viewer.MemberID
		row.ActorMemberID = &member
	}
	if viewer.TokenID != 0 {
		token := viewer.TokenID
		row.ActorTokenID = &token
	}
	if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("audit: recording %s: %w", e.Action, err)
	}
	return nil
}

// Service reads the trail.
type Service struct {
	db *bun.DB
	// Now is the clock entries are read by.
	Now func() time.Time
}

// New returns a Service on db, on the system clock.
func New(db *bun.DB) *Service { return &Service{db: db, Now: clock.System{}.Now} }
