-- An order that was never placed (a DRAFT, or a draft cancelled or resumed
-- into its cart without being placed) is seen only by the organization that
-- saved it. placed_at records that it was placed; orders recorded before it
-- existed count as placed unless they are still drafts.
ALTER TABLE purchase_orders ADD COLUMN placed_at {{.Time}};
--bun:split
UPDATE purchase_orders SET placed_at = created_at WHERE status <> 'DRAFT';
