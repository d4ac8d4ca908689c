-- A viewer's count of visible purchase orders is kept in up to 16 rows
-- (shards) whose sum is the count. One row per viewer made every order of
-- a busy vendor queue on that row's lock until the order before it had
-- committed; a new order now adds to the shard its id picks, so orders
-- placed at once mostly touch different rows.
CREATE TABLE purchase_order_visibility_count_shards (
  viewer_organization_id BIGINT NOT NULL,
  shard INTEGER NOT NULL,
  purchase_orders BIGINT NOT NULL,
  PRIMARY KEY (viewer_organization_id, shard)
);
--bun:split
INSERT INTO purchase_order_visibility_count_shards (viewer_organization_id, shard, purchase_orders)
SELECT viewer_organization_id, 0, purchase_orders FROM purchase_order_visibility_counts;
--bun:split
DROP TABLE purchase_order_visibility_counts;
--bun:split
ALTER TABLE purchase_order_visibility_count_shards RENAME TO purchase_order_visibility_counts;
