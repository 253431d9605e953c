//! Logs and metrics.
//!
//! Logs go to stderr (stdout is for command output such as `sweep --output json`);
//! `RUST_LOG` filters, `SWEEPER_LOG_FORMAT=json` switches to JSON lines. Field names are
//! dotted (`account.id`, `aws.region`, `control.id`, `sweep.id`); secrets never appear in
//! fields (configuration secrets are `SecretString`).
//!
//! Metrics: the process-wide Prometheus recorder ([`install_metrics`]) and what is recorded
//! as it happens ([`record_sweep`]); `api::metrics` renders them with the values it reads at
//! scrape time. Metric names are defined in those two places only.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::sweep::{SweepError, SweepReport};

/// Installs the global subscriber. Safe to call once per process.
pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("SWEEPER_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless, so its error is ignored on purpose.
    if json {
        drop(builder.json().try_init());
    } else {
        drop(builder.try_init());
    }
}

const SWEEP_DURATION: &str = "sweeper_sweep_duration_seconds";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder on first use and returns its handle.
///
/// Concurrent first calls install it once (the others wait). Returns `None` only if another
/// recorder was installed first (not done by this crate).
pub fn install_metrics() -> Option<PrometheusHandle> {
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
        Ok(r) => r.status.to_string(),
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
