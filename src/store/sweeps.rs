//! Sweeps and their per-account tasks.
//!
//! A sweep is rows, not memory: one `sweeps` row and one `sweep_tasks` row per account.
//! Workers claim tasks with `FOR UPDATE SKIP LOCKED` and a lease; a task whose lease
//! expired (its worker died) is claimed again, so an interrupted sweep is resumed.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::StoreError;
use crate::aws::CallCounts;
use crate::domain::{AccountId, SweepId};

/// A sweep as stored.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct SweepRow {
    /// Its id.
    pub id: SweepId,
    /// `cli`, `schedule`, `api`.
    pub trigger: String,
    /// `running`, `completed`, `failed`.
    pub status: String,
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

/// Starts a sweep, or fails with `None` when another sweep is running (the partial
/// unique index `sweeps_one_running` guarantees at most one, across processes).
pub async fn start(pool: &PgPool, trigger: &str) -> Result<Option<SweepId>, StoreError> {
    let id = SweepId::new();
    let inserted =
        sqlx::query("insert into sweeps (id, trigger, status) values ($1, $2, 'running') on conflict do nothing")
            .bind(id)
            .bind(trigger)
            .execute(pool)
            .await?;
    Ok((inserted.rows_affected() == 1).then_some(id))
}

/// The running sweep, if any.
pub async fn running(pool: &PgPool) -> Result<Option<SweepRow>, StoreError> {
    Ok(sqlx::query_as::<_, SweepRow>(
        "select id, trigger, status, started_at, finished_at, org_snapshot_hash, accounts_total, error
         from sweeps where status = 'running'",
    )
    .fetch_optional(pool)
    .await?)
}

