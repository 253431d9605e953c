-- The API's read path at the planned scale (10,000 accounts x 25 controls x 4 regions, a
-- sweep a day, a year of history): aggregates kept exact by the transaction that records
-- each account, one posture point per completed sweep for the trend, and indexes that
-- serve the findings listing in its sort orders.

-- Active findings per control, severity and status. Changed only by the deltas that
-- `findings::record_account` applies in the account's own transaction (no CHECK on the
-- counts: PostgreSQL checks the proposed row of an upsert, a bare delta, before it finds the
-- conflict; the integration tests compare these totals with a recomputation instead).
create table finding_totals (
    control_id  text not null,
    severity    text not null,
    status      text not null,
    findings    bigint not null,
    primary key (control_id, severity, status)
);

-- Accounts per control: with any active finding of it, and with a failing one.
create table control_account_totals (
    control_id          text primary key,
    accounts_evaluated  bigint not null,
    accounts_failing    bigint not null
);

-- Per account, the same counts the account listing filters on.
alter table accounts
    add column failing_count integer not null default 0,
    add column error_count   integer not null default 0;

insert into finding_totals (control_id, severity, status, findings)
select control_id, severity, status, count(*) from findings where active group by 1, 2, 3;

insert into control_account_totals (control_id, accounts_evaluated, accounts_failing)
select control_id, count(distinct account_id), count(distinct account_id) filter (where status = 'fail')
from findings where active group by 1;

update accounts a set failing_count = c.failing, error_count = c.errors
from (select account_id, count(*) filter (where status = 'fail') as failing,
             count(*) filter (where status = 'error') as errors
      from findings where active group by 1) c
where c.account_id = a.id;

-- The trend: the posture as each completed sweep left it. `failing_by_severity` is
-- {"high": n, ...} (severities with failing findings only); `controls` is
-- {"BR.NET.1": {"accounts_compliant": n, "accounts_evaluated": m}, ...}.
create table posture_points (
    sweep_id             uuid primary key references sweeps (id) on delete cascade,
    at                   timestamptz not null,
    failing_by_severity  jsonb not null,
    controls             jsonb not null
);
create index posture_points_at on posture_points (at);

-- Points for the sweeps completed before this migration, rebuilt from the transitions:
-- a finding's status at an instant is its last transition at or before it.
with points as (
         select id as sweep_id, finished_at as at from sweeps where status = 'completed' and finished_at is not null),
     states as (
         select p.sweep_id, p.at, last.finding_id, last.new_status
         from points p
         cross join lateral (
             select distinct on (e.finding_id) e.finding_id, e.new_status
             from finding_events e where e.at <= p.at
             order by e.finding_id, e.id desc) last
         where last.new_status is not null),
     joined as (
         select s.sweep_id, f.control_id, f.account_id, f.severity, s.new_status
         from states s join findings f on f.id = s.finding_id),
     failing as (
         select sweep_id, jsonb_object_agg(severity, n) as m
         from (select sweep_id, severity, count(*) as n from joined where new_status = 'fail' group by 1, 2) x
         group by 1),
     per_account as (
         select sweep_id, control_id, account_id, bool_or(new_status = 'fail') as any_fail
         from joined group by 1, 2, 3),
     controls as (
         select sweep_id,
                jsonb_object_agg(control_id, jsonb_build_object('accounts_compliant', compliant,
                                                                'accounts_evaluated', evaluated)) as m
         from (select sweep_id, control_id, count(*) filter (where not any_fail) as compliant, count(*) as evaluated
               from per_account group by 1, 2) y
         group by 1)
insert into posture_points (sweep_id, at, failing_by_severity, controls)
select p.sweep_id, p.at, coalesce(f.m, '{}'), coalesce(c.m, '{}')
from points p left join failing f using (sweep_id) left join controls c using (sweep_id);

-- The findings listing: keyset pages in id order (with the common filters leading), most
-- severe first, and by first-seen time.
alter table findings add column severity_rank smallint generated always as (
    case severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 when 'low' then 3 else 4 end) stored;
drop index findings_open;
create index findings_open on findings (status, severity, id) where active;
drop index findings_control;
create index findings_control on findings (control_id, status, id);
drop index findings_account;
create index findings_account on findings (account_id, id);
create index findings_by_severity on findings (severity_rank, id) where active;
create index findings_by_first_seen on findings (first_seen_at, id) where active;
