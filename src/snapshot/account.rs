//! What one account holds that the controls look at.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Collected, DigestChain};
use crate::domain::FilterStrength;
use crate::domain::{AccountId, Region};

/// Everything collected in one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// The account.
    pub account_id: AccountId,
    /// The regions swept (the enabled regions offering Bedrock, or the configured list).
    pub regions: Collected<Vec<Region>>,
    /// IAM principals and their policies.
    pub iam: Collected<IamSnapshot>,
    /// Trails visible in the account, de-duplicated across regions.
    pub trails: Collected<Vec<Trail>>,
    /// Per-region data, one entry per swept region.
    pub per_region: Vec<RegionSnapshot>,
    /// KMS keys referenced by the resources above, by the reference that named them.
    pub kms_keys: BTreeMap<String, Collected<KmsKey>>,
    /// Default encryption of the S3 buckets invocation logging writes to, by bucket name.
    pub buckets: BTreeMap<String, Collected<BucketEncryption>>,
    /// Who may read the buckets the account's evidence is written to (invocation logs and
    /// trails, [`evidence_bucket_references`]), by bucket name.
    #[serde(default)]
    pub evidence_buckets: BTreeMap<String, Collected<EvidenceBucket>>,
    /// The key policies of the account's own keys that encrypt its evidence (trail and
    /// invocation-log keys), by key ARN.
    #[serde(default)]
    pub key_policies: BTreeMap<String, Collected<String>>,
    /// Long-term Amazon Bedrock API keys of its IAM users. Snapshots taken before they were
    /// collected say so as a gap.
    #[serde(default = "bedrock_api_keys_not_recorded")]
    pub bedrock_api_keys: Collected<Vec<BedrockApiKey>>,
    /// The digest chains of the trails that apply to the account and validate their log
    /// files, verified by `collect::trail_integrity` (one per trail and region).
    #[serde(default)]
    pub digest_chains: Vec<DigestChain>,
}

impl AccountSnapshot {
    /// The trails that apply to the account: the organization trails (their authoritative
    /// copy is the management account's, in `org`) and the account's own, once each. What
    /// could not be listed is left out; the callers say so.
    pub fn applicable_trails<'a>(&'a self, org: &'a super::OrgSnapshot) -> Vec<&'a Trail> {
        let mut trails: Vec<&Trail> = Vec::new();
        if let Ok(org_trails) = &org.management_trails {
            trails.extend(org_trails.iter().filter(|t| t.is_organization_trail));
        }
        if let Ok(own) = &self.trails {
            for t in own {
                if !trails.iter().any(|seen| seen.arn == t.arn) {
                    trails.push(t);
                }
            }
        }
        trails
    }
}

/// A long-term Amazon Bedrock API key: an IAM service-specific credential for
/// `bedrock.amazonaws.com`, a static bearer token of one IAM user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BedrockApiKey {
    /// The credential id.
    pub id: String,
    /// The IAM user it belongs to.
    pub user: String,
    /// `Active`, `Inactive` or `Expired`.
    pub status: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it expires; `None`: never.
    pub expires: Option<DateTime<Utc>>,
}

#[expect(clippy::result_large_err, reason = "the snapshot's own Collected type")]
fn bedrock_api_keys_not_recorded() -> Collected<Vec<BedrockApiKey>> {
    Err(not_recorded("iam", "ListServiceSpecificCredentials", "long-term Bedrock API keys"))
}

/// The gap a snapshot taken before a collection existed carries in its place.
fn not_recorded(service: &str, operation: &str, what: &str) -> super::Gap {
    super::Gap {
        service: service.into(),
        operation: operation.into(),
        region: None,
        kind: crate::aws::errors::FailureKind::Service,
        code: "NotRecorded".into(),
        message: format!("this snapshot was taken before {what} were collected"),
    }
}

