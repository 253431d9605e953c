//! Shared vocabulary of the pipeline: identifiers parsed at the edge, severities and statuses.
//!
//! Everything here is plain data. Nothing in this module talks to AWS or the database; the
//! newtypes are `#[serde(transparent)]`/`#[sqlx(transparent)]` so they pass through JSON
//! and SQL unchanged.

mod ids;
mod partition;
mod status;

pub use ids::{AccountId, ControlId, IdError, Region, SweepId};
pub use partition::{Partition, PartitionError, aws_managed_policy_name};
pub use status::{Severity, Status};
