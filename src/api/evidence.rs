//! `GET /evidence`: the evidence export for auditors: every finding as it stood once a chosen
//! sweep had recorded it (control, account, region, resource, status, detail, first seen, and
//! the hash of the account snapshot it was judged on), as CSV or JSON. The dashboard's
//! compliance page offers the same files.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ErrorBody, Query};
use crate::domain::{SweepId, SweepStatus};
use crate::store::dashboard::{self, EvidenceLine};
use crate::store::sweeps;

/// The file format.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `text/csv`, one line per finding, with a header line.
    Csv,
    /// `application/json`.
    Json,
}

/// Parameters of `GET /evidence`. Unknown parameters are rejected.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// The sweep (default: the most recent completed one).
    #[param(value_type = Option<String>, format = Uuid)]
    pub sweep_id: Option<uuid::Uuid>,
    /// `csv` (default) or `json`.
    #[param(value_type = Option<String>, pattern = "^(csv|json)$")]
    pub format: Option<Format>,
}

/// The JSON form of the export.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceExport {
    /// The sweep it is as of.
    pub sweep_id: uuid::Uuid,
    /// One entry per finding.
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<EvidenceLine>,
}

/// The sweep to export: the one asked for (it must exist and have completed), or the most
/// recent completed one.
pub async fn sweep_to_export(state: &AppState, asked: Option<uuid::Uuid>) -> Result<SweepId, ApiError> {
    match asked {
        Some(id) => {
            let id = SweepId(id);
            let sweep =
                sweeps::get(&state.pool, id).await?.ok_or_else(|| ApiError::NotFound(format!("no sweep {id}")))?;
            if sweep.status != SweepStatus::Completed {
                return Err(ApiError::bad(
                    "sweep_id",
                    format!("sweep {id} did not complete; export a completed sweep"),
                ));
            }
            Ok(id)
        }
        None => Ok(sweeps::last_completed(&state.pool)
            .await?
            .ok_or_else(|| ApiError::NotFound("no sweep has completed yet".into()))?),
    }
}

/// The export of `sweep` as a file of `format`.
pub async fn file(state: &AppState, sweep: SweepId, format: Format) -> Result<Response, ApiError> {
    let lines = dashboard::evidence_as_of(&state.pool, sweep).await?;
    let name = format!("bedrock-sweeper-evidence-{sweep}");
    match format {
        Format::Json => {
            let body = serde_json::to_vec(&EvidenceExport { sweep_id: sweep.0, findings: lines })
                .map_err(crate::store::StoreError::from)?;
            Ok(([(header::CONTENT_TYPE, "application/json".to_owned()), disposition(&name, "json"), no_store()], body)
                .into_response())
        }
        Format::Csv => {
            let mut out = csv::Writer::from_writer(Vec::new());
            let header = [
                "control_id",
                "account_id",
                "region",
                "resource_id",
                "status",
                "detail",
                "first_seen_at",
                "evidence_hash",
            ];
            let mut rows = vec![out.write_record(header)];
            for l in &lines {
                rows.push(out.write_record([
                    l.control_id.as_str(),
                    l.account_id.as_str(),
                    l.region.as_deref().unwrap_or(""),
                    &inert(&l.resource_id),
                    l.status.as_str(),
                    &inert(l.detail.as_deref().unwrap_or("")),
                    &l.first_seen_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    l.evidence_hash.as_deref().unwrap_or(""),
                ]));
            }
            let body = rows
                .into_iter()
                .collect::<Result<(), _>>()
                .ok()
                .and_then(|()| out.into_inner().ok())
                .ok_or_else(|| ApiError::Unavailable("the CSV could not be written".into()))?;
            Ok((
                [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), disposition(&name, "csv"), no_store()],
                body,
            )
                .into_response())
        }
    }
}

/// A cell a spreadsheet will not run: text that begins like a formula (`=`, `+`, `-`, `@`, a
/// tab or a carriage return) gets a leading apostrophe. Resource ids and details come from
/// AWS and from the accounts' owners.
fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}").into() } else { cell.into() }
}

fn no_store() -> (header::HeaderName, String) {
    (header::CACHE_CONTROL, "no-store".to_owned())
}

fn disposition(name: &str, ext: &str) -> (header::HeaderName, String) {
    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.{ext}\""))
}

/// The evidence export as of a sweep, for auditors.
#[utoipa::path(get, operation_id = "exportEvidence", path = "/evidence", tag = "compliance", params(EvidenceQuery),
    responses(
        (status = 200, description = "Every finding as the sweep left it: CSV (with a header line) or JSON",
            content((String = "text/csv"), (EvidenceExport = "application/json"))),
        (status = 400, description = "Bad request: the error names the parameter and what is wrong with it", body = ErrorBody),
        (status = 404, description = "No such sweep, or none completed yet", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export(State(state): State<AppState>, Query(q): Query<EvidenceQuery>) -> Result<Response, ApiError> {
    let sweep = sweep_to_export(&state, q.sweep_id).await?;
    file(&state, sweep, q.format.unwrap_or(Format::Csv)).await
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn cells_that_read_as_formulas_are_made_inert() {
        for formula in ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(inert(formula), format!("'{formula}"), "{formula:?}");
        }
        for plain in ["arn:aws:iam::123456789012:role/x", "No guardrail exists.", ""] {
            assert_eq!(inert(plain), plain);
        }
    }
}