/// Data of one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionSnapshot {
    /// The region.
    pub region: Region,
    /// Every VPC endpoint in the region.
    pub vpc_endpoints: Collected<Vec<VpcEndpoint>>,
    /// The model-invocation logging configuration; `None` when logging is not configured.
    pub invocation_logging: Collected<Option<InvocationLogging>>,
    /// The log group invocation logging writes to; `None` when it writes to no log group.
    pub invocation_log_group: Option<Collected<LogGroup>>,
    /// Guardrails with their policies.
    pub guardrails: Collected<Vec<Guardrail>>,
    /// The guardrails the account enforces on all its own model calls in the region
    /// (account-level enforcement, `ListEnforcedGuardrailsConfiguration`). Snapshots taken
    /// before it was collected say so as a gap.
    #[serde(default = "enforced_guardrails_not_recorded")]
    pub enforced_guardrails: Collected<Vec<AccountEnforcedGuardrail>>,
    /// Custom (fine-tuned or imported) models.
    pub custom_models: Collected<Vec<CustomModel>>,
    /// Model customization and batch inference jobs created within `sweep.job_window_days`.
    /// Snapshots taken before they were collected say so as a gap.
    #[serde(default = "jobs_not_recorded")]
    pub jobs: Collected<Vec<BedrockJob>>,
    /// Agents for Amazon Bedrock. Snapshots taken before they were collected say so as a gap.
    #[serde(default = "agents_not_recorded")]
    pub agents: Collected<Vec<Agent>>,
    /// Knowledge bases with their data sources. Snapshots taken before they were collected
    /// say so as a gap.
    #[serde(default = "knowledge_bases_not_recorded")]
    pub knowledge_bases: Collected<Vec<KnowledgeBase>>,
    /// Prompt flows with the definitions they run. Snapshots taken before they were
    /// collected say so as a gap.
    #[serde(default = "flows_not_recorded")]
    pub flows: Collected<Vec<Flow>>,
    /// Managed prompts (Prompt management). Snapshots taken before they were collected say so
    /// as a gap.
    #[serde(default = "prompts_not_recorded")]
    pub prompts: Collected<Vec<ManagedPrompt>>,
    /// Amazon Bedrock AgentCore; `None` where the region does not offer it
    /// (`findings/regions.toml`). Snapshots taken before it was collected say so as gaps.
    #[serde(default = "agentcore_not_recorded")]
    pub agentcore: Option<super::AgentCoreRegion>,
    /// AWS Config recorders with their status.
    pub config_recorders: Collected<Vec<ConfigRecorder>>,
}

/// A VPC endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcEndpoint {
    /// `vpce-...`.
    pub id: String,
    /// The VPC.
    pub vpc_id: String,
    /// `com.amazonaws.<region>.bedrock-runtime` and the like.
    pub service_name: String,
    /// `Interface`, `Gateway`, ...
    pub endpoint_type: String,
    /// `available`, `pending`, ...
    pub state: String,
    /// Whether private DNS is on.
    pub private_dns_enabled: bool,
    /// The endpoint policy; `None` means the default full-access policy.
    pub policy_document: Option<String>,
}

impl VpcEndpoint {
    /// The service part of the endpoint's service name: what follows `amazonaws.<region>.`
    /// (`bedrock-runtime`, `bedrock-agentcore.gateway`), in every partition's naming
    /// (`com.amazonaws.…`, `cn.com.amazonaws.…`).
    pub fn service(&self) -> Option<&str> {
        let (_, after) = self.service_name.split_once("amazonaws.")?;
        let (_region, service) = after.split_once('.')?;
        Some(service)
    }

    /// True for endpoints of any Bedrock service (bedrock, bedrock-runtime, bedrock-agent,
    /// bedrock-agent-runtime, bedrock-mantle, bedrock-agentcore and its gateway endpoint, ...).
    pub fn is_bedrock(&self) -> bool {
        self.service().is_some_and(|s| s.starts_with("bedrock"))
    }

    /// False for endpoints on their way out (AWS keeps listing deleted endpoints for a while).
    pub fn is_live(&self) -> bool {
        !matches!(self.state.as_str(), "deleted" | "deleting" | "rejected" | "failed" | "expired")
    }
}

