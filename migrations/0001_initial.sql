-- bedrock-sweeper schema, version 1.
-- Never edit a migration once applied anywhere; add a new one.

-- The control catalog, synced from findings/ at start-up (upsert + delete-missing).
create table controls (
    id          text primary key,
    family      text not null,
    title       text not null,
    severity    text not null check (severity in ('critical', 'high', 'medium', 'low', 'informational')),
    scope       text not null,
    definition  jsonb not null,
    synced_at   timestamptz not null default now()
);

-- Evidence: each snapshot stored once per distinct content (sha-256 of its JSON).
create table snapshots (
    hash        text primary key,
    kind        text not null check (kind in ('organization', 'account')),
    content     jsonb not null,
    created_at  timestamptz not null default now()
);

create table sweeps (
    id                 uuid primary key,
    trigger            text not null,
    status             text not null check (status in ('running', 'completed', 'failed')),
    started_at         timestamptz not null default now(),
    finished_at        timestamptz,
    org_snapshot_hash  text references snapshots (hash),
    accounts_total     integer not null default 0,
    aws_calls          jsonb not null default '{}',
    error              text
);
create index sweeps_started_at on sweeps (started_at desc);
-- At most one running sweep at a time.
create unique index sweeps_one_running on sweeps ((true)) where status = 'running';

-- One task per account and sweep. A worker leases a task; an expired lease may be taken
-- over by another worker, so a crashed worker's account is retried, not lost.
create table sweep_tasks (
    sweep_id          uuid not null references sweeps (id) on delete cascade,
    account_id        text not null,
    state             text not null check (state in ('pending', 'running', 'done', 'skipped')),
    lease_owner       text,
    lease_expires_at  timestamptz,
    attempts          integer not null default 0,
    assessed          boolean,
    snapshot_hash     text references snapshots (hash),
    note              text,
    finished_at       timestamptz,
    primary key (sweep_id, account_id)
);
create index sweep_tasks_open on sweep_tasks (sweep_id, state) where state in ('pending', 'running');

create table accounts (
    id                text primary key,
    name              text not null,
    email             text not null,
    status            text not null,
    parent_id         text not null,
    ou_path           text not null,
    last_sweep_id     uuid,
    last_assessed_at  timestamptz,
    assessed          boolean,
    updated_at        timestamptz not null default now()
);

-- Current state: one row per control x account x region x resource. `id` is stable
-- (derived from those four), so Security Hub and the API can rely on it.
create table findings (
    id             text primary key,
    control_id     text not null,
    account_id     text not null,
    region         text,
    resource_id    text not null,
    status         text not null check (status in ('pass', 'fail', 'error', 'not_applicable')),
    severity       text not null,
    title          text not null,
    detail         text not null,
    -- false once its subject is no longer observed in an assessed account
    active         boolean not null default true,
    first_seen_at  timestamptz not null,
    last_seen_at   timestamptz not null,
    status_since   timestamptz not null,
    last_sweep_id  uuid not null,
    snapshot_hash  text references snapshots (hash)
);
create index findings_account on findings (account_id);
create index findings_sweep on findings (last_sweep_id);
create index findings_open on findings (status, severity) where active;
create index findings_control on findings (control_id, status);

-- History: transitions only, not every evaluation of every sweep.
create table finding_events (
    id          bigserial primary key,
    finding_id  text not null references findings (id) on delete cascade,
    sweep_id    uuid not null,
    at          timestamptz not null default now(),
    kind        text not null check (kind in ('opened', 'first_seen', 'resolved', 'regressed', 'reopened', 'changed', 'retired')),
    old_status  text,
    new_status  text,
    detail      text
);
create index finding_events_finding on finding_events (finding_id, at);
create index finding_events_sweep on finding_events (sweep_id);

-- What could not be read, per sweep, account, region and call: the coverage view.
create table collection_gaps (
    sweep_id    uuid not null references sweeps (id) on delete cascade,
    account_id  text not null,
    region      text,
    service     text not null,
    operation   text not null,
    code        text not null,
    message     text not null
);
create index collection_gaps_sweep on collection_gaps (sweep_id, account_id);
