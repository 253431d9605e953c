//! The posture now and over time, read from aggregates rather than from the findings:
//! current counts from the totals that `findings::record_account` keeps (see `totals`), and
//! the trend from one posture point per completed sweep, written by [`record_point`] in the
//! transaction that completes it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::StoreError;
use super::controls::ControlResultRow;
use crate::domain::SweepId;

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
}

/// Reads the current posture.
pub async fn current(pool: &PgPool) -> Result<Posture, StoreError> {
    let accounts = sqlx::query!(
        r#"select count(*) as "recorded!", count(*) filter (where assessed) as "assessed!",
                  count(*) filter (where not assessed) as "not_assessed!"
           from accounts"#
    )
    .fetch_one(pool)
    .await?;
    let findings_by_status = findings_by_status(pool).await?;
    let failing_by_severity = sqlx::query!(
        r#"select severity, sum(findings)::bigint as "findings!" from finding_totals where status = 'fail'
           group by severity having sum(findings) > 0 order by severity"#
    )
    .map(|r| (r.severity, r.findings))
    .fetch_all(pool)
    .await?;
    let failing_suppressed = super::exceptions::failing_suppressed(pool).await?;
    let in_org = sqlx::query_scalar!(
        "select accounts_total from sweeps where org_snapshot_hash is not null order by started_at desc limit 1"
    )
    .fetch_optional(pool)
    .await?;
    Ok(Posture {
        accounts_in_organization: in_org.map_or(accounts.recorded, i64::from),
        accounts_recorded: accounts.recorded,
        accounts_assessed: accounts.assessed,
        accounts_not_assessed: accounts.not_assessed,
        findings_by_status,
        failing_by_severity,
        failing_suppressed,
        controls: super::controls::results(pool).await?,
    })
}

/// Active findings by status: (status, count), from the totals.
pub async fn findings_by_status(pool: &PgPool) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query!(
        r#"select status, sum(findings)::bigint as "findings!" from finding_totals
           group by status having sum(findings) > 0 order by status"#
    )
    .map(|r| (r.status, r.findings))
    .fetch_all(pool)
    .await?)
}

/// Accounts compliant with one control at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ControlPoint {
    /// Accounts with findings of the control and none failing.
    pub accounts_compliant: i64,
    /// Accounts with findings of the control.
    pub accounts_evaluated: i64,
}

/// The posture at one instant: as the last sweep completed at or before it left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendPoint {
    /// The instant.
    pub at: DateTime<Utc>,
    /// The sweep whose completion it shows; `None` before the first completed sweep.
    pub sweep_id: Option<SweepId>,
    /// Failing findings by severity (severities with none are absent).
    pub failing_by_severity: BTreeMap<String, i64>,
    /// Per control.
    pub controls: BTreeMap<String, ControlPoint>,
}

struct TrendRow {
    at: DateTime<Utc>,
    sweep_id: Option<SweepId>,
    failing_by_severity: Option<serde_json::Value>,
    controls: Option<serde_json::Value>,
}

/// The trend from `from` to `to` (inclusive), one point every `step`: one index lookup per
/// point in `posture_points`.
pub async fn trend(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: chrono::Duration,
) -> Result<Vec<TrendPoint>, StoreError> {
    let rows = sqlx::query_as!(
        TrendRow,
        r#"select p.at as "at!", pp.sweep_id as "sweep_id?: SweepId", pp.failing_by_severity as "failing_by_severity?",
                  pp.controls as "controls?"
           from generate_series($1::timestamptz, $2::timestamptz, make_interval(secs => $3)) as p(at)
           left join lateral (
               select sweep_id, failing_by_severity, controls from posture_points
               where at <= p.at order by at desc limit 1) pp on true
           order by p.at"#,
        from,
        to,
        step.num_seconds() as f64,
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(TrendPoint {
                at: r.at,
                sweep_id: r.sweep_id,
                failing_by_severity: r.failing_by_severity.map(serde_json::from_value).transpose()?.unwrap_or_default(),
                controls: r.controls.map(serde_json::from_value).transpose()?.unwrap_or_default(),
            })
        })
        .collect()
}

/// Records the posture as `sweep` leaves it, from the totals. Called in the transaction that
/// marks the sweep completed, so the point's time is the sweep's `finished_at`.
pub async fn record_point(conn: &mut PgConnection, sweep: SweepId) -> Result<(), StoreError> {
    sqlx::query!(
        "insert into posture_points (sweep_id, at, failing_by_severity, controls)
         select $1, now(),
           coalesce((select jsonb_object_agg(severity, n)
                     from (select severity, sum(findings)::bigint as n from finding_totals where status = 'fail'
                           group by severity having sum(findings) > 0) x), '{}'),
           coalesce((select jsonb_object_agg(control_id,
                              jsonb_build_object('accounts_compliant', accounts_evaluated - accounts_failing,
                                                 'accounts_evaluated', accounts_evaluated))
                     from control_account_totals where accounts_evaluated > 0), '{}')
         on conflict (sweep_id) do nothing",
        sweep.0,
    )
    .execute(conn)
    .await?;
    Ok(())
}
