-- Keyward's PostgreSQL schema: users, login sessions, API tokens and the
-- digests of their secrets. Only keyed hashes (HMAC-SHA-256, 32 bytes) of
-- secrets are stored, never a secret. Every time is written by the service
-- (its Clock), never by the database.

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    username      TEXT NOT NULL,
    -- The username lowercased by the service; logins look it up.
    username_key  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    roles         TEXT[] NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_username_key_unique UNIQUE (username_key)
);

CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest       BYTEA NOT NULL CHECK (octet_length(digest) = 32),
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    -- The absolute end of the session.
    expires_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT sessions_digest_unique UNIQUE (digest)
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_last_seen_at_idx ON sessions (last_seen_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT,
    scopes       TEXT[] NOT NULL,
    applications TEXT[] NOT NULL,
    -- `expired` is not a state: it follows from expires_at.
    state        TEXT NOT NULL CHECK (state IN ('active', 'deactivated')),
    -- NULL: never expires.
    expires_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    last_used_ip TEXT,
    -- The auto-renewal policy; all NULL when there is none. The callback
    -- signing secret is derived from the seed under the server key.
    renewal_every_days     INTEGER CHECK (renewal_every_days > 0),
    renewal_callback_url   TEXT,
    renewal_mail_recipient TEXT,
    renewal_secret_seed    BYTEA,
    CONSTRAINT api_tokens_renewal_complete CHECK (
        (renewal_every_days IS NULL) = (renewal_callback_url IS NULL)
        AND (renewal_every_days IS NULL) = (renewal_secret_seed IS NULL)
        AND (renewal_every_days IS NOT NULL OR renewal_mail_recipient IS NULL)
    )
);

CREATE INDEX api_tokens_user_id_created_at_idx ON api_tokens (user_id, created_at, id);

-- A token has one current secret and at most one previous secret (in its
-- grace period after a rotation, until expires_at): the primary key.
CREATE TABLE token_secrets (
    token_id   UUID NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    slot       TEXT NOT NULL CHECK (slot IN ('current', 'previous')),
    digest     BYTEA NOT NULL CHECK (octet_length(digest) = 32),
    -- "..." and the last four characters of the secret.
    hint       TEXT NOT NULL,
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (token_id, slot),
    CONSTRAINT token_secrets_digest_unique UNIQUE (digest),
    CONSTRAINT token_secrets_grace CHECK ((slot = 'previous') = (expires_at IS NOT NULL))
);

CREATE INDEX token_secrets_grace_idx ON token_secrets (expires_at) WHERE slot = 'previous';
