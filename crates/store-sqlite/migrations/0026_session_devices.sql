-- Where a login session was signed in from (the client's address and user
-- agent), so its user can tell their devices apart and sign one out.
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
