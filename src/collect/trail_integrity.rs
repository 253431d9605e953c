//! CloudTrail digest-chain verification, as the CloudTrail user guide documents it
//! ("Validating CloudTrail log file integrity", "CloudTrail digest file structure").
//!
//! Every hour CloudTrail writes, per trail, account and region, a digest file listing the
//! SHA-256 of each log file it delivered, signed with a regional key only CloudTrail holds
//! and chained to the previous digest's signature. For each chain this collector lists the
//! digests that arrived after the last one verified (the stored [`ChainCursor`]) or, on the
//! first run, within the window, and for each, oldest first:
//! - checks it was read from where it says it lives;
//! - verifies its signature (the object's `x-amz-meta-signature`, RSA PKCS#1 v1.5 over
//!   SHA-256 with `aws-lc-rs`) over the data-signing string: digest end time, `bucket/key`,
//!   SHA-256 of the uncompressed digest, previous digest's signature; the public key is the
//!   one `ListPublicKeys` returns for the digest's fingerprint;
//! - checks the link: the previous digest it names is the one before it, with the same
//!   signature and hash (a missing one is a gap in the chain);
//! - hashes every log file it lists, streamed and inflated as it arrives (no file is held
//!   in memory), several at once, and compares with the listed hash.
//!
//! Reading log files is the expensive part: the bytes read per sweep are bounded
//! ([`ByteBudget`]); a chain that does not finish says how far it got and resumes next sweep.
//! A break found stays in the cursor, so it is reported every sweep, not only the one that
//! found it. Deleting the newest digests is caught when the next one arrives (its link names
//! a missing digest) or, if none arrives, as a stalled chain.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use futures::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::aws::AccountClients;
use crate::domain::{AccountId, Region};
use crate::snapshot::{
    AccountSnapshot, BreakKind, ChainBreak, ChainCursor, ChainVerification, Collected, Gap, OrgSnapshot,
};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
/// ListObjectsV2 is authorized by `s3:ListBucket`, HeadObject by `s3:GetObject`.
/// Reading a log file encrypted with the trail's KMS key needs `kms:Decrypt` on it (through S3).
pub const ACTIONS: &[&str] =
    &["cloudtrail:ListPublicKeys", "kms:Decrypt", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"];

/// The only algorithm CloudTrail signs digests with.
const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";
/// Log files hashed at once per chain: inflating and hashing is CPU work, spread over cores.
const LOG_FILE_CONCURRENCY: usize = 4;
/// A digest lists file names and hashes; one larger than this is not CloudTrail's.
const MAX_DIGEST_BYTES: u64 = 64 * 1024 * 1024;
/// Breaks listed per chain; beyond it `breaks_not_listed` counts them.
const MAX_BREAKS: usize = 50;

/// Bytes of log and digest files the sweep may still read (shared by the workers of one
/// process running a sweep). A digest in progress is finished even when it overruns it.
#[derive(Debug)]
pub struct ByteBudget {
    remaining: AtomicI64,
    limit: u64,
}

impl ByteBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Arc<Self> {
        Arc::new(Self { remaining: AtomicI64::new(i64::try_from(limit).unwrap_or(i64::MAX)), limit })
    }

    fn exhausted(&self) -> bool {
        self.remaining.load(Ordering::Relaxed) <= 0
    }

    fn spend(&self, n: u64) {
        self.remaining.fetch_sub(i64::try_from(n).unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}

/// CloudTrail's public keys by region and fingerprint, shared by every chain of a sweep: they
/// are the region's, not an account's, so one `ListPublicKeys` per region serves every
/// account until a digest names a key not seen yet.
#[derive(Debug, Default)]
pub struct PublicKeys(Mutex<BTreeMap<(Region, String), Vec<u8>>>);

impl PublicKeys {
    fn get(&self, region: &Region, fingerprint: &str) -> Option<Vec<u8>> {
        let keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        keys.get(&(region.clone(), fingerprint.to_owned())).cloned()
    }

    fn add(&self, region: &Region, listed: BTreeMap<String, Vec<u8>>) {
        let mut keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for (fingerprint, der) in listed {
            keys.insert((region.clone(), fingerprint), der);
        }
    }
}

/// Which chain to verify and how.
#[derive(Debug, Clone)]
pub struct ChainTarget {
    /// The trail's name, as it appears in digest file names.
    pub trail_name: String,
    /// The account whose digests these are.
    pub account: String,
    /// The region whose digests these are.
    pub region: Region,
    /// The bucket.
    pub bucket: String,
    /// `…/CloudTrail-Digest/<region>/`.
    pub digest_prefix: String,
    /// The trail's home region: digest file names carry it after the trail's name, and the
    /// bucket's location is asked there.
    pub home_region: Region,
}

impl ChainTarget {
    /// The digest prefix CloudTrail writes to: `[prefix/]AWSLogs/[o-id/]account/CloudTrail-Digest/region/`.
    pub fn prefix_for(
        key_prefix: Option<&str>,
        organization_id: Option<&str>,
        account: &str,
        region: &Region,
    ) -> String {
        let mut p = String::new();
        if let Some(k) = key_prefix.map(|k| k.trim_matches('/')).filter(|k| !k.is_empty()) {
            p.push_str(k);
            p.push('/');
        }
        p.push_str("AWSLogs/");
        if let Some(o) = organization_id {
            p.push_str(o);
            p.push('/');
        }
        p.push_str(&format!("{account}/CloudTrail-Digest/{region}/"));
        p
    }

    /// The start of the file names of this trail's digests (others may share the folder).
    /// `<account>_CloudTrail-Digest_<region>_<trail name>_<home region>_`.
    fn file_name_start(&self) -> String {
        format!("{}_CloudTrail-Digest_{}_{}_{}_", self.account, self.region, self.trail_name, self.home_region)
    }
}

/// A chain to verify for an account: which, where, and as whom.
#[derive(Debug, Clone)]
pub struct PlannedChain {
    /// The trail's ARN.
    pub trail_arn: String,
    /// Where its digests are.
    pub target: ChainTarget,
    /// The account whose role reads the bucket.
    pub read_as: AccountId,
}

/// The digest chains of `account`: one per region of each trail that applies to it (its
/// own and the organization trails) and validates its log files. An organization trail's
/// digests for the account are under the organization id; a multi-region trail has a chain
/// in every swept region, a single-region trail in its home region. The bucket is read as
/// its configured owner (`sweep.trail_bucket_owners`) or else as the trail's account.
pub fn plan(
    org: &OrgSnapshot,
    account: &AccountId,
    snap: &AccountSnapshot,
    owners: &BTreeMap<String, AccountId>,
) -> Vec<PlannedChain> {
    let trails = snap.applicable_trails(org);
    let swept: Vec<Region> = snap.regions.clone().unwrap_or_default();
    let mut out = Vec::new();
    for t in trails.into_iter().filter(|t| t.log_file_validation) {
        let Some(bucket) = &t.s3_bucket else { continue };
        let Ok(home) = Region::parse(&t.home_region) else { continue };
        let regions: Vec<Region> =
            if t.is_multi_region && !swept.is_empty() { swept.clone() } else { vec![home.clone()] };
        let trail_account = super::cloudtrail::arn_account(&t.arn).and_then(|a| AccountId::parse(a).ok());
        let Some(read_as) = owners.get(bucket).cloned().or(trail_account) else { continue };
        let org_id = t.is_organization_trail.then_some(org.organization_id.as_str());
        for region in regions {
            out.push(PlannedChain {
                trail_arn: t.arn.clone(),
                target: ChainTarget {
                    trail_name: t.name.clone(),
                    account: account.as_str().to_owned(),
                    digest_prefix: ChainTarget::prefix_for(
                        t.s3_key_prefix.as_deref(),
                        org_id,
                        account.as_str(),
                        &region,
                    ),
                    region,
                    bucket: bucket.clone(),
                    home_region: home.clone(),
                },
                read_as: read_as.clone(),
            });
        }
    }
    out
}

/// How far back and how much to verify.
#[derive(Debug, Clone)]
pub struct ChainPolicy {
    /// Verify at most this far back when there is no cursor inside it.
    pub window: Duration,
    /// A chain whose newest digest is older than this has stalled.
    pub stall_after: Duration,
    /// Now.
    pub now: DateTime<Utc>,
}

/// A digest file's fields this verification reads (camelCase as CloudTrail writes them).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DigestFile {
    digest_end_time: String,
    digest_s3_bucket: String,
    digest_s3_object: String,
    digest_public_key_fingerprint: Option<String>,
    digest_signature_algorithm: Option<String>,
    previous_digest_s3_bucket: Option<String>,
    previous_digest_s3_object: Option<String>,
    previous_digest_hash_value: Option<String>,
    previous_digest_signature: Option<String>,
    #[serde(default)]
    log_files: Vec<LogFileEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogFileEntry {
    s3_bucket: String,
    s3_object: String,
    hash_value: String,
}

/// The digest before the one being verified.
#[derive(Debug, Clone)]
struct Link {
    bucket: String,
    key: String,
    signature: String,
    sha256: String,
}

/// A digest as read from S3.
struct FetchedDigest {
    signature: Option<String>,
    algorithm: Option<String>,
    content: Vec<u8>,
    bytes: u64,
}

/// Verifies one chain from `cursor` (or the window's start) to the newest digest.
pub async fn verify_chain(
    clients: &AccountClients,
    target: &ChainTarget,
    cursor: Option<&ChainCursor>,
    policy: &ChainPolicy,
    budget: &ByteBudget,
    keys: &PublicKeys,
) -> Collected<ChainVerification> {
    let window_start = policy.now - policy.window;
    let s3 = clients.s3(Some(&bucket_region(clients, target).await?));
    // The breaks found so far stay whatever else changed (a new key prefix starts a new chain).
    let recorded = cursor.map(|c| (c.breaks.clone(), c.breaks_not_listed)).unwrap_or_default();
    let cursor = cursor.filter(|c| c.digest_key.starts_with(&target.digest_prefix));
    let resume = cursor.filter(|c| c.digest_end >= window_start);
    let mut out = ChainVerification {
        window_start,
        resumed_from: resume.map(|c| c.digest_end),
        verified_through: cursor.map(|c| c.digest_end),
        breaks: recorded.0,
        breaks_not_listed: recorded.1,
        next_cursor: cursor.cloned(),
        ..ChainVerification::default()
    };
    if let Some(c) = cursor.filter(|c| c.digest_end < window_start) {
        out.skipped = Some(format!(
            "the digests between {} (the last verified) and {} were not verified: more than {} hours behind",
            c.digest_end.format("%Y-%m-%d %H:%M UTC"),
            window_start.format("%Y-%m-%d %H:%M UTC"),
            policy.window.num_hours()
        ));
    }

    let start_after = match resume {
        Some(c) => c.digest_key.clone(),
        None => format!("{}{}", target.digest_prefix, window_start.format("%Y/%m/%d/")),
    };
    let listed = list_digests(&s3, target, &start_after).await?;
    let name_start = target.file_name_start();
    let mut digests: Vec<(DateTime<Utc>, String)> = listed
        .iter()
        .filter_map(|key| {
            let name = key.rsplit('/').next()?;
            if !name.starts_with(&name_start) {
                return None;
            }
            Some((digest_end_from_name(name)?, key.clone()))
        })
        .filter(|(end, _)| *end >= window_start)
        .collect();
    digests.sort();

    // Asked at most once per chain, only for a fingerprint no chain has seen yet.
    let mut keys_listed = false;

    let mut prev: Option<Link> = resume.map(|c| Link {
        bucket: target.bucket.clone(),
        key: c.digest_key.clone(),
        signature: c.signature.clone(),
        sha256: c.sha256.clone(),
    });
    let total = digests.len();
    for (done, (end, key)) in digests.iter().enumerate() {
        if budget.exhausted() {
            out.stopped_early = Some(format!(
                "the sweep's byte budget ({} MiB) was reached; {} of {total} new digests remain for the next sweep",
                budget.limit / (1024 * 1024),
                total - done
            ));
            break;
        }
        let backfill = key.ends_with("_backfill.json.gz");
        let object = format!("{}/{key}", target.bucket);
        let fetched = fetch_digest(&s3, &target.bucket, key, &target.region).await?;
        budget.spend(fetched.bytes);
        out.bytes_read += fetched.bytes;
        let sha256 = hex::encode(Sha256::digest(&fetched.content));
        let mut found: Vec<ChainBreak> = Vec::new();
        let brk = |kind, detail: String| ChainBreak { kind, hour: Some(*end), object: object.clone(), detail };
        // A missing digest is named itself, with its own hour (from its name).
        let missing = |named: &str, detail: String| ChainBreak {
            kind: BreakKind::DigestMissing,
            hour: named.rsplit('/').next().and_then(digest_end_from_name).or(Some(*end)),
            object: format!("{}/{named}", target.bucket),
            detail,
        };
        let digest: DigestFile = match serde_json::from_slice(&fetched.content) {
            Ok(d) => d,
            Err(e) => {
                push_break(&mut out, brk(BreakKind::DigestMalformed, format!("not a digest file: {e}")));
                out.digests_verified += 1;
                if let Some(sig) = fetched.signature.clone() {
                    prev = Some(Link { bucket: target.bucket.clone(), key: key.clone(), signature: sig, sha256 });
                }
                continue;
            }
        };
        if digest.digest_s3_bucket != target.bucket || digest.digest_s3_object != *key {
            found.push(brk(
                BreakKind::DigestMalformed,
                format!(
                    "it says it lives at {}/{}, it was read from {object}",
                    digest.digest_s3_bucket, digest.digest_s3_object
                ),
            ));
        }
        // Keys are matched by fingerprint only, as `aws cloudtrail validate-logs` does: CloudTrail
        // signs a digest after its hour ends (a backfill digest much later), so the key may
        // have become valid after the digest's end time.
        let fingerprint = digest.digest_public_key_fingerprint.as_deref();
        if let Some(fp) = fingerprint
            && keys.get(&target.region, fp).is_none()
            && !keys_listed
        {
            keys_listed = true;
            let earliest = digests[0].0 - Duration::hours(2);
            keys.add(&target.region, list_public_keys(clients, &target.region, earliest, policy.now).await?);
        }
        let public = fingerprint.and_then(|fp| keys.get(&target.region, fp));
        if let Some(problem) = check_signature(&digest, &fetched, public.as_deref(), &target.bucket, key, &sha256) {
            found.push(brk(problem.0, problem.1));
        }
        if !backfill {
            match &digest.previous_digest_s3_object {
                None => out.restarts.push(*end),
                Some(named) => {
                    let named_bucket =
                        digest.previous_digest_s3_bucket.clone().unwrap_or_else(|| target.bucket.clone());
                    // The digest before it in this chain; else (the first of the window, or a
                    // chain that moved buckets) the one it names, read where it names it.
                    let before = match &prev {
                        Some(p) if named_bucket == p.bucket => Some(p.clone()),
                        _ => previous_digest(&s3, &named_bucket, named, &target.region).await?,
                    };
                    match before.map(|p| check_link(&digest, named, &named_bucket, &p, &listed)) {
                        None => found.push(missing(named, format!("{object} names it as its previous digest"))),
                        Some(Some((BreakKind::DigestMissing, detail))) => found.push(missing(named, detail)),
                        Some(Some((kind, detail))) => found.push(brk(kind, detail)),
                        Some(None) => {}
                    }
                }
            }
        }
        let (files, bytes, log_breaks) = verify_log_files(&s3, &digest.log_files, *end, budget, &target.region).await?;
        out.log_files_verified += files;
        out.bytes_read += bytes;
        found.extend(log_breaks);
        for b in found {
            push_break(&mut out, b);
        }
        out.digests_verified += 1;
        if !backfill {
            prev = Some(Link {
                bucket: target.bucket.clone(),
                key: key.clone(),
                signature: fetched.signature.clone().unwrap_or_default(),
                sha256: sha256.clone(),
            });
            out.verified_through = Some(*end);
            out.next_cursor = Some(ChainCursor {
                digest_key: key.clone(),
                digest_end: *end,
                signature: fetched.signature.unwrap_or_default(),
                sha256,
                breaks: Vec::new(),
                breaks_not_listed: 0,
            });
        }
    }
    if let Some(c) = &mut out.next_cursor {
        c.breaks = out.breaks.clone();
        c.breaks_not_listed = out.breaks_not_listed;
    }
    // Not a break of the record: recomputed every sweep, never kept in the cursor.
    if out.stopped_early.is_none() {
        let newest = out.verified_through;
        if newest.is_none_or(|n| policy.now - n > policy.stall_after) {
            // Worded without the current time, so an unchanged chain's evidence stays the same.
            let detail = match newest {
                Some(n) => format!(
                    "the newest digest ends at {}, more than {} hours ago",
                    n.format("%Y-%m-%d %H:%M UTC"),
                    policy.stall_after.num_hours()
                ),
                None => format!("no digest of this trail in the last {} hours", policy.window.num_hours()),
            };
            out.breaks.push(ChainBreak {
                kind: BreakKind::ChainStalled,
                hour: newest,
                object: format!("{}/{}", target.bucket, target.digest_prefix),
                detail,
            });
        }
    }
    Ok(out)
}

fn push_break(out: &mut ChainVerification, b: ChainBreak) {
    if out.breaks.contains(&b) {
        return;
    }
    if out.breaks.len() < MAX_BREAKS {
        out.breaks.push(b);
    } else {
        out.breaks_not_listed += 1;
    }
}

/// The region of the trail's bucket (`GetBucketLocation`, asked in the trail's home region):
/// S3 answers a request to the wrong region with a redirect the SDK does not follow.
async fn bucket_region(clients: &AccountClients, target: &ChainTarget) -> Collected<Region> {
    let out = clients
        .s3(Some(&target.home_region))
        .get_bucket_location()
        .bucket(&target.bucket)
        .send()
        .await
        .map_err(|e| super::gap("s3", "GetBucketLocation", Some(&target.home_region), &e))?;
    // No constraint is us-east-1; `EU` is the old name of eu-west-1.
    let name = match out.location_constraint().map(|c| c.as_str()) {
        None | Some("") => "us-east-1",
        Some("EU") => "eu-west-1",
        Some(other) => other,
    };
    Region::parse(name).map_err(|e| {
        Gap::bad_response(
            "s3",
            "GetBucketLocation",
            Some(&target.home_region),
            "UnknownRegion",
            format!("bucket {} is in {name}: {e}", target.bucket),
        )
    })
}

/// A failed read of an object: S3's refusal to decrypt it with the trail's KMS key names the
/// permission that is missing (`kms:Decrypt`), anything else the read itself.
fn read_failure<E, R>(region: &Region, err: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> Gap
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    if err.message().is_some_and(|m| m.to_ascii_lowercase().contains("kms")) {
        super::gap("kms", "Decrypt", Some(region), err)
    } else {
        super::gap("s3", "GetObject", Some(region), err)
    }
}

/// The end time in a digest file name: `…_20150817T150131Z.json.gz` (or `…Z_backfill.json.gz`).
fn digest_end_from_name(name: &str) -> Option<DateTime<Utc>> {
    let stem = name.strip_suffix(".json.gz")?;
    let stem = stem.strip_suffix("_backfill").unwrap_or(stem);
    let stamp = stem.rsplit('_').next()?;
    NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok().map(|t| t.and_utc())
}

async fn list_digests(s3: &aws_sdk_s3::Client, target: &ChainTarget, start_after: &str) -> Collected<Vec<String>> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = s3.list_objects_v2().bucket(&target.bucket).prefix(&target.digest_prefix);
        req = match &token {
            Some(t) => req.continuation_token(t),
            None => req.start_after(start_after),
        };
        let page = req.send().await.map_err(|e| super::gap("s3", "ListObjectsV2", Some(&target.region), &e))?;
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => return Ok(keys),
        }
    }
}

