-- People and the subscription lifecycle (SPEC §1.2, §1.3, §6.3, §6.4,
-- §8.1, §8.5): members of organizations, tokens that belong to a member,
-- product subscriptions with the licenses each change added, and the
-- marketplace SaaS activation codes.
CREATE TABLE members (
  id {{.ID}},
  organization_id BIGINT NOT NULL REFERENCES organizations (id),
  role TEXT NOT NULL CHECK (role IN ('OWNER', 'ADMIN_AGENT', 'SALES_AGENT', 'BILLING_ADMIN', 'VIEWER')),
  email TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  -- The JWT "sub" this member signs in as; unique among current members.
  subject TEXT,
  created_at {{.Time}} NOT NULL,
  removed_at {{.Time}}
);
--bun:split
CREATE INDEX members_by_organization ON members (organization_id, id);
--bun:split
CREATE UNIQUE INDEX members_subject ON members (subject) WHERE subject IS NOT NULL AND removed_at IS NULL;
--bun:split
CREATE UNIQUE INDEX members_email ON members (organization_id, email) WHERE removed_at IS NULL;
--bun:split
ALTER TABLE api_tokens ADD COLUMN member_id BIGINT REFERENCES members (id);
--bun:split
-- A SaaS product's publisher landing page; activation links point there.
ALTER TABLE products ADD COLUMN landing_page_url TEXT;
--bun:split
CREATE TABLE product_subscriptions (
  id {{.ID}},
  -- The NEW order whose completion created it; it is seen by whoever sees
  -- that order.
  purchase_order_id BIGINT NOT NULL REFERENCES purchase_orders (id),
  purchase_order_line_id BIGINT NOT NULL UNIQUE REFERENCES purchase_order_lines (id),
  -- The order line whose prices are the subscription's current price: the
  -- first order's line, then the latest renewal's or billing change's.
  price_line_id BIGINT NOT NULL REFERENCES purchase_order_lines (id),
  product_id BIGINT NOT NULL REFERENCES products (id),
  vendor_id BIGINT NOT NULL REFERENCES organizations (id),
  customer_id BIGINT NOT NULL REFERENCES organizations (id),
  distributor_id BIGINT REFERENCES organizations (id),
  reseller_id BIGINT REFERENCES organizations (id),
  tenant_id BIGINT REFERENCES tenants (id),
  partner_of_record_id BIGINT NOT NULL REFERENCES organizations (id),
  indirect_reseller_id BIGINT REFERENCES organizations (id),
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  assigned_licenses INTEGER NOT NULL DEFAULT 0 CHECK (assigned_licenses >= 0 AND assigned_licenses <= quantity),
  term TEXT NOT NULL CHECK (term IN ('P1M', 'P1Y')),
  billing_cycle TEXT NOT NULL CHECK (billing_cycle IN ('MONTHLY', 'ANNUAL')),
  auto_renew {{.Bool}} NOT NULL DEFAULT TRUE,
  nickname TEXT NOT NULL DEFAULT '',
  trial {{.Bool}} NOT NULL DEFAULT FALSE,
  status TEXT NOT NULL CHECK (status IN ('PENDING_FULFILLMENT', 'ACTIVE', 'SUSPENDED', 'CANCELLED', 'EXPIRED')),
  started_at {{.Time}} NOT NULL,
  -- The start of the current term: the purchase, or the latest renewal
  -- (cancellation is allowed within 168 hours of it).
  term_started_at {{.Time}} NOT NULL,
  commitment_ends_at {{.Time}} NOT NULL,
  billing_started_at {{.Time}},
  -- The single-use code the publisher activates a SaaS subscription with.
  activation_code TEXT UNIQUE,
  activation_expires_at {{.Time}},
  activated_at {{.Time}},
  version INTEGER NOT NULL DEFAULT 1,
  created_at {{.Time}} NOT NULL,
  updated_at {{.Time}} NOT NULL
);
--bun:split
CREATE INDEX product_subscriptions_by_order ON product_subscriptions (purchase_order_id);
--bun:split
CREATE INDEX product_subscriptions_by_customer ON product_subscriptions (customer_id, id);
--bun:split
-- What the renewal job looks for: live subscriptions by the end of their term.
CREATE INDEX product_subscriptions_due ON product_subscriptions (commitment_ends_at) WHERE status IN ('ACTIVE', 'SUSPENDED');
--bun:split
-- Each addition of licenses (purchase, renewal, mid-term increase) and how
-- many of them remain; a reduction may take back only licenses added less
-- than 168 hours ago, newest first.
CREATE TABLE subscription_license_additions (
  id {{.ID}},
  product_subscription_id BIGINT NOT NULL REFERENCES product_subscriptions (id),
  kind TEXT NOT NULL CHECK (kind IN ('PURCHASE', 'RENEWAL', 'INCREASE')),
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= quantity),
  added_at {{.Time}} NOT NULL
);
--bun:split
CREATE INDEX subscription_license_additions_by_subscription ON subscription_license_additions (product_subscription_id, added_at);
--bun:split
-- Orders a subscription's changes created (CHANGE, CANCELLATION, RENEWAL),
-- and, on their lines, the licenses a CHANGE added (positive) or removed
-- (negative).
ALTER TABLE purchase_orders ADD COLUMN product_subscription_id BIGINT REFERENCES product_subscriptions (id);
--bun:split
CREATE INDEX purchase_orders_by_subscription ON purchase_orders (product_subscription_id) WHERE product_subscription_id IS NOT NULL;
--bun:split
ALTER TABLE purchase_order_lines ADD COLUMN license_change INTEGER;
