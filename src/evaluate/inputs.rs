//! What each control reads, and what a gap in it means for the control's verdicts and for
//! its earlier findings.
//!
//! Every control in the registry (`super::FAMILIES`: each family file's `CONTROLS`) declares the collections it reads. When
//! one of them has a gap in a scope the control looks at (the account, or one region), the
//! verdicts of that scope are checked here, whatever the evaluator itself did:
//! - `not_applicable` there becomes `error` ("nothing there" cannot be told from "could not
//!   look");
//! - a summary `pass` there (one verdict about the whole account or region) becomes `error`
//!   for controls that need every subject to be right ([`Proof::Exhaustive`]); for controls
//!   that need one good subject ([`Proof::Witness`]), the witness still proves the pass, and
//!   a `fail` there becomes `error` instead (the unseen data might hold the witness);
//! - the scope gets at least one `error` verdict naming the failed calls;
//! - the store retires none of the control's findings in that scope ([`Incomplete`]).
//!
//! Gaps are found by destructuring the snapshots without `..`: a collection added to a
//! snapshot does not compile until it is accounted for here.

use std::collections::BTreeMap;

use crate::domain::{AccountId, ControlId, Region, Status};
use crate::evaluate::Evaluation;
use crate::snapshot::{AccountSnapshot, Collected, Gap, KeyUser, OrgSnapshot, RegionSnapshot, Trail, key_references};

/// A collection a control can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Input {
    /// The list of regions to sweep (`DescribeRegions` when not configured). Every regional
    /// collection, and the trail list, depend on it.
    Regions,
    /// IAM principals and their policies.
    Iam,
    /// The account's trail list.
    Trails,
    /// Each trail's status and event selectors.
    TrailDetails,
    /// VPC endpoints, per region.
    VpcEndpoints,
    /// Model-invocation logging configuration, per region.
    InvocationLogging,
    /// The invocation-logging log group, per region.
    InvocationLogGroup,
    /// Guardrails, per region.
    Guardrails,
    /// Guardrails the account enforces on itself, per region (evidence of BR.ORG.8; a gap
    /// in it is named by BR.COV.1).
    EnforcedGuardrails,
    /// Custom models, per region.
    CustomModels,
    /// Model customization and batch inference jobs, per region.
    Jobs,
    /// Agents for Amazon Bedrock, per region.
    Agents,
    /// Knowledge bases and their data sources, per region.
    KnowledgeBases,
    /// Prompt flows and the definitions their aliases serve, per region.
    Flows,
    /// Managed prompts, per region.
    Prompts,
    /// AgentCore gateways and their targets, per region.
    AgentCoreGateways,
    /// AgentCore policy engines and their policies, per region.
    AgentCorePolicyEngines,
    /// AgentCore runtimes, browsers and code interpreters, per region.
    AgentCoreCompute,
    /// AgentCore memories, per region.
    AgentCoreMemories,
    /// AWS Config recorders, per region.
    ConfigRecorders,
    /// KMS keys named by the collections above.
    KmsKeys,
    /// Default encryption of the invocation-logging buckets.
    Buckets,
    /// Policy, Block Public Access and Object Ownership of the buckets the account's
    /// evidence is written to (and the account's bucket list, which tells whose they are).
    EvidenceBuckets,
    /// Key policies of the account's own keys that encrypt its evidence.
    KeyPolicies,
    /// Long-term Bedrock API keys of the account's IAM users.
    BedrockApiKeys,
    /// The management account's trails (organization trails among them).
    ManagementTrails,
    /// KMS keys named by the management account's trails.
    ManagementKmsKeys,
    /// The CloudTrail digest chains of the trails that apply to the account, verified.
    DigestChains,
}

impl Input {
    /// Collections that only exist because the region list was known.
    fn needs_region_list(self) -> bool {
        !matches!(
            self,
            Input::Iam | Input::BedrockApiKeys | Input::ManagementTrails | Input::ManagementKmsKeys | Input::Regions
        )
    }
}

/// Where a gap leaves the control blind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// The whole account.
    Account,
    /// One region (and the account-wide summaries built from it).
    Region(Region),
}

impl Scope {
    /// Whether a verdict or finding in `region` may rest on data of this scope.
    pub fn covers(&self, region: Option<&Region>) -> bool {
        match self {
            Scope::Account => true,
            Scope::Region(r) => region.is_none_or(|f| f == r),
        }
    }
}

/// How a control proves a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// Every subject must be right (no over-broad principal, every key rotates): a pass over
    /// partial data proves nothing.
    Exhaustive,
    /// One good subject suffices (some trail qualifies, some endpoint exists): a pass stands
    /// on the subject that was seen, a failure over partial data does not.
    Witness,
}