async fn list_public_keys(
    clients: &AccountClients,
    region: &Region,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Collected<BTreeMap<String, Vec<u8>>> {
    let client = clients.cloudtrail(Some(region));
    let mut keys = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_public_keys()
            .start_time(aws_smithy_types::DateTime::from_secs(from.timestamp()))
            .end_time(aws_smithy_types::DateTime::from_secs(to.timestamp()))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| super::gap("cloudtrail", "ListPublicKeys", Some(region), &e))?;
        for k in page.public_key_list() {
            let (Some(fp), Some(value)) = (k.fingerprint(), k.value()) else { continue };
            keys.insert(fp.to_owned(), value.as_ref().to_vec());
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(keys),
        }
    }
}

async fn fetch_digest(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, region: &Region) -> Collected<FetchedDigest> {
    let out = s3.get_object().bucket(bucket).key(key).send().await.map_err(|e| read_failure(region, &e))?;
    let signature = out.metadata().and_then(|m| m.get("signature")).cloned();
    let algorithm = out.metadata().and_then(|m| m.get("signature-algorithm")).cloned();
    let mut inflated = flate2::write::MultiGzDecoder::new(Vec::new());
    let mut body = out.body;
    let mut bytes = 0u64;
    let mut corrupt = false;
    while let Some(chunk) = body.try_next().await.map_err(|e| unreadable("GetObject", region, key, &e.to_string()))? {
        bytes += chunk.len() as u64;
        if bytes > MAX_DIGEST_BYTES {
            return Err(unreadable("GetObject", region, key, "larger than any digest file CloudTrail writes"));
        }
        if !corrupt && inflated.write_all(&chunk).is_err() {
            corrupt = true;
        }
    }
    // A digest that does not inflate is not CloudTrail's: its parse fails and says so.
    let content = if corrupt { Vec::new() } else { inflated.finish().unwrap_or_default() };
    Ok(FetchedDigest { signature, algorithm, content, bytes })
}

