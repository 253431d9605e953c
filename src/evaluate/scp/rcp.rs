//! Resource control policies (BR.ORG.10): the data perimeter around the evidence.
//!
//! RCPs cap what any principal may do to the resources of the accounts below them; custom
//! RCPs can only deny, and `RCPFullAWSAccess` (attached to every node, never detachable)
//! allows everything else. So an account's RCPs are judged like its SCPs, with the `iam-policy`
//! hierarchy engine, on probes where the *principal* varies: a principal outside the
//! organization must be denied reading the invocation-log and trail buckets, decrypting with
//! the keys those logs and trails use, and assuming the account's roles; the same calls by
//! a principal of the organization are reported when they are denied too.

use iam_policy::{
    Effect, Level, Policy, PolicyError, RequestContext, ResourceSpec, ScpOutcome, evaluate_scps, parse_policy,
    parse_resource_policy,
};

use super::evidence::{deny_source_of, depends_of, list, near_miss_of};
use crate::domain::Status;
use crate::evaluate::{AccountInput, Evaluation, ids};
use crate::snapshot::{AccountSnapshot, KeyUser, OrgSnapshot, TargetIndex, key_references};

/// An account that is in no organization the probes could belong to.
const OUTSIDER_ACCOUNT: &str = "999999999999";
const OUTSIDER_ORG: &str = "o-outsider000";

/// Grants everything on a level: RCPFullAWSAccess, which AWS keeps attached to every node.
/// (Its `Principal: "*"` is left out: the hierarchy engine judges who by conditions.)
const FULL_ACCESS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The organization's RCPs parsed once, and which are attached where: built once per sweep.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rcps {
    targets: TargetIndex,
    parsed: Vec<Result<Policy, PolicyError>>,
    /// [`FULL_ACCESS`], on every level.
    full: Option<Policy>,
}

impl Rcps {
    pub(crate) fn of(org: &OrgSnapshot) -> Self {
        Self {
            targets: TargetIndex::of(&org.rcps),
            parsed: org.rcps.iter().map(|r| parse_resource_policy(&r.id, &r.content)).collect(),
            full: parse_policy("RCPFullAWSAccess", FULL_ACCESS).ok(),
        }
    }
}

/// Whether a Deny statement could tell one resource from another (a `Resource` other than
/// `*`, or a `NotResource`): then the probes must be aimed at the account's real buckets and
/// keys, and generic stand-ins prove nothing.
fn names_resources(policy: &Policy) -> bool {
    policy.statements.iter().filter(|s| s.effect == Effect::Deny).any(|s| match &s.resource {
        ResourceSpec::Resource(patterns) => patterns.iter().any(|p| p != "*"),
        ResourceSpec::NotResource(_) => true,
    })
}

/// Why the account's evidence resources are not all known, if they are not: the account was
/// not assessed, or a collection that names its buckets and keys failed.
fn unknown_resources(input: &AccountInput<'_>) -> Option<String> {
    let snap = match input.snapshot {
        Ok(snap) => snap,
        Err(na) => return Some(format!("the account was not assessed ({})", na.code)),
    };
    let mut gaps: Vec<String> = Vec::new();
    if let Err(g) = &snap.trails {
        gaps.push(g.summary());
    }
    for r in &snap.per_region {
        if let Err(g) = &r.invocation_logging {
            gaps.push(g.summary());
        }
        if let Some(Err(g)) = &r.invocation_log_group {
            gaps.push(g.summary());
        }
    }
    gaps.extend(snap.buckets.values().filter_map(|b| b.as_ref().err()).map(|g| g.summary()));
    (!gaps.is_empty()).then(|| format!("these reads failed: {}", list(&gaps, 3)))
}

/// One probe: what, on which resource, and by whom.
struct RcpProbe {
    action: &'static str,
    resource: String,
    /// What the resource is, for people.
    what: String,
    outsider: bool,
}

