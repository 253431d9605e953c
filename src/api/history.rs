//! `GET /history/posture`: the posture trend, from the posture point each completed sweep
//! recorded (failing findings by severity, accounts compliant per control).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::cache::shared_json;
use super::error::{ApiError, ErrorBody, Query};
use super::{AppState, rfc3339};
use crate::store::posture::{self, ControlPoint};

/// The most points one request may ask for.
pub const MAX_POINTS: i64 = 1000;

/// Spacing of the points.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// One point per hour.
    Hour,
    /// One point per day (default).
    Day,
    /// One point per week.
    Week,
}

impl Interval {
    fn step(self) -> Duration {
        match self {
            Interval::Hour => Duration::hours(1),
            Interval::Day => Duration::days(1),
            Interval::Week => Duration::weeks(1),
        }
    }
}

/// Parameters of `GET /history/posture`. Unknown parameters are rejected.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Start (RFC 3339); default 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End (RFC 3339); default now.
    pub to: Option<DateTime<Utc>>,
    /// `hour`, `day` (default) or `week`.
    #[param(value_type = Option<String>, pattern = "^(hour|day|week)$")]
    pub interval: Option<Interval>,
}

/// The state at one instant: as the last sweep completed at or before it left it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    /// The instant.
    #[serde(serialize_with = "rfc3339")]
    pub at: DateTime<Utc>,
    /// The sweep whose completion this point shows; null before the first completed sweep.
    pub sweep_id: Option<uuid::Uuid>,
    /// Failing findings by severity (severities without failing findings are absent).
    pub failing_by_severity: BTreeMap<String, i64>,
    /// Per control: accounts compliant (findings, none failing) and accounts evaluated.
    pub controls: BTreeMap<String, ControlTrend>,
}

/// Accounts compliant with a control at one instant.
#[derive(Debug, Serialize, ToSchema)]
pub struct ControlTrend {
    /// Accounts with findings of the control and none failing.
    pub accounts_compliant: i64,
    /// Accounts with findings of the control.
    pub accounts_evaluated: i64,
}

impl From<ControlPoint> for ControlTrend {
    fn from(c: ControlPoint) -> Self {
        Self { accounts_compliant: c.accounts_compliant, accounts_evaluated: c.accounts_evaluated }
    }
}

impl From<posture::TrendPoint> for TrendPoint {
    fn from(p: posture::TrendPoint) -> Self {
        Self {
            at: p.at,
            sweep_id: p.sweep_id.map(|s| s.0),
            failing_by_severity: p.failing_by_severity,
            controls: p.controls.into_iter().map(|(k, v)| (k, v.into())).collect(),
        }
    }
}

/// The trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    /// One point per interval from `from` to `to`, oldest first.
    pub points: Vec<TrendPoint>,
}

/// Failing findings by severity and accounts compliant per control, over time.
#[utoipa::path(get, operation_id = "getPostureHistory", path = "/history/posture", tag = "history", params(HistoryQuery),
    responses((status = 200, body = History), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn posture(
    State(state): State<AppState>,
    uri: Uri,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, ApiError> {
    // Microseconds, the database's precision, so the points computed here match its own.
    let to = q.to.unwrap_or_else(Utc::now).trunc_subsecs(6);
    let from = q.from.unwrap_or(to - Duration::days(30)).trunc_subsecs(6);
    let step = q.interval.unwrap_or(Interval::Day).step();
    if from > to {
        return Err(ApiError::bad("from", "must not be after `to`"));
    }
    if (to - from).num_seconds() / step.num_seconds() >= MAX_POINTS {
        return Err(ApiError::bad(
            "interval",
            format!("from..to holds more than {MAX_POINTS} points; widen the interval"),
        ));
    }
    let pool = state.pool.clone();
    // Keyed by the query as sent: without `to`, "now" is at most the TTL old.
    shared_json(&state.caches.listings, &format!("history?{}", uri.query().unwrap_or("")), move || async move {
        let points = posture::trend(&pool, from, to, step).await?;
        Ok(History { points: points.into_iter().map(TrendPoint::from).collect() })
    })
    .await
}