fn unreadable(operation: &str, region: &Region, key: &str, why: &str) -> Gap {
    Gap::bad_response("s3", operation, Some(region), "ReadFailed", format!("reading {key}: {why}"))
}

/// A digest named as previous that is not the one before it in this listing (the first of
/// the window, or in another bucket): `None` when it does not exist.
async fn previous_digest(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, region: &Region) -> Collected<Option<Link>> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Ok(None),
        Err(e) => return Err(super::gap("s3", "HeadObject", Some(region), &e)),
    }
    let fetched = fetch_digest(s3, bucket, key, region).await?;
    Ok(Some(Link {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        signature: fetched.signature.unwrap_or_default(),
        sha256: hex::encode(Sha256::digest(&fetched.content)),
    }))
}

/// The signature check; `None` when it verifies.
fn check_signature(
    digest: &DigestFile,
    fetched: &FetchedDigest,
    public: Option<&[u8]>,
    bucket: &str,
    key: &str,
    sha256: &str,
) -> Option<(BreakKind, String)> {
    let Some(signature_hex) = &fetched.signature else {
        return Some((BreakKind::SignatureUnverifiable, "the object has no x-amz-meta-signature".into()));
    };
    let algorithm = fetched.algorithm.as_deref().or(digest.digest_signature_algorithm.as_deref());
    if algorithm != Some(SIGNATURE_ALGORITHM) {
        return Some((
            BreakKind::SignatureUnverifiable,
            format!("signature algorithm {algorithm:?}, CloudTrail signs with {SIGNATURE_ALGORITHM}"),
        ));
    }
    let Some(fingerprint) = &digest.digest_public_key_fingerprint else {
        return Some((BreakKind::SignatureUnverifiable, "the digest names no public key fingerprint".into()));
    };
    let Some(public) = public else {
        return Some((
            BreakKind::SignatureUnverifiable,
            format!("signed with key {fingerprint}, which cloudtrail:ListPublicKeys does not list for this period"),
        ));
    };
    let Ok(signature) = hex::decode(signature_hex.trim()) else {
        return Some((BreakKind::SignatureInvalid, "the signature is not hex".into()));
    };
    let previous_signature = digest.previous_digest_signature.as_deref().unwrap_or("null");
    let signing_string = format!("{}\n{bucket}/{key}\n{sha256}\n{previous_signature}", digest.digest_end_time);
    match UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public).verify(signing_string.as_bytes(), &signature) {
        Ok(()) => None,
        Err(_) => Some((BreakKind::SignatureInvalid, format!("the signature does not verify with key {fingerprint}"))),
    }
}

