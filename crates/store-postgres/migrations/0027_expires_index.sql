-- The expiry-notice scan asks every poll, on every instance, for the active
-- tokens that expire soon: without an index on expiry that was a scan of
-- every token. Only tokens that expire at all are in it.
CREATE INDEX api_tokens_expires_idx ON api_tokens (expires_at)
 WHERE expires_at IS NOT NULL;
