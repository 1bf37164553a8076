-- OAuth 2.0: client apps, the authorization codes issued to them, and the
-- access and refresh tokens issued at the token endpoint. As in 0001, only
-- keyed hashes (32 bytes) of secrets are stored, and every time is written
-- by the service (its Clock), never by the database.

CREATE TABLE oauth_apps (
    client_id     UUID PRIMARY KEY,
    -- The owner.
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_name   TEXT NOT NULL,
    description   TEXT,
    -- In the order given; compared by exact string.
    redirect_uris TEXT[] NOT NULL,
    logo_uri      TEXT,
    scopes        TEXT[] NOT NULL,
    grant_types   TEXT[] NOT NULL CHECK (
        grant_types <@ ARRAY['authorization_code', 'refresh_token', 'client_credentials']::TEXT[]
    ),
    secret_digest BYTEA NOT NULL CHECK (octet_length(secret_digest) = 32),
    -- "..." and the last four characters of the client secret.
    secret_hint   TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT oauth_apps_secret_digest_unique UNIQUE (secret_digest)
);

CREATE INDEX oauth_apps_user_id_created_at_idx ON oauth_apps (user_id, created_at, client_id);

CREATE TABLE oauth_codes (
    id             UUID PRIMARY KEY,
    digest         BYTEA NOT NULL CHECK (octet_length(digest) = 32),
    client_id      UUID NOT NULL REFERENCES oauth_apps (client_id) ON DELETE CASCADE,
    -- The user who consented.
    user_id        UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT,
    scopes         TEXT[] NOT NULL,
    -- The S256 PKCE challenge.
    code_challenge TEXT NOT NULL,
    -- Shared by every token issued from this code; not a foreign key.
    family_id      UUID NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    -- Set once, when the code is redeemed.
    used_at        TIMESTAMPTZ,
    CONSTRAINT oauth_codes_digest_unique UNIQUE (digest)
);

CREATE INDEX oauth_codes_client_id_idx ON oauth_codes (client_id);
CREATE INDEX oauth_codes_user_id_idx ON oauth_codes (user_id);
CREATE INDEX oauth_codes_expires_at_idx ON oauth_codes (expires_at);

CREATE TABLE oauth_tokens (
    id         UUID PRIMARY KEY,
    digest     BYTEA NOT NULL CHECK (octet_length(digest) = 32),
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id  UUID NOT NULL REFERENCES oauth_apps (client_id) ON DELETE CASCADE,
    -- Whom the token acts for.
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes     TEXT[] NOT NULL,
    -- NULL for client_credentials tokens; not a foreign key.
    family_id  UUID,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    -- A refresh token exchanged for new tokens.
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    CONSTRAINT oauth_tokens_digest_unique UNIQUE (digest)
);

CREATE INDEX oauth_tokens_family_id_idx ON oauth_tokens (family_id) WHERE family_id IS NOT NULL;
CREATE INDEX oauth_tokens_client_id_idx ON oauth_tokens (client_id);
CREATE INDEX oauth_tokens_user_id_idx ON oauth_tokens (user_id);
CREATE INDEX oauth_tokens_expires_at_idx ON oauth_tokens (expires_at);