/// Which regions a control judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regions {
    /// Approved regions only (every swept region when none is configured).
    Approved,
    /// Every swept region.
    Swept,
}

/// What a control declares about its inputs.
#[derive(Debug, Clone, Copy)]
pub struct Reads {
    /// The collections it reads.
    pub inputs: &'static [Input],
    /// How it proves a pass.
    pub proof: Proof,
    /// Which regions it judges.
    pub regions: Regions,
}

impl Reads {
    fn reads(&self, input: Input) -> bool {
        self.inputs.contains(&input) || (input == Input::Regions && self.inputs.iter().any(|i| i.needs_region_list()))
    }
}

/// One gap, as it concerns the controls that read `input`.
#[derive(Debug, Clone)]
pub struct InputGap<'a> {
    /// The collection that failed.
    pub input: Input,
    /// For a looked-up item (a key, a bucket, a trail's status): the collection that named
    /// it. Only controls that read both are concerned.
    pub named_by: Option<Input>,
    /// What it hides.
    pub scope: Scope,
    /// The failure.
    pub gap: &'a Gap,
}

impl InputGap<'_> {
    fn concerns(&self, reads: &Reads, approved: &[Region]) -> bool {
        let region_judged = match (&self.scope, reads.regions) {
            (Scope::Region(r), Regions::Approved) => approved.is_empty() || approved.contains(r),
            _ => true,
        };
        region_judged && reads.reads(self.input) && self.named_by.is_none_or(|n| reads.reads(n))
    }
}

/// Every gap of the organization snapshot's collections that account controls read.
pub fn org_gaps(org: &OrgSnapshot) -> Vec<InputGap<'_>> {
    let OrgSnapshot {
        organization_id: _,
        partition: _,
        management_account_id: _,
        roots: _,
        ous: _,
        accounts: _,
        policies: _,
        rcps: _,
        bedrock_policies: _,
        // Read per Bedrock-policy path: `scp/bedrock_policy.rs` makes the verdicts of the
        // accounts a failed read concerns `error`, not every account's.
        bedrock_effective: _,
        enforced_guardrails: _,
        management_trails,
        management_kms_keys,
    } = org;
    let mut out = Vec::new();
    push(&mut out, Input::ManagementTrails, None, Scope::Account, management_trails);
    // Of the management account's trails, only the organization trails apply to others (its
    // own trails reach its own snapshot).
    if let Ok(trails) = management_trails {
        let org_trails: Vec<&Trail> = trails.iter().filter(|t| t.is_organization_trail).collect();
        for t in org_trails.iter().copied() {
            trail_detail_gaps(&mut out, t, Input::ManagementTrails);
        }
        for (key_ref, key) in management_kms_keys {
            if org_trails.iter().any(|t| t.kms_key_id.as_ref() == Some(key_ref)) {
                push(&mut out, Input::ManagementKmsKeys, Some(Input::ManagementTrails), Scope::Account, key);
            }
        }
    }
    out
}

/// Every gap of an account snapshot, once each (BR.COV.1 names them, the store records them).
pub fn gaps(snap: &AccountSnapshot) -> Vec<&Gap> {
    let mut out: Vec<&Gap> = Vec::new();
    for g in account_gaps(snap) {
        if !out.iter().any(|seen| std::ptr::eq(*seen, g.gap)) {
            out.push(g.gap);
        }
    }
    out
}

/// Every gap BR.COV.1 names and the store records for `account`: its snapshot's, and for the
/// management account also what discovery could not read of it (its trails and their keys,
/// which every account's trail controls rely on). Once each, by call and error.
pub fn coverage_gaps<'a>(org: &'a OrgSnapshot, account: &AccountId, snap: &'a AccountSnapshot) -> Vec<&'a Gap> {
    let mut out = gaps(snap);
    if *account == org.management_account_id {
        for g in org_gaps(org) {
            if !out.iter().any(|seen| seen.summary() == g.gap.summary()) {
                out.push(g.gap);
            }
        }
    }
    out
}

