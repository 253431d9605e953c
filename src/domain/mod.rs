//! Shared vocabulary of the pipeline: identifiers parsed at the edge, severities and statuses.
//!
//! Everything here is plain data. Nothing in this module talks to AWS or the database; the
//! newtypes are `#[serde(transparent)]`/`#[sqlx(transparent)]` so they pass through JSON
//! and SQL unchanged.

/// The conversions of an identifier parsed from text: from a `String` through its `parse`
/// (what serde's `try_from` uses), back into a `String`, `Display`; reading it as its text
/// (`control_id.starts_with("BR.ORG.")`) and comparing it with text
/// (`account_id == "111122223333"`). Read only: an identifier is made only by its `parse`.
macro_rules! text_id {
    ($($t:ty => $err:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, $err> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(id: $t) -> Self {
                id.as_str().to_owned()
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::ops::Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other
            }
        }
    )*};
}

mod access;
mod delivery;
mod finding;
mod guardrail_ref;
mod ids;
mod partition;
mod resource_kind;
mod status;

text_id!(
    AccountId => IdError,
    ControlId => IdError,
    Region => IdError,
    FindingId => NotAFindingId,
    OuPath => IdError
);

pub use access::{Role, TokenHash};
pub use delivery::{ComplianceStatus, ExportFinding, RecordState, truncate};
pub use finding::{
    EventKind, FindingId, FindingRecord, NotAFindingId, Prior, SweepOutcome, SweepStatus, transition, vanished,
};
pub use guardrail_ref::{GuardrailRef, named_guardrails};
pub use ids::{AccountId, ControlId, IdError, KnownControl, OuPath, Region, SweepId};
pub use partition::{Partition, PartitionError, aws_managed_policy_name};
pub use resource_kind::ResourceKind;
pub use status::{FilterStrength, Severity, Status};

use chrono::{DateTime, Utc};

/// A time as every document of ours writes it: RFC 3339, UTC, milliseconds (`serialize_with`).
pub fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// [`rfc3339`] for optional times.
pub fn rfc3339_opt<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}