/// One sweep.
pub async fn get(pool: &PgPool, id: SweepId) -> Result<Option<SweepRow>, StoreError> {
    Ok(sqlx::query_as::<_, SweepRow>(
        "select id, trigger, status, started_at, finished_at, org_snapshot_hash, accounts_total, error
         from sweeps where id = $1",
    )
    .bind(id)
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

/// Records the organization snapshot and creates the tasks.
pub async fn plan(pool: &PgPool, sweep: SweepId, org_hash: &str, tasks: &[PlannedTask]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("update sweeps set org_snapshot_hash = $2, accounts_total = $3 where id = $1")
        .bind(sweep)
        .bind(org_hash)
        .bind(i32::try_from(tasks.len()).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
    for t in tasks {
        let (state, note) = match &t.skip_reason {
            Some(reason) => ("skipped", Some(reason.as_str())),
            None => ("pending", None),
        };
        sqlx::query(
            "insert into sweep_tasks (sweep_id, account_id, state, note, finished_at)
             values ($1, $2, $3, $4, case when $3 = 'skipped' then now() end)
             on conflict do nothing",
        )
        .bind(sweep)
        .bind(&t.account_id)
        .bind(state)
        .bind(note)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Claims the next open task of `sweep` for `owner`, leasing it for `lease_seconds`.
pub async fn claim(
    pool: &PgPool,
    sweep: SweepId,
    owner: &str,
    lease_seconds: i64,
) -> Result<Option<AccountId>, StoreError> {
    let row: Option<(AccountId,)> = sqlx::query_as(
        "update sweep_tasks t set state = 'running', lease_owner = $2,
                lease_expires_at = now() + make_interval(secs => $3), attempts = t.attempts + 1
         where (t.sweep_id, t.account_id) = (
             select sweep_id, account_id from sweep_tasks
             where sweep_id = $1
               and (state = 'pending' or (state = 'running' and lease_expires_at < now()))
             order by account_id
             limit 1
             for update skip locked)
         returning t.account_id",
    )
    .bind(sweep)
    .bind(owner)
    .bind(lease_seconds as f64)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(a,)| a))
}

/// Hands a task back (shutdown or a database error while recording): it becomes
/// claimable at once instead of after the lease.
pub async fn release(pool: &PgPool, sweep: SweepId, account: &AccountId, owner: &str) -> Result<(), StoreError> {
    sqlx::query(
        "update sweep_tasks set state = 'pending', lease_owner = null, lease_expires_at = null
         where sweep_id = $1 and account_id = $2 and lease_owner = $3 and state = 'running'",
    )
    .bind(sweep)
    .bind(account)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(())
}

/// (done or skipped, total) tasks of a sweep.
pub async fn progress(pool: &PgPool, sweep: SweepId) -> Result<(i64, i64), StoreError> {
    let row: (i64, i64) = sqlx::query_as(
        "select count(*) filter (where state in ('done', 'skipped')), count(*) from sweep_tasks where sweep_id = $1",
    )
    .bind(sweep)
    .fetch_one(pool)
    .await?;
    Ok(row)
}

/// Marks the sweep finished with the AWS call counts.
pub async fn finish(
    pool: &PgPool,
    sweep: SweepId,
    status: &str,
    calls: &CallCounts,
    error: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("update sweeps set status = $2, finished_at = now(), aws_calls = $3, error = $4 where id = $1")
        .bind(sweep)
        .bind(status)
        .bind(serde_json::to_value(calls)?)
        .bind(error)
        .execute(pool)
        .await?;
    Ok(())
}

/// Marks the sweep completed and records the posture it leaves (the trend's point), in one
/// transaction.
pub async fn complete(pool: &PgPool, sweep: SweepId, calls: &CallCounts) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "update sweeps set status = 'completed', finished_at = now(), aws_calls = $2, error = null where id = $1",
    )
    .bind(sweep)
    .bind(serde_json::to_value(calls)?)
    .execute(&mut *tx)
    .await?;
    super::posture::record_point(&mut tx, sweep).await?;
    tx.commit().await?;
    Ok(())
}

/// The management account of the organization as the newest sweep read it.
pub async fn latest_management_account(pool: &PgPool) -> Result<Option<AccountId>, StoreError> {
    let id: Option<(Option<String>,)> = sqlx::query_as(
        "select n.content ->> 'management_account_id'
         from sweeps s join snapshots n on n.hash = s.org_snapshot_hash
         order by s.started_at desc limit 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(id.and_then(|(m,)| m).and_then(|m| AccountId::parse(&m).ok()))
}

/// Accounts of a sweep by outcome: (assessed, not assessed, skipped).
pub async fn account_outcomes(pool: &PgPool, sweep: SweepId) -> Result<(i64, i64, i64), StoreError> {
    Ok(sqlx::query_as(
        "select count(*) filter (where state = 'done' and assessed),
                count(*) filter (where state = 'done' and not assessed),
                count(*) filter (where state = 'skipped')
         from sweep_tasks where sweep_id = $1",
    )
    .bind(sweep)
    .fetch_one(pool)
    .await?)
}

/// A sweep with its progress, for the API.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SweepProgressRow {
    /// Its id.
    pub id: SweepId,
    /// `cli`, `schedule`, `api`.
    pub trigger: String,
    /// `running`, `completed`, `failed`.
    pub status: String,
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

const PROGRESS_SELECT: &str = "select s.id, s.trigger, s.status, s.started_at, s.finished_at, s.accounts_total, s.aws_calls, s.error,
        (select count(*) from sweep_tasks t where t.sweep_id = s.id and t.state in ('done', 'skipped')) as accounts_done,
        (select count(*) from sweep_tasks t where t.sweep_id = s.id and t.state = 'done' and not t.assessed)
            as accounts_not_assessed
 from sweeps s";

/// Up to `limit` sweeps, newest first, after the (started_at, id) key `after`.
pub async fn page(
    pool: &PgPool,
    after: Option<(DateTime<Utc>, SweepId)>,
    limit: i64,
) -> Result<Vec<SweepProgressRow>, StoreError> {
    let sql = format!(
        "{PROGRESS_SELECT}
         where ($1::timestamptz is null or (s.started_at, s.id) < ($1, $2))
         order by s.started_at desc, s.id desc
         limit $3"
    );
    Ok(sqlx::query_as::<_, SweepProgressRow>(sqlx::AssertSqlSafe(sql))
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// One sweep with its progress.
pub async fn with_progress(pool: &PgPool, id: SweepId) -> Result<Option<SweepProgressRow>, StoreError> {
    Ok(sqlx::query_as::<_, SweepProgressRow>(sqlx::AssertSqlSafe(format!("{PROGRESS_SELECT} where s.id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}
