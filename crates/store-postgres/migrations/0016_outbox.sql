-- Auto-renewal schedule, renewal keys and the outbox (webhooks and e-mail).

-- When the next renewal cycle starts, and when a key was last redeemed.
-- Existing policies start their first cycle one period after creation.
ALTER TABLE api_tokens ADD COLUMN renewal_next_at TIMESTAMPTZ;
ALTER TABLE api_tokens ADD COLUMN renewal_last_at TIMESTAMPTZ;
UPDATE api_tokens
   SET renewal_next_at = created_at + make_interval(days => renewal_every_days)
 WHERE renewal_every_days IS NOT NULL;
CREATE INDEX api_tokens_renewal_due ON api_tokens (renewal_next_at)
 WHERE renewal_next_at IS NOT NULL;

-- One-time renewal keys: only the keyed digest is kept.
CREATE TABLE renewal_keys (
    id           UUID        PRIMARY KEY,
    token_id     UUID        NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    digest       BYTEA       NOT NULL CHECK (octet_length(digest) = 32),
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ,
    cancelled_at TIMESTAMPTZ,
    CONSTRAINT renewal_keys_digest_unique UNIQUE (digest)
);
CREATE INDEX renewal_keys_token ON renewal_keys (token_id);

-- Messages to deliver. No secret: a renewal callback keeps only the seed
-- its key is derived from under the server key.
CREATE TABLE outbox_messages (
    id               UUID        PRIMARY KEY,
    token_id         UUID        REFERENCES api_tokens (id) ON DELETE CASCADE,
    event            TEXT        NOT NULL,
    channel          TEXT        NOT NULL CHECK (channel IN ('webhook', 'email')),
    target           TEXT        NOT NULL,
    payload          TEXT        NOT NULL,
    key_seed         BYTEA,
    dedupe_key       TEXT,
    status           TEXT        NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_attempt_at  TIMESTAMPTZ,
    last_result      TEXT,
    claimed_by       TEXT,
    claim_expires_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT outbox_messages_dedupe_unique UNIQUE (dedupe_key)
);
CREATE INDEX outbox_messages_due ON outbox_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_messages_token ON outbox_messages (token_id, created_at, id);

CREATE TABLE outbox_attempts (
    id          BIGSERIAL   PRIMARY KEY,
    message_id  UUID        NOT NULL REFERENCES outbox_messages (id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL,
    response    TEXT,
    error       TEXT,
    duration_ms BIGINT      NOT NULL
);
CREATE INDEX outbox_attempts_message ON outbox_attempts (message_id, id);
