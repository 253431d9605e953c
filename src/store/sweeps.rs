//! Sweeps and their per-account tasks.
//!
//! A sweep is rows, not memory: one `sweeps` row and one `sweep_tasks` row per account.
//!
//! Two kinds of lease, both renewed by their holder while it works and taken over only once
//! they lapsed:
//! - the sweep's: held by the one process that drives the sweep (plans it, lets its workers
//!   claim tasks, completes it). Another process takes the sweep over once it lapsed.
//! - a task's: held by one worker (each worker has its own owner id) while it sweeps that
//!   account. Workers claim tasks with `FOR UPDATE SKIP LOCKED`.
//!
//! Every write of a sweep or task is guarded by `status`/`state = 'running'` and by the
//! writer's own owner id, so a holder whose lease was taken over cannot write any more.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::StoreError;
use crate::aws::CallCounts;
use crate::domain::{
    AccountId, ControlId, FindingId, FindingRecord, Region, ResourceKind, Severity, Status, SweepId, SweepStatus,
};
use crate::snapshot::Gap;

/// A sweep as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SweepRow {
    /// Its id.
    pub id: SweepId,
    /// `cli`, `schedule`, `api`.
    pub trigger: String,
    /// Where it stands.
    pub status: SweepStatus,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: Option<DateTime<Utc>>,
    /// The organization snapshot it works from.
    pub org_snapshot_hash: Option<String>,
    /// Accounts in the organization.
    pub accounts_total: i32,
    /// Why it failed.
    pub error: Option<String>,
}

/// Starts a sweep held by `owner` for `lease_seconds`, or fails with `None` when another
/// sweep is running (the partial unique index `sweeps_one_running` guarantees at most one,
/// across processes).
pub async fn start(
    pool: &PgPool,
    trigger: &str,
    owner: &str,
    lease_seconds: i64,
) -> Result<Option<SweepId>, StoreError> {
    let id = SweepId::new();
    let inserted = sqlx::query!(
        "insert into sweeps (id, trigger, status, lease_owner, lease_expires_at)
         values ($1, $2, 'running', $3, now() + make_interval(secs => $4)) on conflict do nothing",
        id.0,
        trigger,
        owner,
        lease_seconds as f64,
    )
    .execute(pool)
    .await?;
    Ok((inserted.rows_affected() == 1).then_some(id))
}

/// What [`take_over`] found.
#[derive(Debug)]
pub enum Takeover {
    /// No sweep is running.
    NoneRunning,
    /// The running sweep's lease is live: another process (or this one) drives it.
    Live(SweepId),
    /// The running sweep's lease had lapsed; it is now held by the caller.
    Taken(SweepRow),
}

/// Takes the running sweep over for `owner` when its lease has lapsed (its process died,
/// or could not renew for a whole lease).
pub async fn take_over(pool: &PgPool, owner: &str, lease_seconds: i64) -> Result<Takeover, StoreError> {
    let taken = sqlx::query_as!(
        SweepRow,
        r#"update sweeps set lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2)
           where status = 'running' and (lease_expires_at is null or lease_expires_at <= now())
           returning id as "id: SweepId", trigger, status as "status: SweepStatus", started_at, finished_at,
                     org_snapshot_hash, accounts_total, error"#,
        owner,
        lease_seconds as f64,
    )
    .fetch_optional(pool)
    .await?;
    if let Some(row) = taken {
        return Ok(Takeover::Taken(row));
    }
    Ok(match running(pool).await? {
        Some(row) => Takeover::Live(row.id),
        None => Takeover::NoneRunning,
    })
}

/// The running sweep and the seconds left on its lease (zero or less: lapsed, free to take over).
pub async fn running_lease(pool: &PgPool) -> Result<Option<(SweepId, f64)>, StoreError> {
    Ok(sqlx::query!(
        r#"select id as "id: SweepId", coalesce(extract(epoch from lease_expires_at - now())::float8, 0) as "left!"
           from sweeps where status = 'running'"#
    )
    .map(|r| (r.id, r.left))
    .fetch_optional(pool)
    .await?)
}

/// The running sweep another replica may join: planned (its organization snapshot stored),
/// with a live lease; with the lease holder's id.
pub async fn joinable(pool: &PgPool) -> Result<Option<(SweepId, String, String)>, StoreError> {
    Ok(sqlx::query!(
        r#"select id as "id: SweepId", org_snapshot_hash as "org_snapshot_hash!", lease_owner as "lease_owner!"
           from sweeps
           where status = 'running' and org_snapshot_hash is not null and lease_owner is not null
             and lease_expires_at > now()"#
    )
    .map(|r| (r.id, r.org_snapshot_hash, r.lease_owner))
    .fetch_optional(pool)
    .await?)
}

