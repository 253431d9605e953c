//! The `cloudtrail` family: BR.LOG.1–6, over every trail that applies to the account —
//! its own and the organization trails (whose authoritative copy is the management
//! account's, in the organization snapshot).

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{KnownControl, ResourceKind, Status};
use crate::evaluate::ids;
use crate::snapshot::{AccountSnapshot, DigestChain, EventSelectors, Trail};

/// The trails that apply to the account, and the gap that hides some of them, if any.
fn applicable<'a>(input: &AccountInput<'a>, snap: &'a AccountSnapshot) -> (Vec<&'a Trail>, Option<String>) {
    let trails = snap.applicable_trails(input.org);
    let hidden = match (&snap.trails, &input.org.management_trails) {
        (Err(gap), _) => Some(format!("could not list the account's trails: {}", gap.summary())),
        (Ok(_), Err(gap)) => Some(format!("could not list the organization trails: {}", gap.summary())),
        (Ok(_), Ok(_)) => None,
    };
    (trails, hidden)
}

/// Whether the selectors record management events, both read and write.
fn records_all_management(sel: &EventSelectors) -> bool {
    let classic_rw = |rw: &str| {
        sel.classic
            .iter()
            .any(|s| s.include_management_events && (s.read_write_type == rw || s.read_write_type == "All"))
    };
    if classic_rw("ReadOnly") && classic_rw("WriteOnly") {
        return true;
    }
    let management = |read_only: Option<&str>| {
        sel.advanced.iter().any(|a| {
            let category =
                a.fields.iter().any(|f| f.field == "eventCategory" && f.equals.iter().any(|v| v == "Management"));
            let ro = a.fields.iter().find(|f| f.field == "readOnly");
            category
                && match (ro, read_only) {
                    (None, _) => true,
                    (Some(f), Some(want)) => f.equals.iter().any(|v| v == want),
                    (Some(_), None) => false,
                }
        })
    };
    management(Some("true")) && management(Some("false"))
}

/// BR.LOG.1.
pub fn trail_coverage(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let (trails, hidden) = applicable(input, snap);
    let mut problems = Vec::new();
    let mut unknown = 0;
    for t in &trails {
        let logging = match &t.status {
            Ok(s) => s.is_logging,
            Err(_) => {
                unknown += 1;
                continue;
            }
        };
        let management = match &t.event_selectors {
            Ok(sel) => records_all_management(sel),
            Err(_) => {
                unknown += 1;
                continue;
            }
        };
        if t.is_multi_region && logging && management {
            return vec![input.account_verdict(
                ids::LOG_1,
                Status::Pass,
                format!("Trail {} is multi-region, logging and records all management events.", t.name),
            )];
        }
        let mut why = Vec::new();
        if !t.is_multi_region {
            why.push("single-region");
        }
        if !logging {
            why.push("not logging");
        }
        if !management {
            why.push("not recording all management events");
        }
        problems.push(format!("{} is {}", t.name, why.join(", ")));
    }
    if let Some(h) = hidden {
        return vec![input.account_verdict(ids::LOG_1, Status::Error, format!("No qualifying trail found, and {h}."))];
    }
    if unknown > 0 {
        return vec![input.account_verdict(
            ids::LOG_1,
            Status::Error,
            format!("No qualifying trail found; the status or selectors of {unknown} trail(s) could not be read."),
        )];
    }
    let detail = if trails.is_empty() {
        "No CloudTrail trail applies to this account.".to_owned()
    } else {
        format!("No trail qualifies: {}.", problems.join("; "))
    };
    vec![input.account_verdict(ids::LOG_1, Status::Fail, detail)]
}

