//! `GET /controls` and `GET /controls/{id}`: the catalog with each control's current results.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::cache::shared_json;
use super::error::{ApiError, ErrorBody};
use crate::catalog::Control as CatalogControl;
use crate::domain::ControlId;
use crate::store::controls::{self, ControlResultRow};

/// Current results of a control over the active findings.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ControlResults {
    /// Passing findings.
    pub pass: i64,
    /// Failing findings.
    pub fail: i64,
    /// Findings that could not be evaluated.
    pub error: i64,
    /// Findings where it does not apply.
    pub not_applicable: i64,
    /// Accounts with a failing finding.
    pub accounts_failing: i64,
    /// pass / (pass + fail), null without verdicts.
    pub pass_rate: Option<f64>,
}

impl From<&ControlResultRow> for ControlResults {
    fn from(r: &ControlResultRow) -> Self {
        let judged = r.pass + r.fail;
        Self {
            pass: r.pass,
            fail: r.fail,
            error: r.error,
            not_applicable: r.not_applicable,
            accounts_failing: r.accounts_failing,
            pass_rate: (judged > 0).then(|| r.pass as f64 / judged as f64),
        }
    }
}

/// A catalog control and its results.
#[derive(Debug, Serialize, ToSchema)]
pub struct Control {
    /// Contract id, e.g. `BR.NET.1`.
    pub id: String,
    /// Family, e.g. `network`.
    pub family: String,
    /// The condition that passes.
    pub title: String,
    /// Severity of a failure.
    pub severity: String,
    /// `organization`, `account`, `account-region` or `resource`.
    pub scope: String,
    /// Why it matters.
    pub rationale: String,
    /// How to fix a failure.
    pub remediation: String,
    /// The AWS documentation page.
    pub remediation_url: String,
    /// Framework mappings as `FRAMEWORK id`.
    pub compliance: Vec<String>,
    /// Configuration keys under `[controls]` it reads.
    pub parameters: Vec<String>,
    /// Current results.
    pub results: ControlResults,
}

impl Control {
    fn new(c: &CatalogControl, results: &[ControlResultRow]) -> Self {
        let scope = serde_json::to_value(c.scope).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        Self {
            id: c.id.to_string(),
            family: c.family.clone(),
            title: c.title.clone(),
            severity: c.severity.to_string(),
            scope,
            rationale: c.rationale.clone(),
            remediation: c.remediation.text.clone(),
            remediation_url: c.remediation.url.clone(),
            compliance: c.compliance.requirements(),
            parameters: c.parameters.clone(),
            results: results
                .iter()
                .find(|r| r.control_id == c.id.as_str())
                .map(ControlResults::from)
                .unwrap_or_default(),
        }
    }
}

/// The catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct ControlList {
    /// Every control, in catalog order.
    pub controls: Vec<Control>,
}

/// Lists the catalog with current results.
#[utoipa::path(get, operation_id = "listControls", path = "/controls", tag = "controls",
    responses((status = 200, description = "Every control", body = ControlList)), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let (pool, catalog) = (state.pool.clone(), Arc::clone(&state.catalog));
    shared_json(&state.caches.listings, "controls", move || async move {
        let results = controls::results(&pool).await?;
        Ok(ControlList { controls: catalog.controls().iter().map(|c| Control::new(c, &results)).collect() })
    })
    .await
}

/// One control with current results.
#[utoipa::path(get, operation_id = "getControl", path = "/controls/{id}", tag = "controls",
    params(("id" = String, Path, description = "Control id, e.g. BR.NET.1", pattern = "^BR\\.[A-Z]+\\.[0-9]+$")),
    responses((status = 200, description = "The control", body = Control), (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody), (status = 404, description = "Not found", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Control>, ApiError> {
    let id = ControlId::parse(&id).map_err(|e| ApiError::bad("control id", e))?;
    let control = state.catalog.control(&id).ok_or_else(|| ApiError::NotFound(format!("no control {id}")))?;
    let results = controls::results(&state.pool).await?;
    Ok(Json(Control::new(control, &results)))
}