/// A CloudTrail trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trail {
    /// The trail ARN (the identity across regions).
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Where it lives; trail-level calls must go there.
    pub home_region: String,
    /// Whether it records all regions.
    pub is_multi_region: bool,
    /// Whether it is an organization trail.
    pub is_organization_trail: bool,
    /// Log file integrity validation.
    pub log_file_validation: bool,
    /// The KMS key encrypting the log files, if any.
    pub kms_key_id: Option<String>,
    /// Delivery bucket.
    pub s3_bucket: Option<String>,
    /// The key prefix of the log files in that bucket.
    #[serde(default)]
    pub s3_key_prefix: Option<String>,
    /// Logging status and delivery health.
    pub status: Collected<TrailStatus>,
    /// What the trail records.
    pub event_selectors: Collected<EventSelectors>,
}

/// `GetTrailStatus`, reduced to what the controls use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailStatus {
    /// Whether the trail is logging.
    pub is_logging: bool,
    /// The last delivery error, if any.
    pub latest_delivery_error: Option<String>,
    /// The last log delivery.
    pub latest_delivery_time: Option<DateTime<Utc>>,
    /// The last digest delivery error, if any.
    pub latest_digest_delivery_error: Option<String>,
    /// The last digest delivery.
    pub latest_digest_delivery_time: Option<DateTime<Utc>>,
}

/// `GetEventSelectors`: classic or advanced selectors.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EventSelectors {
    /// Classic selectors.
    pub classic: Vec<ClassicSelector>,
    /// Advanced selectors.
    pub advanced: Vec<AdvancedSelector>,
}

/// A classic event selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicSelector {
    /// `ReadOnly`, `WriteOnly` or `All`.
    pub read_write_type: String,
    /// Whether management events are included.
    pub include_management_events: bool,
    /// Data resource types selected.
    pub data_resource_types: Vec<String>,
}

/// An advanced event selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvancedSelector {
    /// Its name.
    pub name: Option<String>,
    /// Its field selectors (all must match).
    pub fields: Vec<FieldSelector>,
}

/// One field condition of an advanced selector.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FieldSelector {
    /// `eventCategory`, `resources.type`, `readOnly`, ...
    pub field: String,
    /// Equals values.
    pub equals: Vec<String>,
    /// NotEquals values.
    pub not_equals: Vec<String>,
    /// StartsWith values.
    pub starts_with: Vec<String>,
    /// NotStartsWith values.
    pub not_starts_with: Vec<String>,
    /// EndsWith values.
    pub ends_with: Vec<String>,
    /// NotEndsWith values.
    pub not_ends_with: Vec<String>,
}

/// The model-invocation logging configuration of a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvocationLogging {
    /// Text prompts and completions are delivered.
    pub text_delivery: bool,
    /// Images are delivered.
    pub image_delivery: bool,
    /// Embeddings are delivered.
    pub embedding_delivery: bool,
    /// The S3 destination bucket.
    pub s3_bucket: Option<String>,
    /// The key prefix of the logs in that bucket.
    #[serde(default)]
    pub s3_key_prefix: Option<String>,
    /// The CloudWatch Logs destination group.
    pub log_group: Option<String>,
    /// Bucket for payloads too large for the log group.
    pub large_data_bucket: Option<String>,
    /// The key prefix of those payloads.
    #[serde(default)]
    pub large_data_key_prefix: Option<String>,
}

/// One S3 bucket the account's evidence is written to, as the account sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EvidenceBucket {
    /// The account owns it: its access settings.
    Owned(BucketAccess),
    /// The account's bucket list does not hold it: another account owns it (a central log
    /// archive), and that account's sweep judges it.
    OwnedElsewhere,
}

/// Who may read a bucket: its policy and its Block Public Access settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketAccess {
    /// The bucket policy (JSON); `None` when the bucket has none.
    pub policy: Option<String>,
    /// The bucket's Block Public Access settings (all off when none are configured).
    pub public_access_block: PublicAccessBlock,
    /// Its Object Ownership setting (`BucketOwnerEnforced` disables ACLs); `None` when none
    /// is configured, which leaves ACLs in force.
    pub object_ownership: Option<String>,
}

