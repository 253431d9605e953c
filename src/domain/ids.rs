//! Identifier newtypes. Each `parse` rejects malformed input so that the rest of the code
//! never has to wonder whether an `AccountId` really is twelve digits.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an identifier was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    /// An AWS account id is exactly twelve ASCII digits.
    #[error("`{0}` is not an AWS account id (12 digits)")]
    AccountId(String),
    /// A region name looks like `eu-central-1`.
    #[error("`{0}` is not an AWS region name (like eu-central-1)")]
    Region(String),
    /// A control id looks like `BR.NET.1`.
    #[error("`{0}` is not a control id (like BR.NET.1)")]
    ControlId(String),
    /// An OU path is names joined by `/`, none of them empty.
    #[error("expected an OU path by name such as `Root/Workloads`")]
    OuPath,
}

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
#[serde(try_from = "String", into = "String")]
#[sqlx(transparent)]
pub struct AccountId(String);

impl AccountId {
    /// Parses a 12-digit account id.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::AccountId(s.to_owned()))
        }
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An AWS region name such as `eu-central-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
#[serde(try_from = "String", into = "String")]
#[sqlx(transparent)]
pub struct Region(String);

impl Region {
    /// Parses a region name as AWS forms them: a two-letter area, one or more dash-separated
    /// words, a number (`eu-central-1`, `us-gov-west-1`): [`Region::PATTERN`], at most 25
    /// characters.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split('-').collect();
        let lower = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
        let well_formed = s.len() <= 25
            && parts.len() >= 3
            && parts[0].len() == 2
            && parts[..parts.len() - 1].iter().all(lower)
            && parts.last().is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if well_formed { Ok(Self(s.to_owned())) } else { Err(IdError::Region(s.to_owned())) }
    }

    /// The grammar of [`Region::parse`] as a regular expression (for the API's documents).
    pub const PATTERN: &str = "^[a-z]{2}(-[a-z]+)+-[0-9]+$";

    /// The region name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A control id from the catalog, such as `BR.NET.1`. The ids are a public contract.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
#[serde(try_from = "String", into = "String")]
#[sqlx(transparent)]
pub struct ControlId(String);

impl ControlId {
    /// Parses `BR.<FAMILY>.<n>`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if Self::is_well_formed(s) { Ok(Self(s.to_owned())) } else { Err(IdError::ControlId(s.to_owned())) }
    }

    /// Whether `s` is `BR.<FAMILY>.<n>`: `BR.`, one or more capitals, `.`, one or more digits.
    /// A `const fn`, so that [`KnownControl::new`] checks the ids written in the code when it
    /// is compiled.
    pub const fn is_well_formed(s: &str) -> bool {
        let b = s.as_bytes();
        if b.len() < 6 || b[0] != b'B' || b[1] != b'R' || b[2] != b'.' {
            return false;
        }
        let mut i = 3;
        while i < b.len() && b[i].is_ascii_uppercase() {
            i += 1;
        }
        if i == 3 || i >= b.len() || b[i] != b'.' {
            return false;
        }
        i += 1;
        let digits = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i > digits && i == b.len()
    }

    /// The id as written in the catalog.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A control id written in the code (`evaluate::ids`), checked when it is compiled: a
/// malformed one does not build, so nothing parses it at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KnownControl(&'static str);

impl KnownControl {
    /// The id `id`; a compile error (in a `const`) when it is not `BR.<FAMILY>.<n>`.
    pub const fn new(id: &'static str) -> Self {
        assert!(ControlId::is_well_formed(id), "not a control id (BR.<FAMILY>.<n>)");
        Self(id)
    }

    /// The id as text.
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// The id as the findings carry it.
    pub fn id(self) -> ControlId {
        ControlId(self.0.to_owned())
    }
}

impl fmt::Display for KnownControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// An OU path by name, such as `Root/Workloads/Prod`: at most 1,024 characters, names
/// joined by `/`, none empty, no control characters (NUL above all would only fail in the
/// database).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(try_from = "String", into = "String")]
#[sqlx(transparent)]
pub struct OuPath(String);

impl OuPath {
    /// Parses a path of OU names.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.len() > 1024 || s.split('/').any(str::is_empty) || s.chars().any(char::is_control) {
            Err(IdError::OuPath)
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SQL `LIKE` pattern (with `\` as the escape character) of every path strictly
    /// under this one: matched on `/` boundaries, so `Root/Work` does not match `Root/Workloads`.
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len() + 2);
        for c in self.0.chars() {
            if matches!(c, '\\' | '%' | '_') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str("/%");
        pattern
    }
}

/// The id of one sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct SweepId(pub uuid::Uuid);

impl SweepId {
    /// A fresh random id.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4())
    }
}

impl Default for SweepId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SweepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(AccountId::parse("123456789012").is_ok());
        for bad in ["12345678901", "1234567890123", "12345678901a", "", " 23456789012"] {
            assert_eq!(AccountId::parse(bad), Err(IdError::AccountId(bad.to_owned())));
        }
    }

    #[test]
    fn regions_and_control_ids_are_checked() {
        assert!(Region::parse("eu-central-1").is_ok());
        assert!(Region::parse("us-gov-west-1").is_ok());
        assert!(Region::parse("ap-southeast-12").is_ok());
        for bad in
            ["", "EU-CENTRAL-1", "eu-central", "eu central 1", "../etc", "aaaaaa-1", "e-central-1", "eu--1", "eu-1"]
        {
            assert!(Region::parse(bad).is_err(), "{bad}");
        }
        assert!(ControlId::parse("BR.NET.1").is_ok());
        for bad in ["BR.NET", "BR.net.1", "XX.NET.1", "BR.NET.1.2", "BR..1", "BR.NET.", "BR.NET.1a", ""] {
            assert!(ControlId::parse(bad).is_err(), "{bad}");
        }
        assert!(ControlId::parse("BR.AGENTCORE.12").is_ok());
    }

    #[test]
    fn ou_paths_are_checked_and_their_patterns_escape_like_wildcards() {
        let path = |s: &str| OuPath::parse(s).unwrap().like_pattern();
        assert_eq!(path("Root/Work_loads"), "Root/Work\\_loads/%");
        assert_eq!(path("100%"), "100\\%/%");
        assert_eq!(path("a\\b"), "a\\\\b/%");
        for bad in ["", "Root/", "/Root", "Root//Prod", "Root/\u{0}", &"x".repeat(1025)] {
            assert_eq!(OuPath::parse(bad), Err(IdError::OuPath), "{bad:?}");
        }
    }

    #[test]
    fn json_round_trip_rejects_malformed_ids() {
        let id: AccountId = serde_json::from_str("\"111122223333\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"111122223333\"");
        assert!(serde_json::from_str::<AccountId>("\"1111\"").is_err());
    }
}