/// Every gap of an account snapshot, with what it hides.
pub fn account_gaps(snap: &AccountSnapshot) -> Vec<InputGap<'_>> {
    let AccountSnapshot {
        account_id: _,
        regions,
        iam,
        trails,
        per_region,
        kms_keys,
        buckets,
        evidence_buckets,
        key_policies,
        bedrock_api_keys,
        digest_chains,
    } = snap;
    let mut out = Vec::new();
    push(&mut out, Input::Regions, None, Scope::Account, regions);
    push(&mut out, Input::Iam, None, Scope::Account, iam);
    push(&mut out, Input::BedrockApiKeys, None, Scope::Account, bedrock_api_keys);
    push(&mut out, Input::Trails, None, Scope::Account, trails);
    if let Ok(trails) = trails {
        for t in trails {
            trail_detail_gaps(&mut out, t, Input::Trails);
        }
    }
    for r in per_region {
        let RegionSnapshot {
            region,
            vpc_endpoints,
            invocation_logging,
            invocation_log_group,
            guardrails,
            enforced_guardrails,
            custom_models,
            jobs,
            agents,
            knowledge_bases,
            flows,
            prompts,
            agentcore,
            config_recorders,
        } = r;
        let here = Scope::Region(region.clone());
        if let Some(ac) = agentcore {
            let crate::snapshot::AgentCoreRegion { gateways, policy_engines, compute, memories } = ac;
            push(&mut out, Input::AgentCoreGateways, None, here.clone(), gateways);
            push(&mut out, Input::AgentCorePolicyEngines, None, here.clone(), policy_engines);
            push(&mut out, Input::AgentCoreCompute, None, here.clone(), compute);
            push(&mut out, Input::AgentCoreMemories, None, here.clone(), memories);
        }
        push(&mut out, Input::VpcEndpoints, None, here.clone(), vpc_endpoints);
        push(&mut out, Input::InvocationLogging, None, here.clone(), invocation_logging);
        if let Some(group) = invocation_log_group {
            push(&mut out, Input::InvocationLogGroup, None, here.clone(), group);
        }
        push(&mut out, Input::Guardrails, None, here.clone(), guardrails);
        push(&mut out, Input::EnforcedGuardrails, None, here.clone(), enforced_guardrails);
        push(&mut out, Input::CustomModels, None, here.clone(), custom_models);
        push(&mut out, Input::Jobs, None, here.clone(), jobs);
        push(&mut out, Input::Agents, None, here.clone(), agents);
        push(&mut out, Input::KnowledgeBases, None, here.clone(), knowledge_bases);
        push(&mut out, Input::Flows, None, here.clone(), flows);
        push(&mut out, Input::Prompts, None, here.clone(), prompts);
        push(&mut out, Input::ConfigRecorders, None, here, config_recorders);
    }
    for (key_ref, key) in kms_keys {
        if key.is_ok() {
            continue;
        }
        for (named_by, scope) in key_referrers(snap, key_ref) {
            push(&mut out, Input::KmsKeys, Some(named_by), scope, key);
        }
    }
    for (bucket, enc) in buckets {
        if enc.is_ok() {
            continue;
        }
        let mut named = false;
        for r in per_region {
            if let Ok(Some(cfg)) = &r.invocation_logging
                && cfg.s3_bucket.as_ref() == Some(bucket)
            {
                named = true;
                push(&mut out, Input::Buckets, Some(Input::InvocationLogging), Scope::Region(r.region.clone()), enc);
            }
        }
        if !named {
            push(&mut out, Input::Buckets, None, Scope::Account, enc);
        }
    }
    // Judged per bucket and key (BR.EVD.1), whichever collection named them.
    for access in evidence_buckets.values() {
        push(&mut out, Input::EvidenceBuckets, None, Scope::Account, access);
    }
    for policy in key_policies.values() {
        push(&mut out, Input::KeyPolicies, None, Scope::Account, policy);
    }
    // Judged per trail (BR.LOG.6 says which chain could not be read, and as whom).
    for chain in digest_chains {
        push(&mut out, Input::DigestChains, None, Scope::Account, &chain.verification);
    }
    out
}

fn trail_detail_gaps<'a>(out: &mut Vec<InputGap<'a>>, t: &'a Trail, named_by: Input) {
    let Trail {
        arn: _,
        name: _,
        home_region: _,
        is_multi_region: _,
        is_organization_trail: _,
        log_file_validation: _,
        kms_key_id: _,
        s3_bucket: _,
        s3_key_prefix: _,
        status,
        event_selectors,
    } = t;
    push(out, Input::TrailDetails, Some(named_by), Scope::Account, status);
    push(out, Input::TrailDetails, Some(named_by), Scope::Account, event_selectors);
}

/// Which collections named a key, and the scope each reference sits in. A key nobody
/// names (it should not happen) concerns every reader of keys, account-wide.
fn key_referrers(snap: &AccountSnapshot, key_ref: &str) -> Vec<(Input, Scope)> {
    let mut out: Vec<(Input, Scope)> = key_references(&snap.trails, &snap.per_region, &snap.buckets)
        .into_iter()
        .filter(|r| r.key == key_ref)
        .map(|r| match (r.user, r.region) {
            // A trail's verdicts are account-wide, wherever it lives.
            (KeyUser::Trail, _) | (_, None) => (named_by(r.user), Scope::Account),
            (user, Some(region)) => (named_by(user), Scope::Region(region)),
        })
        .collect();
    out.dedup();
    if out.is_empty() {
        out.push((Input::KmsKeys, Scope::Account));
    }
    out
}