/// A bucket's Block Public Access settings (`GetPublicAccessBlock`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    /// New public ACLs are rejected.
    pub block_public_acls: bool,
    /// Public ACLs are ignored.
    pub ignore_public_acls: bool,
    /// New public bucket policies are rejected.
    pub block_public_policy: bool,
    /// A public policy admits only AWS services and the bucket owner's own principals.
    pub restrict_public_buckets: bool,
}

/// What an evidence bucket holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceUse {
    /// Model-invocation logs.
    InvocationLogs,
    /// Invocation payloads too large for the log group.
    InvocationLargeData,
    /// A trail's log files; an organization trail's hold every member account's.
    Trail {
        /// Whether the trail is an organization trail.
        organization: bool,
    },
}

/// One place the account's evidence is written: a bucket, the key prefix, what it holds, and
/// the region of the resource that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceBucketReference {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, if any.
    pub prefix: Option<String>,
    /// What is written there.
    pub holds: EvidenceUse,
    /// The region of the resource naming the bucket.
    pub region: Option<Region>,
}

/// Every bucket the account's evidence is written to, in collection order: its regions'
/// invocation-logging destinations and its trails' buckets (organization trails included:
/// the account that owns their bucket judges it).
pub fn evidence_bucket_references(
    trails: &Collected<Vec<Trail>>,
    per_region: &[RegionSnapshot],
) -> Vec<EvidenceBucketReference> {
    let mut out = Vec::new();
    for r in per_region {
        if let Ok(Some(logging)) = &r.invocation_logging {
            let destinations = [
                (&logging.s3_bucket, &logging.s3_key_prefix, EvidenceUse::InvocationLogs),
                (&logging.large_data_bucket, &logging.large_data_key_prefix, EvidenceUse::InvocationLargeData),
            ];
            for (bucket, prefix, holds) in destinations {
                if let Some(bucket) = bucket {
                    out.push(EvidenceBucketReference {
                        bucket: bucket.clone(),
                        prefix: prefix.clone(),
                        holds,
                        region: Some(r.region.clone()),
                    });
                }
            }
        }
    }
    if let Ok(trails) = trails {
        for t in trails {
            if let Some(bucket) = &t.s3_bucket {
                out.push(EvidenceBucketReference {
                    bucket: bucket.clone(),
                    prefix: t.s3_key_prefix.clone(),
                    holds: EvidenceUse::Trail { organization: t.is_organization_trail },
                    region: Region::parse(&t.home_region).ok(),
                });
            }
        }
    }
    out
}

/// Default encryption of an S3 bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketEncryption {
    /// The bucket.
    pub bucket: String,
    /// `AES256`, `aws:kms`, `aws:kms:dsse`; `None` when no default encryption rule exists.
    pub algorithm: Option<String>,
    /// The KMS key named by the rule, if any.
    pub kms_key_id: Option<String>,
}

/// A CloudWatch Logs log group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogGroup {
    /// Its name.
    pub name: String,
    /// Whether it exists.
    pub exists: bool,
    /// The KMS key encrypting it, if any.
    pub kms_key_id: Option<String>,
    /// Retention in days; `None` means never expire.
    pub retention_days: Option<i32>,
}

/// A guardrail, with the parts of its policy the controls look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardrail {
    /// Its id.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `READY`, `FAILED`, ...
    pub status: String,
    /// Number of PII entity types configured.
    pub pii_entities: usize,
    /// Number of sensitive-information regexes configured.
    pub regexes: usize,
    /// Input strength of the PROMPT_ATTACK content filter, if configured.
    pub prompt_attack_strength: Option<FilterStrength>,
    /// Every content filter (HATE, INSULTS, SEXUAL, VIOLENCE, MISCONDUCT, PROMPT_ATTACK).
    #[serde(default)]
    pub content_filters: Vec<ContentFilter>,
    /// The contextual-grounding filter types configured (GROUNDING, RELEVANCE).
    #[serde(default)]
    pub contextual_grounding: Vec<String>,
    /// The customer-managed key encrypting it; `None`: an AWS-owned key.
    #[serde(default)]
    pub kms_key_arn: Option<String>,
    /// Its numbered (published) versions; empty when only the working draft exists.
    #[serde(default)]
    pub numbered_versions: Vec<String>,
}

