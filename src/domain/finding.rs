//! The finding: one verdict of one control on one subject, as stored, listed, printed and
//! exported. [`FindingRecord`] is the one type with its fields; the API and the Security Hub
//! export extend it by composition. [`transition`] decides what a new verdict does to the
//! stored one.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{AccountId, ControlId, Region, ResourceKind, Severity, Status};

/// The stable id of a finding: 32 lowercase hex digits, the first half of the SHA-256 of
/// control × account × region × resource. The same subject keeps its id across sweeps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
#[serde(try_from = "String", into = "String")]
#[sqlx(transparent)]
pub struct FindingId(String);

/// A string that is not a finding id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a finding id (32 lowercase hex digits)")]
pub struct NotAFindingId(pub String);

impl FindingId {
    /// The grammar of [`FindingId::parse`] as a regular expression (for the API's documents).
    pub const PATTERN: &str = "^[0-9a-f]{32}$";

    /// The id of the finding about `resource` for this control, account and region.
    pub fn of(control: &ControlId, account: &AccountId, region: Option<&Region>, resource: &str) -> Self {
        let key = format!("{control}|{account}|{}|{resource}", region.map_or("", Region::as_str));
        Self(hex::encode(&Sha256::digest(key.as_bytes())[..16]))
    }

    /// Parses 32 lowercase hex digits.
    pub fn parse(s: &str) -> Result<Self, NotAFindingId> {
        if s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(s.to_owned()))
        } else {
            Err(NotAFindingId(s.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A finding as the CLI prints it and the API lists it: the `findings` row without its
/// bookkeeping (activity, status history, evidence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, ToSchema)]
pub struct FindingRecord {
    /// Stable id (control × account × region × resource).
    #[schema(value_type = String, pattern = "^[0-9a-f]{32}$")]
    pub id: FindingId,
    /// The control, e.g. `BR.NET.1`.
    #[schema(value_type = String)]
    pub control_id: ControlId,
    /// The account.
    #[schema(value_type = String)]
    pub account_id: AccountId,
    /// The region; null for account- or organization-wide controls.
    #[schema(value_type = Option<String>)]
    pub region: Option<Region>,
    /// The resource judged.
    pub resource_id: String,
    /// What kind of resource it is.
    pub resource_kind: ResourceKind,
    /// The verdict.
    pub status: Status,
    /// The control's severity.
    pub severity: Severity,
    /// The control's title.
    pub title: String,
    /// Why, in one sentence.
    pub detail: String,
    /// First observed.
    #[serde(serialize_with = "super::rfc3339")]
    pub first_seen_at: DateTime<Utc>,
    /// Last observed.
    #[serde(serialize_with = "super::rfc3339")]
    pub last_seen_at: DateTime<Utc>,
}

impl FindingRecord {
    /// The columns of `findings` that make a record, in field order: the select list of the
    /// findings listing, the one runtime query that reads records (the query macros' selects
    /// of a record are checked against its fields when they are compiled).
    pub const COLUMNS: [&str; 12] = [
        "id",
        "control_id",
        "account_id",
        "region",
        "resource_id",
        "resource_kind",
        "status",
        "severity",
        "title",
        "detail",
        "first_seen_at",
        "last_seen_at",
    ];

    /// [`Self::COLUMNS`] as a select list, each qualified by `alias` (`f` gives `f.id, ...`)
    /// or bare when `alias` is empty.
    pub fn select_list(alias: &str) -> String {
        let dot = if alias.is_empty() { "" } else { "." };
        Self::COLUMNS.iter().map(|c| format!("{alias}{dot}{c}")).collect::<Vec<_>>().join(", ")
    }
}

/// What happened to a finding, as `finding_events.kind` stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum EventKind {
    /// Seen for the first time, failing.
    Opened,
    /// Seen for the first time (or again after it was retired) and not failing.
    FirstSeen,
    /// Was failing, now passes or no longer applies, or its subject is gone.
    Resolved,
    /// Was passing or not applicable, now fails.
    Regressed,
    /// Seen failing again after its subject had gone.
    Reopened,
    /// Same status, but another detail or severity (or to or from `error`).
    Changed,
    /// Was not failing, and its subject is gone.
    Retired,
}

impl EventKind {
    /// The snake_case name used in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::FirstSeen => "first_seen",
            EventKind::Resolved => "resolved",
            EventKind::Regressed => "regressed",
            EventKind::Reopened => "reopened",
            EventKind::Changed => "changed",
            EventKind::Retired => "retired",
        }
    }
}

/// The stored state of a finding that a new verdict is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prior<'a> {
    /// Its status.
    pub status: Status,
    /// Its severity.
    pub severity: Severity,
    /// Its detail.
    pub detail: &'a str,
    /// Whether its subject was still observed.
    pub active: bool,
}

/// The transition a new verdict (`status`, `severity`, `detail`) makes from the stored
/// finding (`None`: never seen), or `None` when nothing a person would notice changed.
pub fn transition(prior: Option<Prior<'_>>, status: Status, severity: Severity, detail: &str) -> Option<EventKind> {
    let first = if status == Status::Fail { EventKind::Opened } else { EventKind::FirstSeen };
    let Some(prior) = prior else { return Some(first) };
    if !prior.active {
        return Some(if status == Status::Fail { EventKind::Reopened } else { EventKind::FirstSeen });
    }
    use Status::{Fail, NotApplicable, Pass};
    match (prior.status, status) {
        (old, new) if old == new => {
            (prior.detail != detail || prior.severity != severity).then_some(EventKind::Changed)
        }
        (Fail, Pass | NotApplicable) => Some(EventKind::Resolved),
        (Pass | NotApplicable, Fail) => Some(EventKind::Regressed),
        _ => Some(EventKind::Changed),
    }
}

