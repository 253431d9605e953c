//! What Security Hub is told about a finding: the record state and compliance we send, the
//! text limit every field we write obeys, and the finding as the export reads it.

use serde::Serialize;

use super::{FindingRecord, SweepId};

/// The record state Security Hub shows, as we send and store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::Type)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sqlx(type_name = "text", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordState {
    /// Visible.
    Active,
    /// Hidden from default views (fixed or gone).
    Archived,
}

impl RecordState {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Archived => "ARCHIVED",
        }
    }
}

/// Compliance.Status, as we send and store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::Type)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sqlx(type_name = "text", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComplianceStatus {
    /// The control holds (a resolved finding).
    Passed,
    /// The control fails.
    Failed,
    /// We could not evaluate it.
    NotAvailable,
}

impl ComplianceStatus {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "PASSED",
            Self::Failed => "FAILED",
            Self::NotAvailable => "NOT_AVAILABLE",
        }
    }
}

/// A finding as the Security Hub export reads it: the record and where its evidence and
/// account sit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFinding {
    /// The finding.
    pub record: FindingRecord,
    /// The last sweep that wrote it.
    pub last_sweep_id: SweepId,
    /// The evidence snapshot.
    pub snapshot_hash: Option<String>,
    /// OU path of the account.
    pub ou_path: Option<String>,
}

const TRUNCATED: &str = " …[truncated]";

/// Cuts `s` to at most `max` characters, ending with a visible marker when cut (Security
/// Hub rejects a field over its limit rather than cutting it).
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let keep = max.saturating_sub(TRUNCATED.chars().count());
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(TRUNCATED);
    out
}
