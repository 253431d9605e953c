//! The plain data the sweep collects: what `org/` and `collect/` build from AWS answers
//! and what `evaluate/` judges. Our own serde structs, no SDK types, so a snapshot saved
//! as JSON is the evidence behind a finding and every control can be tested from a
//! hand-built one.
//!
//! A collection that failed is a [`Gap`], kept in place of the data (`Collected<T>`), so
//! "could not look" can never be mistaken for "nothing there".

mod account;
mod agentcore;
pub mod normal;
mod org;
mod trail_integrity;

pub use account::*;
pub use agentcore::*;
pub use org::*;
pub use trail_integrity::*;

use serde::{Deserialize, Serialize};

use crate::aws::errors::{Failure, FailureKind};
use crate::domain::Region;

/// Either the collected data or the reason it could not be collected.
pub type Collected<T> = Result<T, Gap>;

/// A collection that failed: which call, where, and what AWS (or the network) said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// The AWS service, e.g. `ec2`.
    pub service: String,
    /// The API operation, e.g. `DescribeVpcEndpoints`.
    pub operation: String,
    /// The region of the call, for regional services.
    pub region: Option<Region>,
    /// What kind of failure.
    pub kind: FailureKind,
    /// The AWS error code, or a token such as `Timeout`.
    pub code: String,
    /// The full message, for people.
    pub message: String,
}

impl Gap {
    /// A gap from a classified SDK failure.
    pub fn from_failure(service: &str, operation: &str, region: Option<&Region>, f: Failure) -> Self {
        Self {
            service: service.to_owned(),
            operation: operation.to_owned(),
            region: region.cloned(),
            kind: f.kind,
            code: f.code,
            message: f.message,
        }
    }

    /// A call that answered without what it exists to return: no data, so a gap.
    pub fn bad_response(service: &str, operation: &str, region: Option<&Region>, code: &str, message: String) -> Self {
        Self {
            service: service.to_owned(),
            operation: operation.to_owned(),
            region: region.cloned(),
            kind: crate::aws::errors::FailureKind::BadResponse,
            code: code.to_owned(),
            message,
        }
    }

    /// One short phrase naming the call and the error, e.g. `ec2:DescribeVpcEndpoints in eu-west-1 (AccessDenied)`.
    pub fn summary(&self) -> String {
        match &self.region {
            Some(r) => format!("{}:{} in {r} ({})", self.service, self.operation, self.code),
            None => format!("{}:{} ({})", self.service, self.operation, self.code),
        }
    }
}

/// Why an account could not be assessed at all (its role could not be assumed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotAssessed {
    /// The role we tried.
    pub role_arn: String,
    /// What kind of failure.
    pub kind: FailureKind,
    /// The AWS error code.
    pub code: String,
    /// The full message.
    pub message: String,
}
