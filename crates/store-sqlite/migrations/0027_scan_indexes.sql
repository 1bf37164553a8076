-- The renewal and expiry-notice scans run every poll on every instance.
-- Without these indexes each was a scan of every token (a million rows:
-- ~100 ms of CPU per poll each).

-- The tokens whose next renewal cycle is due, in the order the scan reads
-- them; only tokens with a renewal policy. PostgreSQL has had it since its
-- 0016.
CREATE INDEX api_tokens_renewal_due ON api_tokens (renewal_next_at, id)
 WHERE renewal_next_at IS NOT NULL;

-- The tokens that expire soon (and listings filtered by expiry); only
-- tokens that expire at all.
CREATE INDEX api_tokens_expires ON api_tokens (expires_at)
 WHERE expires_at IS NOT NULL;
