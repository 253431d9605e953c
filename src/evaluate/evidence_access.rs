//! The `evidence-access` family: BR.EVD.1, who outside the organization may read the
//! account's evidence. An RCP (BR.ORG.10) only caps what a resource policy grants; this
//! judges the grants themselves: the policy, Block Public Access and Object Ownership of the
//! buckets invocation logs and trails are written to, and the key policies of the keys that
//! encrypt them.
//!
//! Each policy is decided with the resource-policy evaluator of `iam-policy` for principals
//! outside the organization: a generic one, and every outside account, organization and
//! network path the policy itself names (a grant to a partner's account or organization, or
//! through an endpoint that is not the account's, is a grant outside the organization). What
//! such a principal controls or the sweep cannot know (source address, tags, encryption
//! context) stays unknown, so a grant that hangs on it is "not proven closed", never a pass.

use std::collections::BTreeSet;

use iam_policy::{
    Access, Caller, Condition, Policy, PrincipalId, PrincipalSpec, RequestContext, ResourceSpec,
    evaluate_resource_policy, parse_resource_policy,
};

use super::scp::evidence::list;
use super::{AccountInput, Control, Evaluation, Input, Judge, Proof, Regions, reads};
use crate::domain::{Region, ResourceKind, Status};
use crate::evaluate::ids;
use crate::snapshot::{
    AccountSnapshot, BucketAccess, EvidenceBucket, EvidenceBucketReference, EvidenceUse, KeyUser, OrgSnapshot,
    evidence_bucket_references, key_references,
};

/// The generic outsider: an account and organization the probes make up.
const OUTSIDER_ACCOUNT: &str = "999999999999";
const OUTSIDER_ORG: &str = "o-outsider000";
const OUTSIDER_VPCE: &str = "vpce-0outsider0000000";
const OUTSIDER_VPC: &str = "vpc-0outsider0000000";
/// More distinct outsiders than this and the policy is reported, not guessed at.
const MAX_OUTSIDERS: usize = 256;

/// Keys that only requests made by an AWS service carry: absent when an IAM principal of
/// another account calls. (Every other key the probe does not set is unknown.)
const SERVICE_ONLY_KEYS: &[&str] = &[
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:PrincipalServiceName",
    "aws:PrincipalServiceNamesList",
];

/// What the organization and the account know of themselves, for telling outsiders apart.
struct Insiders<'a> {
    org: &'a OrgSnapshot,
    /// The account's VPC endpoint ids and VPC ids, in the regions where they were listed.
    endpoints: BTreeSet<String>,
    vpcs: BTreeSet<String>,
    /// Whether some region's endpoint list failed (a named endpoint may then be the account's).
    endpoints_partial: bool,
}

impl Insiders<'_> {
    fn is_org_account(&self, account: &str) -> bool {
        self.org.accounts.iter().any(|a| a.id.as_str() == account)
    }
}

/// One principal outside the organization, as the probe presents it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Outsider {
    account: String,
    arn: String,
    org: String,
    vpce: String,
    vpc: String,
}

impl Outsider {
    fn words(&self) -> String {
        let mut w = if self.account == OUTSIDER_ACCOUNT {
            "any principal outside the organization".to_owned()
        } else if self.arn.ends_with(":role/probe") {
            format!("account {}", self.account)
        } else {
            self.arn.clone()
        };
        if self.org != OUTSIDER_ORG {
            w.push_str(&format!(" in organization {}", self.org));
        }
        if self.vpce != OUTSIDER_VPCE {
            w.push_str(&format!(" through endpoint {}", self.vpce));
        }
        if self.vpc != OUTSIDER_VPC {
            w.push_str(&format!(" from {}", self.vpc));
        }
        w
    }

    fn context(&self, action: &str, resource: &str, owner: &str, our_org: &str) -> RequestContext {
        let ctx = RequestContext::new(action, resource)
            .with_unknown("*")
            .with_value("aws:PrincipalArn", self.arn.clone())
            .with_value("aws:PrincipalAccount", self.account.clone())
            .with_value("aws:PrincipalOrgID", self.org.clone())
            .with_values("aws:PrincipalOrgPaths", [format!("{}/r-0000/", self.org)])
            .with_value("aws:PrincipalType", "AssumedRole")
            .with_value("aws:PrincipalIsAWSService", "false")
            // An outsider picks what gets them in; TLS is what policies usually demand.
            .with_value("aws:SecureTransport", "true")
            .with_value("aws:SourceVpce", self.vpce.clone())
            .with_value("aws:SourceVpc", self.vpc.clone())
            .with_value("kms:CallerAccount", self.account.clone())
            .with_value("aws:ResourceAccount", owner)
            .with_value("s3:ResourceAccount", owner)
            .with_value("aws:ResourceOrgID", our_org);
        SERVICE_ONLY_KEYS.iter().fold(ctx, |c, k| c.with_missing(*k))
    }
}