/// The transition of an active finding whose subject was not observed this time (only
/// called where the sweep saw everything its control reads).
pub fn vanished(status: Status) -> EventKind {
    if status == Status::Fail { EventKind::Resolved } else { EventKind::Retired }
}

/// How the sweep stands, as `sweeps.status` stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum SweepStatus {
    /// Under way (or interrupted, until its lease lapses and it is resumed).
    Running,
    /// Every account was recorded.
    Completed,
    /// Stopped before every account was recorded; the error says why.
    Failed,
}

impl SweepStatus {
    /// The snake_case name used in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            SweepStatus::Running => "running",
            SweepStatus::Completed => "completed",
            SweepStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for SweepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a sweep run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepOutcome {
    /// Every account was recorded.
    Completed,
    /// Stopped early (shutdown, Ctrl-C); the sweep stays running and is resumed by the next run.
    Interrupted,
}

impl fmt::Display for SweepOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SweepOutcome::Completed => "completed",
            SweepOutcome::Interrupted => "interrupted",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventKind::*;
    use Status::*;

    fn prior(status: Status, active: bool) -> Option<Prior<'static>> {
        Some(Prior { status, severity: Severity::High, detail: "d", active })
    }

    #[test]
    fn a_new_finding_opens_when_failing_and_is_first_seen_otherwise() {
        assert_eq!(transition(None, Fail, Severity::High, "d"), Some(Opened));
        for s in [Pass, Error, NotApplicable] {
            assert_eq!(transition(None, s, Severity::High, "d"), Some(FirstSeen), "{s}");
        }
    }

    #[test]
    fn a_retired_finding_seen_again_reopens_only_when_failing() {
        assert_eq!(transition(prior(Pass, false), Fail, Severity::High, "d"), Some(Reopened));
        assert_eq!(transition(prior(Fail, false), Pass, Severity::High, "d"), Some(FirstSeen));
    }

    #[test]
    fn status_changes_are_named_by_direction() {
        assert_eq!(transition(prior(Fail, true), Pass, Severity::High, "d"), Some(Resolved));
        assert_eq!(transition(prior(Fail, true), NotApplicable, Severity::High, "d"), Some(Resolved));
        assert_eq!(transition(prior(Pass, true), Fail, Severity::High, "d"), Some(Regressed));
        assert_eq!(transition(prior(NotApplicable, true), Fail, Severity::High, "d"), Some(Regressed));
        // "Could not look" is never a resolution, nor a regression.
        assert_eq!(transition(prior(Fail, true), Error, Severity::High, "d"), Some(Changed));
        assert_eq!(transition(prior(Error, true), Pass, Severity::High, "d"), Some(Changed));
    }

    #[test]
    fn the_same_verdict_is_an_event_only_when_its_detail_or_severity_moved() {
        assert_eq!(transition(prior(Fail, true), Fail, Severity::High, "d"), None);
        assert_eq!(transition(prior(Fail, true), Fail, Severity::High, "other"), Some(Changed));
        assert_eq!(transition(prior(Fail, true), Fail, Severity::Low, "d"), Some(Changed));
    }

    #[test]
    fn a_vanished_subject_resolves_a_failure_and_retires_anything_else() {
        assert_eq!(vanished(Fail), Resolved);
        for s in [Pass, Error, NotApplicable] {
            assert_eq!(vanished(s), Retired);
        }
    }

    #[test]
    fn finding_ids_are_stable_and_checked() {
        let control = ControlId::parse("BR.NET.1").unwrap();
        let account = AccountId::parse("111122223333").unwrap();
        let region = Region::parse("eu-west-1").unwrap();
        let a = FindingId::of(&control, &account, Some(&region), "vpc-1");
        assert_eq!(a, FindingId::of(&control, &account, Some(&region), "vpc-1"));
        assert_ne!(a, FindingId::of(&control, &account, None, "vpc-1"));
        assert_eq!(FindingId::parse(a.as_str()), Ok(a.clone()));
        for bad in ["", "ABCDEF0123456789ABCDEF0123456789", "0123", "g123456789abcdef0123456789abcdef"] {
            assert!(FindingId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_record_serializes_every_column_with_millisecond_times() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678901Z").unwrap().to_utc();
        let r = FindingRecord {
            id: FindingId::parse("0123456789abcdef0123456789abcdef").unwrap(),
            control_id: ControlId::parse("BR.NET.1").unwrap(),
            account_id: AccountId::parse("111122223333").unwrap(),
            region: None,
            resource_id: "r".into(),
            resource_kind: ResourceKind::Account,
            status: NotApplicable,
            severity: Severity::Informational,
            title: "t".into(),
            detail: "d".into(),
            first_seen_at: t,
            last_seen_at: t,
        };
        let v = serde_json::to_value(&r).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut columns = FindingRecord::COLUMNS.to_vec();
        columns.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, columns, "one column per field");
        assert_eq!(v["status"], "not_applicable");
        assert_eq!(v["severity"], "informational");
        assert_eq!(v["first_seen_at"], "2026-01-02T03:04:05.678Z");
        assert_eq!(FindingRecord::select_list("f").split(", ").next(), Some("f.id"));
    }
}