/// Runs a per-trail check over every applicable trail.
fn per_trail(
    input: &AccountInput<'_>,
    snap: &AccountSnapshot,
    control: KnownControl,
    judge: impl Fn(&Trail) -> (Status, String),
) -> Vec<Evaluation> {
    let (trails, hidden) = applicable(input, snap);
    let mut out: Vec<Evaluation> = trails
        .iter()
        .map(|t| {
            let (status, detail) = judge(t);
            input.verdict(control, None, (&t.arn, ResourceKind::Trail), status, detail)
        })
        .collect();
    if let Some(h) = hidden {
        out.push(input.account_verdict(control, Status::Error, format!("Some trails may be missing: {h}.")));
    } else if out.is_empty() {
        out.push(input.account_verdict(control, Status::NotApplicable, "No trail applies to this account.".into()));
    }
    out
}

/// BR.LOG.2.
pub fn log_file_validation(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    per_trail(input, snap, ids::LOG_2, |t| {
        if t.log_file_validation {
            (Status::Pass, format!("Trail {} has log file validation enabled.", t.name))
        } else {
            (Status::Fail, format!("Trail {} has log file validation disabled.", t.name))
        }
    })
}

/// BR.LOG.3.
pub fn trail_encryption(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    per_trail(input, snap, ids::LOG_3, |t| {
        let Some(key_ref) = &t.kms_key_id else {
            return (Status::Fail, format!("Trail {} is not encrypted with a KMS key (SSE-S3 only).", t.name));
        };
        let key = snap.kms_keys.get(key_ref).or_else(|| input.org.management_kms_keys.get(key_ref));
        match key {
            Some(Ok(k)) if k.is_customer_managed() => {
                (Status::Pass, format!("Trail {} is encrypted with customer-managed key {}.", t.name, k.arn))
            }
            Some(Ok(k)) => (Status::Fail, format!("Trail {} uses {}, which is not customer-managed.", t.name, k.arn)),
            Some(Err(gap)) => {
                (Status::Error, format!("Could not describe key {key_ref} of trail {}: {}.", t.name, gap.summary()))
            }
            None => (Status::Error, format!("Key {key_ref} of trail {} was not described.", t.name)),
        }
    })
}

/// BR.LOG.4.
pub fn delivery_health(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let max_age = chrono::Duration::hours(input.params.max_delivery_age_hours);
    per_trail(input, snap, ids::LOG_4, |t| {
        let s = match &t.status {
            Ok(s) => s,
            Err(gap) => {
                return (Status::Error, format!("Could not read the status of trail {}: {}.", t.name, gap.summary()));
            }
        };
        let mut problems = Vec::new();
        if let Some(e) = &s.latest_delivery_error {
            problems.push(format!("last delivery failed ({e})"));
        }
        match s.latest_delivery_time {
            None => problems.push("it has never delivered log files".to_owned()),
            Some(at) if input.now - at > max_age => {
                problems.push(format!("last delivery was {} hours ago", (input.now - at).num_hours()));
            }
            Some(_) => {}
        }
        if t.log_file_validation {
            if let Some(e) = &s.latest_digest_delivery_error {
                problems.push(format!("last digest delivery failed ({e})"));
            }
            match s.latest_digest_delivery_time {
                None => problems.push("it has never delivered a digest file".to_owned()),
                Some(at) if input.now - at > max_age => {
                    problems.push(format!("last digest delivery was {} hours ago", (input.now - at).num_hours()));
                }
                Some(_) => {}
            }
        }
        if problems.is_empty() {
            (
                Status::Pass,
                format!("Trail {} delivered within the last {} hours without errors.", t.name, max_age.num_hours()),
            )
        } else {
            (Status::Fail, format!("Trail {} delivery is unhealthy: {}.", t.name, problems.join("; ")))
        }
    })
}

