//! Severity and evaluation status: the two enums every finding carries.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How bad a failing control is. Ordered from least to most severe.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, no risk by itself.
    Informational,
    /// Low risk.
    Low,
    /// Medium risk.
    Medium,
    /// High risk.
    High,
    /// Critical risk.
    Critical,
}

impl Severity {
    /// Every severity, most severe first (the order summaries print in).
    pub const ALL: [Severity; 5] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Informational];

    /// The lowercase name used in JSON, SQL and the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| format!("unknown severity `{s}`"))
    }
}

/// The outcome of evaluating one control for one subject.
///
/// `Error` means "could not look" and is never folded into `Pass`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Status {
    /// The control holds.
    Pass,
    /// The control does not hold.
    Fail,
    /// The control could not be evaluated; the detail says why.
    Error,
    /// The control does not apply here; the detail says why.
    NotApplicable,
}

impl Status {
    /// Every status, in summary order.
    pub const ALL: [Status; 4] = [Status::Fail, Status::Error, Status::Pass, Status::NotApplicable];

    /// The snake_case name used in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::NotApplicable => "not_applicable",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| format!("unknown status `{s}`"))
    }
}

/// Guardrail content-filter strength, ordered weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FilterStrength {
    /// The filter is off.
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl FilterStrength {
    /// Parses the Bedrock API spelling (`NONE`, `LOW`, `MEDIUM`, `HIGH`).
    pub fn from_api(s: &str) -> Option<Self> {
        match s {
            "NONE" => Some(Self::None),
            "LOW" => Some(Self::Low),
            "MEDIUM" => Some(Self::Medium),
            "HIGH" => Some(Self::High),
            _ => None,
        }
    }
}
