-- An access token may be issued to a user for their own username and
-- password (the apinizer compatibility profile): it has no app, so
-- oauth_tokens.client_id becomes optional. Refresh tokens always belong to
-- an app. SQLite cannot drop a NOT NULL constraint, so the table is rebuilt
-- with the same rows and indexes (nothing refers to it).

CREATE TABLE oauth_tokens_new (
    id         TEXT    NOT NULL PRIMARY KEY,
    digest     BLOB    NOT NULL CHECK (length(digest) = 32),
    kind       TEXT    NOT NULL CHECK (kind IN ('access', 'refresh')),
    -- NULL: issued to the user directly, never for a refresh token.
    client_id  TEXT    REFERENCES oauth_apps (client_id) ON DELETE CASCADE,
    -- Whom the token acts for.
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes     TEXT    NOT NULL DEFAULT '[]',
    -- NULL for client_credentials and user tokens; not a foreign key.
    family_id  TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- A refresh token exchanged for new tokens.
    used_at    INTEGER,
    revoked_at INTEGER,
    CHECK (client_id IS NOT NULL OR kind = 'access')
) STRICT;

INSERT INTO oauth_tokens_new
    (id, digest, kind, client_id, user_id, scopes, family_id, created_at, expires_at,
     used_at, revoked_at)
SELECT id, digest, kind, client_id, user_id, scopes, family_id, created_at, expires_at,
       used_at, revoked_at
FROM oauth_tokens;

DROP TABLE oauth_tokens;
ALTER TABLE oauth_tokens_new RENAME TO oauth_tokens;

CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id) WHERE family_id IS NOT NULL;
CREATE INDEX oauth_tokens_client ON oauth_tokens (client_id);
CREATE INDEX oauth_tokens_user ON oauth_tokens (user_id);
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires_at);
