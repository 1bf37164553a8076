-- The renewal scan asks every poll for the tokens whose next cycle is due:
-- without an index that is a scan of every token (a million rows: ~100 ms
-- of CPU each poll, on every instance). PostgreSQL has had this index since
-- its 0016; only tokens with a renewal policy are in it, in the order the
-- scan reads them.
CREATE INDEX api_tokens_renewal_due ON api_tokens (renewal_next_at, id)
 WHERE renewal_next_at IS NOT NULL;
