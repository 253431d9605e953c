-- Security Hub delivery: what was last sent per finding, an outbox of what must be sent,
-- and the state of each target account/region's hub.

-- The last state Security Hub accepted for a finding.
alter table findings
    add column sh_record_state  text check (sh_record_state in ('ACTIVE', 'ARCHIVED')),
    add column sh_compliance    text,
    add column sh_content_hash  text,
    add column sh_updated_at    timestamptz,
    add column sh_sent_at       timestamptz;

-- What must be sent. Written in the same transaction as the finding it is about; one row
-- per finding (a newer change replaces an unsent older one, with a later UpdatedAt).
create table security_hub_outbox (
    finding_id       text primary key references findings (id) on delete cascade,
    target_account   text not null,
    target_region    text not null,
    record_state     text not null check (record_state in ('ACTIVE', 'ARCHIVED')),
    compliance       text not null check (compliance in ('PASSED', 'FAILED', 'NOT_AVAILABLE', 'WARNING')),
    content_hash     text not null,
    updated_at       timestamptz not null,
    reason           text not null,
    state            text not null default 'pending' check (state in ('pending', 'failed')),
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null default now(),
    last_error       text,
    enqueued_at      timestamptz not null default now()
);
create index security_hub_outbox_due on security_hub_outbox (next_attempt_at) where state = 'pending';

-- Per target account and region: is the hub there usable?
create table security_hub_targets (
    account_id  text not null,
    region      text not null,
    status      text not null check (status in ('ok', 'not_enabled', 'access_denied', 'error')),
    detail      text,
    checked_at  timestamptz not null default now(),
    primary key (account_id, region)
);