/// The link from a digest to the one before it (`prev`); `None` when it holds.
fn check_link(
    digest: &DigestFile,
    named: &str,
    named_bucket: &str,
    prev: &Link,
    listed: &[String],
) -> Option<(BreakKind, String)> {
    if named != prev.key || named_bucket != prev.bucket {
        let exists = named_bucket == prev.bucket && listed.iter().any(|k| k == named);
        return Some(if exists || (named_bucket == prev.bucket && named < prev.key.as_str()) {
            (
                BreakKind::LinkMismatch,
                format!(
                    "{} names {named_bucket}/{named} as previous; the digest before it is {}/{}",
                    digest.digest_s3_object, prev.bucket, prev.key
                ),
            )
        } else {
            (
                BreakKind::DigestMissing,
                format!("deleted or never delivered: {} names it as its previous digest", digest.digest_s3_object),
            )
        });
    }
    if digest.previous_digest_signature.as_deref() != Some(prev.signature.as_str()) {
        return Some((BreakKind::LinkMismatch, format!("the previous signature it records differs from {named}'s")));
    }
    if let Some(hash) = &digest.previous_digest_hash_value
        && !hash.eq_ignore_ascii_case(&prev.sha256)
    {
        return Some((
            BreakKind::LinkMismatch,
            format!("the previous digest's hash it records ({hash}) differs from {named}'s ({})", prev.sha256),
        ));
    }
    None
}

