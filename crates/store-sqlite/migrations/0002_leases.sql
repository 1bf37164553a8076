-- Named leases: which instance runs a periodic job (housekeeping, …) in the
-- current period. See keyward_core::store::LeaseStore.
--
-- A lease is free when it has no row or its expires_at (unix seconds, from
-- the application's clock, rounded up) is at or before the caller's now.

CREATE TABLE leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    -- The instance holding it: an id each process makes for itself.
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
