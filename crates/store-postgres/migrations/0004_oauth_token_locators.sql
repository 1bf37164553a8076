-- OAuth access and refresh tokens carry their row's id (a "locator", see
-- keyward_core::secret), so they are found by primary key and their digest
-- is compared after the lookup. The unique digest constraint goes: every
-- token issued wrote one random page of its index.
--
-- Tokens issued before carry no locator and no longer parse; their rows stay
-- until housekeeping purges them at expiry. Clients obtain new ones
-- (client_credentials) or users authorize again.

ALTER TABLE oauth_tokens DROP CONSTRAINT oauth_tokens_digest_unique;
