//! What verifying a trail's CloudTrail digest chain found, for one account and region: the
//! hours and files verified, every break in the chain, and how far verification got.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Collected;
use crate::domain::{AccountId, Region};

/// One digest chain: the digests CloudTrail wrote for `account` in `region` for one trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestChain {
    /// The trail's ARN.
    pub trail_arn: String,
    /// The region whose digests these are.
    pub region: Region,
    /// The bucket the digests are delivered to.
    pub bucket: String,
    /// The key prefix the chain's digests live under (`…/CloudTrail-Digest/<region>/`).
    pub digest_prefix: String,
    /// The account whose role read the bucket.
    pub read_as: AccountId,
    /// What verification found, or the call that kept it from looking.
    pub verification: Collected<ChainVerification>,
    /// The breaks earlier sweeps found in this chain (kept when it cannot be read now: a
    /// known failure stays a failure).
    #[serde(default)]
    pub recorded_breaks: Vec<ChainBreak>,
}

/// The outcome of verifying one chain from the stored cursor (or the window's start) on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainVerification {
    /// The window's start: digests ending before it were not read.
    pub window_start: DateTime<Utc>,
    /// Where this sweep's verification started: the end of the last digest an earlier sweep
    /// verified, when it is inside the window.
    pub resumed_from: Option<DateTime<Utc>>,
    /// The end time of the newest digest verified so far (this sweep or earlier).
    pub verified_through: Option<DateTime<Utc>>,
    /// Digests verified by this sweep.
    pub digests_verified: u32,
    /// Log files hashed by this sweep.
    pub log_files_verified: u32,
    /// Bytes read from S3 by this sweep (compressed, as stored).
    pub bytes_read: u64,
    /// Every break found, this sweep's and earlier sweeps' (a break stays reported).
    pub breaks: Vec<ChainBreak>,
    /// Hours where CloudTrail started a new chain (a digest naming no previous digest:
    /// validation or logging was turned off and on again).
    pub restarts: Vec<DateTime<Utc>>,
    /// Set when verification stopped before the newest digest: why, and how many digests
    /// remain for the next sweep.
    pub stopped_early: Option<String>,
    /// Set when the last verified digest is older than the window: the hours in between were
    /// not verified (verification starts at the window).
    #[serde(default)]
    pub skipped: Option<String>,
    /// Breaks found beyond the ones listed in `breaks` (the list is bounded).
    #[serde(default)]
    pub breaks_not_listed: u64,
    /// The position to resume from next sweep; `None` when nothing has been verified yet.
    pub next_cursor: Option<ChainCursor>,
}

/// The last digest verified in a chain: the next sweep starts after it, and checks that the
/// next digest links to exactly this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCursor {
    /// Its S3 key.
    pub digest_key: String,
    /// Its end time.
    pub digest_end: DateTime<Utc>,
    /// Its signature, hex, as CloudTrail set it in the object's metadata.
    pub signature: String,
    /// SHA-256 (hex) of its uncompressed content.
    pub sha256: String,
    /// The breaks found so far (kept until the chain's finding is excepted).
    pub breaks: Vec<ChainBreak>,
    /// Breaks found beyond the ones listed.
    #[serde(default)]
    pub breaks_not_listed: u64,
}

/// One way a chain can be broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// A digest named as previous by the next one does not exist (a gap in the chain).
    DigestMissing,
    /// A digest's signature does not verify with CloudTrail's public key.
    SignatureInvalid,
    /// A digest is signed with a key CloudTrail does not list, or names an algorithm other
    /// than SHA256withRSA, or lacks its signature.
    SignatureUnverifiable,
    /// A digest names a previous digest other than the one before it, or a previous
    /// signature or hash that does not match it.
    LinkMismatch,
    /// A digest does not say it lives where it was read from, or cannot be read as a digest.
    DigestMalformed,
    /// A log file's SHA-256 does not match its digest's entry.
    LogFileModified,
    /// A log file listed in a digest does not exist.
    LogFileMissing,
    /// No digest arrived for longer than the delivery allowance.
    ChainStalled,
}

impl BreakKind {
    /// A short phrase for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::DigestMissing => "digest file missing (gap in the chain)",
            Self::SignatureInvalid => "digest signature does not verify",
            Self::SignatureUnverifiable => "digest signature cannot be checked",
            Self::LinkMismatch => "chain link does not match the previous digest",
            Self::DigestMalformed => "digest file is not where it says or not a digest",
            Self::LogFileModified => "log file modified (SHA-256 differs from its digest)",
            Self::LogFileMissing => "log file listed in a digest is missing",
            Self::ChainStalled => "no digest delivered",
        }
    }
}

/// A break: what, in which hour (the digest's end time), and which object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// What is wrong.
    pub kind: BreakKind,
    /// The end time of the digest the break was found in (the hour it concerns).
    pub hour: Option<DateTime<Utc>>,
    /// The S3 object concerned (`bucket/key`).
    pub object: String,
    /// Details: expected and found values.
    pub detail: String,
}