/// Values a policy names that belong to no insider: outside accounts (with the ARN a
/// statement names, if any), organizations, endpoints and VPCs.
#[derive(Default)]
struct Named {
    accounts: BTreeSet<(String, Option<String>)>,
    orgs: BTreeSet<String>,
    vpces: BTreeSet<String>,
    vpcs: BTreeSet<String>,
}

fn literal(v: &str) -> bool {
    !v.contains(['*', '?', '$'])
}

fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

fn named_outside(policy: &Policy, insiders: &Insiders<'_>) -> Named {
    let mut n = Named::default();
    let account = |n: &mut Named, a: &str, arn: Option<&str>| {
        if !insiders.is_org_account(a) {
            n.accounts.insert((a.to_owned(), arn.map(str::to_owned)));
        }
    };
    for st in &policy.statements {
        let ids = match &st.principal {
            Some(PrincipalSpec::Principal(ids) | PrincipalSpec::NotPrincipal(ids)) => ids.as_slice(),
            None => &[],
        };
        for id in ids {
            match id {
                PrincipalId::Account(a) => account(&mut n, a, None),
                PrincipalId::Arn(arn) => {
                    if let Some(a) = arn_account(arn) {
                        account(&mut n, a, Some(arn));
                    }
                }
                PrincipalId::Anyone | PrincipalId::Other(_) => {}
            }
        }
        for Condition { key, values, .. } in &st.conditions {
            let key = key.to_ascii_lowercase();
            for v in values.iter().filter(|v| literal(v)) {
                match key.as_str() {
                    "aws:principalaccount" | "kms:calleraccount" => account(&mut n, v, None),
                    "aws:principalarn" => {
                        if let Some(a) = arn_account(v) {
                            account(&mut n, a, Some(v));
                        }
                    }
                    "aws:principalorgid" if *v != insiders.org.organization_id => {
                        n.orgs.insert(v.clone());
                    }
                    "aws:principalorgpaths" => {
                        let org = v.split('/').next().unwrap_or_default();
                        if !org.is_empty() && org != insiders.org.organization_id {
                            n.orgs.insert(org.to_owned());
                        }
                    }
                    "aws:sourcevpce" if !insiders.endpoints.contains(v) => {
                        n.vpces.insert(v.clone());
                    }
                    "aws:sourcevpc" if !insiders.vpcs.contains(v) => {
                        n.vpcs.insert(v.clone());
                    }
                    _ => {}
                }
            }
        }
    }
    n
}

/// The outsiders to probe: the generic one and every combination of what the policy names.
fn outsiders(named: Named, partition: &str) -> Option<Vec<Outsider>> {
    let mut accounts: Vec<(String, String)> =
        vec![(OUTSIDER_ACCOUNT.to_owned(), format!("arn:{partition}:iam::{OUTSIDER_ACCOUNT}:role/probe"))];
    for (a, arn) in named.accounts {
        accounts.push((a.clone(), arn.unwrap_or_else(|| format!("arn:{partition}:iam::{a}:role/probe"))));
    }
    let orgs: Vec<String> = std::iter::once(OUTSIDER_ORG.to_owned()).chain(named.orgs).collect();
    let mut networks = vec![(OUTSIDER_VPCE.to_owned(), OUTSIDER_VPC.to_owned())];
    networks.extend(named.vpces.into_iter().map(|v| (v, OUTSIDER_VPC.to_owned())));
    networks.extend(named.vpcs.into_iter().map(|v| (OUTSIDER_VPCE.to_owned(), v)));
    if accounts.len() * orgs.len() * networks.len() > MAX_OUTSIDERS {
        return None;
    }
    let mut out = Vec::new();
    for (account, arn) in &accounts {
        for org in &orgs {
            for (vpce, vpc) in &networks {
                out.push(Outsider {
                    account: account.clone(),
                    arn: arn.clone(),
                    org: org.clone(),
                    vpce: vpce.clone(),
                    vpc: vpc.clone(),
                });
            }
        }
    }
    out.dedup();
    Some(out)
}

