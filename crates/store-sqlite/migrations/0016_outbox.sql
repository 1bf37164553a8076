-- Auto-renewal schedule, renewal keys and the outbox (webhooks and e-mail).

-- When the next renewal cycle starts, and when a key was last redeemed.
-- Existing policies start their first cycle one period after creation.
ALTER TABLE api_tokens ADD COLUMN renewal_next_at INTEGER;
ALTER TABLE api_tokens ADD COLUMN renewal_last_at INTEGER;
UPDATE api_tokens
   SET renewal_next_at = created_at + renewal_every_days * 86400
 WHERE renewal_every_days IS NOT NULL;

-- One-time renewal keys: only the keyed digest is kept.
CREATE TABLE renewal_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    token_id     TEXT    NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    digest       BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER,
    cancelled_at INTEGER
);
CREATE INDEX renewal_keys_token ON renewal_keys (token_id);

-- Messages to deliver. No secret: a renewal callback keeps only the seed
-- its key is derived from under the server key.
CREATE TABLE outbox_messages (
    id               TEXT    NOT NULL PRIMARY KEY,
    token_id         TEXT    REFERENCES api_tokens (id) ON DELETE CASCADE,
    event            TEXT    NOT NULL,
    channel          TEXT    NOT NULL CHECK (channel IN ('webhook', 'email')),
    target           TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    key_seed         BLOB,
    dedupe_key       TEXT    UNIQUE,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_result      TEXT,
    claimed_by       TEXT,
    claim_expires_at INTEGER,
    created_at       INTEGER NOT NULL
);
CREATE INDEX outbox_messages_due ON outbox_messages (status, next_attempt_at);
CREATE INDEX outbox_messages_token ON outbox_messages (token_id, created_at, id);

CREATE TABLE outbox_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT    NOT NULL REFERENCES outbox_messages (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    response    TEXT,
    error       TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX outbox_attempts_message ON outbox_attempts (message_id, id);
