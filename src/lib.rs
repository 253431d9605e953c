//! bedrock-sweeper: walks an AWS Organization and decides whether the Amazon Bedrock
//! controls it relies on really hold. Modules in pipeline order.

/// Settings from the TOML file and `SWEEPER_*` environment variables.
pub mod config;
/// Tracing subscriber set-up.
pub mod telemetry;
/// Identifiers, severities and statuses shared by every stage.
pub mod domain;
/// The plain data collected from AWS (organization and account snapshots).
pub mod snapshot;
/// SDK plumbing: base config, clients, assumed roles, error classification.
pub mod aws;
/// Organization discovery: roots, OUs, accounts, SCPs.
pub mod org;
/// Per-account collection, one file per AWS service.
pub mod collect;
/// The control catalog in `findings/`: loading, validation, regions list.
pub mod catalog;
/// Pure evaluation of every control on the snapshots.
pub mod evaluate;
/// PostgreSQL: sweeps, tasks, findings, transitions, evidence.
pub mod store;
/// The whole flow of one sweep.
pub mod sweep;
/// Terminal presentation of sweep reports and the catalog.
pub mod report;
