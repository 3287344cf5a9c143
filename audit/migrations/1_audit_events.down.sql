DROP TABLE audit_cursor;
DROP TABLE audit_events;
