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

-- Points for the sweeps completed before this migration, rebuilt from the transitions in
-- one pass (not one pass per sweep: a year of daily sweeps holds millions of transitions).
-- A transition holds a finding's status from its time until the finding's next transition,
-- so it counts at every completed sweep's point in between; counts per point are running
-- sums of +1 where such a span starts and -1 where it ends.
create temporary table backfill_points on commit drop as
select row_number() over (order by finished_at, id) as k, id as sweep_id, finished_at as at
from sweeps where status = 'completed' and finished_at is not null;
create index on backfill_points (at);

-- Each transition's span of points: [from_k, to_k).
create temporary table backfill_spans on commit drop as
select f.control_id, f.account_id, f.severity, e.new_status as status,
       -- k follows at: the first point at or after a time is one index lookup.
       (select p.k from backfill_points p where p.at >= e.at order by p.at, p.k limit 1) as from_k,
       coalesce((select p.k from backfill_points p where p.at >= e.next_at order by p.at, p.k limit 1),
                (select count(*) + 1 from backfill_points)) as to_k
from (select finding_id, new_status, at, lead(at) over (partition by finding_id order by id) as next_at
      from finding_events) e
join findings f on f.id = e.finding_id
where e.new_status is not null;
delete from backfill_spans where from_k is null or from_k >= to_k;

with severity_deltas as (
         select k, severity, sum(d) as d
         from (select from_k as k, severity, 1 as d from backfill_spans where status = 'fail'
               union all
               select to_k, severity, -1 from backfill_spans where status = 'fail') x
         group by 1, 2),
     severity_counts as (
         select p.k, s.severity,
                sum(coalesce(sd.d, 0)) over (partition by s.severity order by p.k) as n
         from backfill_points p
         cross join (select distinct severity from backfill_spans) s
         left join severity_deltas sd on sd.k = p.k and sd.severity = s.severity),
     -- Per account and control: findings counted (any status) and failing, changing at span edges.
     account_deltas as (
         select account_id, control_id, k, sum(d_any) as d_any, sum(d_fail) as d_fail
         from (select account_id, control_id, from_k as k, 1 as d_any, (status = 'fail')::int as d_fail
               from backfill_spans
               union all
               select account_id, control_id, to_k, -1, -((status = 'fail')::int) from backfill_spans) x
         group by 1, 2, 3),
     account_running as (
         select account_id, control_id, k,
                sum(d_any) over w > 0 as evaluated, sum(d_fail) over w > 0 as failing
         from account_deltas
         window w as (partition by account_id, control_id order by k)),
     -- An account enters or leaves a control's counts where its booleans change.
     account_changes as (
         select control_id, k,
                evaluated::int - coalesce((lag(evaluated) over w)::int, 0) as d_evaluated,
                failing::int - coalesce((lag(failing) over w)::int, 0) as d_failing
         from account_running
         window w as (partition by account_id, control_id order by k)),
     control_deltas as (
         select control_id, k, sum(d_evaluated) as d_evaluated, sum(d_failing) as d_failing
         from account_changes group by 1, 2),
     control_counts as (
         select p.k, c.control_id,
                sum(coalesce(cd.d_evaluated, 0)) over (partition by c.control_id order by p.k) as evaluated,
                sum(coalesce(cd.d_failing, 0)) over (partition by c.control_id order by p.k) as failing
         from backfill_points p
         cross join (select distinct control_id from backfill_spans) c
         left join control_deltas cd on cd.k = p.k and cd.control_id = c.control_id)
insert into posture_points (sweep_id, at, failing_by_severity, controls)
select p.sweep_id, p.at,
       coalesce((select jsonb_object_agg(severity, n) from severity_counts s where s.k = p.k and s.n > 0), '{}')
           as failing_by_severity,
       coalesce((select jsonb_object_agg(control_id, jsonb_build_object('accounts_compliant', evaluated - failing,
                                                                        'accounts_evaluated', evaluated))
                 from control_counts c where c.k = p.k and c.evaluated > 0), '{}') as controls
from backfill_points p;

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
