//! `GET /findings` and `GET /findings/{id}`: current findings, filtered and paged, and one
//! finding with its evidence and its transition history.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::cache::shared_json;
use super::error::{ApiError, ErrorBody, Query};
use super::pagination::{self, PageMeta};
use super::{AppState, rfc3339};
use crate::domain::{AccountId, ControlId, EventKind, FindingId, FindingRecord, Region, Severity, Status};
use crate::store::findings::{self, FindingCursor, FindingFilter, FindingListRow, FindingSort, TransitionRow};

/// A finding: the fields of `sweep --output json`, plus `suppressed_by`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Finding {
    /// The finding.
    #[serde(flatten)]
    pub record: FindingRecord,
    /// The live exception that suppresses it (an accepted risk), if any. The status is unchanged.
    pub suppressed_by: Option<uuid::Uuid>,
}

impl From<FindingListRow> for Finding {
    fn from(row: FindingListRow) -> Self {
        Self { record: row.finding, suppressed_by: row.suppressed_by }
    }
}

/// Filters of `GET /findings`. Unknown parameters are rejected.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    /// `pass`, `fail`, `error` or `not_applicable`.
    #[param(value_type = Option<String>, pattern = "^(pass|fail|error|not_applicable)$")]
    pub status: Option<Status>,
    /// A control id, e.g. `BR.NET.1`.
    #[param(value_type = Option<String>, pattern = "^BR\\.[A-Z]+\\.[0-9]+$")]
    pub control_id: Option<ControlId>,
    /// A 12-digit account id.
    #[param(value_type = Option<String>, pattern = "^[0-9]{12}$")]
    pub account_id: Option<AccountId>,
    /// A region, e.g. `eu-west-1`.
    #[param(value_type = Option<String>, pattern = "^[a-z]{2}(-[a-z]+)+-[0-9]+$", max_length = 25)]
    pub region: Option<Region>,
    /// `critical`, `high`, `medium`, `low` or `informational`.
    #[param(value_type = Option<String>, pattern = "^(critical|high|medium|low|informational)$")]
    pub severity: Option<Severity>,
    /// OU path prefix by name, e.g. `Root/Workloads`.
    #[param(value_type = Option<String>, pattern = "^[^/\\x00-\\x1f]+(/[^/\\x00-\\x1f]+)*$", max_length = 1024)]
    pub ou: Option<String>,
    /// Order: `id` (default), `severity` (most severe first), `first_seen_at` (oldest first) or
    /// `-first_seen_at` (newest first). Ties are broken by id.
    #[param(value_type = Option<String>, pattern = "^(id|severity|first_seen_at|-first_seen_at)$")]
    pub sort: Option<Sort>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page, with the same `sort`. Opaque; any other value is a 400.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// The `sort` parameter.
#[derive(Debug, Clone, Copy, Deserialize)]
pub enum Sort {
    /// By id.
    #[serde(rename = "id")]
    Id,
    /// Most severe first.
    #[serde(rename = "severity")]
    Severity,
    /// Oldest first-seen first.
    #[serde(rename = "first_seen_at")]
    FirstSeen,
    /// Newest first-seen first.
    #[serde(rename = "-first_seen_at")]
    FirstSeenDesc,
}

impl From<Sort> for FindingSort {
    fn from(s: Sort) -> Self {
        match s {
            Sort::Id => FindingSort::Id,
            Sort::Severity => FindingSort::Severity,
            Sort::FirstSeen => FindingSort::FirstSeen,
            Sort::FirstSeenDesc => FindingSort::FirstSeenDesc,
        }
    }
}

/// The cursor's sort key as text: `<id>`, `s:<rank>:<id>`, `t:<microseconds>:<id>` (oldest
/// first) or `d:<microseconds>:<id>` (newest first).
fn cursor_key(c: &FindingCursor) -> String {
    match c {
        FindingCursor::Id(id) => id.to_string(),
        FindingCursor::Severity(rank, id) => format!("s:{rank}:{id}"),
        FindingCursor::FirstSeen(at, id) => format!("t:{}:{id}", at.timestamp_micros()),
        FindingCursor::FirstSeenDesc(at, id) => format!("d:{}:{id}", at.timestamp_micros()),
    }
}

fn micros_key(micros: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros.parse().ok()?).filter(pagination::storable)
}

