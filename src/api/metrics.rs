//! `/metrics`: renders the process-wide recorder (`telemetry::install_metrics`).
//!
//! Sweep metrics are recorded when a sweep ends (`telemetry::record_sweep`); AWS call
//! counts, Security Hub delivery counters and findings by status are read from their owners
//! at scrape time, here, so they cannot drift. Labels stay bounded: service and operation
//! names, statuses and outcomes, never an account or resource id.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use crate::store::{outbox, posture};

/// Sets the scrape-time values from their owners.
async fn refresh(state: &AppState) -> Result<(), ApiError> {
    for (service, ops) in state.sweeps.aws_calls() {
        for (operation, c) in ops {
            for (outcome, n) in [("success", c.calls.saturating_sub(c.errors)), ("error", c.errors)] {
                let labels =
                    [("service", service.clone()), ("operation", operation.clone()), ("outcome", outcome.into())];
                metrics::counter!("sweeper_aws_calls_total", &labels).absolute(n);
            }
        }
    }
    let sh = state.sweeps.security_hub_counters();
    for (outcome, n) in [("imported", &sh.imported), ("failed", &sh.failed), ("retried", &sh.retried)] {
        metrics::counter!("sweeper_security_hub_findings_total", "outcome" => outcome)
            .absolute(n.load(Ordering::Relaxed));
    }
    let (pending, failed) = outbox::backlog(&state.pool).await?;
    metrics::gauge!("sweeper_security_hub_outbox", "state" => "pending").set(pending as f64);
    metrics::gauge!("sweeper_security_hub_outbox", "state" => "failed").set(failed as f64);
    let waiting = crate::store::workflow::pending(&state.pool).await?;
    metrics::gauge!("sweeper_security_hub_workflow_pending").set(waiting as f64);
    let by_status = posture::findings_by_status(&state.pool).await?;
    for status in crate::domain::Status::ALL {
        let n = by_status.iter().find(|(s, _)| s == status.as_str()).map_or(0, |(_, n)| *n);
        metrics::gauge!("sweeper_findings", "status" => status.as_str()).set(n as f64);
    }
    Ok(())
}

/// `GET /metrics` in the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Result<Response, ApiError> {
    let Some(handle) = &state.metrics else {
        return Err(ApiError::NotFound("metrics are not enabled".into()));
    };
    refresh(&state).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response())
}
