-- A secret of this deployment, generated once by the first process that needs it and then
-- shared by every replica: the key of the audit fingerprints (an HMAC of the bearer token).
-- Keyed, a fingerprint in the audit trail tells tokens apart but gives nothing to test
-- guessed tokens against offline. `api.fingerprint_secret` in the configuration, when set,
-- is used instead and this row is left alone.
create table server_secret (
    -- One row: the primary key can only be true.
    id          boolean primary key default true check (id),
    secret      bytea not null check (length(secret) >= 32),
    created_at  timestamptz not null default now()
);
