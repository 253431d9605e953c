-- Exceptions in Security Hub. A finding that a live exception suppresses gets
-- Workflow.Status = SUPPRESSED with a note naming the exception; when the exception expires
-- or is withdrawn it goes back to NEW. The workflow is customer-owned: BatchImportFindings
-- cannot change it on an existing finding, so it is set with BatchUpdateFindings, from the
-- finding's own account (or the central account in central mode).

alter table findings
    -- Where Security Hub holds the finding (the target of the last accepted import).
    add column sh_target_account      text,
    add column sh_target_region       text,
    -- The workflow status this service last set, and the exception behind a suppression.
    -- Null: never set by us (the customer's workflow is left alone).
    add column sh_workflow            text check (sh_workflow in ('SUPPRESSED', 'NEW')),
    add column sh_workflow_exception  uuid;

-- What must be sent with BatchUpdateFindings: one row per finding, replaced by a newer
-- decision; a row leaves only when Security Hub processed the update.
create table security_hub_workflow_outbox (
    finding_id       text primary key references findings (id) on delete cascade,
    target_account   text not null,
    target_region    text not null,
    workflow         text not null check (workflow in ('SUPPRESSED', 'NEW')),
    exception_id     uuid,
    note             text not null,
    state            text not null default 'pending' check (state in ('pending', 'failed')),
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null default now(),
    last_error       text,
    enqueued_at      timestamptz not null default clock_timestamp()
);
create index security_hub_workflow_outbox_due on security_hub_workflow_outbox (next_attempt_at)
    where state = 'pending';
