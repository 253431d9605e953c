//! Collection: turns AWS answers into the plain snapshot structs of `snapshot/`, one file
//! per service. This module owns the fan-out within an account (regions, bounded by
//! `sweep.region_concurrency`); the fan-out over accounts is the sweep's.
//!
//! Every failed call becomes a [`Gap`] in place of the data, never an empty list. "Not
//! found" answers that mean "nothing configured" (no invocation logging, no bucket
//! encryption rule) are data, not gaps.

pub mod agentcore;
pub mod bedrock;
pub mod bedrock_agent;
pub mod cloudtrail;
pub mod config_service;
pub mod iam;
pub mod kms;
pub mod logs;
pub mod regions;
pub mod s3;
pub mod trail_integrity;
pub mod vpc_endpoints;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::StreamExt;
use tracing::instrument;

use crate::aws::AccountClients;
use crate::aws::errors::classify;
use crate::config::SweepSettings;
use crate::domain::{AccountId, Region};
use crate::snapshot::{AccountSnapshot, AgentCoreRegion, Gap, RegionSnapshot};

/// Every IAM action the member role must allow, by collector: their union is the member
/// role's policy. A unit test holds it against `deploy/member-role-policy.json` exactly, and
/// each collector's `ACTIONS` against the operations its source names in its gaps; the
/// README's permission list is generated from it (`bedrock-sweeper controls --markdown`).
pub const MEMBER_ROLE_ACTIONS: &[(&str, &[&str])] = &[
    ("agentcore", agentcore::ACTIONS),
    ("bedrock", bedrock::ACTIONS),
    ("bedrock_agent", bedrock_agent::ACTIONS),
    ("cloudtrail", cloudtrail::ACTIONS),
    ("config_service", config_service::ACTIONS),
    ("iam", iam::ACTIONS),
    ("kms", kms::ACTIONS),
    ("logs", logs::ACTIONS),
    ("regions", regions::ACTIONS),
    ("s3", s3::ACTIONS),
    ("trail_integrity", trail_integrity::ACTIONS),
    ("vpc_endpoints", vpc_endpoints::ACTIONS),
];

