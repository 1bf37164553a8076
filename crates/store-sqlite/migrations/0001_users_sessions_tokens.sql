-- Users, login sessions and personal API tokens with their secrets.
--
-- Conventions for every Keyward table on SQLite:
-- * ids are UUIDs as TEXT (hyphenated, lowercase);
-- * times are INTEGER unix seconds, always supplied by the application's
--   clock, never by SQLite's;
-- * secrets are kept only as their keyed hash: a 32-byte BLOB with a UNIQUE
--   index, looked up by equality;
-- * lists (roles, scopes, applications) are JSON arrays of strings in TEXT.

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    -- As entered, for display.
    username      TEXT    NOT NULL,
    -- Lowercased username: what uniqueness and login look-ups use.
    username_key  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    roles         TEXT    NOT NULL DEFAULT '[]',
    status        TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX users_username_key ON users (username_key);
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest       BLOB    NOT NULL CHECK (length(digest) = 32),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    -- Absolute end of the session.
    expires_at   INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX sessions_digest ON sessions (digest);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id                     TEXT    NOT NULL PRIMARY KEY,
    user_id                TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                   TEXT    NOT NULL,
    description            TEXT,
    scopes                 TEXT    NOT NULL DEFAULT '[]',
    applications           TEXT    NOT NULL DEFAULT '[]',
    -- 'expired' is not a state: it follows from expires_at.
    state                  TEXT    NOT NULL CHECK (state IN ('active', 'deactivated')),
    -- NULL: never expires.
    expires_at             INTEGER,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    last_used_at           INTEGER,
    last_used_ip           TEXT,
    -- Auto-renewal policy: all of every_days, callback_url and secret_seed
    -- are set, or none is.
    renewal_every_days     INTEGER CHECK (renewal_every_days > 0),
    renewal_callback_url   TEXT,
    renewal_mail_recipient TEXT,
    -- Not a secret by itself: the callback signing secret is derived from it
    -- under the server key.
    renewal_secret_seed    BLOB,
    CHECK ((renewal_every_days IS NULL) = (renewal_callback_url IS NULL)
       AND (renewal_every_days IS NULL) = (renewal_secret_seed IS NULL)),
    CHECK (renewal_every_days IS NOT NULL OR renewal_mail_recipient IS NULL)
) STRICT;

CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at, id);

-- A token has one 'current' secret and at most one 'previous' secret (in its
-- grace period after a rotation, until expires_at).
CREATE TABLE token_secrets (
    digest     BLOB    NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
    token_id   TEXT    NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    slot       TEXT    NOT NULL CHECK (slot IN ('current', 'previous')),
    -- "..." and the last four characters of the secret.
    hint       TEXT    NOT NULL,
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    CHECK ((slot = 'previous') = (expires_at IS NOT NULL))
) STRICT;

CREATE UNIQUE INDEX token_secrets_slot ON token_secrets (token_id, slot);
CREATE INDEX token_secrets_grace ON token_secrets (expires_at) WHERE slot = 'previous';
