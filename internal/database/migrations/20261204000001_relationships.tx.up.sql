-- Relationships (SPEC §6.1, §6.2, §8.6): partners' invitation codes,
-- delegated admin privileges per customer and service, and the audit trail
-- of relationship and privilege changes.
CREATE TABLE invitation_codes (
  id {{.ID}},
  -- The reseller or distributor whose invitation it is.
  organization_id BIGINT NOT NULL REFERENCES organizations (id),
  -- Set on a combined invitation: the reseller's indirect provider.
  indirect_provider_id BIGINT REFERENCES organizations (id),
  code TEXT NOT NULL UNIQUE,
  created_at {{.Time}} NOT NULL,
  -- Set when rotated: a retired code is refused.
  retired_at {{.Time}}
);
--bun:split
CREATE UNIQUE INDEX invitation_codes_current ON invitation_codes (organization_id, (COALESCE(indirect_provider_id, 0))) WHERE retired_at IS NULL;
--bun:split
CREATE TABLE delegated_admins (
  id {{.ID}},
  partner_id BIGINT NOT NULL REFERENCES organizations (id),
  customer_id BIGINT NOT NULL REFERENCES organizations (id),
  service TEXT NOT NULL,
  -- The roles granted, stored ",A,B," (domain.EncodeSet).
  roles TEXT NOT NULL,
  transacting {{.Bool}} NOT NULL DEFAULT FALSE,
  status TEXT NOT NULL CHECK (status IN ('REQUESTED', 'ACTIVE', 'REMOVED')),
  created_at {{.Time}} NOT NULL,
  approved_at {{.Time}},
  removed_at {{.Time}},
  removed_by_organization_id BIGINT REFERENCES organizations (id)
);
--bun:split
CREATE INDEX delegated_admins_by_customer ON delegated_admins (customer_id, id);
--bun:split
CREATE INDEX delegated_admins_by_partner ON delegated_admins (partner_id, id);
--bun:split
-- At most one transacting partner per customer and service (SPEC §6.2).
CREATE UNIQUE INDEX delegated_admins_one_transacting ON delegated_admins (customer_id, service) WHERE transacting AND status = 'ACTIVE';
--bun:split
-- Every relationship and privilege change: who (organization, member or
-- token), when, what; readable by the organizations it involves.
CREATE TABLE audit_entries (
  id {{.ID}},
  action TEXT NOT NULL,
  -- The object changed, as its type and row id.
  object_type TEXT NOT NULL,
  object_id BIGINT NOT NULL,
  -- The organizations involved (the edge's ends, the partner and the
  -- customer); the second is null when one is.
  first_party_id BIGINT NOT NULL REFERENCES organizations (id),
  second_party_id BIGINT REFERENCES organizations (id),
  actor_organization_id BIGINT REFERENCES organizations (id),
  actor_member_id BIGINT REFERENCES members (id),
  actor_token_id BIGINT REFERENCES api_tokens (id),
  actor_is_platform_admin {{.Bool}} NOT NULL DEFAULT FALSE,
  detail TEXT NOT NULL DEFAULT '',
  created_at {{.Time}} NOT NULL
);
--bun:split
CREATE INDEX audit_entries_by_first_party ON audit_entries (first_party_id, id);
--bun:split
CREATE INDEX audit_entries_by_second_party ON audit_entries (second_party_id, id) WHERE second_party_id IS NOT NULL;
