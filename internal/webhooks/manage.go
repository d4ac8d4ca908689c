package webhooks

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/channelgraph/channelgraph/internal/audit"
	"github.com/channelgraph/channelgraph/internal/database"
	"github.com/channelgraph/channelgraph/internal/domain"
	"github.com/channelgraph/channelgraph/internal/events"
	"github.com/channelgraph/channelgraph/internal/policy"
)

// MaxOperationBytes bounds an endpoint's stored operation.
const MaxOperationBytes = 16 << 10

// DefaultOverlap is how long a rotated-out secret still signs when the
// rotation does not say.
const DefaultOverlap = 24 * time.Hour

// MaxOverlap bounds a rotation's overlap.
const MaxOverlap = 7 * 24 * time.Hour

// Why a change of the endpoint fails its PENDING deliveries: their events
// are sent again from the cursor, under what the endpoint now is.
const (
	replacedByReplay = "replaced by a replay"
	replacedByChange = "replaced by a change of the endpoint"
)

// ViewerFor is the viewer an organization's endpoints are checked and
// delivered as: the organization at its least privileged role, so a
// delivery shows what any member of it may see and no more. Registration
// and delivery must use this same viewer, or an operation accepted at
// registration could resolve differently when sent.
func ViewerFor(org *domain.Organization) *domain.Viewer {
	return &domain.Viewer{OrganizationID: org.ID, Role: domain.RoleViewer, Kind: org.Kind}
}

// EndpointViewer reads organization orgID's kind and returns ViewerFor it.
func EndpointViewer(ctx context.Context, db bun.IDB, orgID int64) (*domain.Viewer, error) {
	var org domain.Organization
	err := db.NewSelect().Model(&org).Column("o.id", "o.kind").Where("o.id = ?", orgID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.NotFound("organization")
	}
	if err != nil {
		return nil, fmt.Errorf("webhooks: reading organization %d: %w", orgID, err)
	}
	return ViewerFor(&org), nil
}

// NewSecret makes a signing secret as Standard Webhooks write them:
// whsec_ and the base64 of 32 random bytes, which are the HMAC key.
func NewSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("webhooks: making a secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key), nil
}

// checkOperation validates an operation as viewer would run it, returning
// it trimmed with its root field and event type; refusals name the field
// operation.
func (s *Service) checkOperation(ctx context.Context, viewer *domain.Viewer, operation string) (document, field string, eventType events.Type, err error) {
	document = strings.TrimSpace(operation)
	if len(document) > MaxOperationBytes {
		return "", "", "", domain.FieldErrorf(domain.CodeInvalid, "operation", "is longer than %d bytes", MaxOperationBytes)
	}
	if document == "" {
		return "", "", "", domain.FieldErrorf(domain.CodeInvalid, "operation", "must be a subscription document")
	}
	field, eventType, err = s.Ops.Check(ctx, viewer, document)
	if err != nil {
		var e *domain.Error
		if errors.As(err, &e) && e.Code == domain.CodeInvalid {
			return "", "", "", domain.FieldErrorf(domain.CodeInvalid, "operation", "%s", e.Message)
		}
		return "", "", "", err
	}
	return document, field, eventType, nil
}

// checkTarget validates a URL and an operation together, so a refusal of
// both names both fields.
func (s *Service) checkTarget(ctx context.Context, viewer *domain.Viewer, url, operation *string) (document, field string, eventType events.Type, err error) {
	var faults domain.Faults
	add := func(err error) error {
		var e *domain.Error
		if errors.As(err, &e) && e.Code == domain.CodeInvalid {
			faults = append(faults, e)
			return nil
		}
		return err
	}
	if url != nil {
		if err := add(s.Targets.CheckURL(ctx, *url)); err != nil {
			return "", "", "", err
		}
	}
	if operation != nil {
		document, field, eventType, err = s.checkOperation(ctx, viewer, *operation)
		if err := add(err); err != nil {
			return "", "", "", err
		}
	}
	return document, field, eventType, faults.OrNil()
}