/// BR.LOG.6: each trail's digest chains for the account, as `collect::trail_integrity`
/// verified them.
pub fn digest_chain(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    per_trail(input, snap, ids::LOG_6, |t| {
        if !t.log_file_validation {
            return (
                Status::NotApplicable,
                format!(
                    "Trail {} does not validate its log files, so there is no digest chain (BR.LOG.2 fails).",
                    t.name
                ),
            );
        }
        let chains: Vec<&DigestChain> = snap.digest_chains.iter().filter(|c| c.trail_arn == t.arn).collect();
        if chains.is_empty() {
            let why = if t.s3_bucket.is_none() { "it names no bucket" } else { "no chain was planned for it" };
            return (Status::Error, format!("The digest chain of trail {} was not verified: {why}.", t.name));
        }
        let mut broken = Vec::new();
        let mut blind = Vec::new();
        let mut unfinished = Vec::new();
        let mut verified = Vec::new();
        let mut not_listed = 0;
        if t.is_multi_region
            && let Err(gap) = &snap.regions
        {
            blind.push(format!(
                "the account's regions could not be listed ({}), so only the home region's chain was read",
                gap.summary()
            ));
        }
        let describe = |region: &str, b: &crate::snapshot::ChainBreak| {
            let hour = b.hour.map_or_else(|| "-".to_owned(), |h| h.format("%Y-%m-%d %H:%M UTC").to_string());
            format!("{region} [{hour}] {}: {} ({})", b.kind.describe(), b.object, b.detail)
        };
        for c in &chains {
            match &c.verification {
                Err(gap) => {
                    // A break found earlier is still a known failure while the chain cannot be read.
                    broken.extend(c.recorded_breaks.iter().map(|b| describe(c.region.as_str(), b)));
                    blind.push(format!(
                        "{}: could not read s3://{}/{} as account {} ({}); its role needs s3:ListBucket, \
                         s3:GetBucketLocation and s3:GetObject on the bucket, kms:Decrypt on the trail's key if it \
                         has one, and cloudtrail:ListPublicKeys",
                        c.region,
                        c.bucket,
                        c.digest_prefix,
                        c.read_as,
                        gap.summary()
                    ));
                }
                Ok(v) => {
                    broken.extend(v.breaks.iter().map(|b| describe(c.region.as_str(), b)));
                    not_listed += v.breaks_not_listed;
                    if let Some(why) = &v.stopped_early {
                        let through = v.verified_through.map_or_else(|| "nothing yet".to_owned(), |t| t.to_rfc3339());
                        unfinished.push(format!("{}: verified through {through}; {why}", c.region));
                    }
                    if let Some(why) = &v.skipped {
                        unfinished.push(format!("{}: {why}", c.region));
                    }
                    verified.push((c.region.as_str(), v));
                }
            }
        }
        if !broken.is_empty() {
            let total = broken.len() as u64 + not_listed;
            broken.truncate(10);
            let more = if total > 10 { format!(" (and {} more)", total - 10) } else { String::new() };
            let blind_too =
                if blind.is_empty() { String::new() } else { format!(" Not read this sweep: {}.", blind.join("; ")) };
            return (
                Status::Fail,
                format!("The digest chain of trail {} is broken: {}{more}.{blind_too}", t.name, broken.join("; ")),
            );
        }
        if !blind.is_empty() || !unfinished.is_empty() {
            let mut parts = blind;
            parts.extend(unfinished);
            return (
                Status::Error,
                format!("The digest chain of trail {} could not be verified to the end: {}.", t.name, parts.join("; ")),
            );
        }
        // What this sweep read (digests, files, bytes, where CloudTrail restarted the chain) is
        // in the evidence; the verdict's words stay the same while the chain stays intact.
        let regions: Vec<&str> = verified.iter().map(|(r, _)| *r).collect();
        (
            Status::Pass,
            format!(
                "The digest chain of trail {} is intact in {}: every digest is signed by CloudTrail and linked to \
                 the one before it, and every log file matched its digest when it was read.",
                t.name,
                regions.join(", ")
            ),
        )
    })
}

/// The Bedrock data-event resource types BR.LOG.5 requires.
pub const BEDROCK_DATA_TYPES: [&str; 4] =
    ["AWS::Bedrock::AgentAlias", "AWS::Bedrock::KnowledgeBase", "AWS::Bedrock::Guardrail", "AWS::Bedrock::Model"];

