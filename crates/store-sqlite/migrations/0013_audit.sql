-- The audit log: who did what, from where, to which credential, and how it
-- ended. An event of a change is written in the change's transaction. No
-- event holds a secret. Not foreign keys: an event outlives what it is
-- about (a deleted token's deletion stays on record).

CREATE TABLE audit_events (
    id                    TEXT    NOT NULL PRIMARY KEY,
    at                    INTEGER NOT NULL,
    actor_user_id         TEXT,
    -- 'api_token', 'session', 'access_token', …
    actor_credential_kind TEXT,
    actor_credential_id   TEXT,
    -- 'token.created', …
    action                TEXT    NOT NULL,
    -- 'token', 'app', 'session', 'user', 'oauth_token'
    target_type           TEXT    NOT NULL,
    target_id             TEXT,
    -- Whose credential or account it touched.
    subject_user_id       TEXT,
    ip                    TEXT,
    user_agent            TEXT,
    outcome               TEXT    NOT NULL CHECK (outcome IN ('success', 'failure')),
    -- A JSON object.
    details               TEXT    NOT NULL DEFAULT '{}'
) STRICT;

CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_actor ON audit_events (actor_user_id, at, id);
CREATE INDEX audit_events_subject ON audit_events (subject_user_id, at, id);
CREATE INDEX audit_events_target ON audit_events (target_id, at, id);