/// The evidence resources of the account RCPs must fence: its invocation-log buckets, the
/// keys of those logs and of its trails, its trail buckets, and its roles. One generic
/// resource of each kind stands in where the account has none; that proves the perimeter only
/// while no Deny statement on the path names resources (`names_resources`), and without a
/// complete snapshot such a path is `error`.
fn resources(input: &AccountInput<'_>) -> Vec<(&'static str, String, String)> {
    let p = input.org.partition.as_str();
    let acct = input.account.id.as_str();
    let mut out: Vec<(&'static str, String, String)> = Vec::new();
    fn push(out: &mut Vec<(&'static str, String, String)>, action: &'static str, resource: String, what: String) {
        if !out.iter().any(|(a, r, _)| *a == action && *r == resource) {
            out.push((action, resource, what));
        }
    }
    if let Ok(snap) = input.snapshot {
        for (bucket, what) in log_buckets(snap) {
            push(&mut out, "s3:GetObject", format!("arn:{p}:s3:::{bucket}/probe-object"), format!("{what} {bucket}"));
        }
        for key in key_references(&snap.trails, &snap.per_region, &snap.buckets) {
            let what = match key.user {
                KeyUser::Trail => "the trail key",
                KeyUser::InvocationLogGroup => "the invocation-log group key",
                KeyUser::InvocationBucket => "the invocation-log bucket key",
                KeyUser::CustomModel => continue,
            };
            let arn = if key.key.starts_with("arn:") {
                key.key.clone()
            } else {
                let region = key.region.as_ref().map_or("us-east-1", |r| r.as_str());
                format!("arn:{p}:kms:{region}:{acct}:key/{}", key.key)
            };
            // A key of another account (an organization trail's) is fenced by that account's RCPs.
            if arn.split(':').nth(4).is_some_and(|owner| owner != acct) {
                continue;
            }
            push(&mut out, "kms:Decrypt", arn, what.to_owned());
        }
    }
    if !out.iter().any(|(a, ..)| *a == "s3:GetObject") {
        push(
            &mut out,
            "s3:GetObject",
            format!("arn:{p}:s3:::probe-log-bucket/probe-object"),
            "an object in the account's buckets".into(),
        );
    }
    if !out.iter().any(|(a, ..)| *a == "kms:Decrypt") {
        push(
            &mut out,
            "kms:Decrypt",
            format!("arn:{p}:kms:us-east-1:{acct}:key/probe-key"),
            "the account's KMS keys".into(),
        );
    }
    push(&mut out, "sts:AssumeRole", format!("arn:{p}:iam::{acct}:role/probe"), "the account's roles".into());
    out
}

/// The buckets the account's evidence is written to: invocation logs (and their large-data
/// bucket) and its own trails.
fn log_buckets(snap: &AccountSnapshot) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for r in &snap.per_region {
        if let Ok(Some(logging)) = &r.invocation_logging {
            for b in [&logging.s3_bucket, &logging.large_data_bucket].into_iter().flatten() {
                out.push((b.clone(), "the invocation-log bucket"));
            }
        }
    }
    if let Ok(trails) = &snap.trails {
        // An organization trail's bucket belongs to another account, fenced by its RCPs.
        for t in trails.iter().filter(|t| !t.is_organization_trail) {
            out.extend(t.s3_bucket.clone().map(|b| (b, "the trail bucket")));
        }
    }
    out.dedup();
    out
}

fn context(input: &AccountInput<'_>, probe: &RcpProbe) -> RequestContext {
    let p = input.org.partition.as_str();
    let (account, org) = if probe.outsider {
        (OUTSIDER_ACCOUNT, OUTSIDER_ORG)
    } else {
        (input.account.id.as_str(), input.org.organization_id.as_str())
    };
    RequestContext::new(probe.action, probe.resource.clone())
        .with_value("aws:PrincipalArn", format!("arn:{p}:iam::{account}:role/probe"))
        .with_value("aws:PrincipalAccount", account)
        .with_value("aws:PrincipalOrgID", org)
        .with_value("aws:PrincipalType", "AssumedRole")
        .with_value("aws:PrincipalIsAWSService", "false")
        .with_value("aws:ViaAWSService", "false")
        .with_value("aws:SecureTransport", "true")
        .with_value("aws:SourceIp", "203.0.113.10")
        .with_value("aws:ResourceAccount", input.account.id.as_str())
        .with_value("aws:ResourceOrgID", input.org.organization_id.as_str())
        .with_unknown("aws:ResourceTag/*")
        .with_unknown("aws:PrincipalTag/*")
        .with_unknown("aws:PrincipalOrgPaths")
}

/// BR.ORG.10: the account's effective RCPs deny principals outside the organization reading
/// its logs, decrypting with its log and trail keys, and assuming its roles.
pub fn data_perimeter(input: &AccountInput<'_>) -> Vec<Evaluation> {
    let id = ids::ORG_10;
    let verdict = |status, detail: String| vec![input.account_verdict(id, status, detail)];
    if input.is_management() {
        return verdict(
            Status::NotApplicable,
            "Resource control policies never apply to the management account's resources.".into(),
        );
    }
    let org = input.org;
    let nodes = org.path_of(input.account);
    let Some(root) = nodes.first().and_then(|n| org.roots.iter().find(|r| r.id == n.id)) else {
        return verdict(
            Status::Error,
            format!(
                "Could not trace the account's path to the organization root (parent {} is unknown), so its RCPs cannot be evaluated.",
                input.account.parent_id
            ),
        );
    };
    if !root.rcp_enabled {
        return verdict(
            Status::Fail,
            format!(
                "Resource control policies are not enabled on root {}, so no data perimeter caps what principals outside the organization may do to this account's logs, keys and roles.",
                root.id
            ),
        );
    }
    let rcps = input.scp.rcps(input);
    let Some(full) = &rcps.full else {
        return verdict(Status::Error, "internal: the full-access policy does not parse".into());
    };
    let last = nodes.len() - 1;
    let mut levels = Vec::with_capacity(nodes.len());
    for (n, node) in nodes.iter().enumerate() {
        let label = match n {
            0 => format!("root {}", node.id),
            n if n == last => format!("account {}", node.id),
            _ => format!("OU {}", node.name),
        };
        let mut policies: Vec<Policy> = vec![full.clone()];
        for &i in rcps.targets.at(&node.id) {
            let rcp = &org.rcps[i];
            if rcp.aws_managed {
                continue;
            }
            match &rcps.parsed[i] {
                Ok(p) => policies.push(p.clone()),
                Err(e) => {
                    return verdict(
                        Status::Error,
                        format!("RCP {} ({}) attached to {label} cannot be evaluated: {e}.", rcp.id, rcp.name),
                    );
                }
            }
        }
        levels.push(Level { label, policies });
    }
    if levels.iter().flat_map(|l| &l.policies).any(names_resources)
        && let Some(why) = unknown_resources(input)
    {
        return verdict(
            Status::Error,
            format!(
                "An RCP on the path denies by resource, and the account's log buckets and keys are not all known ({why}), so the perimeter around them cannot be judged."
            ),
        );
    }
    let probes: Vec<RcpProbe> = resources(input)
        .into_iter()
        .flat_map(|(action, resource, what)| {
            [true, false].map(|outsider| RcpProbe { action, resource: resource.clone(), what: what.clone(), outsider })
        })
        .collect();
    let outcomes: Vec<(RcpProbe, ScpOutcome)> = probes
        .into_iter()
        .map(|p| {
            let o = evaluate_scps(&levels, &context(input, &p));
            (p, o)
        })
        .collect();
    let mut open = Vec::new();
    let mut unproven = Vec::new();
    let mut deciding = Vec::new();
    for (p, o) in outcomes.iter().filter(|(p, _)| p.outsider) {
        let call = format!("{} on {}", p.action, p.what);
        match o {
            o if o.is_denied() == Some(true) => deciding.extend(deny_source_of("RCP", o)),
            ScpOutcome::Allowed { near_misses } => open.push(match near_misses.first() {
                Some(nm) => format!("{call} (because {})", near_miss_of("RCP", nm)),
                None => format!("{call} (no RCP on the path denies it)"),
            }),
            o => unproven.push(format!("{call} (depends on {})", depends_of("RCP", o).unwrap_or_default())),
        }
    }
    deciding.dedup();
    let insiders_denied: Vec<String> = outcomes
        .iter()
        .filter(|(p, o)| !p.outsider && o.is_denied() == Some(true))
        .map(|(p, _)| format!("{} on {}", p.action, p.what))
        .collect();
    let note = if insiders_denied.is_empty() {
        String::new()
    } else {
        format!(" Note: the RCPs deny principals of the organization too: {}.", list(&insiders_denied, 3))
    };
    if !open.is_empty() || !unproven.is_empty() {
        let mut parts = Vec::new();
        if !open.is_empty() {
            parts.push(format!("A principal outside the organization is not denied {}", list(&open, 3)));
        }
        if !unproven.is_empty() {
            parts.push(format!("not proven denied: {}", list(&unproven, 2)));
        }
        return verdict(Status::Fail, format!("{}.{note}", parts.join("; ")));
    }
    verdict(
        Status::Pass,
        format!(
            "Principals outside the organization are denied reading the account's log buckets, decrypting with its log and trail keys and assuming its roles, by {}.{note}",
            list(&deciding, 2)
        ),
    )
}