/// BR.LOG.5.
pub fn bedrock_data_events(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let (trails, hidden) = applicable(input, snap);
    let mut covered: Vec<&str> = Vec::new();
    let mut unknown = false;
    for t in &trails {
        match &t.status {
            Ok(s) if s.is_logging => {}
            Ok(_) => continue,
            // A trail whose status we could not read might be the one that records them.
            Err(_) => {
                unknown = true;
                continue;
            }
        }
        let Ok(sel) = &t.event_selectors else {
            unknown = true;
            continue;
        };
        for a in &sel.advanced {
            let data = a.fields.iter().any(|f| f.field == "eventCategory" && f.equals.iter().any(|v| v == "Data"));
            // A selector narrowed by event name, ARN or read-only flag records only part of the calls.
            let narrowed = a.fields.iter().any(|f| f.field != "eventCategory" && f.field != "resources.type");
            if !data || narrowed {
                continue;
            }
            for f in a.fields.iter().filter(|f| f.field == "resources.type") {
                covered.extend(
                    f.equals.iter().filter_map(|v| BEDROCK_DATA_TYPES.iter().find(|t| **t == v.as_str()).copied()),
                );
            }
        }
    }
    let missing: Vec<&str> = BEDROCK_DATA_TYPES.iter().copied().filter(|t| !covered.contains(t)).collect();
    let (status, detail) = if missing.is_empty() {
        (Status::Pass, "Bedrock data events (agents, knowledge bases, guardrails, models) are recorded.".to_owned())
    } else if let Some(h) = hidden {
        (Status::Error, format!("Bedrock data events for {} not found, and {h}.", missing.join(", ")))
    } else if unknown {
        (
            Status::Error,
            format!(
                "Bedrock data events for {} not found; the status or selectors of some trails could not be read.",
                missing.join(", ")
            ),
        )
    } else {
        (Status::Fail, format!("No logging trail records Bedrock data events for {}.", missing.join(", ")))
    };
    vec![input.account_verdict(ids::LOG_5, status, detail)]
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Input::{DigestChains, KmsKeys, ManagementKmsKeys, ManagementTrails, TrailDetails, Trails};
    use Judge::Account;
    use Proof::{Exhaustive, Witness};
    use Regions::Swept;
    const TRAILS_AND_DETAILS: &[Input] = &[Trails, TrailDetails, ManagementTrails];
    const TRAILS: &[Input] = &[Trails, ManagementTrails];
    &[
        Control { id: ids::LOG_1, reads: reads(TRAILS_AND_DETAILS, Witness, Swept), judge: Account(trail_coverage) },
        Control { id: ids::LOG_2, reads: reads(TRAILS, Exhaustive, Swept), judge: Account(log_file_validation) },
        Control {
            id: ids::LOG_3,
            reads: reads(&[Trails, ManagementTrails, KmsKeys, ManagementKmsKeys], Exhaustive, Swept),
            judge: Account(trail_encryption),
        },
        Control {
            id: ids::LOG_4,
            reads: reads(TRAILS_AND_DETAILS, Exhaustive, Swept),
            judge: Account(delivery_health),
        },
        Control {
            id: ids::LOG_5,
            reads: reads(TRAILS_AND_DETAILS, Witness, Swept),
            judge: Account(bedrock_data_events),
        },
        Control {
            id: ids::LOG_6,
            reads: reads(&[Trails, ManagementTrails, DigestChains], Exhaustive, Swept),
            judge: Account(digest_chain),
        },
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::{AdvancedSelector, FieldSelector};

    fn field(name: &str, equals: &[&str]) -> FieldSelector {
        FieldSelector {
            field: name.into(),
            equals: equals.iter().map(|s| (*s).to_owned()).collect(),
            ..FieldSelector::default()
        }
    }

    #[test]
    fn log1_passes_on_a_good_trail_and_names_what_is_wrong_otherwise() {
        let mut snap = account_snapshot();
        snap.trails = Ok(vec![trail("main")]);
        assert_eq!(statuses(&with_input(&snap, |i| trail_coverage(i, &snap))), [Status::Pass]);

        let mut single = trail("single");
        single.is_multi_region = false;
        let mut stopped = trail("stopped");
        if let Ok(s) = &mut stopped.status {
            s.is_logging = false;
        }
        let mut reads_only = trail("reads");
        reads_only.event_selectors = Ok(EventSelectors {
            classic: vec![crate::snapshot::ClassicSelector {
                read_write_type: "ReadOnly".into(),
                include_management_events: true,
                data_resource_types: vec![],
            }],
            advanced: vec![],
        });
        snap.trails = Ok(vec![single, stopped, reads_only]);
        let out = with_input(&snap, |i| trail_coverage(i, &snap));
        assert_eq!(out[0].status, Status::Fail);
        for words in ["single-region", "not logging", "not recording all management events"] {
            assert!(out[0].detail.contains(words), "{}", out[0].detail);
        }

        snap.trails = Ok(vec![]);
        let out = with_input(&snap, |i| trail_coverage(i, &snap));
        assert_eq!(out[0].status, Status::Fail);
        assert!(out[0].detail.contains("No CloudTrail trail"));
    }

    #[test]
    fn log1_advanced_management_selectors_and_org_trail_count() {
        let mut t = trail("adv");
        t.event_selectors = Ok(EventSelectors {
            classic: vec![],
            advanced: vec![AdvancedSelector { name: None, fields: vec![field("eventCategory", &["Management"])] }],
        });
        let mut snap = account_snapshot();
        snap.trails = Ok(vec![t]);
        assert_eq!(statuses(&with_input(&snap, |i| trail_coverage(i, &snap))), [Status::Pass]);

        // The account's own trails could not be listed, but the organization trail qualifies.
        let mut org = org_snapshot();
        let mut org_trail = trail("org");
        org_trail.is_organization_trail = true;
        org.management_trails = Ok(vec![org_trail]);
        snap.trails = Err(gap("cloudtrail", "DescribeTrails"));
        let out = with_org(&org, MEMBER, &snap, Default::default(), |i| trail_coverage(i, &snap));
        assert_eq!(out[0].status, Status::Pass);
        // Without it, the gap is an error, never a pass.
        let out = with_input(&snap, |i| trail_coverage(i, &snap));
        assert_eq!(out[0].status, Status::Error);
    }

    #[test]
    fn per_trail_controls() {
        let mut snap = account_snapshot();
        let mut t = trail("main");
        t.log_file_validation = false;
        t.kms_key_id = Some("arn:aws:kms:eu-west-1:111122223333:key/k1".into());
        snap.trails = Ok(vec![t.clone()]);
        assert_eq!(statuses(&with_input(&snap, |i| log_file_validation(i, &snap))), [Status::Fail]);
        // Key not described -> error; customer key -> pass; AWS key -> fail; gap -> error.
        assert_eq!(statuses(&with_input(&snap, |i| trail_encryption(i, &snap))), [Status::Error]);
        let key = "arn:aws:kms:eu-west-1:111122223333:key/k1".to_owned();
        snap.kms_keys.insert(key.clone(), Ok(cmk(&key, Some(true))));
        assert_eq!(statuses(&with_input(&snap, |i| trail_encryption(i, &snap))), [Status::Pass]);
        let mut aws_key = cmk(&key, None);
        aws_key.manager = "AWS".into();
        snap.kms_keys.insert(key.clone(), Ok(aws_key));
        assert_eq!(statuses(&with_input(&snap, |i| trail_encryption(i, &snap))), [Status::Fail]);
        snap.kms_keys.insert(key, Err(gap("kms", "DescribeKey")));
        assert_eq!(statuses(&with_input(&snap, |i| trail_encryption(i, &snap))), [Status::Error]);
        t.kms_key_id = None;
        snap.trails = Ok(vec![t]);
        assert_eq!(statuses(&with_input(&snap, |i| trail_encryption(i, &snap))), [Status::Fail]);

        snap.trails = Ok(vec![]);
        assert_eq!(statuses(&with_input(&snap, |i| log_file_validation(i, &snap))), [Status::NotApplicable]);
        snap.trails = Err(gap("cloudtrail", "DescribeTrails"));
        assert_eq!(statuses(&with_input(&snap, |i| log_file_validation(i, &snap))), [Status::Error]);
    }

    #[test]
    fn delivery_health_checks_errors_age_and_digests() {
        let mut snap = account_snapshot();
        snap.trails = Ok(vec![trail("ok")]);
        assert_eq!(statuses(&with_input(&snap, |i| delivery_health(i, &snap))), [Status::Pass]);
        let mut t = trail("stale");
        if let Ok(s) = &mut t.status {
            s.latest_delivery_time = Some(now() - chrono::Duration::hours(30));
            s.latest_digest_delivery_time = None;
            s.latest_delivery_error = Some("AccessDenied".into());
        }
        snap.trails = Ok(vec![t]);
        let out = with_input(&snap, |i| delivery_health(i, &snap));
        assert_eq!(out[0].status, Status::Fail);
        for words in ["30 hours ago", "never delivered a digest", "last delivery failed (AccessDenied)"] {
            assert!(out[0].detail.contains(words), "{}", out[0].detail);
        }
        let mut t = trail("unknown");
        t.status = Err(gap("cloudtrail", "GetTrailStatus"));
        snap.trails = Ok(vec![t]);
        assert_eq!(statuses(&with_input(&snap, |i| delivery_health(i, &snap))), [Status::Error]);
    }

    #[test]
    fn bedrock_data_events_need_every_type_unnarrowed() {
        let mut snap = account_snapshot();
        let selector = |types: &[&str], extra: Option<FieldSelector>| {
            let mut fields = vec![field("eventCategory", &["Data"]), field("resources.type", types)];
            fields.extend(extra);
            AdvancedSelector { name: None, fields }
        };
        let mut t = trail("data");
        t.event_selectors = Ok(EventSelectors {
            classic: vec![],
            advanced: BEDROCK_DATA_TYPES.iter().map(|ty| selector(&[ty], None)).collect(),
        });
        snap.trails = Ok(vec![t.clone()]);
        assert_eq!(statuses(&with_input(&snap, |i| bedrock_data_events(i, &snap))), [Status::Pass]);

        t.event_selectors = Ok(EventSelectors {
            classic: vec![],
            advanced: vec![
                selector(&["AWS::Bedrock::AgentAlias", "AWS::Bedrock::KnowledgeBase", "AWS::Bedrock::Guardrail"], None),
                selector(&["AWS::Bedrock::Model"], Some(field("readOnly", &["false"]))),
            ],
        });
        snap.trails = Ok(vec![t]);
        let out = with_input(&snap, |i| bedrock_data_events(i, &snap));
        assert_eq!(out[0].status, Status::Fail);
        assert!(out[0].detail.contains("AWS::Bedrock::Model"), "{}", out[0].detail);
    }

    fn chain(t: &Trail, verification: crate::snapshot::Collected<crate::snapshot::ChainVerification>) -> DigestChain {
        DigestChain {
            trail_arn: t.arn.clone(),
            region: region("eu-west-1"),
            bucket: "trail-bucket".into(),
            digest_prefix: format!("AWSLogs/{MEMBER}/CloudTrail-Digest/eu-west-1/"),
            read_as: crate::domain::AccountId::parse(MEMBER).unwrap(),
            verification,
            recorded_breaks: vec![],
        }
    }

    #[test]
    fn digest_chains_pass_intact_fail_broken_and_error_unread() {
        use crate::snapshot::{BreakKind, ChainBreak, ChainVerification};
        let mut snap = account_snapshot();
        let t = trail("main");
        snap.trails = Ok(vec![t.clone()]);
        let intact = ChainVerification {
            digests_verified: 24,
            log_files_verified: 240,
            verified_through: Some(now()),
            ..ChainVerification::default()
        };
        snap.digest_chains = vec![chain(&t, Ok(intact.clone()))];
        let out = with_input(&snap, |i| digest_chain(i, &snap));
        assert_eq!(statuses(&out), [Status::Pass]);
        assert!(out[0].detail.contains("intact in eu-west-1"), "{}", out[0].detail);

        let hour = now() - chrono::Duration::hours(5);
        let broken = ChainVerification {
            breaks: vec![ChainBreak {
                kind: BreakKind::LogFileMissing,
                hour: Some(hour),
                object: "trail-bucket/AWSLogs/x.json.gz".into(),
                detail: "listed in the digest, not in the bucket".into(),
            }],
            ..intact.clone()
        };
        snap.digest_chains = vec![chain(&t, Ok(broken))];
        let out = with_input(&snap, |i| digest_chain(i, &snap));
        assert_eq!(statuses(&out), [Status::Fail]);
        let when = hour.format("%Y-%m-%d %H:%M UTC").to_string();
        for words in ["log file listed in a digest is missing", "trail-bucket/AWSLogs/x.json.gz", when.as_str()] {
            assert!(out[0].detail.contains(words), "{words}: {}", out[0].detail);
        }

        // Could not look, or did not finish: never a pass.
        snap.digest_chains = vec![chain(&t, Err(gap("s3", "ListObjectsV2")))];
        let out = with_input(&snap, |i| digest_chain(i, &snap));
        assert_eq!(statuses(&out), [Status::Error]);
        assert!(out[0].detail.contains("s3:GetObject") && out[0].detail.contains(MEMBER), "{}", out[0].detail);
        // A break found earlier stays a failure while the chain cannot be read.
        let mut known = chain(&t, Err(gap("s3", "ListObjectsV2")));
        known.recorded_breaks = vec![ChainBreak {
            kind: BreakKind::SignatureInvalid,
            hour: Some(hour),
            object: "trail-bucket/AWSLogs/d.json.gz".into(),
            detail: "the signature does not verify".into(),
        }];
        snap.digest_chains = vec![known];
        let out = with_input(&snap, |i| digest_chain(i, &snap));
        assert_eq!(statuses(&out), [Status::Fail]);
        assert!(out[0].detail.contains("Not read this sweep"), "{}", out[0].detail);
        // The regions of a multi-region trail unknown: the home region's chain alone is no pass.
        snap.digest_chains = vec![chain(&t, Ok(intact.clone()))];
        snap.regions = Err(gap("ec2", "DescribeRegions"));
        assert_eq!(statuses(&with_input(&snap, |i| digest_chain(i, &snap))), [Status::Error]);
        snap.regions = Ok(vec![region("eu-west-1")]);
        // Hours behind the window were never verified: not a pass.
        let skipped = ChainVerification { skipped: Some("hours not verified".into()), ..intact.clone() };
        snap.digest_chains = vec![chain(&t, Ok(skipped))];
        assert_eq!(statuses(&with_input(&snap, |i| digest_chain(i, &snap))), [Status::Error]);
        let unfinished = ChainVerification { stopped_early: Some("budget reached".into()), ..intact };
        snap.digest_chains = vec![chain(&t, Ok(unfinished))];
        assert_eq!(statuses(&with_input(&snap, |i| digest_chain(i, &snap))), [Status::Error]);
        snap.digest_chains = vec![];
        assert_eq!(statuses(&with_input(&snap, |i| digest_chain(i, &snap))), [Status::Error]);

        let mut off = t;
        off.log_file_validation = false;
        snap.trails = Ok(vec![off]);
        assert_eq!(statuses(&with_input(&snap, |i| digest_chain(i, &snap))), [Status::NotApplicable]);
        snap.trails = Ok(vec![]);
        assert_eq!(statuses(&with_input(&snap, |i| digest_chain(i, &snap))), [Status::NotApplicable]);
    }
}