/// One content filter of a guardrail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentFilter {
    /// `HATE`, `INSULTS`, `SEXUAL`, `VIOLENCE`, `MISCONDUCT` or `PROMPT_ATTACK`.
    pub category: String,
    /// Strength on prompts.
    pub input: Option<FilterStrength>,
    /// Strength on responses.
    pub output: Option<FilterStrength>,
}

/// A guardrail the account enforces on its own model calls in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEnforcedGuardrail {
    /// The configuration's id.
    pub config_id: String,
    /// The guardrail's ARN.
    pub guardrail_arn: String,
    /// The enforced version.
    pub guardrail_version: String,
    /// Models it is enforced on (empty or `ALL`: every model).
    pub included_models: Vec<String>,
    /// Models it is not enforced on.
    pub excluded_models: Vec<String>,
}

#[expect(clippy::result_large_err, reason = "the snapshot's own Collected type")]
fn enforced_guardrails_not_recorded() -> Collected<Vec<AccountEnforcedGuardrail>> {
    Err(not_recorded("bedrock", "ListEnforcedGuardrailsConfiguration", "account-level enforced guardrails"))
}

/// A custom model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomModel {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The KMS key it is encrypted with; `None` means an AWS-owned key.
    pub kms_key_arn: Option<String>,
    /// Imported (Custom Model Import) rather than customized in Bedrock.
    #[serde(default)]
    pub imported: bool,
    /// The foundation model it was customized from (ARN); `None` for imported models.
    #[serde(default)]
    pub base_model: Option<String>,
}

impl CustomModel {
    /// "Custom model" or "Imported model", for details.
    pub fn kind_words(&self) -> &'static str {
        if self.imported { "Imported model" } else { "Custom model" }
    }
}

/// An agent for Amazon Bedrock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Its id.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `PREPARED`, `NOT_PREPARED`, ...
    pub status: String,
    /// The guardrail (identifier, version) associated with it, if any.
    pub guardrail: Option<(String, String)>,
    /// The customer-managed key encrypting it; `None`: an AWS-owned key.
    pub kms_key_arn: Option<String>,
    /// The service role it acts with.
    pub role_arn: String,
    /// How long an idle session is kept, in seconds.
    pub idle_session_ttl_seconds: i32,
    /// Its aliases and the versions each serves.
    pub aliases: Vec<AgentAlias>,
    /// The model (id, ARN or inference profile) it orchestrates with.
    #[serde(default)]
    pub foundation_model: Option<String>,
    /// The numbered versions its aliases serve, each as it was published.
    #[serde(default)]
    pub versions: Vec<AgentVersion>,
}

/// A published version of an agent that an alias serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentVersion {
    /// The version number.
    pub version: String,
    /// The guardrail (identifier, version) it runs with, if any.
    pub guardrail: Option<(String, String)>,
    /// The model it orchestrates with.
    pub foundation_model: Option<String>,
}

/// An alias of an agent or a flow: what callers invoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentAlias {
    /// Its id (`TSTALIASID` is the test alias every agent has, serving the draft).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The versions it routes to.
    pub versions: Vec<String>,
}

impl AgentAlias {
    /// The id of the alias every agent and flow has for testing, always on the working draft.
    pub const TEST_ID: &'static str = "TSTALIASID";

    /// Whether this is that test alias (its serving the draft is by design).
    pub fn is_test(&self) -> bool {
        self.id == Self::TEST_ID
    }

    /// Whether it serves the working draft.
    pub fn serves_draft(&self) -> bool {
        self.versions.iter().any(|v| v == "DRAFT")
    }
}

#[expect(clippy::result_large_err, reason = "the snapshot's own Collected type")]
fn agents_not_recorded() -> Collected<Vec<Agent>> {
    Err(not_recorded("bedrock", "ListAgents", "agents"))
}