/// The collection whose resource names a key.
fn named_by(user: KeyUser) -> Input {
    match user {
        KeyUser::Trail => Input::Trails,
        KeyUser::InvocationLogGroup => Input::InvocationLogGroup,
        KeyUser::CustomModel => Input::CustomModels,
        KeyUser::InvocationBucket => Input::Buckets,
    }
}

fn push<'a, T>(out: &mut Vec<InputGap<'a>>, input: Input, named_by: Option<Input>, scope: Scope, c: &'a Collected<T>) {
    if let Err(gap) = c {
        out.push(InputGap { input, named_by, scope, gap });
    }
}

/// The scopes in which each control could not see everything: the store retires none of
/// its findings there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Incomplete(BTreeMap<ControlId, Vec<Scope>>);

impl Incomplete {
    /// Whether a finding of `control` in `region` may rest on data that was not read.
    pub fn covers(&self, control: &ControlId, region: Option<&Region>) -> bool {
        self.0.get(control).is_some_and(|scopes| scopes.iter().any(|s| s.covers(region)))
    }

    /// Every control with a blind scope, and those scopes.
    pub fn iter(&self) -> impl Iterator<Item = (&ControlId, &[Scope])> {
        self.0.iter().map(|(c, s)| (c, s.as_slice()))
    }

