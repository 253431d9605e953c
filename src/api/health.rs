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
#[utoipa::path(get, operation_id = "healthz", path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// The database is reachable and migrated.
#[utoipa::path(get, operation_id = "readyz", path = "/readyz", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match store::pending_migrations(&state.pool).await {
        Ok(pending) if pending.is_empty() => Ok(Json(Health { status: "ok".into() })),
        Ok(pending) => Err(ApiError::Unavailable(format!("database migrations not applied: {pending:?}"))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            Err(ApiError::Unavailable("database unreachable".into()))
        }
    }
}
