-- An access token may be issued to a user for their own username and
-- password (the apinizer compatibility profile): it has no app, so
-- oauth_tokens.client_id becomes optional. Refresh tokens always belong to
-- an app.

ALTER TABLE oauth_tokens ALTER COLUMN client_id DROP NOT NULL;
ALTER TABLE oauth_tokens ADD CONSTRAINT oauth_tokens_client_unless_access
    CHECK (client_id IS NOT NULL OR kind = 'access');
