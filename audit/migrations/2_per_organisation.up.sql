-- The API key's name (X2: every field the memory trail keeps), and one
-- record per organisation a write touches: a write's records share its
-- revision and position and differ by organisation.
ALTER TABLE audit_events ADD COLUMN key TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events DROP CONSTRAINT audit_events_revision_position_key;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_record UNIQUE (revision, position, organisation);
