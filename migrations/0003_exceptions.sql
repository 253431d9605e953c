-- Exceptions: an accepted risk for one control within a scope, with a required expiry.
-- A finding matched by an unexpired, undeleted exception is shown as suppressed; once the
-- exception expires or is deleted, the finding shows as it is again. Rows are never deleted:
-- `deleted_at` marks a withdrawal, and every change is kept in `exception_audit`.
create table exceptions (
    id                uuid primary key,
    control_id        text not null,
    -- The scope: every given part must match (at least one is given).
    account_id        text,
    ou_path           text,
    region            text,
    -- Resource id pattern, `*` matching any run of characters (stored as a LIKE pattern).
    resource_pattern  text,
    resource_like     text,
    reason            text not null,
    expires_at        timestamptz not null,
    created_at        timestamptz not null default now(),
    created_by        text not null,
    deleted_at        timestamptz,
    deleted_by        text,
    check (account_id is not null or ou_path is not null or region is not null or resource_pattern is not null)
);
create index exceptions_control on exceptions (control_id) where deleted_at is null;

create table exception_audit (
    id            bigserial primary key,
    exception_id  uuid not null references exceptions (id),
    action        text not null check (action in ('created', 'deleted')),
    actor         text not null,
    at            timestamptz not null default now(),
    -- The exception as it was after the change.
    snapshot      jsonb not null
);
create index exception_audit_exception on exception_audit (exception_id, at);
