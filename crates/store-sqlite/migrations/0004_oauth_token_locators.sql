-- OAuth access and refresh tokens carry their row's id (a "locator", see
-- keyward_core::secret), so they are found by primary key and their digest
-- is compared after the lookup. The unique digest index goes: every token
-- issued wrote one random page of it, the largest cost of issuance.
--
-- Tokens issued before carry no locator and no longer parse; their rows stay
-- until housekeeping purges them at expiry. Clients obtain new ones
-- (client_credentials) or users authorize again.

DROP INDEX oauth_tokens_digest;
