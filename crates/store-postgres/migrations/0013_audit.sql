-- The audit log: who did what, from where, to which credential, and how it
-- ended. An event of a change is written in the change's transaction. No
-- event holds a secret. Not foreign keys: an event outlives what it is
-- about (a deleted token's deletion stays on record).

CREATE TABLE audit_events (
    id                    UUID PRIMARY KEY,
    at                    TIMESTAMPTZ NOT NULL,
    actor_user_id         UUID,
    -- 'api_token', 'session', 'access_token', …
    actor_credential_kind TEXT,
    actor_credential_id   UUID,
    -- 'token.created', …
    action                TEXT NOT NULL,
    -- 'token', 'app', 'session', 'user', 'oauth_token'
    target_type           TEXT NOT NULL,
    target_id             UUID,
    -- Whose credential or account it touched.
    subject_user_id       UUID,
    ip                    TEXT,
    user_agent            TEXT,
    outcome               TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    details               JSONB NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_events_at_idx ON audit_events (at, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_user_id, at, id);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_user_id, at, id);
CREATE INDEX audit_events_target_idx ON audit_events (target_id, at, id);
