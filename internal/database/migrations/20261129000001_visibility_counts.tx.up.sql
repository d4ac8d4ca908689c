-- How many purchase orders each viewer organization may see: the unfiltered
-- totalCount, kept by internal/visibility in the same transaction as the
-- index rows it counts, so a count is one lookup however many orders a
-- viewer sees.
CREATE TABLE purchase_order_visibility_counts (
  viewer_organization_id BIGINT PRIMARY KEY,
  purchase_orders BIGINT NOT NULL
);
--bun:split
INSERT INTO purchase_order_visibility_counts (viewer_organization_id, purchase_orders)
SELECT viewer_organization_id, COUNT(*) FROM purchase_order_visibility GROUP BY viewer_organization_id;
