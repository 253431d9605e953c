//! Prometheus metrics: the process-wide recorder and `/metrics`.
//!
//! Metric names are defined here and nowhere else. Sweep metrics are recorded when a sweep
//! ends ([`record_sweep`]); AWS call counts, Security Hub delivery counters and findings by
//! status are read from their owners at scrape time, so they cannot drift. Labels stay bounded:
//! service and operation names, statuses and outcomes, never an account or resource id.

use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::AppState;
use super::error::ApiError;
use crate::store::{outbox, posture};
use crate::sweep::{SweepError, SweepReport};

const SWEEP_DURATION: &str = "sweeper_sweep_duration_seconds";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder on first use and returns its handle.
///
/// Concurrent first calls install it once (the others wait). Returns `None` only if another
/// recorder was installed first (not done by this crate).
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let buckets = [10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0];
            let builder =
                PrometheusBuilder::new().set_buckets_for_metric(Matcher::Full(SWEEP_DURATION.into()), &buckets).ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .clone()
}

/// Records how a sweep ended.
pub fn record_sweep(result: &Result<SweepReport, SweepError>, took: Duration) {
    let outcome = match result {
        Ok(r) => r.status.clone(),
        Err(SweepError::AlreadyRunning(_)) => "refused".to_owned(),
        Err(_) => "error".to_owned(),
    };
    if let Ok(r) = result {
        metrics::histogram!(SWEEP_DURATION).record(took.as_secs_f64());
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        metrics::counter!("sweeper_accounts_swept_total", "outcome" => "assessed")
            .increment(count(r.accounts.assessed));
        metrics::counter!("sweeper_accounts_swept_total", "outcome" => "not_assessed")
            .increment(count(r.accounts.not_assessed));
        metrics::counter!("sweeper_accounts_swept_total", "outcome" => "skipped").increment(count(r.accounts.skipped));
    }
    metrics::counter!("sweeper_sweeps_total", "outcome" => outcome).increment(1);
}

/// Sets the scrape-time values from their owners.
async fn refresh(state: &AppState) -> Result<(), ApiError> {
    for (service, ops) in state.runner.deps().aws.counter().snapshot() {
        for (operation, c) in ops {
            for (outcome, n) in [("success", c.calls.saturating_sub(c.errors)), ("error", c.errors)] {
                let labels =
                    [("service", service.clone()), ("operation", operation.clone()), ("outcome", outcome.into())];
                metrics::counter!("sweeper_aws_calls_total", &labels).absolute(n);
            }
        }
    }
    let sh = state.runner.security_hub_counters();
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