/// Hashes every log file a digest lists: (files checked, bytes read, breaks).
async fn verify_log_files(
    s3: &aws_sdk_s3::Client,
    entries: &[LogFileEntry],
    hour: DateTime<Utc>,
    budget: &ByteBudget,
    region: &Region,
) -> Collected<(u32, u64, Vec<ChainBreak>)> {
    // Spawned (so they hash on every core) as the stream is polled: at most
    // LOG_FILE_CONCURRENCY at once. The stream holds owned names: a closure over borrowed
    // entries held across the await would keep the sweep's future from being provably `Send`
    // (rust-lang/rust#102211).
    // A file listed twice is read once.
    let mut seen = BTreeSet::new();
    let unique: Vec<&LogFileEntry> =
        entries.iter().filter(|e| seen.insert((e.s3_bucket.as_str(), e.s3_object.as_str()))).collect();
    let names: Vec<(String, String)> = unique.iter().map(|e| (e.s3_bucket.clone(), e.s3_object.clone())).collect();
    let (client, in_region) = (s3.clone(), region.clone());
    let results: Vec<_> = futures::stream::iter(names)
        .map(move |(bucket, key)| {
            let (s3, region) = (client.clone(), in_region.clone());
            tokio::spawn(async move { hash_log_file(&s3, &bucket, &key, &region).await })
        })
        .buffered(LOG_FILE_CONCURRENCY)
        .collect()
        .await;
    let (mut files, mut bytes, mut breaks) = (0u32, 0u64, Vec::new());
    for (entry, joined) in unique.into_iter().zip(results) {
        let object = format!("{}/{}", entry.s3_bucket, entry.s3_object);
        let hashed = joined.map_err(|e| unreadable("GetObject", region, &entry.s3_object, &e.to_string()))??;
        files += 1;
        match hashed {
            None => breaks.push(ChainBreak {
                kind: BreakKind::LogFileMissing,
                hour: Some(hour),
                object,
                detail: "listed in the digest, not in the bucket".into(),
            }),
            Some((sha, n)) => {
                bytes += n;
                budget.spend(n);
                if !sha.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(&entry.hash_value)) {
                    let found = sha.unwrap_or_else(|| "content that does not inflate".into());
                    breaks.push(ChainBreak {
                        kind: BreakKind::LogFileModified,
                        hour: Some(hour),
                        object,
                        detail: format!("SHA-256 of its content is {found}, the digest lists {}", entry.hash_value),
                    });
                }
            }
        }
    }
    Ok((files, bytes, breaks))
}

