-- The catalog's sets (SPEC §4.1, §8.2). Segments, terms and billing cycles are
-- enum values kept as one delimited TEXT column each (',COMMERCIAL,EDUCATION,'),
-- so "offered to X" is a LIKE '%,X,%' the database evaluates on both engines.
-- Industries are free text a customer's industry is matched against
-- case-insensitively, so they get rows of their own: no value can collide
-- with a delimiter. A product without industry rows is offered to every
-- industry.
ALTER TABLE products ADD COLUMN segments TEXT NOT NULL DEFAULT ',COMMERCIAL,EDUCATION,GOVERNMENT,NONPROFIT,';
--bun:split
ALTER TABLE products ADD COLUMN terms TEXT NOT NULL DEFAULT ',P1Y,';
--bun:split
ALTER TABLE products ADD COLUMN billing_cycles TEXT NOT NULL DEFAULT ',MONTHLY,ANNUAL,';
--bun:split
CREATE TABLE product_industries (
  product_id BIGINT NOT NULL REFERENCES products (id),
  position INTEGER NOT NULL,
  industry TEXT NOT NULL,
  PRIMARY KEY (product_id, position)
);
--bun:split
CREATE INDEX catalog_entries_by_product ON catalog_entries (product_id);
