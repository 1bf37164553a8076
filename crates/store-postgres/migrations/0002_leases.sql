-- Named leases: which instance runs a periodic job (housekeeping, …) in the
-- current period. See keyward_core::store::LeaseStore.
--
-- A lease is free when it has no row or its expires_at (from the service's
-- clock, never the database's) is at or before the caller's now.

CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    -- The instance holding it: an id each process makes for itself.
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
