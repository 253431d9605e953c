//! bedrock-sweeper: walks an AWS Organization and decides whether the Amazon Bedrock
//! controls it relies on really hold. Modules in pipeline order.

/// The HTTP API of `serve`: routes, auth, OpenAPI document, metrics.
pub mod api;
/// The composition root: settings to the running service (`main`, tests and benchmarks).
pub mod app;
/// SDK plumbing: base config, clients, assumed roles, error classification.
pub mod aws;
/// The control catalog in `findings/`: loading, validation, regions list.
pub mod catalog;
/// Per-account collection, one file per AWS service.
pub mod collect;
/// Settings from the TOML file and `SWEEPER_*` environment variables.
pub mod config;
/// Identifiers, severities and statuses shared by every stage.
pub mod domain;
/// Pure evaluation of every control on the snapshots.
pub mod evaluate;
/// Security Hub export: ASFF mapping and outbox delivery.
pub mod export;
/// Organization discovery: roots, OUs, accounts, SCPs.
pub mod org;
pub mod policy_preview;
/// Terminal presentation of sweep reports and the catalog.
pub mod report;
/// Runs sweeps for `serve`: cron schedule, API triggers, resumption, Security Hub delivery.
pub mod scheduler;
/// The plain data collected from AWS (organization and account snapshots).
pub mod snapshot;
/// PostgreSQL: sweeps, tasks, findings, transitions, evidence.
pub mod store;
/// The whole flow of one sweep.
pub mod sweep;
/// Logs and metrics: the tracing subscriber, the Prometheus recorder, sweep metrics.
pub mod telemetry;
/// The web dashboard at `/`: server-rendered pages over the same reads as the API.
pub mod web;

#[cfg(test)]
mod contributing {
    /// The paths `CONTRIBUTING.md` names in backticks, which must exist.
    fn named_paths(doc: &str) -> Vec<&str> {
        doc.split('`')
            .skip(1)
            .step_by(2)
            .filter(|t| !t.contains([' ', '<', '(']) && !t.starts_with('/'))
            .filter(|t| t.contains('/') || t.ends_with(".md"))
            .collect()
    }

    #[test]
    fn every_file_contributing_names_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let paths = named_paths(include_str!("../CONTRIBUTING.md"));
        assert!(paths.len() > 20, "the guide names the files: {paths:?}");
        let missing: Vec<_> = paths.iter().filter(|p| !root.join(p).exists()).collect();
        assert!(missing.is_empty(), "CONTRIBUTING.md names files that do not exist: {missing:?}");
    }
}
