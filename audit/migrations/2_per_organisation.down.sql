ALTER TABLE audit_events DROP CONSTRAINT audit_events_record;
DELETE FROM audit_events a USING audit_events b
  WHERE a.revision = b.revision AND a.position = b.position AND a.seq > b.seq;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_revision_position_key UNIQUE (revision, position);
ALTER TABLE audit_events DROP COLUMN key;
