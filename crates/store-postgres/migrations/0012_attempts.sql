-- Sign-in and client-authentication attempts per key (a username at an
-- address, an address, a client) in fixed windows, so that every instance
-- sharing this database keeps one budget (see keyward_core::store::
-- AttemptStore). Unlogged: the counts are worth little after a crash, and
-- writing them to the WAL would cost every sign-in.

CREATE UNLOGGED TABLE auth_attempts (
    key          TEXT        PRIMARY KEY,
    window_start TIMESTAMPTZ NOT NULL,
    count        INTEGER     NOT NULL CHECK (count >= 0)
);

CREATE INDEX auth_attempts_window_start_idx ON auth_attempts (window_start);
