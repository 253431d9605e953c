//! Read-only aggregates for the API: the current posture and its trend over time.
//!
//! The trend is rebuilt from `finding_events` (every finding has an event at creation and at
//! every change of status, so the last event at or before an instant gives its status then).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::StoreError;
use super::controls::ControlResultRow;
use super::sweeps::SweepProgressRow;

/// The organization's posture now.
#[derive(Debug, Clone)]
pub struct Posture {
    /// Accounts in the organization at the last sweep that read it.
    pub accounts_in_organization: i64,
    /// Accounts recorded (swept at least once).
    pub accounts_recorded: i64,
    /// Accounts whose last sweep assessed them.
    pub accounts_assessed: i64,
    /// Accounts whose last sweep could not assume the role.
    pub accounts_not_assessed: i64,
    /// Active findings by status: (status, count).
    pub findings_by_status: Vec<(String, i64)>,
    /// Active failing findings by severity: (severity, count).
    pub failing_by_severity: Vec<(String, i64)>,
    /// Active failing findings that a live exception suppresses (included in the counts above).
    pub failing_suppressed: i64,
    /// Results per control.
    pub controls: Vec<ControlResultRow>,
    /// The most recent sweep.
    pub last_sweep: Option<SweepProgressRow>,
}

/// Reads the current posture.
pub async fn current(pool: &PgPool) -> Result<Posture, StoreError> {
    let (recorded, assessed, not_assessed): (i64, i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where assessed), count(*) filter (where not assessed) from accounts",
    )
    .fetch_one(pool)
    .await?;
    let findings_by_status = findings_by_status(pool).await?;
    let failing_by_severity: Vec<(String, i64)> = sqlx::query_as(
        "select severity, count(*) from findings where active and status = 'fail' group by severity order by severity",
    )
    .fetch_all(pool)
    .await?;
    let (failing_suppressed,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select count(*) from findings f where f.active and f.status = 'fail' and {} is not null",
        super::exceptions::SUPPRESSED_BY
    )))
    .fetch_one(pool)
    .await?;
    let in_org: Option<(i32,)> = sqlx::query_as(
        "select accounts_total from sweeps where org_snapshot_hash is not null order by started_at desc limit 1",
    )
    .fetch_optional(pool)
    .await?;
    let last_sweep = super::sweeps::page(pool, None, 1).await?.into_iter().next();
    Ok(Posture {
        accounts_in_organization: in_org.map_or(recorded, |(n,)| i64::from(n)),
        accounts_recorded: recorded,
        accounts_assessed: assessed,
        accounts_not_assessed: not_assessed,
        findings_by_status,
        failing_by_severity,
        failing_suppressed,
        controls: super::controls::results(pool).await?,
        last_sweep,
    })
}

/// Active findings by status: (status, count).
pub async fn findings_by_status(pool: &PgPool) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as("select status, count(*) from findings where active group by status order by status")
        .fetch_all(pool)
        .await?)
}

/// One point of the trend: the state at `at`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TrendFailing {
    /// The instant (end of the bucket).
    pub at: DateTime<Utc>,
    /// Severity.
    pub severity: String,
    /// Failing findings of that severity at `at`.
    pub failing: i64,
}

/// Accounts compliant with one control at one instant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TrendControl {
    /// The instant (end of the bucket).
    pub at: DateTime<Utc>,
    /// The control.
    pub control_id: String,
    /// Accounts with findings of the control and none failing.
    pub accounts_compliant: i64,
    /// Accounts with findings of the control.
    pub accounts_evaluated: i64,
}

/// The trend between `from` and `to` (inclusive), one point every `step`.
pub async fn trend(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: chrono::Duration,
) -> Result<(Vec<TrendFailing>, Vec<TrendControl>), StoreError> {
    let step_secs = step.num_seconds() as f64;
    // Status of every finding at each instant: its last transition at or before it. A null
    // new_status means the finding was no longer observed.
    const STATES: &str = "with points as (
             select generate_series($1::timestamptz, $2::timestamptz, make_interval(secs => $3)) as at),
         states as (
             select p.at, last.finding_id, last.new_status
             from points p
             cross join lateral (
                 select distinct on (e.finding_id) e.finding_id, e.new_status
                 from finding_events e where e.at <= p.at
                 order by e.finding_id, e.id desc) last
             where last.new_status is not null)";
    let failing = sqlx::query_as::<_, TrendFailing>(sqlx::AssertSqlSafe(format!(
        "{STATES}
         select s.at, f.severity, count(*) as failing
         from states s join findings f on f.id = s.finding_id
         where s.new_status = 'fail'
         group by s.at, f.severity order by s.at, f.severity"
    )))
    .bind(from)
    .bind(to)
    .bind(step_secs)
    .fetch_all(pool)
    .await?;
    let controls = sqlx::query_as::<_, TrendControl>(sqlx::AssertSqlSafe(format!(
        "{STATES}
         select at, control_id, count(*) filter (where not any_fail) as accounts_compliant, count(*) as accounts_evaluated
         from (select s.at, f.control_id, f.account_id, bool_or(s.new_status = 'fail') as any_fail
               from states s join findings f on f.id = s.finding_id
               group by s.at, f.control_id, f.account_id) x
         group by at, control_id order by at, control_id"
    )))
    .bind(from)
    .bind(to)
    .bind(step_secs)
    .fetch_all(pool)
    .await?;
    Ok((failing, controls))
}