// Create registers an endpoint starting at the log's head, and returns it
// with its secret (shown only this once).
func (s *Service) Create(ctx context.Context, in CreateInput) (*domain.WebhookEndpoint, string, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, "", err
	}
	if !viewer.IsPlatformAdmin && viewer.OrganizationID != in.OrganizationID {
		return nil, "", domain.NotFound("organization")
	}
	as, err := EndpointViewer(ctx, database.Conn(ctx, s.db), in.OrganizationID)
	if err != nil {
		return nil, "", err
	}
	if err := policy.MayManageWebhooks(viewer, in.OrganizationID); err != nil {
		return nil, "", err
	}
	document, field, eventType, err := s.checkTarget(ctx, as, &in.URL, &in.Operation)
	if err != nil {
		return nil, "", err
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, "", err
	}
	e := &domain.WebhookEndpoint{OrganizationID: in.OrganizationID, URL: in.URL, Operation: document, Field: field,
		EventType: string(eventType), Status: domain.WebhookActive, Secret: secret}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		// Only events committed after registration are delivered; earlier
		// ones take a replay.
		head, err := events.Head(ctx, tx)
		if err != nil {
			return fmt.Errorf("webhooks: reading the log's head: %w", err)
		}
		now := s.Now()
		e.Cursor, e.CreatedAt, e.UpdatedAt = head, now, now
		if _, err := tx.NewInsert().Model(e).Exec(ctx); err != nil {
			return fmt.Errorf("webhooks: storing the endpoint: %w", err)
		}
		return record(ctx, tx, viewer, now, e, audit.WebhookEndpointCreated, "streams "+field)
	})
	if err != nil {
		return nil, "", err
	}
	s.wake()
	return e, secret, nil
}

// Update changes an endpoint's URL or operation.
func (s *Service) Update(ctx context.Context, in UpdateInput) (*domain.WebhookEndpoint, error) {
	if in.URL == nil && in.Operation == nil {
		return nil, domain.Errorf(domain.CodeInvalid, "give a url, an operation or both to change")
	}
	// The checks resolve the URL's host and run the executor, so they run
	// before the endpoint's row is locked, on a first read of it.
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	current, err := manageableEndpoint(ctx, database.Conn(ctx, s.db), viewer, in.ID, false)
	if err != nil {
		return nil, err
	}
	as, err := EndpointViewer(ctx, database.Conn(ctx, s.db), current.OrganizationID)
	if err != nil {
		return nil, err
	}
	document, field, eventType, err := s.checkTarget(ctx, as, in.URL, in.Operation)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, in.ID, func(e *domain.WebhookEndpoint, _ time.Time) (*edit, error) {
		ed := &edit{action: audit.WebhookEndpointUpdated, replaced: replacedByChange}
		var changed []string
		if in.URL != nil {
			e.URL = *in.URL
			ed.columns = append(ed.columns, "url")
			changed = append(changed, "url")
		}
		if in.Operation != nil {
			e.Operation, e.Field, e.EventType = document, field, string(eventType)
			ed.columns = append(ed.columns, "operation", "field", "event_type")
			changed = append(changed, "operation (streams "+field+")")
		}
		ed.detail = "changed " + strings.Join(changed, " and ")
		return ed, nil
	})
}

// Delete deletes an endpoint and its deliveries.
func (s *Service) Delete(ctx context.Context, id int64) error {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return err
	}
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		e, err := manageableEndpoint(ctx, tx, viewer, id, true)
		if err != nil {
			return err
		}
		// Deleted explicitly rather than by the foreign key's cascade, which
		// SQLite applies only where foreign keys are switched on.
		if _, err := tx.NewDelete().Model((*domain.WebhookDelivery)(nil)).Where("endpoint_id = ?", e.ID).Exec(ctx); err != nil {
			return fmt.Errorf("webhooks: deleting the endpoint's deliveries: %w", err)
		}
		if _, err := tx.NewDelete().Model(e).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("webhooks: deleting the endpoint: %w", err)
		}
		return record(ctx, tx, viewer, s.Now(), e, audit.WebhookEndpointDeleted, "")
	})
	if err != nil {
		return err
	}
	s.wake()
	return nil
}

