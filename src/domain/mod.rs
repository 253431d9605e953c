//! Shared vocabulary of the pipeline: identifiers parsed at the edge, severities and statuses.
//!
//! Everything here is plain data. Nothing in this module talks to AWS or the database; the
//! newtypes are `#[serde(transparent)]`/`#[sqlx(transparent)]` so they pass through JSON
//! and SQL unchanged.

mod ids;
mod status;

pub use ids::{AccountId, ControlId, IdError, Region, SweepId};
pub use status::{Severity, Status};
