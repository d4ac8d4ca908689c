-- Webhooks (SPEC §7.5, §8.9): endpoints an organization registers with a
-- stored subscription operation, each with its own cursor in the event log,
-- and the deliveries made to them.
CREATE TABLE webhook_endpoints (
  id {{.ID}},
  organization_id BIGINT NOT NULL REFERENCES organizations (id),
  url TEXT NOT NULL,
  -- The stored GraphQL subscription document, its one root field and the
  -- event type that field streams.
  operation TEXT NOT NULL,
  field TEXT NOT NULL,
  event_type TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'FAILING', 'PAUSED', 'DISABLED')),
  -- The signing secret (whsec_…), and during a rotation's overlap the one
  -- it replaced, which also signs until previous_secret_until.
  secret TEXT NOT NULL,
  previous_secret TEXT,
  previous_secret_until {{.Time}},
  -- The position of the last event accepted by the receiver or skipped as
  -- invisible to the organization: delivery resumes after it.
  cursor BIGINT NOT NULL,
  -- Events up to this position are sent as replays (replayWebhookEndpoint).
  replay_until BIGINT NOT NULL DEFAULT 0,
  -- The run of failed attempts, and the last one's reason.
  failures INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  -- Raised by every change its organization makes (operation, URL,
  -- secret, pause, resume, replay): a delivery under way for an older
  -- generation does not move the cursor.
  generation BIGINT NOT NULL DEFAULT 0,
  -- Which replica delivers, until when (a lease renewed while it does).
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_until {{.Time}},
  created_at {{.Time}} NOT NULL,
  updated_at {{.Time}} NOT NULL
);
--bun:split
CREATE INDEX webhook_endpoints_by_organization ON webhook_endpoints (organization_id, id);
--bun:split
CREATE TABLE webhook_deliveries (
  id {{.ID}},
  endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  -- The event delivered: its position in the log and its type.
  event_position BIGINT NOT NULL,
  event_type TEXT NOT NULL,
  -- The webhook-id header: the same on every attempt and replay of this
  -- event to this endpoint, so a receiver can drop duplicates.
  message_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
  attempts INTEGER NOT NULL DEFAULT 0,
  -- The last attempt's HTTP status (null when none came back) and latency.
  response_status INTEGER,
  latency_ms INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  next_attempt_at {{.Time}},
  replay {{.Bool}} NOT NULL DEFAULT FALSE,
  created_at {{.Time}} NOT NULL,
  updated_at {{.Time}} NOT NULL,
  delivered_at {{.Time}}
);
--bun:split
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