fn parse_cursor_key(key: &str) -> Option<FindingCursor> {
    let id = |s: &str| FindingId::parse(s).ok();
    Some(match key.split(':').collect::<Vec<_>>()[..] {
        [i] => FindingCursor::Id(id(i)?),
        ["s", rank, i] => FindingCursor::Severity(rank.parse().ok().filter(|r| (0..=4).contains(r))?, id(i)?),
        ["t", micros, i] => FindingCursor::FirstSeen(micros_key(micros)?, id(i)?),
        ["d", micros, i] => FindingCursor::FirstSeenDesc(micros_key(micros)?, id(i)?),
        _ => return None,
    })
}

/// A page of findings.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingPage {
    /// The findings, in the requested order.
    pub findings: Vec<Finding>,
    /// Paging.
    pub meta: PageMeta,
}

/// Lists active findings, filtered, in pages (shared by all clients for up to 2 seconds).
#[utoipa::path(get, operation_id = "listFindings", path = "/findings", tag = "findings", params(FindingQuery),
    responses((status = 200, description = "A page of findings, with the cursor of the next page", body = FindingPage), (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    uri: Uri,
    Query(q): Query<FindingQuery>,
) -> Result<Response, ApiError> {
    let limit = pagination::limit(q.limit)?;
    let sort = q.sort.map_or(FindingSort::Id, FindingSort::from);
    let after = pagination::decode(q.cursor.as_deref(), |k| parse_cursor_key(k).filter(|c| c.fits(sort)))?;
    let filter = FindingFilter {
        status: q.status,
        control_id: q.control_id,
        account_id: q.account_id,
        region: q.region,
        severity: q.severity,
        ou: super::ou_filter(q.ou)?,
    };
    let pool = state.pool.clone();
    shared_json(&state.caches.listings, &format!("findings?{}", uri.query().unwrap_or("")), move || async move {
        let rows = findings::page(&pool, &filter, sort, after.as_ref(), limit + 1).await?;
        let (rows, meta) = pagination::finish(rows, limit, |f| cursor_key(&FindingCursor::after(sort, &f.finding)));
        Ok(FindingPage { findings: rows.into_iter().map(Finding::from).collect(), meta })
    })
    .await
}

/// One transition of a finding.
#[derive(Debug, Serialize, ToSchema)]
pub struct Transition {
    /// When it was recorded.
    #[serde(serialize_with = "rfc3339")]
    pub at: DateTime<Utc>,
    /// The sweep that observed it.
    pub sweep_id: uuid::Uuid,
    /// What happened.
    pub kind: EventKind,
    /// Status before.
    pub old_status: Option<Status>,
    /// Status after; null once the subject is no longer observed.
    pub new_status: Option<Status>,
    /// The finding's detail then.
    pub detail: Option<String>,
}

impl From<TransitionRow> for Transition {
    fn from(t: TransitionRow) -> Self {
        Self {
            at: t.at,
            sweep_id: t.sweep_id.0,
            kind: t.kind,
            old_status: t.old_status,
            new_status: t.new_status,
            detail: t.detail,
        }
    }
}

/// A finding with its evidence and history.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingDetail {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// False once its subject is no longer observed (it is then absent from listings).
    pub active: bool,
    /// When it entered its current status.
    #[serde(serialize_with = "rfc3339")]
    pub status_since: DateTime<Utc>,
    /// The last sweep that wrote it.
    pub last_sweep_id: uuid::Uuid,
    /// The account snapshot the verdict was made on (or why the account could not be assessed).
    #[schema(value_type = Option<Object>)]
    pub evidence: Option<serde_json::Value>,
    /// Transitions, oldest first.
    pub history: Vec<Transition>,
}

/// One finding, active or not.
#[utoipa::path(get, operation_id = "getFinding", path = "/findings/{id}", tag = "findings",
    params(("id" = String, Path, description = "Finding id (32 lowercase hex digits)", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "The finding, with its detail", body = FindingDetail), (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<FindingDetail>, ApiError> {
    let id = FindingId::parse(&id).map_err(|e| ApiError::bad("finding id", e.to_string()))?;
    let (row, history) =
        findings::detail(&state.pool, &id).await?.ok_or_else(|| ApiError::NotFound(format!("no finding `{id}`")))?;
    Ok(Json(FindingDetail {
        active: row.active,
        status_since: row.status_since,
        last_sweep_id: row.last_sweep_id.0,
        evidence: row.evidence,
        history: history.into_iter().map(Transition::from).collect(),
        finding: FindingListRow { finding: row.finding, suppressed_by: row.suppressed_by }.into(),
    }))
}
