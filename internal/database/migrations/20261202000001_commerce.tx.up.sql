-- Commerce (SPEC §4, §8.2–§8.4): the catalog's fields, list prices per term
-- and billing cycle, price rules on edges, carts and their lines, quotes,
-- and the unit prices fixed on every edge of a priced line's chain.
ALTER TABLE products ADD COLUMN description TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE products ADD COLUMN category TEXT;
--bun:split
ALTER TABLE products ADD COLUMN trial_days INTEGER;
--bun:split
ALTER TABLE products ADD COLUMN parent_id BIGINT REFERENCES products (id);
--bun:split
ALTER TABLE products ADD COLUMN recommended_price_amount TEXT;
--bun:split
ALTER TABLE products ADD COLUMN recommended_price_currency TEXT;
--bun:split
CREATE INDEX products_by_parent ON products (parent_id) WHERE parent_id IS NOT NULL;
--bun:split
CREATE INDEX products_by_name ON products (name, id);
--bun:split
-- A partner's arrangement of a product in its own catalog.
CREATE TABLE catalog_entries (
  seller_id BIGINT NOT NULL REFERENCES organizations (id),
  product_id BIGINT NOT NULL REFERENCES products (id),
  category TEXT,
  recommended_price_amount TEXT,
  recommended_price_currency TEXT,
  listed {{.Bool}} NOT NULL DEFAULT TRUE,
  updated_at {{.Time}} NOT NULL,
  PRIMARY KEY (seller_id, product_id)
);
--bun:split
-- The vendor's list price for one term and billing cycle; products.list_price_*
-- is the price for every pair without a row here.
CREATE TABLE list_prices (
  product_id BIGINT NOT NULL REFERENCES products (id),
  term TEXT NOT NULL CHECK (term IN ('P1M', 'P1Y')),
  billing_cycle TEXT NOT NULL CHECK (billing_cycle IN ('MONTHLY', 'ANNUAL')),
  amount TEXT NOT NULL,
  currency TEXT NOT NULL,
  updated_at {{.Time}} NOT NULL,
  PRIMARY KEY (product_id, term, billing_cycle)
);
--bun:split
-- What an edge's upstream side charges its downstream side: exactly one of a
-- markup and a set price, for one product or (product_id NULL) all of them.
CREATE TABLE price_rules (
  id {{.ID}},
  channel_edge_id BIGINT NOT NULL REFERENCES channel_edges (id),
  product_id BIGINT REFERENCES products (id),
  markup_percent TEXT,
  price_amount TEXT,
  price_currency TEXT,
  updated_at {{.Time}} NOT NULL,
  CHECK ((markup_percent IS NULL) <> (price_amount IS NULL))
);
--bun:split
CREATE UNIQUE INDEX price_rules_edge_product ON price_rules (channel_edge_id, (COALESCE(product_id, 0)));
--bun:split
CREATE TABLE carts (
  id {{.ID}},
  seller_id BIGINT NOT NULL REFERENCES organizations (id),
  customer_id BIGINT NOT NULL REFERENCES organizations (id),
  distributor_id BIGINT REFERENCES organizations (id),
  status TEXT NOT NULL CHECK (status IN ('OPEN', 'SAVED', 'QUOTED', 'PLACED')),
  idempotency_key TEXT,
  created_at {{.Time}} NOT NULL,
  updated_at {{.Time}} NOT NULL
);
--bun:split
CREATE INDEX carts_by_seller ON carts (seller_id, created_at DESC, id DESC);
--bun:split
CREATE UNIQUE INDEX carts_idempotency ON carts (seller_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
--bun:split
CREATE TABLE cart_lines (
  id {{.ID}},
  cart_id BIGINT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
  product_id BIGINT NOT NULL REFERENCES products (id),
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  term TEXT NOT NULL,
  billing_cycle TEXT NOT NULL,
  tenant_id BIGINT REFERENCES tenants (id),
  tenant_domain TEXT,
  parent_line_id BIGINT REFERENCES cart_lines (id) ON DELETE CASCADE,
  markup_percent TEXT,
  price_amount TEXT,
  price_currency TEXT,
  created_at {{.Time}} NOT NULL
);
--bun:split
CREATE INDEX cart_lines_by_cart ON cart_lines (cart_id, id);
--bun:split
CREATE TABLE quotes (
  id {{.ID}},
  number TEXT NOT NULL,
  cart_id BIGINT NOT NULL REFERENCES carts (id),
  seller_id BIGINT NOT NULL REFERENCES organizations (id),
  customer_id BIGINT NOT NULL REFERENCES organizations (id),
  status TEXT NOT NULL CHECK (status IN ('SENT', 'ACCEPTED', 'DECLINED', 'EXPIRED')),
  expires_at {{.Time}} NOT NULL,
  decline_reason TEXT,
  idempotency_key TEXT,
  created_at {{.Time}} NOT NULL,
  updated_at {{.Time}} NOT NULL,
  UNIQUE (seller_id, number)
);
--bun:split
CREATE INDEX quotes_by_seller ON quotes (seller_id, created_at DESC, id DESC);
--bun:split
CREATE INDEX quotes_by_customer ON quotes (customer_id, created_at DESC, id DESC);
--bun:split
ALTER TABLE purchase_orders ADD COLUMN cart_id BIGINT REFERENCES carts (id);
--bun:split
CREATE INDEX purchase_orders_by_cart ON purchase_orders (cart_id) WHERE cart_id IS NOT NULL;
--bun:split
ALTER TABLE purchase_order_lines ADD COLUMN term TEXT;
--bun:split
ALTER TABLE purchase_order_lines ADD COLUMN billing_cycle TEXT;
--bun:split
ALTER TABLE purchase_order_lines ADD COLUMN tenant_id BIGINT REFERENCES tenants (id);
--bun:split
ALTER TABLE purchase_order_lines ADD COLUMN markup_percent TEXT;
--bun:split
ALTER TABLE purchase_order_lines ADD COLUMN price_amount TEXT;
--bun:split
ALTER TABLE purchase_order_lines ADD COLUMN price_currency TEXT;
--bun:split
-- The unit price fixed on each edge of a priced line's chain: seller_id
-- charges buyer_id. line_kind is ORDER (purchase_order_lines) or CART
-- (cart_lines, including a quote's). Who sees which row is package
-- pricing's rule.
CREATE TABLE line_prices (
  line_kind TEXT NOT NULL CHECK (line_kind IN ('ORDER', 'CART')),
  line_id BIGINT NOT NULL,
  seller_id BIGINT NOT NULL REFERENCES organizations (id),
  buyer_id BIGINT NOT NULL REFERENCES organizations (id),
  amount TEXT NOT NULL,
  currency TEXT NOT NULL,
  PRIMARY KEY (line_kind, line_id, seller_id)
);
