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
    /// Start (RFC 3339, 1970 or later); default 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End (RFC 3339, at most one day from now); default now.
    pub to: Option<DateTime<Utc>>,
    /// `hour`, `day` (default) or `week`.
    #[param(value_type = Option<String>, pattern = "^(hour|day|week)$")]
    pub interval: Option<Interval>,
}

/// How far in the future `to` may lie: a client asking up to the end of its own day.
const FUTURE_LEEWAY: Duration = Duration::days(1);

/// Checks the query and resolves its defaults: `from`, `to` and the step, or a 400.
///
/// Every step is checked arithmetic: the dates a client may send reach chrono's limits
/// (year ±262143), where plain `-` panics; anything before 1970 or later than one day from
/// `now` is refused before it reaches arithmetic or the database.
pub fn window(q: &HistoryQuery, now: DateTime<Utc>) -> Result<(DateTime<Utc>, DateTime<Utc>, Duration), ApiError> {
    let earliest = DateTime::UNIX_EPOCH;
    let latest = now.checked_add_signed(FUTURE_LEEWAY).unwrap_or(now);
    let in_range = |name: &str, t: DateTime<Utc>| {
        if t < earliest || t > latest {
            Err(ApiError::bad(name, "must lie between 1970-01-01T00:00:00Z and one day from now"))
        } else {
            Ok(t)
        }
    };
    // Microseconds, the database's precision, so the points computed here match its own.
    let to = in_range("to", q.to.unwrap_or(now))?.trunc_subsecs(6);
    let from = match q.from {
        Some(from) => in_range("from", from)?,
        None => to.checked_sub_signed(Duration::days(30)).unwrap_or(earliest),
    }
    .trunc_subsecs(6);
    let step = q.interval.unwrap_or(Interval::Day).step();
    if from > to {
        return Err(ApiError::bad("from", "must not be after `to`"));
    }
    let points = (to - from).num_seconds().checked_div(step.num_seconds()).unwrap_or(i64::MAX);
    if points >= MAX_POINTS {
        return Err(ApiError::bad(
            "interval",
            format!("from..to holds more than {MAX_POINTS} points; widen the interval"),
        ));
    }
    Ok((from, to, step))
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
    responses((status = 200, description = "The history", body = History), (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody)), security(("bearer" = [])))]
pub async fn posture(
    State(state): State<AppState>,
    uri: Uri,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, ApiError> {
    let (from, to, step) = window(&q, Utc::now())?;
    let pool = state.pool.clone();
    // Keyed by the query as sent: without `to`, "now" is at most the TTL old.
    shared_json(&state.caches.listings, &format!("history?{}", uri.query().unwrap_or("")), move || async move {
        let points = posture::trend(&pool, from, to, step).await?;
        Ok(History { points: points.into_iter().map(TrendPoint::from).collect() })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn query(from: Option<&str>, to: Option<&str>, interval: Option<Interval>) -> HistoryQuery {
        HistoryQuery { from: from.map(at), to: to.map(at), interval }
    }

    #[test]
    fn extreme_dates_are_refused_not_computed() {
        let now = at("2026-12-02T12:00:00Z");
        let max = DateTime::<Utc>::MAX_UTC;
        let min = DateTime::<Utc>::MIN_UTC;
        let cases = [
            HistoryQuery { from: None, to: Some(min), interval: None },
            HistoryQuery { from: Some(min), to: None, interval: None },
            HistoryQuery { from: Some(min), to: Some(max), interval: Some(Interval::Week) },
            HistoryQuery { from: None, to: Some(max), interval: None },
            query(Some("9999-12-31T23:59:59Z"), Some("9999-12-31T23:59:59Z"), None),
            query(None, Some("1969-12-31T23:59:59Z"), None),
            query(Some("1970-01-01T00:00:00Z"), None, Some(Interval::Hour)),
            query(Some("2026-12-02T00:00:00Z"), Some("2026-12-01T00:00:00Z"), None),
        ];
        for q in cases {
            assert!(window(&q, now).is_err(), "{q:?} accepted");
        }
    }

    #[test]
    fn sensible_windows_resolve_their_defaults() {
        let now = at("2026-12-02T12:00:00Z");
        let (from, to, step) = window(&query(None, None, None), now).unwrap();
        assert_eq!((to, to - from, step), (now, Duration::days(30), Duration::days(1)));
        // Up to the end of the client's day is fine; more than MAX_POINTS weeks is not.
        assert!(window(&query(Some("1970-01-01T00:00:00Z"), None, Some(Interval::Week)), now).is_err());
        let (_, to, _) = window(&query(None, Some("2026-12-02T23:59:59Z"), None), now).unwrap();
        assert_eq!(to, at("2026-12-02T23:59:59Z"));
        assert!(window(&query(Some("2010-01-01T00:00:00Z"), None, Some(Interval::Week)), now).is_ok());
    }
}