/// A knowledge base for Amazon Bedrock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeBase {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Where its documents come from.
    pub data_sources: Vec<DataSource>,
    /// `VECTOR`, `MANAGED`, `KENDRA` or `SQL`; `None` in snapshots taken before it was read.
    #[serde(default)]
    pub kind: Option<String>,
    /// For a knowledge base whose vector store Bedrock manages (`MANAGED`): the
    /// customer-managed key of that store; `None`: an AWS-owned key (or another kind).
    #[serde(default)]
    pub managed_store_key: Option<String>,
    /// Where its vectors are kept, for the kinds whose store the account brings.
    #[serde(default)]
    pub vector_store: Option<VectorStore>,
    /// The embedding model (its ARN) that turns documents and queries into vectors.
    #[serde(default)]
    pub embedding_model: Option<String>,
}

/// The vector store of a knowledge base, as Bedrock reports it. Bedrock does not report the
/// store's own encryption: that is the store's setting (an OpenSearch Serverless encryption
/// policy, an Aurora cluster's key, a vector bucket's key), read where the store lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorStore {
    /// `OPENSEARCH_SERVERLESS`, `OPENSEARCH_MANAGED_CLUSTER`, `S3_VECTORS`, `RDS`,
    /// `NEPTUNE_ANALYTICS`, `PINECONE`, `REDIS_ENTERPRISE_CLOUD`, `MONGO_DB_ATLAS`.
    pub kind: String,
    /// The collection, domain, index, cluster or graph ARN, or the endpoint of a store
    /// outside AWS.
    pub location: Option<String>,
}

impl VectorStore {
    /// Stores run by another company outside AWS: the organization's documents, embedded,
    /// leave AWS for them.
    pub fn is_outside_aws(&self) -> bool {
        matches!(self.kind.as_str(), "PINECONE" | "REDIS_ENTERPRISE_CLOUD" | "MONGO_DB_ATLAS")
    }
}

/// A prompt flow: nodes that prompt models, query knowledge bases and call agents, run as
/// one workflow through its aliases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// Its id.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The customer-managed key encrypting it; `None`: an AWS-owned key.
    pub kms_key_arn: Option<String>,
    /// Its aliases (what callers invoke) and the versions each serves.
    pub aliases: Vec<AgentAlias>,
    /// The working draft's definition first, then each numbered version an alias serves.
    pub definitions: Vec<FlowDefinition>,
}

/// One version of a flow's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowDefinition {
    /// `DRAFT` or the version number.
    pub version: String,
    /// Its nodes that call a model: prompt and knowledge-base nodes, those inside loops
    /// included.
    pub model_nodes: Vec<FlowModelNode>,
}

/// What a flow node that reaches a model is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowNodeKind {
    /// A prompt node: sends a prompt to a model.
    Prompt,
    /// A knowledge-base node: retrieves, and generates an answer when it names a model.
    KnowledgeBase,
}

/// A prompt or knowledge-base node of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowModelNode {
    /// The node's name.
    pub name: String,
    /// Prompt or knowledge base.
    pub kind: FlowNodeKind,
    /// The guardrail (identifier, version) applied to it, if any.
    pub guardrail: Option<(String, String)>,
    /// The model it calls: an inline prompt's or a generating knowledge-base node's model.
    pub model: Option<String>,
    /// The managed prompt it runs (a prompt node whose prompt lives in Prompt management).
    pub prompt_arn: Option<String>,
}

impl FlowModelNode {
    /// Whether a model answers here: every prompt node, and a knowledge-base node that
    /// generates (names a model); a retrieve-only node returns documents unanswered.
    pub fn generates(&self) -> bool {
        self.kind == FlowNodeKind::Prompt || self.model.is_some()
    }
}

#[expect(clippy::result_large_err, reason = "the snapshot's own Collected type")]
fn flows_not_recorded() -> Collected<Vec<Flow>> {
    Err(not_recorded("bedrock", "ListFlows", "prompt flows"))
}