    fn add(&mut self, control: &ControlId, scope: Scope) {
        let scopes = self.0.entry(control.clone()).or_default();
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
}

/// Applies the rules of this module to one control's verdicts. `account` is the account
/// judged (its id is the resource of summary verdicts); `approved` the configured approved
/// regions.
pub fn enforce(
    control: &ControlId,
    reads: &Reads,
    gaps: &[InputGap<'_>],
    approved: &[Region],
    account: &AccountId,
    verdicts: &mut Vec<Evaluation>,
    incomplete: &mut Incomplete,
) {
    let mut blind: Vec<(Scope, Vec<&Gap>)> = Vec::new();
    for g in gaps.iter().filter(|g| g.concerns(reads, approved)) {
        match blind.iter_mut().find(|(s, _)| *s == g.scope) {
            Some((_, list)) => {
                if !list.iter().any(|seen| std::ptr::eq(*seen, g.gap)) {
                    list.push(g.gap);
                }
            }
            None => blind.push((g.scope.clone(), vec![g.gap])),
        }
    }
    for (scope, gaps) in &blind {
        incomplete.add(control, scope.clone());
        let why = gaps.iter().map(|g| g.summary()).collect::<Vec<_>>().join(", ");
        for v in verdicts.iter_mut().filter(|v| scope.covers(v.region.as_ref())) {
            let summary = v.resource_id == account.as_str();
            let downgrade = match (v.status, reads.proof) {
                (Status::NotApplicable, _) => summary,
                (Status::Pass, Proof::Exhaustive) => summary,
                (Status::Fail, Proof::Witness) => summary,
                _ => false,
            };
            if downgrade {
                v.detail = format!("Could not look at everything ({why}); without it: {}", v.detail);
                v.status = Status::Error;
            }
        }
        let region = match scope {
            Scope::Account => None,
            Scope::Region(r) => Some(r.clone()),
        };
        // A summary that still stands here is a known failure (exhaustive) or a proven pass
        // (witness); an error beside it would be a second verdict with the same finding id.
        let summary_stands = verdicts.iter().any(|v| v.resource_id == account.as_str() && v.region == region);
        let error_said = verdicts.iter().any(|v| {
            v.status == Status::Error
                && match scope {
                    Scope::Account => true,
                    Scope::Region(r) => {
                        v.region.as_ref() == Some(r) || (v.region.is_none() && v.resource_id == account.as_str())
                    }
                }
        });
        if !summary_stands && !error_said {
            verdicts.push(Evaluation {
                control_id: control.clone(),
                account_id: account.clone(),
                region,
                resource_id: account.as_str().to_owned(),
                resource_kind: crate::domain::ResourceKind::Account,
                status: Status::Error,
                detail: format!("Could not look at everything this control reads: {why}."),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;
    use crate::evaluate::{AccountVerdicts, controls};
    use crate::snapshot::{CustomModel, InvocationLogging, LogGroup};

    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/k1";

    /// A member account where every collection has something in it: two regions, a trail,
    /// a custom model, invocation logging to a bucket and a log group, all with one key.
    fn rich_snapshot() -> AccountSnapshot {
        let mut snap = account_snapshot();
        snap.regions = Ok(vec![region("eu-west-1"), region("us-east-1")]);
        snap.per_region.push(empty_region("us-east-1"));
        let mut t = trail("main");
        t.kms_key_id = Some(KEY.into());
        snap.trails = Ok(vec![t]);
        for r in &mut snap.per_region {
            r.custom_models = Ok(vec![CustomModel {
                arn: format!("arn:aws:bedrock:{}:111122223333:custom-model/m", r.region),
                name: "m".into(),
                kms_key_arn: Some(KEY.into()),
                imported: false,
                base_model: Some("arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-text-express-v1".into()),
            }]);
            r.jobs = Ok(vec![crate::snapshot::BedrockJob {
                kind: crate::snapshot::JobKind::BatchInference,
                arn: format!("arn:aws:bedrock:{}:111122223333:model-invocation-job/j", r.region),
                name: "j".into(),
                status: "Completed".into(),
                created: now(),
                output_key: Some(KEY.into()),
                vpc_subnets: vec!["subnet-1".into()],
                model: Some("amazon.titan-text-express-v1".into()),
            }]);
            r.agents = Ok(vec![crate::snapshot::Agent {
                id: "a1".into(),
                arn: format!("arn:aws:bedrock:{}:111122223333:agent/a1", r.region),
                name: "a1".into(),
                status: "PREPARED".into(),
                guardrail: Some(("g1".into(), "1".into())),
                kms_key_arn: Some(KEY.into()),
                role_arn: format!("arn:aws:iam::111122223333:role/agent-{}", r.region),
                idle_session_ttl_seconds: 600,
                aliases: vec![],
                foundation_model: Some("amazon.titan-text-express-v1".into()),
                versions: vec![],
            }]);
            r.knowledge_bases = Ok(vec![crate::snapshot::KnowledgeBase {
                id: "kb1".into(),
                name: "docs".into(),
                data_sources: vec![crate::snapshot::DataSource {
                    id: "ds1".into(),
                    name: "wiki".into(),
                    kms_key_arn: Some(KEY.into()),
                }],
                kind: Some("VECTOR".into()),
                managed_store_key: None,
                vector_store: None,
                embedding_model: Some(
                    "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0".into(),
                ),
            }]);
            r.flows = Ok(vec![crate::snapshot::Flow {
                id: "f1".into(),
                arn: format!("arn:aws:bedrock:{}:111122223333:flow/f1", r.region),
                name: "triage".into(),
                kms_key_arn: Some(KEY.into()),
                aliases: vec![],
                definitions: vec![crate::snapshot::FlowDefinition {
                    version: "DRAFT".into(),
                    model_nodes: vec![crate::snapshot::FlowModelNode {
                        name: "ask".into(),
                        kind: crate::snapshot::FlowNodeKind::Prompt,
                        guardrail: Some(("g1".into(), "1".into())),
                        model: Some("amazon.titan-text-express-v1".into()),
                        prompt_arn: None,
                    }],
                }],
            }]);
            r.prompts = Ok(vec![crate::snapshot::ManagedPrompt {
                id: "p1".into(),
                arn: format!("arn:aws:bedrock:{}:111122223333:prompt/p1", r.region),
                name: "summarise".into(),
                kms_key_arn: Some(KEY.into()),
                models: vec!["amazon.titan-text-express-v1".into()],
            }]);
            r.vpc_endpoints = Ok(["bedrock-runtime", "bedrock-agent-runtime"]
                .iter()
                .map(|service| crate::snapshot::VpcEndpoint {
                    id: format!("vpce-{service}"),
                    vpc_id: "vpc-1".into(),
                    service_name: format!("com.amazonaws.{}.{service}", r.region),
                    endpoint_type: "Interface".into(),
                    state: "available".into(),
                    private_dns_enabled: true,
                    policy_document: None,
                })
                .collect());
            r.invocation_logging = Ok(Some(InvocationLogging {
                text_delivery: true,
                image_delivery: false,
                embedding_delivery: false,
                s3_bucket: Some("logs".into()),
                s3_key_prefix: None,
                log_group: Some("bedrock".into()),
                large_data_bucket: None,
                large_data_key_prefix: None,
            }));
            r.invocation_log_group = Some(Ok(LogGroup {
                name: "bedrock".into(),
                exists: true,
                kms_key_id: Some(KEY.into()),
                retention_days: Some(400),
            }));
        }
        snap.buckets.insert(
            "logs".into(),
            Ok(crate::snapshot::BucketEncryption {
                bucket: "logs".into(),
                algorithm: Some("aws:kms".into()),
                kms_key_id: Some(KEY.into()),
            }),
        );
        snap.kms_keys.insert(KEY.into(), Ok(cmk(KEY, Some(true))));
        let closed = crate::snapshot::BucketAccess {
            policy: None,
            public_access_block: crate::snapshot::PublicAccessBlock::default(),
            object_ownership: Some("BucketOwnerEnforced".into()),
        };
        for bucket in ["logs", "trail-bucket"] {
            snap.evidence_buckets.insert(bucket.into(), Ok(crate::snapshot::EvidenceBucket::Owned(closed.clone())));
        }
        snap.key_policies.insert(KEY.into(), Ok(own_account_key_policy()));
        let trail_arn = snap.trails.as_ref().map(|t| t[0].arn.clone()).unwrap_or_default();
        snap.digest_chains = vec![crate::snapshot::DigestChain {
            trail_arn,
            region: region("eu-west-1"),
            bucket: "trail-bucket".into(),
            digest_prefix: format!("AWSLogs/{MEMBER}/CloudTrail-Digest/eu-west-1/"),
            read_as: AccountId::parse(MEMBER).unwrap(),
            verification: Ok(crate::snapshot::ChainVerification {
                digests_verified: 24,
                verified_through: Some(now()),
                ..Default::default()
            }),
            recorded_breaks: vec![],
        }];
        snap
    }

    #[expect(clippy::result_large_err, reason = "the snapshot's own Collected type")]
    fn fail<T>(operation: &str) -> Collected<T> {
        Err(gap("svc", operation))
    }

    /// Breaks `input` in the snapshot (in eu-west-1 for regional inputs); the scope hidden.
    fn break_input(snap: &mut AccountSnapshot, input: Input) -> Option<Scope> {
        let eu = Scope::Region(region("eu-west-1"));
        let r = &mut snap.per_region[0];
        Some(match input {
            Input::Regions => {
                // What the collector does when DescribeRegions fails: no region is swept.
                snap.regions = fail("DescribeRegions");
                snap.per_region.clear();
                Scope::Account
            }
            Input::Iam => {
                snap.iam = fail("GetAccountAuthorizationDetails");
                Scope::Account
            }
            Input::Trails => {
                snap.trails = fail("DescribeTrails");
                Scope::Account
            }
            Input::TrailDetails => {
                if let Ok(t) = &mut snap.trails {
                    t[0].status = fail("GetTrailStatus");
                }
                Scope::Account
            }
            Input::VpcEndpoints => {
                r.vpc_endpoints = fail("DescribeVpcEndpoints");
                eu
            }
            Input::InvocationLogging => {
                r.invocation_logging = fail("GetModelInvocationLoggingConfiguration");
                r.invocation_log_group = None;
                eu
            }
            Input::InvocationLogGroup => {
                r.invocation_log_group = Some(fail("DescribeLogGroups"));
                eu
            }
            Input::Guardrails => {
                r.guardrails = fail("ListGuardrails");
                eu
            }
            Input::EnforcedGuardrails => {
                r.enforced_guardrails = fail("ListEnforcedGuardrailsConfiguration");
                eu
            }
            Input::CustomModels => {
                r.custom_models = fail("ListCustomModels");
                eu
            }
            Input::Jobs => {
                r.jobs = fail("ListModelInvocationJobs");
                eu
            }
            Input::Agents => {
                r.agents = fail("ListAgents");
                eu
            }
            Input::KnowledgeBases => {
                r.knowledge_bases = fail("ListKnowledgeBases");
                eu
            }
            Input::Flows => {
                r.flows = fail("ListFlows");
                eu
            }
            Input::Prompts => {
                r.prompts = fail("ListPrompts");
                eu
            }
            Input::AgentCoreGateways => {
                r.agentcore.as_mut()?.gateways = fail("ListGateways");
                eu
            }
            Input::AgentCorePolicyEngines => {
                r.agentcore.as_mut()?.policy_engines = fail("ListPolicyEngines");
                eu
            }
            Input::AgentCoreCompute => {
                r.agentcore.as_mut()?.compute = fail("ListAgentRuntimes");
                eu
            }
            Input::AgentCoreMemories => {
                r.agentcore.as_mut()?.memories = fail("ListMemories");
                eu
            }
            Input::ConfigRecorders => {
                r.config_recorders = fail("DescribeConfigurationRecorders");
                eu
            }
            Input::KmsKeys => {
                snap.kms_keys.insert(KEY.into(), fail("DescribeKey"));
                Scope::Account
            }
            Input::Buckets => {
                snap.buckets.insert("logs".into(), fail("GetBucketEncryption"));
                Scope::Account
            }
            Input::EvidenceBuckets => {
                snap.evidence_buckets.insert("logs".into(), fail("GetBucketPolicy"));
                Scope::Account
            }
            Input::KeyPolicies => {
                snap.key_policies.insert(KEY.into(), fail("GetKeyPolicy"));
                Scope::Account
            }
            Input::BedrockApiKeys => {
                snap.bedrock_api_keys = fail("ListServiceSpecificCredentials");
                Scope::Account
            }
            Input::DigestChains => {
                for chain in &mut snap.digest_chains {
                    chain.verification = fail("ListObjectsV2");
                }
                Scope::Account
            }
            Input::ManagementTrails | Input::ManagementKmsKeys => return None,
        })
    }

    fn evaluate(snap: &AccountSnapshot) -> AccountVerdicts {
        with_input(snap, crate::evaluate::account)
    }

    /// The rule for every control and every collection it reads: break the collection, and
    /// no summary in the hidden scope is `not_applicable`, an exhaustive control has no
    /// summary pass there, the scope has an error, and the store is told not to retire.
    /// Every input, in declaration order. A new variant does not compile until the match in
    /// `the_input_list_has_each_input_once` (and `break_input`) names it; listing it here is
    /// the reviewer's to check, the test below holds the list to one entry each.
    const ALL_INPUTS: &[Input] = &[
        Input::Regions,
        Input::Iam,
        Input::Trails,
        Input::TrailDetails,
        Input::VpcEndpoints,
        Input::InvocationLogging,
        Input::InvocationLogGroup,
        Input::Guardrails,
        Input::EnforcedGuardrails,
        Input::CustomModels,
        Input::Jobs,
        Input::Agents,
        Input::KnowledgeBases,
        Input::Flows,
        Input::Prompts,
        Input::AgentCoreGateways,
        Input::AgentCorePolicyEngines,
        Input::AgentCoreCompute,
        Input::AgentCoreMemories,
        Input::ConfigRecorders,
        Input::KmsKeys,
        Input::Buckets,
        Input::EvidenceBuckets,
        Input::KeyPolicies,
        Input::BedrockApiKeys,
        Input::ManagementTrails,
        Input::ManagementKmsKeys,
        Input::DigestChains,
    ];

    #[test]
    fn the_input_list_has_each_input_once() {
        for input in ALL_INPUTS {
            match input {
                Input::Regions
                | Input::Iam
                | Input::Trails
                | Input::TrailDetails
                | Input::VpcEndpoints
                | Input::InvocationLogging
                | Input::InvocationLogGroup
                | Input::Guardrails
                | Input::EnforcedGuardrails
                | Input::CustomModels
                | Input::Jobs
                | Input::Agents
                | Input::KnowledgeBases
                | Input::Flows
                | Input::Prompts
                | Input::AgentCoreGateways
                | Input::AgentCorePolicyEngines
                | Input::AgentCoreCompute
                | Input::AgentCoreMemories
                | Input::ConfigRecorders
                | Input::KmsKeys
                | Input::Buckets
                | Input::EvidenceBuckets
                | Input::KeyPolicies
                | Input::BedrockApiKeys
                | Input::ManagementTrails
                | Input::ManagementKmsKeys
                | Input::DigestChains => {}
            }
        }
        let mut sorted = ALL_INPUTS.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ALL_INPUTS.len(), "an input is listed twice");
    }

    #[test]
    fn every_declared_input_gap_yields_error_and_blocks_retirement() {
        let mut checked = 0;
        for input in ALL_INPUTS.iter().copied() {
            let mut snap = rich_snapshot();
            let Some(hidden) = break_input(&mut snap, input) else { continue };
            let out = evaluate(&snap);
            // Organization-judged controls do not read the member's snapshot.
            let account_judged = controls().filter(|c| matches!(c.judge, crate::evaluate::Judge::Account(_)));
            for control in account_judged.filter(|c| c.reads.reads(input)) {
                let id = control.id.id();
                let mine: Vec<&Evaluation> = out.evaluations.iter().filter(|e| e.control_id == id).collect();
                let in_scope = |e: &&&Evaluation| match &hidden {
                    Scope::Account => true,
                    Scope::Region(r) => e.region.as_ref() == Some(r) || e.region.is_none(),
                };
                for e in mine.iter().filter(in_scope).filter(|e| e.resource_id == MEMBER) {
                    assert_ne!(e.status, Status::NotApplicable, "{input:?} broken, {}: {}", control.id, e.detail);
                    if control.reads.proof == Proof::Exhaustive {
                        assert_ne!(e.status, Status::Pass, "{input:?} broken, {}: {}", control.id, e.detail);
                    }
                }
                // The scope says it could not look, unless a summary there stands on what was
                // seen: a known failure, or a witness's pass.
                let standing = |e: &&&Evaluation| {
                    e.resource_id == MEMBER
                        && match control.reads.proof {
                            Proof::Exhaustive => e.status == Status::Fail,
                            Proof::Witness => e.status == Status::Pass,
                        }
                };
                assert!(
                    mine.iter().filter(in_scope).any(|e| e.status == Status::Error || standing(&e)),
                    "{input:?} broken, {} says no error: {mine:?}",
                    control.id
                );
                let region = match &hidden {
                    Scope::Account => None,
                    Scope::Region(r) => Some(r),
                };
                assert!(out.incomplete.covers(&id, region), "{input:?} broken, {} may retire findings", control.id);
                checked += 1;
            }
        }
        assert!(checked >= 30, "only {checked} (input, control) pairs checked");
    }

    #[test]
    fn a_complete_snapshot_is_complete_and_unrelated_gaps_stay_out() {
        let snap = rich_snapshot();
        let out = evaluate(&snap);
        assert_eq!(out.incomplete, Incomplete::default(), "{:?}", out.incomplete);

        // The trail's key cannot be read: the trail's encryption is unknown, the
        // invocation-log destinations (same key, read through them) too; IAM is untouched.
        let mut snap = rich_snapshot();
        snap.kms_keys.insert(KEY.into(), Err(gap("kms", "DescribeKey")));
        let out = evaluate(&snap);
        let id = |s: &str| ControlId::parse(s).unwrap();
        assert!(out.incomplete.covers(&id("BR.LOG.3"), None));
        assert!(out.incomplete.covers(&id("BR.INV.2"), Some(&region("us-east-1"))));
        assert!(!out.incomplete.covers(&id("BR.IAM.1"), None));
        assert!(!out.incomplete.covers(&id("BR.LOG.2"), None));

        // A key only the trail names: the invocation-log controls do not care.
        let mut snap = rich_snapshot();
        let other = "arn:aws:kms:eu-west-1:111122223333:key/trail-only";
        if let Ok(t) = &mut snap.trails {
            t[0].kms_key_id = Some(other.into());
        }
        snap.kms_keys.insert(other.into(), Err(gap("kms", "DescribeKey")));
        let out = evaluate(&snap);
        assert!(out.incomplete.covers(&id("BR.LOG.3"), None));
        assert!(!out.incomplete.covers(&id("BR.INV.2"), Some(&region("eu-west-1"))));
        assert!(!out.incomplete.covers(&id("BR.ENC.2"), None));
    }

    #[test]
    fn a_region_gap_hides_that_region_and_the_account_summaries_only() {
        let mut snap = rich_snapshot();
        snap.per_region[0].custom_models = Err(gap("bedrock", "ListCustomModels"));
        let out = evaluate(&snap);
        let enc1 = ControlId::parse("BR.ENC.1").unwrap();
        assert!(out.incomplete.covers(&enc1, Some(&region("eu-west-1"))));
        assert!(out.incomplete.covers(&enc1, None));
        assert!(!out.incomplete.covers(&enc1, Some(&region("us-east-1"))));
        // The model that was seen is still judged.
        let seen: Vec<&Evaluation> = out
            .evaluations
            .iter()
            .filter(|e| e.control_id == enc1 && e.region.as_ref() == Some(&region("us-east-1")))
            .collect();
        assert_eq!(statuses(&seen.into_iter().cloned().collect::<Vec<_>>()), [Status::Pass]);
    }

    #[test]
    fn a_witness_proves_a_pass_despite_gaps_but_a_failure_needs_everything() {
        let log1 = ControlId::parse("BR.LOG.1").unwrap();
        let verdict = |snap: &AccountSnapshot| {
            evaluate(snap).evaluations.into_iter().find(|e| e.control_id == log1).map(|e| e.status)
        };
        // One good trail, one unreadable: the good one proves the control.
        let mut snap = rich_snapshot();
        let mut broken = trail("broken");
        broken.status = Err(gap("cloudtrail", "GetTrailStatus"));
        if let Ok(t) = &mut snap.trails {
            t.push(broken.clone());
        }
        assert_eq!(verdict(&snap), Some(Status::Pass));
        // One bad trail, one unreadable: the unreadable one might qualify.
        let mut bad = trail("single");
        bad.is_multi_region = false;
        snap.trails = Ok(vec![bad, broken]);
        assert_eq!(verdict(&snap), Some(Status::Error));
    }

    #[test]
    fn gaps_outside_the_approved_regions_do_not_concern_approved_region_controls() {
        let mut snap = rich_snapshot();
        snap.per_region[1].vpc_endpoints = Err(gap("ec2", "DescribeVpcEndpoints"));
        let out = with_params(&snap, approved(&["eu-west-1"]), crate::evaluate::account);
        let id = |s: &str| ControlId::parse(s).unwrap();
        let us = region("us-east-1");
        // BR.NET.1 judges approved regions only; BR.NET.2 judges every swept region.
        assert!(!out.incomplete.covers(&id("BR.NET.1"), Some(&us)));
        assert!(out.incomplete.covers(&id("BR.NET.2"), Some(&us)));
        assert!(out.evaluations.iter().all(|e| !(e.control_id == id("BR.NET.1") && e.region.as_ref() == Some(&us))));
    }
}
