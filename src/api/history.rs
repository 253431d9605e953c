//! `GET /history/posture`: the posture trend, rebuilt from the stored transitions.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, Query};
use super::{AppState, rfc3339};
use crate::store::posture::{self, TrendControl, TrendFailing};

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

/// The state at one instant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    /// The instant.
    #[serde(serialize_with = "rfc3339")]
    pub at: DateTime<Utc>,
    /// Failing findings by severity.
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

/// The trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    /// One point per interval from `from` to `to`, oldest first.
    pub points: Vec<TrendPoint>,
}

fn points(from: DateTime<Utc>, to: DateTime<Utc>, step: Duration) -> Vec<TrendPoint> {
    let mut out = Vec::new();
    let mut at = from;
    while at <= to {
        out.push(TrendPoint { at, failing_by_severity: BTreeMap::new(), controls: BTreeMap::new() });
        at += step;
    }
    out
}

fn assemble(mut pts: Vec<TrendPoint>, failing: Vec<TrendFailing>, controls: Vec<TrendControl>) -> History {
    for f in failing {
        if let Some(p) = pts.iter_mut().find(|p| p.at == f.at) {
            p.failing_by_severity.insert(f.severity, f.failing);
        }
    }
    for c in controls {
        if let Some(p) = pts.iter_mut().find(|p| p.at == c.at) {
            let trend =
                ControlTrend { accounts_compliant: c.accounts_compliant, accounts_evaluated: c.accounts_evaluated };
            p.controls.insert(c.control_id, trend);
        }
    }
    History { points: pts }
}

/// Failing findings by severity and accounts compliant per control, over time.
#[utoipa::path(get, path = "/history/posture", tag = "history", params(HistoryQuery),
    responses((status = 200, body = History), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn posture(State(state): State<AppState>, Query(q): Query<HistoryQuery>) -> Result<Json<History>, ApiError> {
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
    let (failing, controls) = posture::trend(&state.pool, from, to, step).await?;
    Ok(Json(assemble(points(from, to, step), failing, controls)))
}
