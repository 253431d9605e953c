//! `POST /policy-previews`: what an organization-policy change would do, judged on the
//! organization of the most recent completed sweep with the pure engines (no AWS call).

use axum::extract::State;

use super::AppState;
use super::error::{ApiError, ErrorBody, Json};
use crate::evaluate::preview::PolicyChange;
use crate::policy_preview::{self, PolicyPreview, PreviewFailure};

/// Previews an SCP, RCP or Bedrock policy change (operator role): which accounts'
/// organization-policy verdicts would change (before → after, with the deciding statement
/// after), and which probes would be denied that are allowed today, calls a control requires
/// to stay allowed (an approved path) first.
#[utoipa::path(post, operation_id = "previewPolicyChange", path = "/policy-previews", tag = "policies", request_body = PolicyChange,
    responses(
        (status = 200, description = "What the change would do", body = PolicyPreview),
        (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody),
        (status = 403, description = "Forbidden: the token's role may not do this (operators may; viewers read)", body = ErrorBody),
        (status = 404, description = "No completed sweep has recorded the organization yet", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Json(change): Json<PolicyChange>,
) -> Result<axum::Json<PolicyPreview>, ApiError> {
    match policy_preview::preview(
        &state.pool,
        std::sync::Arc::clone(&state.catalog),
        std::sync::Arc::clone(&state.controls),
        change,
    )
    .await
    {
        Ok(p) => Ok(axum::Json(p)),
        Err(PreviewFailure::NoSweep) => Err(ApiError::NotFound(PreviewFailure::NoSweep.to_string())),
        Err(PreviewFailure::Invalid(why)) => Err(ApiError::bad("change", why)),
        Err(PreviewFailure::Store(e)) => Err(ApiError::Store(e)),
    }
}
