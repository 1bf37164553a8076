-- Administration: users gain an optional e-mail address (where notices go),
-- and every user's tokens and apps are listed page by page in creation
-- order, so those lists get an index of their own.

ALTER TABLE users ADD COLUMN email TEXT;

CREATE INDEX api_tokens_created_idx ON api_tokens (created_at, id);
CREATE INDEX oauth_apps_created_idx ON oauth_apps (created_at, client_id);
