-- One row per audited SpiceDB write, named by its revision and the
-- position of its metadata within that revision (idempotent appends).
CREATE TABLE audit_events (
    seq          BIGSERIAL PRIMARY KEY,
    revision     TEXT        NOT NULL,
    position     INTEGER     NOT NULL,
    write_id     TEXT        NOT NULL DEFAULT '',
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT        NOT NULL DEFAULT '',
    organisation TEXT        NOT NULL DEFAULT '',
    action       TEXT        NOT NULL DEFAULT '',
    reason       TEXT        NOT NULL DEFAULT '',
    details      JSONB,
    changes      JSONB       NOT NULL,
    zedtoken     TEXT        NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (revision, position)
);
CREATE INDEX audit_events_organisation ON audit_events (organisation, seq);
CREATE INDEX audit_events_at ON audit_events (at);

-- Where the Watch consumers resume: one row, shared by every replica. Any
-- value stored here has every event before it stored too.
CREATE TABLE audit_cursor (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    zedtoken   TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
