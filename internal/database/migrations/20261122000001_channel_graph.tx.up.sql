-- The channel graph: organizations, edges, products, purchase orders, the
-- per-viewer visibility index derived from them, and API tokens.
-- {{.ID}}, {{.Time}} and {{.Bool}} are the dialect's types (database.templateData).

CREATE TABLE organizations (
  id {{.ID}},
  kind TEXT NOT NULL CHECK (kind IN ('VENDOR', 'DISTRIBUTOR', 'RESELLER', 'CUSTOMER')),
  name TEXT NOT NULL,
  country TEXT NOT NULL DEFAULT '',
  industry TEXT NOT NULL DEFAULT '',
  segment TEXT NOT NULL DEFAULT '',
  created_at {{.Time}} NOT NULL
);
--bun:split
CREATE INDEX organizations_by_name ON organizations (name, id);
--bun:split
CREATE TABLE channel_edges (
  id {{.ID}},
  upstream_id BIGINT NOT NULL REFERENCES organizations (id),
  downstream_id BIGINT NOT NULL REFERENCES organizations (id),
  status TEXT NOT NULL CHECK (status IN ('INVITED', 'ACTIVE', 'REMOVED')),
  purchase_order_view {{.Bool}} NOT NULL DEFAULT FALSE,
  created_at {{.Time}} NOT NULL,
  updated_at {{.Time}} NOT NULL,
  accepted_at {{.Time}},
  removed_at {{.Time}},
  removed_by_organization_id BIGINT REFERENCES organizations (id),
  removal_reason TEXT NOT NULL DEFAULT '',
  CHECK (upstream_id <> downstream_id)
);
--bun:split
-- At most one edge that is not REMOVED joins a pair (SPEC §2.1).
CREATE UNIQUE INDEX channel_edges_current_pair ON channel_edges (upstream_id, downstream_id) WHERE status <> 'REMOVED';
--bun:split
CREATE INDEX channel_edges_by_upstream ON channel_edges (upstream_id, status);
--bun:split
CREATE INDEX channel_edges_by_downstream ON channel_edges (downstream_id, upstream_id);
--bun:split
CREATE INDEX channel_edges_grants ON channel_edges (upstream_id, downstream_id) WHERE status = 'ACTIVE' AND purchase_order_view;
--bun:split
CREATE TABLE products (
  id {{.ID}},
  vendor_id BIGINT NOT NULL REFERENCES organizations (id),
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('LICENSE', 'USAGE', 'SAAS', 'HARDWARE')),
  list_price_amount TEXT,
  list_price_currency TEXT,
  created_at {{.Time}} NOT NULL,
  UNIQUE (vendor_id, sku)
);
--bun:split
CREATE TABLE purchase_orders (
  id {{.ID}},
  number TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('NEW', 'CHANGE', 'CANCELLATION', 'RENEWAL')),
  status TEXT NOT NULL CHECK (status IN ('DRAFT', 'PLACED', 'PROCESSING', 'COMPLETED', 'CANCELLED', 'FAILED')),
  vendor_id BIGINT NOT NULL REFERENCES organizations (id),
  distributor_id BIGINT REFERENCES organizations (id),
  reseller_id BIGINT REFERENCES organizations (id),
  customer_id BIGINT NOT NULL REFERENCES organizations (id),
  recorded_by_organization_id BIGINT REFERENCES organizations (id),
  idempotency_key TEXT,
  request_hash TEXT NOT NULL DEFAULT '',
  created_at {{.Time}} NOT NULL,
  updated_at {{.Time}} NOT NULL,
  CHECK (distributor_id IS NULL OR reseller_id IS NOT NULL)
);
--bun:split
-- Numbers and idempotency keys are scoped to the recording organization
-- (0 = the platform administrator), so a conflict never reveals another
-- organization's orders.
CREATE UNIQUE INDEX purchase_orders_number ON purchase_orders ((COALESCE(recorded_by_organization_id, 0)), number);
--bun:split
CREATE UNIQUE INDEX purchase_orders_idempotency ON purchase_orders ((COALESCE(recorded_by_organization_id, 0)), idempotency_key) WHERE idempotency_key IS NOT NULL;
--bun:split
CREATE INDEX purchase_orders_recent ON purchase_orders (created_at DESC, id DESC);
--bun:split
-- The two pairs a grant can gate: grant(distributor→reseller) and grant(reseller→customer).
CREATE INDEX purchase_orders_by_distributor_reseller ON purchase_orders (distributor_id, reseller_id);
--bun:split
CREATE INDEX purchase_orders_by_reseller_customer ON purchase_orders (reseller_id, customer_id);
--bun:split
CREATE INDEX purchase_orders_by_customer ON purchase_orders (customer_id);
--bun:split
CREATE INDEX purchase_orders_by_vendor ON purchase_orders (vendor_id);
--bun:split
CREATE TABLE purchase_order_lines (
  id {{.ID}},
  purchase_order_id BIGINT NOT NULL REFERENCES purchase_orders (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  product_id BIGINT NOT NULL REFERENCES products (id),
  sku TEXT NOT NULL,
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  UNIQUE (purchase_order_id, position)
);
--bun:split
-- One row per (viewer organization, purchase order it may see), derived by
-- internal/visibility in the same transaction as every change it depends on.
-- distributor_id is already null on a customer's rows (SPEC §3.3).
CREATE TABLE purchase_order_visibility (
  viewer_organization_id BIGINT NOT NULL REFERENCES organizations (id),
  purchase_order_id BIGINT NOT NULL REFERENCES purchase_orders (id) ON DELETE CASCADE,
  party TEXT NOT NULL,
  created_at {{.Time}} NOT NULL,
  status TEXT NOT NULL,
  vendor_id BIGINT NOT NULL,
  customer_id BIGINT NOT NULL,
  reseller_id BIGINT,
  distributor_id BIGINT,
  PRIMARY KEY (viewer_organization_id, purchase_order_id)
);
--bun:split
CREATE INDEX purchase_order_visibility_page ON purchase_order_visibility (viewer_organization_id, created_at DESC, purchase_order_id DESC);
--bun:split
CREATE INDEX purchase_order_visibility_by_order ON purchase_order_visibility (purchase_order_id);
--bun:split
CREATE TABLE api_tokens (
  id {{.ID}},
  organization_id BIGINT NOT NULL REFERENCES organizations (id),
  role TEXT NOT NULL CHECK (role IN ('OWNER', 'ADMIN_AGENT', 'SALES_AGENT', 'BILLING_ADMIN', 'VIEWER')),
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  secret_hash TEXT NOT NULL UNIQUE,
  created_at {{.Time}} NOT NULL,
  expires_at {{.Time}},
  revoked_at {{.Time}}
);
--bun:split
CREATE INDEX api_tokens_by_organization ON api_tokens (organization_id, id);
