-- A number that moves whenever a credential's answer may change: a token
-- revoked, a member removed or given another role. Each replica reads it
-- about once a second; while it stands still, a replica may keep trusting
-- the tokens it has read, so a thousand partners' tokens in rotation cost
-- no lookup per request.
CREATE TABLE credential_generation (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  generation BIGINT NOT NULL
);
--bun:split
INSERT INTO credential_generation (id, generation) VALUES (1, 0);
