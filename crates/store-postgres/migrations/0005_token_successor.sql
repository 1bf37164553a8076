-- A renewed token remembers its successor, so it cannot be renewed again
-- (only the successor can): repeated renewals of one token would otherwise
-- make any number of active tokens. Not a foreign key: the mark stays when
-- the successor is deleted.

ALTER TABLE api_tokens ADD COLUMN renewed_to UUID;