/// A log file's SHA-256 (of its inflated content; `None` when it does not inflate) and the
/// bytes read; `None` when the object does not exist.
async fn hash_log_file(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    region: &Region,
) -> Collected<Option<(Option<String>, u64)>> {
    let out = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(read_failure(region, &e)),
    };
    let mut inflate = flate2::write::MultiGzDecoder::new(HashWriter(Sha256::new()));
    let mut body = out.body;
    let mut bytes = 0u64;
    let mut intact = true;
    while let Some(chunk) = body.try_next().await.map_err(|e| unreadable("GetObject", region, key, &e.to_string()))? {
        bytes += chunk.len() as u64;
        if intact && inflate.write_all(&chunk).is_err() {
            intact = false;
        }
    }
    let sha = if intact { inflate.finish().ok().map(|w| hex::encode(w.0.finalize())) } else { None };
    Ok(Some((sha, bytes)))
}

/// Feeds what the gzip decoder writes into SHA-256.
struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_end_times_come_from_file_names() {
        let name = "111122223333_CloudTrail-Digest_us-east-2_trail_us-east-2_20150817T150131Z.json.gz";
        assert_eq!(digest_end_from_name(name).unwrap().to_rfc3339(), "2015-08-17T15:01:31+00:00");
        let backfill = "111122223333_CloudTrail-Digest_us-east-2_trail_us-east-2_20150817T150131Z_backfill.json.gz";
        assert!(digest_end_from_name(backfill).is_some());
        assert!(digest_end_from_name("notes.txt").is_none());
    }

    #[test]
    fn digest_prefixes_follow_the_documented_layout() {
        let r = Region::parse("eu-west-1").unwrap();
        assert_eq!(
            ChainTarget::prefix_for(Some("logs/"), Some("o-abc"), "111122223333", &r),
            "logs/AWSLogs/o-abc/111122223333/CloudTrail-Digest/eu-west-1/"
        );
        assert_eq!(
            ChainTarget::prefix_for(None, None, "111122223333", &r),
            "AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/"
        );
    }
}