/// Extends `owner`'s lease on the sweep; `false` when it is no longer `owner`'s (taken
/// over, or the sweep ended).
pub async fn renew(pool: &PgPool, sweep: SweepId, owner: &str, lease_seconds: i64) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "update sweeps set lease_expires_at = now() + make_interval(secs => $3)
         where id = $1 and status = 'running' and lease_owner = $2",
        sweep.0,
        owner,
        lease_seconds as f64,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the sweep's lease up (the sweep stays running): the next process, or the next
/// trigger here, takes it over at once instead of after the lease.
pub async fn release_sweep(pool: &PgPool, sweep: SweepId, owner: &str) -> Result<(), StoreError> {
    sqlx::query!(
        "update sweeps set lease_owner = null, lease_expires_at = null
         where id = $1 and status = 'running' and lease_owner = $2",
        sweep.0,
        owner,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The running sweep, if any.
pub async fn running(pool: &PgPool) -> Result<Option<SweepRow>, StoreError> {
    Ok(sqlx::query_as!(
        SweepRow,
        r#"select id as "id: SweepId", trigger, status as "status: SweepStatus", started_at, finished_at,
                  org_snapshot_hash, accounts_total, error
           from sweeps where status = 'running'"#
    )
    .fetch_optional(pool)
    .await?)
}

/// One sweep.
pub async fn get(pool: &PgPool, id: SweepId) -> Result<Option<SweepRow>, StoreError> {
    Ok(sqlx::query_as!(
        SweepRow,
        r#"select id as "id: SweepId", trigger, status as "status: SweepStatus", started_at, finished_at,
                  org_snapshot_hash, accounts_total, error
           from sweeps where id = $1"#,
        id.0,
    )
    .fetch_optional(pool)
    .await?)
}

/// What happens to one account in a sweep.
#[derive(Debug, Clone)]
pub struct PlannedTask {
    /// The account.
    pub account_id: AccountId,
    /// `None`: to be swept; `Some(reason)`: listed but skipped (suspended, closed, ...).
    pub skip_reason: Option<String>,
}

/// Records the organization snapshot and creates the tasks; `false` (and nothing written)
/// when the sweep is no longer `owner`'s.
pub async fn plan(
    pool: &PgPool,
    sweep: SweepId,
    owner: &str,
    org_hash: &str,
    tasks: &[PlannedTask],
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let planned = sqlx::query!(
        "update sweeps set org_snapshot_hash = $2, accounts_total = $3
         where id = $1 and status = 'running' and lease_owner = $4",
        sweep.0,
        org_hash,
        i32::try_from(tasks.len()).unwrap_or(i32::MAX),
        owner,
    )
    .execute(&mut *tx)
    .await?;
    if planned.rows_affected() == 0 {
        return Ok(false);
    }
    for t in tasks {
        let (state, note) = match &t.skip_reason {
            Some(reason) => ("skipped", Some(reason.as_str())),
            None => ("pending", None),
        };
        sqlx::query!(
            "insert into sweep_tasks (sweep_id, account_id, state, note, finished_at)
             values ($1, $2, $3, $4, case when $3 = 'skipped' then now() end)
             on conflict do nothing",
            sweep.0,
            t.account_id.as_str(),
            state,
            note,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Claims the next open task of `sweep` for the worker `owner`, leasing it for
/// `lease_seconds`: a pending task, or a running one whose lease lapsed (its worker died).
/// Workers of the process holding the sweep's lease claim with `sweep_owner` = that lease;
/// workers of a replica that joined the sweep claim with `None`, only while somebody's lease
/// on it is live (a sweep whose driver died is taken over before anyone works on it again).
/// Returns the account and how many times its task has been claimed in the sweep, this claim
/// included.
pub async fn claim(
    pool: &PgPool,
    sweep: SweepId,
    owner: &str,
    sweep_owner: Option<&str>,
    lease_seconds: i64,
) -> Result<Option<(AccountId, i32)>, StoreError> {
    Ok(sqlx::query!(
        r#"update sweep_tasks t set state = 'running', lease_owner = $2,
                lease_expires_at = now() + make_interval(secs => $3), attempts = t.attempts + 1
         where (t.sweep_id, t.account_id) = (
             select sweep_id, account_id from sweep_tasks
             where sweep_id = $1
               and (state = 'pending' or (state = 'running' and lease_expires_at <= now()))
               and exists (select 1 from sweeps s where s.id = $1 and s.status = 'running'
                           and (s.lease_owner = $4 or ($4::text is null and s.lease_expires_at > now())))
             order by account_id
             limit 1
             for update skip locked)
         returning t.account_id as "account_id: AccountId", t.attempts"#,
        sweep.0,
        owner,
        lease_seconds as f64,
        sweep_owner,
    )
    .map(|r| (r.account_id, r.attempts))
    .fetch_optional(pool)
    .await?)
}

/// Extends the worker `owner`'s lease on its task; `false` when the task is no longer its
/// own (taken over after its lease lapsed, or already recorded).
pub async fn renew_task(
    pool: &PgPool,
    sweep: SweepId,
    account: &AccountId,
    owner: &str,
    lease_seconds: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "update sweep_tasks set lease_expires_at = now() + make_interval(secs => $4)
         where sweep_id = $1 and account_id = $2 and lease_owner = $3 and state = 'running'",
        sweep.0,
        account.as_str(),
        owner,
        lease_seconds as f64,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Tasks of a sweep not yet done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenTasks {
    /// Waiting for a worker.
    pub pending: i64,
    /// Held by a worker (here or elsewhere, live or not).
    pub running: i64,
    /// Seconds until the first lease of a running task lapses (zero or less: one has).
    pub next_lapse_seconds: Option<f64>,
}

/// What is left of a sweep: pending tasks, and tasks held by workers with when the first
/// of their leases lapses.
pub async fn open_tasks(pool: &PgPool, sweep: SweepId) -> Result<OpenTasks, StoreError> {
    Ok(sqlx::query_as!(
        OpenTasks,
        r#"select count(*) filter (where state = 'pending') as "pending!",
                  count(*) filter (where state = 'running') as "running!",
                  extract(epoch from min(lease_expires_at) filter (where state = 'running') - now())::float8
                      as "next_lapse_seconds?"
           from sweep_tasks where sweep_id = $1"#,
        sweep.0,
    )
    .fetch_one(pool)
    .await?)
}

/// Closes the worker `owner`'s task without a result: the account is counted as not assessed
/// in this sweep and the reason is kept as a collection gap. Nothing about its findings is
/// written, so none is resolved or retired. `false` when the task is not the worker's.
pub async fn give_up(
    pool: &PgPool,
    sweep: SweepId,
    account: &AccountId,
    owner: &str,
    reason: &str,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let closed = sqlx::query!(
        "update sweep_tasks set state = 'done', assessed = false, finished_at = now(),
                lease_owner = null, lease_expires_at = null
         where sweep_id = $1 and account_id = $2 and lease_owner = $3 and state = 'running'",
        sweep.0,
        account.as_str(),
        owner,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if closed {
        sqlx::query!(
            "insert into collection_gaps (sweep_id, account_id, region, service, operation, code, message)
             values ($1, $2, null, 'bedrock-sweeper', 'RecordAccount', 'RetriesExhausted', $3)",
            sweep.0,
            account.as_str(),
            reason,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(closed)
}

/// Hands a task back (shutdown or a database error while recording): it becomes
/// claimable at once instead of after the lease.
pub async fn release(pool: &PgPool, sweep: SweepId, account: &AccountId, owner: &str) -> Result<(), StoreError> {
    sqlx::query!(
        "update sweep_tasks set state = 'pending', lease_owner = null, lease_expires_at = null
         where sweep_id = $1 and account_id = $2 and lease_owner = $3 and state = 'running'",
        sweep.0,
        account.as_str(),
        owner,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// (done or skipped, total) tasks of a sweep.
pub async fn progress(pool: &PgPool, sweep: SweepId) -> Result<(i64, i64), StoreError> {
    Ok(sqlx::query!(
        r#"select count(*) filter (where state in ('done', 'skipped')) as "done!", count(*) as "total!"
           from sweep_tasks where sweep_id = $1"#,
        sweep.0,
    )
    .map(|r| (r.done, r.total))
    .fetch_one(pool)
    .await?)
}

/// Marks `owner`'s sweep failed with the AWS call counts and why; `false` when the sweep is
/// no longer `owner`'s.
pub async fn fail(
    pool: &PgPool,
    sweep: SweepId,
    owner: &str,
    calls: &CallCounts,
    error: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "update sweeps set status = $2, finished_at = now(), aws_calls = $3, error = $4, lease_expires_at = null
         where id = $1 and status = 'running' and lease_owner = $5",
        sweep.0,
        SweepStatus::Failed.as_str(),
        serde_json::to_value(calls)?,
        error,
        owner,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks `owner`'s sweep completed and records the posture it leaves (the trend's point),
/// in one transaction; `false` (nothing written) when the sweep is no longer `owner`'s.
/// `lease_owner` stays, naming the process that completed it.
pub async fn complete(pool: &PgPool, sweep: SweepId, owner: &str, calls: &CallCounts) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query!(
        "update sweeps set status = 'completed', finished_at = now(), aws_calls = $2, error = null,
                lease_expires_at = null
         where id = $1 and status = 'running' and lease_owner = $3",
        sweep.0,
        serde_json::to_value(calls)?,
        owner,
    )
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    super::posture::record_point(&mut tx, sweep).await?;
    tx.commit().await?;
    Ok(true)
}

/// The management account of the organization as the newest sweep read it.
pub async fn latest_management_account(pool: &PgPool) -> Result<Option<AccountId>, StoreError> {
    let id = sqlx::query_scalar!(
        r#"select n.content ->> 'management_account_id' as "management_account_id?"
           from sweeps s join snapshots n on n.hash = s.org_snapshot_hash
           order by s.started_at desc limit 1"#
    )
    .fetch_optional(pool)
    .await?;
    Ok(id.flatten().and_then(|m| AccountId::parse(&m).ok()))
}

/// The organization snapshot of the most recent completed sweep: the sweep, when it ended,
/// and the snapshot's hash (what policy previews are judged on).
pub async fn last_completed_org(pool: &PgPool) -> Result<Option<(SweepId, DateTime<Utc>, String)>, StoreError> {
    Ok(sqlx::query!(
        r#"select id as "id: SweepId", finished_at as "finished_at!", org_snapshot_hash as "org_snapshot_hash!"
           from sweeps
           where status = 'completed' and org_snapshot_hash is not null and finished_at is not null
           order by finished_at desc limit 1"#
    )
    .map(|r| (r.id, r.finished_at, r.org_snapshot_hash))
    .fetch_optional(pool)
    .await?)
}

/// The most recent completed sweep (the evidence export's default).
pub async fn last_completed(pool: &PgPool) -> Result<Option<SweepId>, StoreError> {
    Ok(sqlx::query_scalar!(
        r#"select id as "id: SweepId" from sweeps where status = 'completed' order by started_at desc limit 1"#
    )
    .fetch_optional(pool)
    .await?)
}

/// Accounts of a sweep by outcome: (assessed, not assessed, skipped).
pub async fn account_outcomes(pool: &PgPool, sweep: SweepId) -> Result<(i64, i64, i64), StoreError> {
    Ok(sqlx::query!(
        r#"select count(*) filter (where state = 'done' and assessed) as "assessed!",
                  count(*) filter (where state = 'done' and not assessed) as "not_assessed!",
                  count(*) filter (where state = 'skipped') as "skipped!"
           from sweep_tasks where sweep_id = $1"#,
        sweep.0,
    )
    .map(|r| (r.assessed, r.not_assessed, r.skipped))
    .fetch_one(pool)
    .await?)
}

/// A sweep with its progress, for the API.
#[derive(Debug, Clone)]
pub struct SweepProgressRow {
    /// Its id.
    pub id: SweepId,
    /// `cli`, `schedule`, `api`.
    pub trigger: String,
    /// Where it stands.
    pub status: SweepStatus,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: Option<DateTime<Utc>>,
    /// Accounts to sweep (0 until the organization has been read).
    pub accounts_total: i32,
    /// Accounts done or skipped so far.
    pub accounts_done: i64,
    /// Accounts whose role could not be assumed.
    pub accounts_not_assessed: i64,
    /// AWS calls by service and operation, once finished.
    pub aws_calls: serde_json::Value,
    /// Why it failed.
    pub error: Option<String>,
}

/// `$sql!(head... <the select of a [`SweepProgressRow`]> tail...)`, for [`page`] and
/// [`with_progress`] (a shared piece of SQL: see the store's module documentation).
macro_rules! select_progress_rows {
    ($($sql:ident)::+!($($head:tt)*) ($($tail:tt)*)) => {
        $($sql)::+!($($head)*
            r#"select s.id as "id: SweepId", s.trigger, s.status as "status: SweepStatus", s.started_at,
                      s.finished_at, s.accounts_total, s.aws_calls, s.error,
                      (select count(*) from sweep_tasks t where t.sweep_id = s.id and t.state in ('done', 'skipped'))
                          as "accounts_done!",
                      (select count(*) from sweep_tasks t where t.sweep_id = s.id and t.state = 'done' and not t.assessed)
                          as "accounts_not_assessed!"
               from sweeps s"#
            $($tail)*)
    };
}

/// Up to `limit` sweeps, newest first, after the (started_at, id) key `after`.
pub async fn page(
    pool: &PgPool,
    after: Option<(DateTime<Utc>, SweepId)>,
    limit: i64,
) -> Result<Vec<SweepProgressRow>, StoreError> {
    Ok(select_progress_rows!(sqlx::query_as!(SweepProgressRow,)(+ "
           where ($1::timestamptz is null or (s.started_at, s.id) < ($1, $2))
           order by s.started_at desc, s.id desc
           limit $3",
        after.map(|a| a.0),
        after.map(|a| a.1.0),
        limit,
    ))
    .fetch_all(pool)
    .await?)
}

/// One sweep with its progress.
pub async fn with_progress(pool: &PgPool, id: SweepId) -> Result<Option<SweepProgressRow>, StoreError> {
    Ok(select_progress_rows!(sqlx::query_as!(SweepProgressRow,)(+ " where s.id = $1", id.0))
        .fetch_optional(pool)
        .await?)
}

/// Active findings last written by a sweep, counted by control, severity and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingCount {
    /// The control.
    pub control_id: ControlId,
    /// Its title.
    pub title: String,
    /// Its severity.
    pub severity: Severity,
    /// The verdict.
    pub status: Status,
    /// How many findings.
    pub findings: i64,
}

/// The counts behind the CLI summary of `sweep`, computed in the database: nothing loads
/// every finding to count them.
pub async fn finding_counts(pool: &PgPool, sweep: SweepId) -> Result<Vec<FindingCount>, StoreError> {
    Ok(sqlx::query_as!(
        FindingCount,
        r#"select control_id as "control_id: ControlId", min(title) as "title!", severity as "severity: Severity",
                  status as "status: Status", count(*) as "findings!"
           from findings where last_sweep_id = $1 and active
           group by control_id, severity, status order by control_id, severity, status"#,
        sweep.0,
    )
    .fetch_all(pool)
    .await?)
}

/// The active findings last written by `sweep`, by control, account, region and resource,
/// one row at a time, so `sweep --output json` writes them without holding them all.
pub fn stream_findings(
    pool: &PgPool,
    sweep: SweepId,
) -> impl futures::Stream<Item = Result<FindingRecord, StoreError>> + Send + '_ {
    use futures::StreamExt;
    sqlx::query_as!(
        FindingRecord,
        r#"select id as "id: FindingId", control_id as "control_id: ControlId", account_id as "account_id: AccountId",
                  region as "region: Region", resource_id,
                  resource_kind as "resource_kind: ResourceKind", status as "status: Status", severity as "severity: Severity",
                  title, detail, first_seen_at, last_seen_at
           from findings where last_sweep_id = $1 and active
           order by control_id, account_id, region nulls first, resource_id"#,
        sweep.0,
    )
    .fetch(pool)
    .map(|row| row.map_err(StoreError::from))
}

/// Locks `owner`'s running task on `account` for the account's record; `false` when the task
/// is no longer `owner`'s (its lease was taken over).
pub async fn hold_task(
    conn: &mut PgConnection,
    sweep: SweepId,
    account: &AccountId,
    owner: &str,
) -> Result<bool, StoreError> {
    let ours = sqlx::query_scalar!(
        "select account_id from sweep_tasks
         where sweep_id = $1 and account_id = $2 and lease_owner = $3 and state = 'running' for update",
        sweep.0,
        account.as_str(),
        owner,
    )
    .fetch_optional(conn)
    .await?;
    Ok(ours.is_some())
}

/// Closes the task held by [`hold_task`] in the same transaction: done, with its evidence.
pub async fn close_task(
    conn: &mut PgConnection,
    sweep: SweepId,
    account: &AccountId,
    assessed: bool,
    snapshot_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query!(
        "update sweep_tasks set state = 'done', assessed = $3, snapshot_hash = $4, finished_at = now(),
                lease_owner = null, lease_expires_at = null
         where sweep_id = $1 and account_id = $2",
        sweep.0,
        account.as_str(),
        assessed,
        snapshot_hash,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What the sweep could not read of `account`: the coverage view (BR.COV.1, `/coverage`).
pub async fn record_gaps(
    conn: &mut PgConnection,
    sweep: SweepId,
    account: &AccountId,
    gaps: &[&Gap],
) -> Result<(), StoreError> {
    for g in gaps {
        sqlx::query!(
            "insert into collection_gaps (sweep_id, account_id, region, service, operation, code, message)
             values ($1, $2, $3, $4, $5, $6, $7)",
            sweep.0,
            account.as_str(),
            g.region.as_ref().map(Region::as_str),
            &g.service,
            &g.operation,
            &g.code,
            &g.message,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