// RotateSecret makes a new secret; the old one still signs for overlap.
func (s *Service) RotateSecret(ctx context.Context, id int64, overlap *time.Duration) (*domain.WebhookEndpoint, string, error) {
	keep := DefaultOverlap
	if overlap != nil {
		keep = *overlap
	}
	if keep < 0 || keep > MaxOverlap {
		return nil, "", domain.FieldErrorf(domain.CodeInvalid, "overlapSeconds", "must be 0 to %d seconds", int64(MaxOverlap/time.Second))
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, "", err
	}
	e, err := s.change(ctx, id, func(e *domain.WebhookEndpoint, now time.Time) (*edit, error) {
		e.PreviousSecret, e.PreviousSecretUntil = nil, nil
		detail := "the old secret no longer signs"
		if keep > 0 {
			old, until := e.Secret, now.Add(keep)
			e.PreviousSecret, e.PreviousSecretUntil = &old, &until
			detail = "the old secret signs until " + until.UTC().Format(time.RFC3339)
		}
		e.Secret = secret
		return &edit{action: audit.WebhookSecretRotated, detail: detail,
			columns: []string{"secret", "previous_secret", "previous_secret_until"}}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return e, secret, nil
}

// Pause stops an endpoint's delivery until Resume.
func (s *Service) Pause(ctx context.Context, id int64) (*domain.WebhookEndpoint, error) {
	return s.change(ctx, id, func(e *domain.WebhookEndpoint, _ time.Time) (*edit, error) {
		if e.Status == domain.WebhookPaused {
			return nil, nil
		}
		e.Status = domain.WebhookPaused
		return &edit{action: audit.WebhookEndpointPaused, columns: []string{"status"}}, nil
	})
}

// Resume continues a PAUSED or DISABLED endpoint where it stopped.
func (s *Service) Resume(ctx context.Context, id int64) (*domain.WebhookEndpoint, error) {
	return s.change(ctx, id, func(e *domain.WebhookEndpoint, _ time.Time) (*edit, error) {
		if e.Status != domain.WebhookPaused && e.Status != domain.WebhookDisabled {
			return nil, nil
		}
		e.Status, e.Failures, e.LastError = domain.WebhookActive, 0, ""
		return &edit{action: audit.WebhookEndpointResumed, columns: []string{"status", "failures", "last_error"}}, nil
	})
}

// Replay sends again every event after position after (nil: the start of
// the log), then continues live.
func (s *Service) Replay(ctx context.Context, id int64, after *int64) (*domain.WebhookEndpoint, error) {
	from := int64(0)
	if after != nil {
		from = *after
	}
	if from < 0 {
		return nil, domain.FieldErrorf(domain.CodeInvalid, "after", "is not an event cursor")
	}
	return s.changeIn(ctx, id, func(ctx context.Context, tx bun.IDB, e *domain.WebhookEndpoint, _ time.Time) (*edit, error) {
		head, err := events.Head(ctx, tx)
		if err != nil {
			return nil, fmt.Errorf("webhooks: reading the log's head: %w", err)
		}
		if from > head {
			return nil, domain.FieldErrorf(domain.CodeInvalid, "after", "is past the newest event")
		}
		// Events up to where delivery had reached are replays; after that
		// they are new, however far back the cursor goes.
		e.ReplayUntil = max(e.ReplayUntil, e.Cursor)
		e.Cursor = from
		return &edit{action: audit.WebhookEndpointReplayed, detail: fmt.Sprintf("replays the events after position %d", from),
			columns: []string{"cursor", "replay_until"}, replaced: replacedByReplay}, nil
	})
}

// edit is what one change did to an endpoint: the columns it set, the audit
// action and detail it records, and, when set, why the endpoint's PENDING
// deliveries are dropped.
type edit struct {
	columns        []string
	action, detail string
	replaced       string
}

// change runs apply on the endpoint, locked, as one change of it.
func (s *Service) change(ctx context.Context, id int64, apply func(e *domain.WebhookEndpoint, now time.Time) (*edit, error)) (*domain.WebhookEndpoint, error) {
	return s.changeIn(ctx, id, func(_ context.Context, _ bun.IDB, e *domain.WebhookEndpoint, now time.Time) (*edit, error) {
		return apply(e, now)
	})
}

// changeIn runs one change of an endpoint the viewer may see (NOT_FOUND
// otherwise) and manage, in one transaction with its row locked: apply
// changes e and says what it did (nil: nothing, and nothing is written).
// Every change raises the endpoint's generation, so a delivery already
// under way for what it was does not move its cursor.
func (s *Service) changeIn(ctx context.Context, id int64, apply func(ctx context.Context, tx bun.IDB, e *domain.WebhookEndpoint, now time.Time) (*edit, error)) (*domain.WebhookEndpoint, error) {
	viewer, err := domain.ViewerFrom(ctx)
	if err != nil {
		return nil, err
	}
	var e *domain.WebhookEndpoint
	changed := false
	err = database.InTx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if e, err = manageableEndpoint(ctx, tx, viewer, id, true); err != nil {
			return err
		}
		now := s.Now()
		ed, err := apply(ctx, tx, e, now)
		if err != nil || ed == nil {
			return err
		}
		changed = true
		e.Generation++
		e.UpdatedAt = now
		cols := append(ed.columns, "generation", "updated_at")
		if _, err := tx.NewUpdate().Model(e).Column(cols...).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("webhooks: changing the endpoint: %w", err)
		}
		if ed.replaced != "" {
			_, err := tx.NewUpdate().Model((*domain.WebhookDelivery)(nil)).
				Set("status = ?", domain.DeliveryFailed).Set("last_error = ?", ed.replaced).
				Set("next_attempt_at = NULL").Set("updated_at = ?", now).
				Where("endpoint_id = ? AND status = ?", e.ID, domain.DeliveryPending).Exec(ctx)
			if err != nil {
				return fmt.Errorf("webhooks: dropping the endpoint's pending deliveries: %w", err)
			}
		}
		return record(ctx, tx, viewer, now, e, ed.action, ed.detail)
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.wake()
	}
	return e, nil
}

