-- Covering indexes for the verification path's lookups (`lookups.rs`).
--
-- The credential tables have TEXT or BLOB primary keys, so each is a rowid
-- table with its key in a separate index: finding a row by its key took
-- two B-tree descents, the key's index and then the table, and a
-- verification's lookup (secret, token, owner) took six. Each index below
-- holds every column its lookup reads, after the key, so the lookup reads
-- the index alone: three descents. The lookups name them with INDEXED BY,
-- because without ANALYZE statistics (Keyward never runs ANALYZE) SQLite
-- prefers the primary key's index.
--
-- Their cost falls on writes that change an indexed column: a token's
-- scopes or state, a rotation, a user's roles, status or e-mail. The write
-- on every use of a token (last_used_at, last_used_ip) changes none of
-- these columns, and SQLite updates only the indexes that hold a changed
-- column. The OAuth tokens have none: they are written on every issuance,
-- and a covering index there would double that write.

CREATE UNIQUE INDEX token_secrets_lookup ON token_secrets (digest, token_id, slot, expires_at);

CREATE UNIQUE INDEX api_tokens_lookup
    ON api_tokens (id, user_id, state, expires_at, created_at, scopes, applications);

-- The owner, as every lookup joins it.
CREATE UNIQUE INDEX users_lookup
    ON users (id, username, roles, status, email, created_at, updated_at);

-- An OAuth token's app, for its scope.
CREATE UNIQUE INDEX oauth_apps_lookup ON oauth_apps (client_id, scopes);