/// A prompt of Prompt management.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPrompt {
    /// Its id.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The customer-managed key encrypting it; `None`: an AWS-owned key.
    pub kms_key_arn: Option<String>,
    /// The models its variants run on.
    pub models: Vec<String>,
}

fn agentcore_not_recorded() -> Option<super::AgentCoreRegion> {
    #[expect(clippy::result_large_err, reason = "the snapshot's own Collected type")]
    fn gap<T>(operation: &str) -> Collected<T> {
        Err(not_recorded("bedrock-agentcore", operation, "AgentCore resources"))
    }
    Some(super::AgentCoreRegion {
        gateways: gap("ListGateways"),
        policy_engines: gap("ListPolicyEngines"),
        compute: gap("ListAgentRuntimes"),
        memories: gap("ListMemories"),
    })
}

#[expect(clippy::result_large_err, reason = "the snapshot's own Collected type")]
fn prompts_not_recorded() -> Collected<Vec<ManagedPrompt>> {
    Err(not_recorded("bedrock", "ListPrompts", "managed prompts"))
}

/// One data source of a knowledge base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The customer-managed key for its transient ingestion data; `None`: an AWS-owned key.
    pub kms_key_arn: Option<String>,
}

#[expect(clippy::result_large_err, reason = "the snapshot's own Collected type")]
fn knowledge_bases_not_recorded() -> Collected<Vec<KnowledgeBase>> {
    Err(not_recorded("bedrock", "ListKnowledgeBases", "knowledge bases"))
}

/// What a Bedrock job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    /// Model customization (fine-tuning, continued pre-training, distillation).
    Customization,
    /// Batch inference (a model invocation job).
    BatchInference,
}

/// A model customization or batch inference job, reduced to what the controls judge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BedrockJob {
    /// What it does.
    pub kind: JobKind,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its status as Bedrock reports it.
    pub status: String,
    /// When it was created (submitted).
    pub created: DateTime<Utc>,
    /// The KMS key its output is encrypted with: the custom model's key for a customization
    /// job, the S3 output key for batch inference. `None`: an AWS-owned or default key.
    pub output_key: Option<String>,
    /// Subnets of its VPC configuration; empty when it runs outside the account's VPC.
    pub vpc_subnets: Vec<String>,
    /// The model it customizes or runs (id or ARN).
    #[serde(default)]
    pub model: Option<String>,
}

#[expect(clippy::result_large_err, reason = "the snapshot's own Collected type")]
fn jobs_not_recorded() -> Collected<Vec<BedrockJob>> {
    Err(not_recorded("bedrock", "ListModelInvocationJobs", "Bedrock jobs"))
}

/// An AWS Config configuration recorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRecorder {
    /// Its name.
    pub name: String,
    /// Whether it is recording now.
    pub recording: bool,
    /// The last status (`SUCCESS`, `FAILURE`, `PENDING`), if known.
    pub last_status: Option<String>,
}

/// A KMS key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsKey {
    /// Its ARN.
    pub arn: String,
    /// `CUSTOMER` or `AWS`.
    pub manager: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, ...
    pub key_spec: String,
    /// Automatic rotation; `None` when it does not apply or could not be read.
    pub rotation_enabled: Option<bool>,
}

impl KmsKey {
    /// A customer-managed key.
    pub fn is_customer_managed(&self) -> bool {
        self.manager == "CUSTOMER"
    }
}

/// IAM principals with their policies.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IamSnapshot {
    /// Roles, users and groups.
    pub principals: Vec<IamPrincipal>,
    /// Managed policies by ARN, with their default version's document.
    pub managed_policies: BTreeMap<String, PolicyDocument>,
}

/// An IAM role, user or group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamPrincipal {
    /// `role`, `user` or `group`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Its path (`/aws-service-role/` marks service-linked roles).
    pub path: String,
    /// Inline policies.
    pub inline_policies: Vec<PolicyDocument>,
    /// Attached managed policies.
    pub attached: Vec<AttachedPolicy>,
}

/// A named policy document (decoded JSON text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    /// The policy name.
    pub name: String,
    /// The JSON document.
    pub document: String,
}

