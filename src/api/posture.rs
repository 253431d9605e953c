//! `GET /posture`: the organization's posture now, from the aggregates, computed at most once
//! per [`TTL`](super::cache::TTL) for all clients.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::controls::ControlResults;
use super::error::ApiError;
use super::sweeps::Sweep;
use crate::store::StoreError;
use crate::store::posture::{self, Posture as PostureRow};
use crate::store::sweeps::{self, SweepProgressRow};

/// Account coverage.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountCoverage {
    /// Accounts in the organization at the last sweep that read it.
    pub total: i64,
    /// Accounts the last sweep assessed.
    pub assessed: i64,
    /// Accounts whose role could not be assumed.
    pub not_assessed: i64,
}

/// The posture summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct Posture {
    /// Account coverage.
    pub accounts: AccountCoverage,
    /// Active findings by status (`pass`, `fail`, `error`, `not_applicable`).
    pub findings_by_status: BTreeMap<String, i64>,
    /// Active failing findings by severity.
    pub failing_by_severity: BTreeMap<String, i64>,
    /// Of the failing findings, those a live exception suppresses.
    pub failing_suppressed: i64,
    /// Results and pass rate per control id (controls with findings).
    pub controls: BTreeMap<String, ControlResults>,
    /// The most recent sweep.
    pub last_sweep: Option<Sweep>,
}

impl Posture {
    pub(crate) fn new(p: PostureRow, last_sweep: Option<SweepProgressRow>) -> Self {
        Self {
            accounts: AccountCoverage {
                total: p.accounts_in_organization,
                assessed: p.accounts_assessed,
                not_assessed: p.accounts_not_assessed,
            },
            findings_by_status: p.findings_by_status.into_iter().collect(),
            failing_by_severity: p.failing_by_severity.into_iter().collect(),
            failing_suppressed: p.failing_suppressed,
            controls: p.controls.iter().map(|c| (c.control_id.clone(), ControlResults::from(c))).collect(),
            last_sweep: last_sweep.map(Sweep::from),
        }
    }
}

/// The organization's posture now: computed at most every 2 seconds for all clients, and
/// never served more than 10 seconds old.
#[utoipa::path(get, operation_id = "getPosture", path = "/posture", tag = "posture", responses((status = 200, description = "The posture", body = Posture)),
    security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>) -> Result<Response, ApiError> {
    let pool = state.pool.clone();
    let body = state
        .caches
        .posture
        .get_or_compute(move || async move {
            let last_sweep = sweeps::page(&pool, None, 1).await?.into_iter().next();
            let posture = Posture::new(posture::current(&pool).await?, last_sweep);
            Ok::<_, ApiError>(Bytes::from(serde_json::to_vec(&posture).map_err(StoreError::from)?))
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
