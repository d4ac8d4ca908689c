-- An event's position in the log: the order readers read it in and what its
-- cursor encodes. Ids are taken at insert, in no useful order across
-- concurrent transactions; positions are given after commit, in commit
-- order, by one sequencer at a time (internal/events). Existing events keep
-- their id as their position, so cursors handed out before stay valid.
ALTER TABLE events ADD COLUMN position BIGINT;
--bun:split
UPDATE events SET position = id;
--bun:split
CREATE UNIQUE INDEX events_by_position ON events (position);
--bun:split
-- What the sequencer has still to place: small, and gone once placed.
CREATE INDEX events_unpositioned ON events (id) WHERE position IS NULL;
--bun:split
CREATE INDEX events_by_type_position ON events (type, position);
--bun:split
DROP INDEX events_by_type;
