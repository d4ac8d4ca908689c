-- The event log behind live push, tenants with their provisioning state,
-- and the notifications a completed provisioning leaves.

CREATE TABLE events (
  id {{.ID}},
  type TEXT NOT NULL,
  object_id BIGINT NOT NULL,
  -- The object's row as this transaction committed it (JSON), so a
  -- subscriber sees each change, not only the latest state.
  snapshot TEXT NOT NULL,
  created_at {{.Time}} NOT NULL
);
--bun:split
CREATE INDEX events_by_type ON events (type, id);
--bun:split
-- Who could see a purchase order when its event committed (SPEC §7.3),
-- copied from purchase_order_visibility in the same transaction.
CREATE TABLE event_audience (
  event_id BIGINT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  organization_id BIGINT NOT NULL,
  PRIMARY KEY (event_id, organization_id)
);
--bun:split
CREATE TABLE tenants (
  id {{.ID}},
  customer_id BIGINT NOT NULL REFERENCES organizations (id),
  domain TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN ('REQUESTED', 'PROVISIONING', 'VERIFYING', 'ACTIVE', 'FAILED')),
  failure_reason TEXT NOT NULL DEFAULT '',
  requested_by_organization_id BIGINT REFERENCES organizations (id),
  created_at {{.Time}} NOT NULL,
  updated_at {{.Time}} NOT NULL
);
--bun:split
CREATE INDEX tenants_by_customer ON tenants (customer_id, id);
--bun:split
CREATE INDEX tenants_unfinished ON tenants (updated_at) WHERE status IN ('REQUESTED', 'PROVISIONING', 'VERIFYING');
--bun:split
CREATE TABLE notifications (
  id {{.ID}},
  organization_id BIGINT NOT NULL REFERENCES organizations (id),
  kind TEXT NOT NULL,
  message TEXT NOT NULL,
  tenant_id BIGINT REFERENCES tenants (id),
  created_at {{.Time}} NOT NULL
);
--bun:split
CREATE INDEX notifications_by_organization ON notifications (organization_id, id);
