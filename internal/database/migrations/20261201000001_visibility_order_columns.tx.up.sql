-- The purchase-order list sorts on updated_at and number as well as
-- created_at, always from the viewer's visibility rows in index order, so
-- the rows carry both; visibility.Refresh derives them with the rest (a
-- status change, which moves updated_at, already re-derives the order's
-- rows). They stay nullable only because SQLite cannot add a NOT NULL
-- column without a constant default; Refresh always fills them. number
-- compares byte by byte ({{.BytewiseText}}), as SQLite does, whatever the
-- database's collation.
ALTER TABLE purchase_order_visibility ADD COLUMN updated_at {{.Time}};
--bun:split
ALTER TABLE purchase_order_visibility ADD COLUMN number {{.BytewiseText}};
--bun:split
UPDATE purchase_order_visibility SET
  updated_at = (SELECT p.updated_at FROM purchase_orders p WHERE p.id = purchase_order_visibility.purchase_order_id),
  number = (SELECT p.number FROM purchase_orders p WHERE p.id = purchase_order_visibility.purchase_order_id);
--bun:split
CREATE INDEX purchase_order_visibility_by_updated ON purchase_order_visibility (viewer_organization_id, updated_at, purchase_order_id);
--bun:split
CREATE INDEX purchase_order_visibility_by_number ON purchase_order_visibility (viewer_organization_id, number, purchase_order_id);
--bun:split
-- The platform administrator's list reads purchase_orders directly.
CREATE INDEX purchase_orders_by_updated ON purchase_orders (updated_at, id);