// manageableEndpoint reads the endpoint the viewer may see (NOT_FOUND
// otherwise) and manage (FORBIDDEN otherwise), locked in db's transaction
// when lock is set.
func manageableEndpoint(ctx context.Context, db bun.IDB, viewer *domain.Viewer, id int64, lock bool) (*domain.WebhookEndpoint, error) {
	var e domain.WebhookEndpoint
	q := visibleEndpoints(db, viewer, &e).Where("we.id = ?", id)
	if lock {
		q = database.LockForUpdate(q)
	}
	err := q.Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.NotFound("webhook endpoint")
	}
	if err != nil {
		return nil, fmt.Errorf("webhooks: reading the endpoint: %w", err)
	}
	if err := policy.MayManageWebhooks(viewer, e.OrganizationID); err != nil {
		return nil, err
	}
	return &e, nil
}

// record appends a change's audit entry in its transaction. The detail
// names no URL: the organization's every member reads its audit log, and
// only its managers may see an endpoint.
func record(ctx context.Context, tx bun.IDB, viewer *domain.Viewer, now time.Time, e *domain.WebhookEndpoint, action, detail string) error {
	return audit.Record(ctx, tx, viewer, now, audit.Entry{Action: action, ObjectType: audit.ObjectWebhookEndpoint,
		ObjectID: e.ID, FirstParty: e.OrganizationID, Detail: detail})
}

func (s *Service) wake() {
	if s.Wake != nil {
		s.Wake()
	}
}
