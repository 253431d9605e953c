//! `GET /sweeps`, `GET /sweeps/{id}` (with progress while running) and `POST /sweeps`
//! (starts one in the background, or resumes the one whose process died: 202 with its id;
//! 409 with the running one's id while a live process drives it).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, Query};
use super::pagination::{self, PageMeta};
use super::{AppState, rfc3339, rfc3339_opt};
use crate::domain::{SweepId, SweepStatus};
use crate::store::sweeps::{self, SweepProgressRow};

/// Accounts done out of the total.
#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    /// Accounts swept or skipped so far.
    pub done: i64,
    /// Accounts in the organization (0 until it has been read).
    pub total: i64,
    /// Accounts whose role could not be assumed (they count as done).
    pub not_assessed: i64,
}

/// A sweep.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sweep {
    /// Its id.
    pub id: uuid::Uuid,
    /// What started it: `cli`, `schedule`, `api`, `resume`.
    pub trigger: String,
    /// Where it stands. An interrupted sweep stays `running` until resumed.
    pub status: SweepStatus,
    /// Start.
    #[serde(serialize_with = "rfc3339")]
    pub started_at: DateTime<Utc>,
    /// End.
    #[serde(serialize_with = "rfc3339_opt")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Accounts done / total.
    pub progress: Progress,
    /// AWS calls by service and operation (`{service: {operation: {calls, errors}}}`), once finished.
    #[schema(value_type = Object)]
    pub aws_calls: serde_json::Value,
    /// Why it failed.
    pub error: Option<String>,
}

impl From<SweepProgressRow> for Sweep {
    fn from(s: SweepProgressRow) -> Self {
        Self {
            id: s.id.0,
            trigger: s.trigger,
            status: s.status,
            started_at: s.started_at,
            finished_at: s.finished_at,
            progress: Progress {
                done: s.accounts_done,
                total: i64::from(s.accounts_total),
                not_assessed: s.accounts_not_assessed,
            },
            aws_calls: s.aws_calls,
            error: s.error,
        }
    }
}

/// Parameters of `GET /sweeps`. Unknown parameters are rejected.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SweepQuery {
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `meta.next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

/// A page of sweeps.
#[derive(Debug, Serialize, ToSchema)]
pub struct SweepPage {
    /// The sweeps, newest first.
    pub sweeps: Vec<Sweep>,
    /// Paging.
    pub meta: PageMeta,
}

fn parse_key(key: &str) -> Option<(DateTime<Utc>, SweepId)> {
    let (at, id) = key.split_once('|')?;
    let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
    Some((Some(at).filter(pagination::storable)?, SweepId(id.parse().ok()?)))
}

/// Lists sweeps, newest first.
#[utoipa::path(get, operation_id = "listSweeps", path = "/sweeps", tag = "sweeps", params(SweepQuery),
    responses((status = 200, description = "A page of sweeps, with the cursor of the next page", body = SweepPage), (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, Query(q): Query<SweepQuery>) -> Result<Json<SweepPage>, ApiError> {
    let limit = pagination::limit(q.limit)?;
    let after = pagination::decode(q.cursor.as_deref(), parse_key)?;
    let rows = sweeps::page(&state.pool, after, limit + 1).await?;
    let (rows, meta) = pagination::finish(rows, limit, |s| {
        format!("{}|{}", s.started_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), s.id)
    });
    Ok(Json(SweepPage { sweeps: rows.into_iter().map(Sweep::from).collect(), meta }))
}

/// One sweep, with progress while it runs.
#[utoipa::path(get, operation_id = "getSweep", path = "/sweeps/{id}", tag = "sweeps",
    params(("id" = String, Path, description = "Sweep id (UUID)", format = Uuid)),
    responses((status = 200, description = "The sweep", body = Sweep), (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Sweep>, ApiError> {
    let id = id.parse().map(SweepId).map_err(|_| ApiError::bad("sweep id", format!("`{id}` is not a UUID")))?;
    let row =
        sweeps::with_progress(&state.pool, id).await?.ok_or_else(|| ApiError::NotFound(format!("no sweep {id}")))?;
    Ok(Json(row.into()))
}

/// The sweep a `POST /sweeps` started.
#[derive(Debug, Serialize, ToSchema)]
pub struct SweepStarted {
    /// Follow it with `GET /sweeps/{id}`.
    pub sweep_id: uuid::Uuid,
}

/// Starts a sweep now (operator role), or resumes the running sweep whose process died (its
/// lease lapsed). It runs in the background.
#[utoipa::path(post, operation_id = "startSweep", path = "/sweeps", tag = "sweeps",
    responses((status = 202, description = "Started, or resumed (the id of the sweep whose process died)", body = SweepStarted),
        (status = 409, description = "A sweep is running in a live process; `error.sweep_id` names it", body = ErrorBody),
        (status = 403, description = "Forbidden: the token's role may not do this (operators may; viewers read)", body = ErrorBody), (status = 503, description = "Unavailable: shutting down, or the database is away", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn start(State(state): State<AppState>) -> Result<(StatusCode, Json<SweepStarted>), ApiError> {
    let id = state.sweeps.trigger("api").await?;
    Ok((StatusCode::ACCEPTED, Json(SweepStarted { sweep_id: id.0 })))
}
