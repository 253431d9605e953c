//! `/healthz` (the process answers) and `/readyz` (the database answers and every migration
//! is applied). Both are open to load balancers: no token, and nothing in them is sensitive.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use crate::store;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// The process is up.
#[utoipa::path(get, operation_id = "healthz", path = "/healthz", tag = "health", responses((status = 200, description = "The process answers", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// The database is reachable and migrated.
#[utoipa::path(get, operation_id = "readyz", path = "/readyz", tag = "health",
    responses((status = 200, description = "Ready: the database answers", body = Health), (status = 503, description = "Not ready: the database does not answer", body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    // A load balancer's probe must get its answer before its own timeout, even while the pool
    // waits for a database that is away (up to `database.connect_timeout_seconds`).
    match tokio::time::timeout(READINESS_WAIT, store::pending_migrations(&state.pool)).await {
        Ok(Ok(pending)) if pending.is_empty() => Ok(Json(Health { status: "ok".into() })),
        Ok(Ok(pending)) => Err(ApiError::Unavailable(format!("database migrations not applied: {pending:?}"))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            Err(ApiError::Unavailable("database unreachable".into()))
        }
        Err(_) => {
            tracing::warn!("readiness check: the database did not answer within {} s", READINESS_WAIT.as_secs());
            Err(ApiError::Unavailable("database unreachable".into()))
        }
    }
}

/// How long `/readyz` waits for the database.
const READINESS_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