/// API operations (`service:Operation`) that IAM authorizes under an action of another name.
pub const AUTHORIZED_AS: &[(&str, &str)] = &[
    ("s3:GetBucketEncryption", "s3:GetEncryptionConfiguration"),
    ("s3:ListBuckets", "s3:ListAllMyBuckets"),
    ("s3:GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    ("s3:ListObjectsV2", "s3:ListBucket"),
    ("s3:HeadObject", "s3:GetObject"),
];

/// The IAM action that authorizes `service:Operation`.
pub fn iam_action(operation: &str) -> String {
    AUTHORIZED_AS.iter().find(|(api, _)| *api == operation).map_or(operation, |(_, action)| action).to_owned()
}

/// Converts an SDK timestamp; `None` when chrono cannot hold it.
pub(crate) fn to_utc(t: &aws_smithy_types::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// A timestamp a verdict depends on (a key's creation, a job's submission): one that cannot
/// be converted makes the answer a gap, never a made-up date.
#[expect(clippy::result_large_err, reason = "the snapshot's own Collected error")]
pub(crate) fn required_time(
    t: &aws_smithy_types::DateTime,
    (service, operation): (&str, &str),
    region: Option<&Region>,
) -> Result<chrono::DateTime<chrono::Utc>, Gap> {
    to_utc(t).ok_or_else(|| {
        let message = format!("{operation} answered a timestamp out of range ({} s)", t.secs());
        Gap::bad_response(service, operation, region, "TimestampOutOfRange", message)
    })
}

/// Turns an SDK error into a gap for `service:operation` in `region`.
pub(crate) fn gap<E, R>(service: &str, operation: &str, region: Option<&Region>, err: &SdkError<E, R>) -> Gap
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    Gap::from_failure(service, operation, region, classify(err))
}

/// Collects everything the controls need from one account.
#[instrument(skip_all, fields(account.id = %account))]
pub async fn account(
    clients: &AccountClients,
    account: &AccountId,
    settings: &SweepSettings,
    offered: &Offered,
    home_region: &Region,
) -> AccountSnapshot {
    let regions = if settings.regions.is_empty() {
        regions::enabled_bedrock_regions(clients, home_region, &offered.bedrock).await
    } else {
        Ok(settings.regions.clone())
    };
    let swept: Vec<Region> = regions.clone().unwrap_or_default();

    let (iam, bedrock_api_keys) = tokio::join!(iam::collect(clients), iam::bedrock_api_keys(clients));
    // Without the region list, the home region still shows every multi-region trail;
    // controls that read the trail list report the missing regions (`evaluate::inputs`).
    let trail_regions = if swept.is_empty() { std::slice::from_ref(home_region) } else { &swept };
    let trails = cloudtrail::collect(clients, Some(account), trail_regions).await;

    // The futures are made before they are streamed: a closure over `&Region` held across
    // the await would keep this future from being provably `Send` (rust-lang/rust#102211),
    // and the sweep spawns its workers.
    let regional: Vec<_> = swept
        .iter()
        .map(|region| collect_region(clients, region, settings.job_window_days, offered.agentcore.contains(region)))
        .collect();
    let mut per_region: Vec<RegionSnapshot> =
        futures::stream::iter(regional).buffer_unordered(settings.region_concurrency).collect().await;
    per_region.sort_by(|a, b| a.region.cmp(&b.region));

    let buckets = s3::collect_invocation_buckets(clients, &per_region).await;
    // Asked in the region of the resource that names a key, when the reference is no ARN.
    let key_refs = crate::snapshot::key_references(&trails, &per_region, &buckets);
    // Custom-model keys guard no evidence: their policies are not read.
    let evidence_keys: Vec<String> =
        key_refs.iter().filter(|r| r.user != crate::snapshot::KeyUser::CustomModel).map(|r| r.key.clone()).collect();
    let kms_keys = kms::collect(clients, key_refs.into_iter().map(|r| (r.key, r.region)).collect(), home_region).await;
    let evidence_refs = crate::snapshot::evidence_bucket_references(&trails, &per_region);
    let evidence_buckets = s3::collect_evidence_buckets(clients, home_region, &evidence_refs).await;
    let key_policies = kms::key_policies(clients, account, &kms_keys, &evidence_keys).await;

    AccountSnapshot {
        account_id: account.clone(),
        regions,
        iam,
        trails,
        per_region,
        kms_keys,
        buckets,
        evidence_buckets,
        key_policies,
        bedrock_api_keys,
        // Verified by the sweep once the trails are known (`trail_integrity`): it needs the
        // organization's trails, the stored cursors and maybe another account's role.
        digest_chains: Vec::new(),
    }
}

/// Where the services the sweep reads are offered (`findings/regions.toml`).
#[derive(Debug, Clone, Default)]
pub struct Offered {
    /// Regions offering Amazon Bedrock: the ones swept when `sweep.regions` is empty.
    pub bedrock: Vec<Region>,
    /// Regions offering Amazon Bedrock AgentCore: the swept ones among them are read for it.
    pub agentcore: Vec<Region>,
}

impl Offered {
    /// From the catalog's region list.
    pub fn from_catalog(catalog: &crate::catalog::Catalog) -> Self {
        Self { bedrock: catalog.bedrock_regions(), agentcore: catalog.agentcore_regions() }
    }
}

async fn collect_region(
    clients: &AccountClients,
    region: &Region,
    job_window_days: i64,
    agentcore_offered: bool,
) -> RegionSnapshot {
    let (
        vpc_endpoints,
        invocation_logging,
        guardrails,
        enforced_guardrails,
        custom_models,
        jobs,
        agents,
        knowledge_bases,
        flows,
        prompts,
        config_recorders,
    ) = tokio::join!(
        vpc_endpoints::collect(clients, region),
        bedrock::invocation_logging(clients, region),
        bedrock::guardrails(clients, region),
        bedrock::enforced_guardrails(clients, region),
        bedrock::custom_models(clients, region),
        bedrock::jobs(clients, region, job_window_days),
        bedrock_agent::agents(clients, region),
        bedrock_agent::knowledge_bases(clients, region),
        bedrock_agent::flows(clients, region),
        bedrock_agent::prompts(clients, region),
        config_service::recorders(clients, region),
    );
    let invocation_log_group = match &invocation_logging {
        Ok(Some(cfg)) => match &cfg.log_group {
            Some(name) => Some(logs::log_group(clients, region, name).await),
            None => None,
        },
        _ => None,
    };
    let agentcore = if agentcore_offered {
        let (gateways, policy_engines, compute, memories) = tokio::join!(
            agentcore::gateways(clients, region),
            agentcore::policy_engines(clients, region),
            agentcore::compute(clients, region),
            agentcore::memories(clients, region),
        );
        Some(AgentCoreRegion { gateways, policy_engines, compute, memories })
    } else {
        None
    };
    RegionSnapshot {
        region: region.clone(),
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
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Each collector's source with its declared actions. A new collector file that is not
    /// listed here fails `every_collector_file_is_checked`.
    const COLLECTORS: &[(&str, &str, &[&str])] = &[
        ("agentcore.rs", include_str!("agentcore.rs"), agentcore::ACTIONS),
        ("bedrock.rs", include_str!("bedrock.rs"), bedrock::ACTIONS),
        ("bedrock_agent.rs", include_str!("bedrock_agent.rs"), bedrock_agent::ACTIONS),
        ("cloudtrail.rs", include_str!("cloudtrail.rs"), cloudtrail::ACTIONS),
        ("config_service.rs", include_str!("config_service.rs"), config_service::ACTIONS),
        ("iam.rs", include_str!("iam.rs"), iam::ACTIONS),
        ("kms.rs", include_str!("kms.rs"), kms::ACTIONS),
        ("logs.rs", include_str!("logs.rs"), logs::ACTIONS),
        ("regions.rs", include_str!("regions.rs"), regions::ACTIONS),
        ("s3.rs", include_str!("s3.rs"), s3::ACTIONS),
        ("trail_integrity.rs", include_str!("trail_integrity.rs"), trail_integrity::ACTIONS),
        ("vpc_endpoints.rs", include_str!("vpc_endpoints.rs"), vpc_endpoints::ACTIONS),
    ];

    /// The actions a policy document allows (every statement must be an Allow).
    pub(crate) fn policy_actions(doc: &str) -> BTreeSet<String> {
        let doc: serde_json::Value = serde_json::from_str(doc).expect("policy JSON");
        let mut out = BTreeSet::new();
        for st in doc["Statement"].as_array().expect("statements") {
            assert_eq!(st["Effect"], "Allow", "{st}");
            match &st["Action"] {
                serde_json::Value::String(a) => {
                    out.insert(a.clone());
                }
                serde_json::Value::Array(list) => {
                    out.extend(list.iter().map(|a| a.as_str().expect("action").to_owned()));
                }
                other => panic!("Action is neither string nor list: {other}"),
            }
        }
        out
    }

    /// The `service:Operation` of every `gap("service", "Operation", ...)` in a source file.
    fn operations_named_in_gaps(source: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for rest in source.split("gap(\"").skip(1) {
            let mut parts = rest.splitn(4, '"');
            let service = parts.next().expect("service");
            let _comma = parts.next();
            let operation = parts.next().expect("operation");
            out.insert(format!("{service}:{operation}"));
        }
        out
    }

    #[test]
    fn a_timestamp_chrono_cannot_hold_is_a_gap_not_a_date() {
        let fine = aws_smithy_types::DateTime::from_secs(1_700_000_000);
        assert_eq!(
            required_time(&fine, ("iam", "ListServiceSpecificCredentials"), None).unwrap().timestamp(),
            1_700_000_000
        );
        let absurd = aws_smithy_types::DateTime::from_secs(i64::MAX);
        let gap = required_time(&absurd, ("iam", "ListServiceSpecificCredentials"), None).unwrap_err();
        assert_eq!(
            (gap.operation.as_str(), gap.code.as_str()),
            ("ListServiceSpecificCredentials", "TimestampOutOfRange")
        );
    }

    #[test]
    fn the_member_role_policy_allows_exactly_what_the_collectors_call() {
        let declared: BTreeSet<String> =
            MEMBER_ROLE_ACTIONS.iter().flat_map(|(_, a)| a.iter().map(|s| (*s).to_owned())).collect();
        let allowed = policy_actions(include_str!("../../deploy/member-role-policy.json"));
        let missing: Vec<_> = declared.difference(&allowed).collect();
        let extra: Vec<_> = allowed.difference(&declared).collect();
        assert!(missing.is_empty(), "deploy/member-role-policy.json lacks {missing:?}");
        assert!(extra.is_empty(), "deploy/member-role-policy.json allows {extra:?}, which no collector calls");
    }

    #[test]
    fn each_collector_declares_the_actions_its_calls_need() {
        for (file, source, actions) in COLLECTORS {
            let needed: BTreeSet<String> =
                operations_named_in_gaps(source).into_iter().map(|op| iam_action(&op)).collect();
            let declared: BTreeSet<String> = actions.iter().map(|s| (*s).to_owned()).collect();
            assert!(!needed.is_empty(), "{file} names no call in a gap");
            assert_eq!(needed, declared, "{file}: the calls its gaps name vs its ACTIONS");
        }
    }

    #[test]
    fn every_collector_file_is_checked() {
        let listed: BTreeSet<&str> = COLLECTORS.iter().map(|(f, _, _)| *f).collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect");
        for entry in std::fs::read_dir(dir).expect("src/collect") {
            let name = entry.expect("entry").file_name().into_string().expect("utf-8");
            if name != "mod.rs" {
                assert!(listed.contains(name.as_str()), "src/collect/{name} is missing from COLLECTORS");
            }
        }
        let named: BTreeSet<String> = MEMBER_ROLE_ACTIONS.iter().map(|(c, _)| format!("{c}.rs")).collect();
        assert_eq!(
            named,
            listed.iter().map(|f| (*f).to_owned()).collect(),
            "every collector is in MEMBER_ROLE_ACTIONS"
        );
    }
}