/// What outsiders may do, summed over the probes of one resource.
#[derive(Default)]
struct Exposure {
    /// (who, what, allowing statement).
    open: Vec<String>,
    /// (who, what, the keys it depends on).
    unproven: Vec<String>,
    /// Statements that deny outsiders.
    denied_by: BTreeSet<String>,
    /// Whether the generic outsider is admitted for sure (the policy is public).
    public: bool,
}

impl Exposure {
    fn closed(&self) -> bool {
        self.open.is_empty() && self.unproven.is_empty()
    }
}

/// Probes `policy` with every outsider for each (action, resource).
fn probe(
    policy: &Policy,
    outsiders: &[Outsider],
    requests: &[(&str, String, String)],
    owner: &str,
    our_org: &str,
) -> Exposure {
    let mut e = Exposure::default();
    for o in outsiders {
        let caller = Caller { arn: &o.arn, account: &o.account };
        for (action, resource, what) in requests {
            let ctx = o.context(action, resource, owner, our_org);
            match evaluate_resource_policy(policy, &caller, &ctx) {
                Access::Allowed { by } => {
                    if o.account == OUTSIDER_ACCOUNT && o.org == OUTSIDER_ORG && o.vpce == OUTSIDER_VPCE {
                        e.public = true;
                    }
                    e.open.push(format!("{}: {action} on {what} ({by})", o.words()));
                }
                Access::Depends(keys) => {
                    e.unproven.push(format!("{}: {action} on {what}, depending on {}", o.words(), keys.join(", ")))
                }
                Access::Denied { by } => {
                    e.denied_by.insert(by);
                }
                Access::NotAllowed => {}
            }
        }
    }
    e.open.dedup();
    e.unproven.dedup();
    e
}

/// Twelve-digit account ids a policy's resources name: an account whose logs a shared bucket
/// holds under `AWSLogs/<account>/`, probed as well as the bucket's own.
fn accounts_in_resources(policy: &Policy) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for st in &policy.statements {
        let (ResourceSpec::Resource(p) | ResourceSpec::NotResource(p)) = &st.resource;
        for pattern in p {
            for part in pattern.split(|c: char| !c.is_ascii_digit()) {
                if part.len() == 12 {
                    out.insert(part.to_owned());
                }
            }
        }
    }
    out
}

