-- OAuth 2.0: client apps, the authorization codes issued to them, and the
-- access and refresh tokens issued at the token endpoint.
--
-- Same conventions as 0001: ids (client ids, family ids) are UUID TEXT,
-- times INTEGER unix seconds from the application's clock, secrets only as
-- 32-byte keyed-hash BLOBs with a UNIQUE index, lists JSON arrays of strings.

CREATE TABLE oauth_apps (
    client_id     TEXT    NOT NULL PRIMARY KEY,
    -- The owner.
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_name   TEXT    NOT NULL,
    description   TEXT,
    -- In the order given; compared by exact string.
    redirect_uris TEXT    NOT NULL DEFAULT '[]',
    logo_uri      TEXT,
    scopes        TEXT    NOT NULL DEFAULT '[]',
    -- 'authorization_code', 'refresh_token', 'client_credentials'.
    grant_types   TEXT    NOT NULL DEFAULT '[]',
    secret_digest BLOB    NOT NULL CHECK (length(secret_digest) = 32),
    -- "..." and the last four characters of the client secret.
    secret_hint   TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX oauth_apps_secret_digest ON oauth_apps (secret_digest);
CREATE INDEX oauth_apps_user ON oauth_apps (user_id, created_at, client_id);

CREATE TABLE oauth_codes (
    id             TEXT    NOT NULL PRIMARY KEY,
    digest         BLOB    NOT NULL CHECK (length(digest) = 32),
    client_id      TEXT    NOT NULL REFERENCES oauth_apps (client_id) ON DELETE CASCADE,
    -- The user who consented.
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT,
    scopes         TEXT    NOT NULL DEFAULT '[]',
    -- The S256 PKCE challenge.
    code_challenge TEXT    NOT NULL,
    -- Shared by every token issued from this code; not a foreign key.
    family_id      TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    -- Set once, when the code is redeemed.
    used_at        INTEGER
) STRICT;

CREATE UNIQUE INDEX oauth_codes_digest ON oauth_codes (digest);
CREATE INDEX oauth_codes_client ON oauth_codes (client_id);
CREATE INDEX oauth_codes_user ON oauth_codes (user_id);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

CREATE TABLE oauth_tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    digest     BLOB    NOT NULL CHECK (length(digest) = 32),
    kind       TEXT    NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id  TEXT    NOT NULL REFERENCES oauth_apps (client_id) ON DELETE CASCADE,
    -- Whom the token acts for.
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes     TEXT    NOT NULL DEFAULT '[]',
    -- NULL for client_credentials tokens; not a foreign key.
    family_id  TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- A refresh token exchanged for new tokens.
    used_at    INTEGER,
    revoked_at INTEGER
) STRICT;

CREATE UNIQUE INDEX oauth_tokens_digest ON oauth_tokens (digest);
CREATE INDEX oauth_tokens_family ON oauth_tokens (family_id) WHERE family_id IS NOT NULL;
CREATE INDEX oauth_tokens_client ON oauth_tokens (client_id);
CREATE INDEX oauth_tokens_user ON oauth_tokens (user_id);
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires_at);
