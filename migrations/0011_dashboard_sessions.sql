-- Dashboard sessions ended by signing out. A session cookie is signed, not stored, so signing
-- out records its nonce here until the cookie would have expired anyway: a copy of the cookie
-- taken before sign-out is refused, by every replica.
create table revoked_sessions (
    nonce       text primary key,
    expires_at  timestamptz not null
);
create index revoked_sessions_expiry on revoked_sessions (expires_at);