/// Objects the evidence is written as, for each reference to the bucket.
fn evidence_objects(
    input: &AccountInput<'_>,
    snap: &AccountSnapshot,
    bucket: &str,
    refs: &[&EvidenceBucketReference],
    policy: &Policy,
) -> Vec<(&'static str, String, String)> {
    let p = input.org.partition.as_str();
    let acct = input.account.id.as_str();
    let mut accounts: BTreeSet<String> = accounts_in_resources(policy);
    accounts.insert(acct.to_owned());
    let swept: Vec<&Region> = match &snap.regions {
        Ok(r) => r.iter().collect(),
        Err(_) => Vec::new(),
    };
    let mut out: Vec<(&'static str, String, String)> = Vec::new();
    for r in refs {
        let prefix = r.prefix.as_deref().map(|p| format!("{}/", p.trim_end_matches('/'))).unwrap_or_default();
        let regions: Vec<&str> = match (r.holds, &r.region) {
            (EvidenceUse::Trail { .. }, _) if !swept.is_empty() => swept.iter().map(|r| r.as_str()).collect(),
            (_, Some(region)) => vec![region.as_str()],
            (_, None) => vec!["us-east-1"],
        };
        for region in regions {
            let keys: Vec<(String, &str)> = match r.holds {
                EvidenceUse::InvocationLogs => vec![(
                    format!("{prefix}AWSLogs/{acct}/BedrockModelInvocationLogs/{region}/2026/01/01/00/probe.json.gz"),
                    "invocation logs",
                )],
                EvidenceUse::InvocationLargeData => vec![(
                    format!("{prefix}AWSLogs/{acct}/BedrockModelInvocationLogs/{region}/2026/01/01/00/data/probe.json"),
                    "invocation payloads",
                )],
                EvidenceUse::Trail { organization } => accounts
                    .iter()
                    .map(|a| {
                        let path = if organization { format!("{}/{a}", input.org.organization_id) } else { a.clone() };
                        (format!("{prefix}AWSLogs/{path}/CloudTrail/{region}/2026/01/01/probe.json.gz"), "trail logs")
                    })
                    .collect(),
            };
            for (key, what) in keys {
                let what = format!("the {what} in {bucket}");
                let resource = format!("arn:{p}:s3:::{bucket}/{key}");
                if !out.iter().any(|(_, r, _)| *r == resource) {
                    out.push(("s3:GetObject", resource, what));
                }
            }
        }
    }
    out
}

fn judge_bucket(
    input: &AccountInput<'_>,
    snap: &AccountSnapshot,
    insiders: &Insiders<'_>,
    bucket: &str,
    refs: &[&EvidenceBucketReference],
    access: &BucketAccess,
) -> (Status, String) {
    let acl_note = match access.object_ownership.as_deref() {
        Some("BucketOwnerEnforced") => None,
        other => Some(format!(
            "ACLs are in force (Object Ownership {}), so object ACLs, which no policy shows and the sweep cannot read, may grant read to other accounts; set Object Ownership to BucketOwnerEnforced",
            other.unwrap_or("not configured")
        )),
    };
    let Some(doc) = &access.policy else {
        return match acl_note {
            Some(note) => (Status::Fail, format!("Bucket {bucket} has no bucket policy, but {note}.")),
            None => (
                Status::Pass,
                format!(
                    "Bucket {bucket} has no bucket policy and ACLs are disabled: nothing grants principals outside the account read."
                ),
            ),
        };
    };
    let policy = match parse_resource_policy(bucket, doc) {
        Ok(p) => p,
        Err(e) => return (Status::Error, format!("The policy of bucket {bucket} cannot be evaluated: {e}.")),
    };
    let named = named_outside(&policy, insiders);
    let names_foreign_endpoints = !named.vpces.is_empty();
    let Some(outsiders) = outsiders(named, input.org.partition.as_str()) else {
        return (
            Status::Error,
            format!(
                "The policy of bucket {bucket} names more than {MAX_OUTSIDERS} outside principals and paths to probe."
            ),
        );
    };
    let requests = evidence_objects(input, snap, bucket, refs, &policy);
    let e = probe(&policy, &outsiders, &requests, input.account.id.as_str(), &input.org.organization_id);
    let pab = access.public_access_block;
    let endpoints_note = if insiders.endpoints_partial && names_foreign_endpoints {
        " (some regions' endpoints could not be listed, so a named endpoint may be the account's own)"
    } else {
        ""
    };
    if !e.closed() && e.public && e.unproven.is_empty() && pab.restrict_public_buckets {
        // A public policy under RestrictPublicBuckets admits only AWS services and the
        // owner's principals: every cross-account grant in it is void.
        let why = format!(
            "Bucket {bucket}'s policy is public ({}), but its Block Public Access setting RestrictPublicBuckets confines a public policy to AWS services and the account's own principals",
            list(&e.open, 1)
        );
        return match acl_note {
            Some(note) => (Status::Fail, format!("{why}; however {note}.")),
            None => (Status::Pass, format!("{why}.")),
        };
    }
    if !e.closed() {
        let mut parts = Vec::new();
        if !e.open.is_empty() {
            parts.push(format!(
                "Bucket {bucket}'s policy admits principals outside the organization: {}",
                list(&e.open, 3)
            ));
        }
        if !e.unproven.is_empty() {
            parts.push(format!("not proven closed: {}", list(&e.unproven, 2)));
        }
        let pab_note = if e.public && !pab.restrict_public_buckets {
            " The policy is public and Block Public Access (RestrictPublicBuckets) is off on the bucket."
        } else {
            ""
        };
        return (Status::Fail, format!("{}{endpoints_note}.{pab_note}", parts.join("; ")));
    }
    let how = if e.denied_by.is_empty() {
        "no statement of its policy grants them read".to_owned()
    } else {
        format!("its policy denies them ({})", e.denied_by.iter().cloned().collect::<Vec<_>>().join(", "))
    };
    match acl_note {
        Some(note) => (Status::Fail, format!("Bucket {bucket}: {how}, but {note}.")),
        None => (
            Status::Pass,
            format!(
                "Principals outside the organization cannot read the evidence in bucket {bucket}: {how}, and ACLs are disabled."
            ),
        ),
    }
}

fn judge_key(input: &AccountInput<'_>, insiders: &Insiders<'_>, arn: &str, what: &str, doc: &str) -> (Status, String) {
    let policy = match parse_resource_policy(arn, doc) {
        Ok(p) => p,
        Err(e) => return (Status::Error, format!("The key policy of {arn} cannot be evaluated: {e}.")),
    };
    let Some(outsiders) = outsiders(named_outside(&policy, insiders), input.org.partition.as_str()) else {
        return (
            Status::Error,
            format!("The key policy of {arn} names more than {MAX_OUTSIDERS} outside principals and paths to probe."),
        );
    };
    // CreateGrant is asked too: whoever may create a grant may grant itself Decrypt.
    let requests =
        [("kms:Decrypt", arn.to_owned(), what.to_owned()), ("kms:CreateGrant", arn.to_owned(), what.to_owned())];
    let e = probe(&policy, &outsiders, &requests, input.account.id.as_str(), &input.org.organization_id);
    if e.closed() {
        let how = if e.denied_by.is_empty() {
            "no statement of its key policy admits them".to_owned()
        } else {
            format!("its key policy denies them ({})", e.denied_by.iter().cloned().collect::<Vec<_>>().join(", "))
        };
        return (
            Status::Pass,
            format!(
                "Principals outside the organization cannot decrypt with {what} {arn}: {how} (grants are not read)."
            ),
        );
    }
    let mut parts = Vec::new();
    if !e.open.is_empty() {
        parts.push(format!("The key policy of {arn} admits principals outside the organization: {}", list(&e.open, 3)));
    }
    if !e.unproven.is_empty() {
        parts.push(format!("not proven closed: {}", list(&e.unproven, 2)));
    }
    (Status::Fail, format!("{}.", parts.join("; ")))
}

/// BR.EVD.1: no principal outside the organization may read the account's evidence buckets
/// or decrypt with the keys of its logs and trails.
pub fn evidence_private(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let id = ids::EVD_1;
    let p = input.org.partition.as_str();
    let mut endpoints = BTreeSet::new();
    let mut vpcs = BTreeSet::new();
    let mut endpoints_partial = false;
    for r in &snap.per_region {
        match &r.vpc_endpoints {
            Ok(list) => {
                endpoints.extend(list.iter().map(|e| e.id.clone()));
                vpcs.extend(list.iter().map(|e| e.vpc_id.clone()));
            }
            Err(_) => endpoints_partial = true,
        }
    }
    let insiders = Insiders { org: input.org, endpoints, vpcs, endpoints_partial };
    let mut out = Vec::new();

    let refs = evidence_bucket_references(&snap.trails, &snap.per_region);
    let mut buckets: Vec<&str> = refs.iter().map(|r| r.bucket.as_str()).collect();
    buckets.dedup();
    let mut seen = BTreeSet::new();
    for bucket in buckets.into_iter().filter(|b| seen.insert(*b)) {
        let mine: Vec<&EvidenceBucketReference> = refs.iter().filter(|r| r.bucket == bucket).collect();
        // Invocation-log buckets are regional subjects; a trail bucket is the account's.
        let region =
            mine.iter().find(|r| !matches!(r.holds, EvidenceUse::Trail { .. })).and_then(|r| r.region.as_ref());
        let (status, detail) = match snap.evidence_buckets.get(bucket) {
            None => (Status::Error, format!("Who may read bucket {bucket} was not collected.")),
            Some(Err(gap)) => {
                (Status::Error, format!("Could not read who may read bucket {bucket}: {}.", gap.summary()))
            }
            Some(Ok(EvidenceBucket::OwnedElsewhere)) => (
                Status::NotApplicable,
                format!(
                    "Bucket {bucket} is not in this account's bucket list: another account owns it, and is judged for it when it is swept."
                ),
            ),
            Some(Ok(EvidenceBucket::Owned(access))) => judge_bucket(input, snap, &insiders, bucket, &mine, access),
        };
        let arn = format!("arn:{p}:s3:::{bucket}");
        out.push(input.verdict(id, region, (&arn, ResourceKind::S3Bucket), status, detail));
    }

    let mut keys_seen = BTreeSet::new();
    for r in key_references(&snap.trails, &snap.per_region, &snap.buckets) {
        let what = match r.user {
            KeyUser::Trail => "the trail key",
            KeyUser::InvocationLogGroup => "the invocation-log group key",
            KeyUser::InvocationBucket => "the invocation-log bucket key",
            KeyUser::CustomModel => continue,
        };
        let (subject, status, detail) = match snap.kms_keys.get(&r.key) {
            None => (r.key.clone(), Status::Error, format!("Key {} was not described.", r.key)),
            Some(Err(gap)) => {
                (r.key.clone(), Status::Error, format!("Could not describe key {}: {}.", r.key, gap.summary()))
            }
            Some(Ok(key)) if key.arn.split(':').nth(4) != Some(input.account.id.as_str()) => (
                key.arn.clone(),
                Status::NotApplicable,
                format!("Key {} belongs to another account, and is judged for it when that account is swept.", key.arn),
            ),
            Some(Ok(key)) => match snap.key_policies.get(&key.arn) {
                None => (key.arn.clone(), Status::Error, format!("The key policy of {} was not collected.", key.arn)),
                Some(Err(gap)) => (
                    key.arn.clone(),
                    Status::Error,
                    format!("Could not read the key policy of {}: {}.", key.arn, gap.summary()),
                ),
                Some(Ok(doc)) => {
                    let (s, d) = judge_key(input, &insiders, &key.arn, what, doc);
                    (key.arn.clone(), s, d)
                }
            },
        };
        if keys_seen.insert(subject.clone()) {
            out.push(input.verdict(id, None, (&subject, ResourceKind::KmsKey), status, detail));
        }
    }

    if out.is_empty() {
        out.push(input.account_verdict(
            id,
            Status::NotApplicable,
            "The account writes no invocation logs or trails to S3 and encrypts none with a KMS key.".into(),
        ));
    }
    out
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Input::{Buckets, EvidenceBuckets, InvocationLogGroup, InvocationLogging, KeyPolicies, KmsKeys, Trails};
    &[Control {
        id: ids::EVD_1,
        reads: reads(
            &[Trails, InvocationLogging, InvocationLogGroup, Buckets, KmsKeys, EvidenceBuckets, KeyPolicies],
            Proof::Exhaustive,
            Regions::Swept,
        ),
        judge: Judge::Account(evidence_private),
    }]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::{InvocationLogging, PublicAccessBlock, VpcEndpoint};

    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/k1";
    const PARTNER: &str = "444455556666";

    fn closed_bucket(policy: Option<String>) -> BucketAccess {
        BucketAccess {
            policy,
            public_access_block: PublicAccessBlock::default(),
            object_ownership: Some("BucketOwnerEnforced".into()),
        }
    }

    /// A member whose eu-west-1 invocation logs go to `logs` under `prefix`.
    fn logging_to(prefix: Option<&str>, access: Collected<EvidenceBucket>) -> AccountSnapshot {
        let mut snap = account_snapshot();
        snap.per_region[0].invocation_logging = Ok(Some(InvocationLogging {
            text_delivery: true,
            image_delivery: false,
            embedding_delivery: false,
            s3_bucket: Some("logs".into()),
            s3_key_prefix: prefix.map(str::to_owned),
            log_group: None,
            large_data_bucket: None,
            large_data_key_prefix: None,
        }));
        snap.evidence_buckets.insert("logs".into(), access);
        snap
    }

    type Collected<T> = crate::snapshot::Collected<T>;

    fn bucket_with(statement: &str) -> AccountSnapshot {
        let policy = format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
        logging_to(Some("bedrock"), Ok(EvidenceBucket::Owned(closed_bucket(Some(policy)))))
    }

    fn judge(snap: &AccountSnapshot) -> Vec<Evaluation> {
        with_input(snap, |i| evidence_private(i, snap))
    }

    fn one(snap: &AccountSnapshot) -> (Status, String) {
        let out = judge(snap);
        assert_eq!(out.len(), 1, "{out:?}");
        (out[0].status, out[0].detail.clone())
    }

    #[test]
    fn nothing_written_anywhere_is_not_applicable() {
        assert_eq!(statuses(&judge(&account_snapshot())), vec![Status::NotApplicable]);
    }

    #[test]
    fn grants_to_another_account_or_organization_fail_naming_who_and_the_statement() {
        let (s, d) = one(&bucket_with(&format!(
            r#"{{"Sid":"PartnerRead","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{PARTNER}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}}"#
        )));
        assert_eq!(s, Status::Fail, "{d}");
        assert!(d.contains(PARTNER) && d.contains("Sid PartnerRead"), "{d}");

        let org_grant = |org: &str| {
            bucket_with(&format!(
                r#"{{"Sid":"OrgRead","Effect":"Allow","Principal":"*","Action":"s3:Get*","Resource":"arn:aws:s3:::logs/*","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"{org}"}}}}}}"#
            ))
        };
        let (s, d) = one(&org_grant("o-partner"));
        assert_eq!(s, Status::Fail, "{d}");
        assert!(d.contains("organization o-partner"), "{d}");
        let (s, d) = one(&org_grant("o-example"));
        assert_eq!(s, Status::Pass, "{d}");

        // A named account of the organization is no outsider.
        let (s, d) = one(&bucket_with(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"{MANAGEMENT}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}}"#
        )));
        assert_eq!(s, Status::Pass, "{d}");
    }

    #[test]
    fn a_public_policy_fails_unless_restrict_public_buckets_voids_it() {
        let public = r#"{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}"#;
        let mut snap = bucket_with(public);
        let (s, d) = one(&snap);
        assert_eq!(s, Status::Fail, "{d}");
        assert!(d.contains("any principal outside the organization") && d.contains("RestrictPublicBuckets"), "{d}");
        if let Some(Ok(EvidenceBucket::Owned(a))) = snap.evidence_buckets.get_mut("logs") {
            a.public_access_block.restrict_public_buckets = true;
        }
        let (s, d) = one(&snap);
        assert_eq!(s, Status::Pass, "{d}");
        assert!(d.contains("is public"), "{d}");
    }

    #[test]
    fn what_an_outsider_controls_is_not_proven_closed() {
        for cond in [
            r#"{"IpAddress":{"aws:SourceIp":"198.51.100.0/24"}}"#,
            r#"{"StringEquals":{"aws:PrincipalTag/team":"ml"}}"#,
            r#"{"StringLike":{"aws:Referer":"https://example.com/*"}}"#,
        ] {
            let (s, d) = one(&bucket_with(&format!(
                r#"{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*","Condition":{cond}}}"#
            )));
            assert_eq!(s, Status::Fail, "{cond}: {d}");
            assert!(d.contains("not proven closed"), "{d}");
        }
        // Keys only AWS services carry are absent for another account's principals.
        let (s, d) = one(&bucket_with(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}"#,
        ));
        assert_eq!(s, Status::Pass, "{d}");
    }

    #[test]
    fn the_accounts_own_endpoint_is_a_fence_a_foreign_one_is_not() {
        let via = |vpce: &str| {
            let mut snap = bucket_with(&format!(
                r#"{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*","Condition":{{"StringEquals":{{"aws:SourceVpce":"{vpce}"}}}}}}"#
            ));
            snap.per_region[0].vpc_endpoints = Ok(vec![VpcEndpoint {
                id: "vpce-0ours".into(),
                vpc_id: "vpc-0ours".into(),
                service_name: "com.amazonaws.eu-west-1.s3".into(),
                endpoint_type: "Gateway".into(),
                state: "available".into(),
                private_dns_enabled: false,
                policy_document: None,
            }]);
            snap
        };
        assert_eq!(one(&via("vpce-0ours")).0, Status::Pass);
        let (s, d) = one(&via("vpce-0partner"));
        assert_eq!(s, Status::Fail, "{d}");
        assert!(d.contains("through endpoint vpce-0partner"), "{d}");
    }

    #[test]
    fn a_deny_on_outsiders_closes_the_bucket_and_is_named() {
        let snap = bucket_with(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"},
               {"Sid":"OrgOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::logs","arn:aws:s3:::logs/*"],
                "Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-example"}}}"#,
        );
        let (s, d) = one(&snap);
        assert_eq!(s, Status::Pass, "{d}");
        assert!(d.contains("Sid OrgOnly"), "{d}");
        // The usual TLS-only Deny beside a grant to the organization: closed.
        let (s, d) = one(&bucket_with(
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-example"}}},
               {"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::logs/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
        ));
        assert_eq!(s, Status::Pass, "{d}");
        // NotPrincipal in an Allow admits everyone else.
        let (s, d) = one(&bucket_with(&format!(
            r#"{{"Effect":"Allow","NotPrincipal":{{"AWS":"{MEMBER}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}}"#
        )));
        assert_eq!(s, Status::Fail, "{d}");
    }

    #[test]
    fn grants_are_probed_on_the_objects_the_evidence_is_written_as() {
        let public_prefix =
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/public/*"}"#;
        let policy = format!(r#"{{"Statement":[{public_prefix}]}}"#);
        let elsewhere = logging_to(Some("bedrock"), Ok(EvidenceBucket::Owned(closed_bucket(Some(policy.clone())))));
        assert_eq!(one(&elsewhere).0, Status::Pass);
        let exposed = logging_to(Some("public/"), Ok(EvidenceBucket::Owned(closed_bucket(Some(policy)))));
        assert_eq!(one(&exposed).0, Status::Fail);
    }

    #[test]
    fn an_organization_trail_bucket_is_probed_for_every_account_its_policy_names() {
        let mut snap = account_snapshot();
        let mut t = trail("org");
        t.is_organization_trail = true;
        t.s3_bucket = Some("org-trail".into());
        snap.trails = Ok(vec![t]);
        let policy = r#"{"Statement":[{"Sid":"Leak","Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::org-trail/AWSLogs/o-example/222233334444/*"}]}"#;
        snap.evidence_buckets.insert("org-trail".into(), Ok(EvidenceBucket::Owned(closed_bucket(Some(policy.into())))));
        let (s, d) = one(&snap);
        assert_eq!(s, Status::Fail, "{d}");
        assert!(d.contains("Sid Leak"), "{d}");
    }

    #[test]
    fn acls_in_force_fail_even_without_a_policy() {
        let mut access = closed_bucket(None);
        assert_eq!(one(&logging_to(None, Ok(EvidenceBucket::Owned(access.clone())))).0, Status::Pass);
        access.object_ownership = Some("ObjectWriter".into());
        let (s, d) = one(&logging_to(None, Ok(EvidenceBucket::Owned(access))));
        assert_eq!(s, Status::Fail, "{d}");
        assert!(d.contains("BucketOwnerEnforced"), "{d}");
    }

    #[test]
    fn could_not_look_is_error_and_another_accounts_bucket_is_not_applicable() {
        assert_eq!(one(&logging_to(None, Err(gap("s3", "ListBuckets")))).0, Status::Error);
        assert_eq!(one(&logging_to(None, Ok(EvidenceBucket::OwnedElsewhere))).0, Status::NotApplicable);
        let mut missing = logging_to(None, Ok(EvidenceBucket::OwnedElsewhere));
        missing.evidence_buckets.clear();
        assert_eq!(one(&missing).0, Status::Error);
        let malformed = logging_to(None, Ok(EvidenceBucket::Owned(closed_bucket(Some("{\"Statement\":".into())))));
        let (s, d) = one(&malformed);
        assert_eq!(s, Status::Error, "{d}");
    }

    fn trail_key(policy: Option<Collected<String>>, owner_arn: &str) -> AccountSnapshot {
        let mut snap = account_snapshot();
        let mut t = trail("main");
        t.s3_bucket = None;
        t.kms_key_id = Some(owner_arn.into());
        snap.trails = Ok(vec![t]);
        snap.kms_keys.insert(owner_arn.into(), Ok(cmk(owner_arn, Some(true))));
        if let Some(p) = policy {
            snap.key_policies.insert(owner_arn.into(), p);
        }
        snap
    }

    #[test]
    fn key_policies_are_judged_for_decrypt_and_create_grant() {
        let (s, d) = one(&trail_key(Some(Ok(own_account_key_policy())), KEY));
        assert_eq!(s, Status::Pass, "{d}");
        let partner = format!(
            r#"{{"Statement":[{{"Sid":"Partner","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{PARTNER}:role/reader"}},"Action":"kms:CreateGrant","Resource":"*"}}]}}"#
        );
        let (s, d) = one(&trail_key(Some(Ok(partner)), KEY));
        assert_eq!(s, Status::Fail, "{d}");
        assert!(d.contains("role/reader") && d.contains("kms:CreateGrant"), "{d}");
        let account_bound = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}]}"#;
        assert_eq!(one(&trail_key(Some(Ok(account_bound.into())), KEY)).0, Status::Pass);
        assert_eq!(one(&trail_key(Some(Err(gap("kms", "GetKeyPolicy"))), KEY)).0, Status::Error);
        assert_eq!(one(&trail_key(None, KEY)).0, Status::Error);
        let theirs = "arn:aws:kms:eu-west-1:222233334444:key/k2";
        assert_eq!(one(&trail_key(None, theirs)).0, Status::NotApplicable);
    }
}