/// A managed policy attached to a principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedPolicy {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
}

/// What names a KMS key that the sweep describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUser {
    /// A trail's log encryption.
    Trail,
    /// The invocation-logging log group.
    InvocationLogGroup,
    /// A custom model.
    CustomModel,
    /// The default encryption of the invocation-logging bucket.
    InvocationBucket,
}

/// One reference to a KMS key from a collected resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReference {
    /// The key as the resource names it (ARN, key id or alias).
    pub key: String,
    /// What names it.
    pub user: KeyUser,
    /// The region of the naming resource (a trail's home region).
    pub region: Option<Region>,
}

/// Every KMS key reference of the collected resources, in collection order: the keys the
/// sweep describes, and who depends on each.
pub fn key_references(
    trails: &Collected<Vec<Trail>>,
    per_region: &[RegionSnapshot],
    buckets: &BTreeMap<String, Collected<BucketEncryption>>,
) -> Vec<KeyReference> {
    let mut refs = Vec::new();
    let mut add = |key: &Option<String>, user, region: Option<Region>| {
        if let Some(key) = key {
            refs.push(KeyReference { key: key.clone(), user, region });
        }
    };
    if let Ok(trails) = trails {
        for t in trails {
            add(&t.kms_key_id, KeyUser::Trail, Region::parse(&t.home_region).ok());
        }
    }
    for r in per_region {
        // Every field named (no `..`): a new collection does not compile until it is said
        // whether it refers to keys.
        let RegionSnapshot {
            region,
            invocation_log_group,
            custom_models,
            invocation_logging,
            vpc_endpoints: _,
            guardrails: _,
            enforced_guardrails: _,
            config_recorders: _,
            // A job's output key is judged by BR.JOB.1 from the job itself, an agent's
            // key by BR.AGT.1 from the agent.
            jobs: _,
            agents: _,
            knowledge_bases: _,
            // Flows' and prompts' keys are judged by BR.FLW.1 and BR.PRM.1 from the resource,
            // AgentCore's by BR.AGC.5.
            flows: _,
            prompts: _,
            agentcore: _,
        } = r;
        if let Some(Ok(group)) = invocation_log_group {
            add(&group.kms_key_id, KeyUser::InvocationLogGroup, Some(region.clone()));
        }
        if let Ok(models) = custom_models {
            for m in models {
                add(&m.kms_key_arn, KeyUser::CustomModel, Some(region.clone()));
            }
        }
        if let Ok(Some(logging)) = invocation_logging
            && let Some(Ok(enc)) = logging.s3_bucket.as_ref().and_then(|b| buckets.get(b))
        {
            add(&enc.kms_key_id, KeyUser::InvocationBucket, Some(region.clone()));
        }
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::VpcEndpoint;

    fn endpoint(service_name: &str) -> VpcEndpoint {
        VpcEndpoint {
            id: "vpce-1".into(),
            vpc_id: "vpc-1".into(),
            service_name: service_name.into(),
            endpoint_type: "Interface".into(),
            state: "available".into(),
            private_dns_enabled: true,
            policy_document: None,
        }
    }

    #[test]
    fn every_bedrock_service_is_recognised_by_its_service_part() {
        for (name, service) in [
            ("com.amazonaws.us-east-1.bedrock-runtime", "bedrock-runtime"),
            ("com.amazonaws.us-east-1.bedrock-agentcore.gateway", "bedrock-agentcore.gateway"),
            ("com.amazonaws.eu-west-1.bedrock-mantle", "bedrock-mantle"),
            ("cn.com.amazonaws.cn-north-1.bedrock", "bedrock"),
        ] {
            let e = endpoint(name);
            assert_eq!(e.service(), Some(service), "{name}");
            assert!(e.is_bedrock(), "{name}");
        }
        for other in ["com.amazonaws.us-east-1.s3", "com.amazonaws.vpce.us-east-1.vpce-svc-0bedrock", "bedrock"] {
            assert!(!endpoint(other).is_bedrock(), "{other}");
        }
    }
}
