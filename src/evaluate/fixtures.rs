//! Hand-built snapshots for the evaluator tests.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};

use super::{AccountInput, Evaluation};
use crate::aws::errors::FailureKind;
use crate::config::ControlParameters;
use crate::domain::{AccountId, Region};
use crate::snapshot::*;

pub const MEMBER: &str = "111122223333";
pub const MANAGEMENT: &str = "999988887777";

pub fn region(name: &str) -> Region {
    Region::parse(name).unwrap()
}

pub fn gap(service: &str, operation: &str) -> Gap {
    Gap {
        service: service.into(),
        operation: operation.into(),
        region: Some(region("eu-west-1")),
        kind: FailureKind::AccessDenied,
        code: "AccessDenied".into(),
        message: "User is not authorized".into(),
    }
}

pub fn empty_region(name: &str) -> RegionSnapshot {
    RegionSnapshot {
        region: region(name),
        vpc_endpoints: Ok(vec![]),
        invocation_logging: Ok(None),
        invocation_log_group: None,
        guardrails: Ok(vec![]),
        enforced_guardrails: Ok(vec![]),
        custom_models: Ok(vec![]),
        jobs: Ok(vec![]),
        agents: Ok(vec![]),
        knowledge_bases: Ok(vec![]),
        flows: Ok(vec![]),
        prompts: Ok(vec![]),
        agentcore: Some(AgentCoreRegion::empty()),
        config_recorders: Ok(vec![]),
    }
}

/// A member account with one swept region (eu-west-1) where nothing exists.
pub fn account_snapshot() -> AccountSnapshot {
    AccountSnapshot {
        account_id: AccountId::parse(MEMBER).unwrap(),
        regions: Ok(vec![region("eu-west-1")]),
        iam: Ok(IamSnapshot::default()),
        trails: Ok(vec![]),
        per_region: vec![empty_region("eu-west-1")],
        kms_keys: BTreeMap::new(),
        buckets: BTreeMap::new(),
        evidence_buckets: BTreeMap::new(),
        key_policies: BTreeMap::new(),
        bedrock_api_keys: Ok(vec![]),
        digest_chains: vec![],
    }
}

/// The key policy AWS writes by default: the owning account (the member) administers the key.
pub fn own_account_key_policy() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{MEMBER}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    )
}

pub fn org_snapshot() -> OrgSnapshot {
    let account = |id: &str, name: &str| OrgAccount {
        id: AccountId::parse(id).unwrap(),
        name: name.into(),
        email: format!("{name}@example.com"),
        status: "ACTIVE".into(),
        parent_id: "r-ab12".into(),
    };
    OrgSnapshot {
        organization_id: "o-example".into(),
        partition: crate::domain::Partition::aws(),
        management_account_id: AccountId::parse(MANAGEMENT).unwrap(),
        roots: vec![OrgRoot {
            id: "r-ab12".into(),
            name: "Root".into(),
            scp_enabled: true,
            rcp_enabled: false,
            bedrock_policy_enabled: false,
        }],
        ous: vec![],
        accounts: vec![account(MEMBER, "member"), account(MANAGEMENT, "management")],
        policies: vec![],
        management_trails: Ok(vec![]),
        management_kms_keys: BTreeMap::new(),
        rcps: Vec::new(),
        bedrock_policies: Vec::new(),
        bedrock_effective: Default::default(),
        enforced_guardrails: Default::default(),
    }
}

pub fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
}

pub fn approved(regions: &[&str]) -> ControlParameters {
    ControlParameters { approved_regions: regions.iter().map(|r| region(r)).collect(), ..ControlParameters::default() }
}

pub fn with_params<T>(snap: &AccountSnapshot, params: ControlParameters, f: impl FnOnce(&AccountInput<'_>) -> T) -> T {
    with_org(&org_snapshot(), MEMBER, snap, params, f)
}

pub fn with_input<T>(snap: &AccountSnapshot, f: impl FnOnce(&AccountInput<'_>) -> T) -> T {
    with_params(snap, ControlParameters::default(), f)
}

pub fn with_org<T>(
    org: &OrgSnapshot,
    account: &str,
    snap: &AccountSnapshot,
    params: ControlParameters,
    f: impl FnOnce(&AccountInput<'_>) -> T,
) -> T {
    let account = org.account(&AccountId::parse(account).unwrap()).unwrap();
    let catalog = crate::catalog::Catalog::embedded().unwrap();
    let engine = super::scp::ScpEngine::new(org, catalog.regions(), &params);
    let input = AccountInput { org, account, snapshot: Ok(snap), params: &params, now: now(), scp: &engine };
    f(&input)
}

pub fn statuses(out: &[Evaluation]) -> Vec<crate::domain::Status> {
    out.iter().map(|e| e.status).collect()
}

pub fn trail(name: &str) -> Trail {
    Trail {
        arn: format!("arn:aws:cloudtrail:eu-west-1:{MEMBER}:trail/{name}"),
        name: name.into(),
        home_region: "eu-west-1".into(),
        is_multi_region: true,
        is_organization_trail: false,
        log_file_validation: true,
        kms_key_id: None,
        s3_bucket: Some("trail-bucket".into()),
        s3_key_prefix: None,
        status: Ok(TrailStatus {
            is_logging: true,
            latest_delivery_error: None,
            latest_delivery_time: Some(now() - chrono::Duration::hours(1)),
            latest_digest_delivery_error: None,
            latest_digest_delivery_time: Some(now() - chrono::Duration::hours(2)),
        }),
        event_selectors: Ok(EventSelectors {
            classic: vec![ClassicSelector {
                read_write_type: "All".into(),
                include_management_events: true,
                data_resource_types: vec![],
            }],
            advanced: vec![],
        }),
    }
}

pub fn cmk(arn: &str, rotation: Option<bool>) -> KmsKey {
    KmsKey {
        arn: arn.into(),
        manager: "CUSTOMER".into(),
        state: "Enabled".into(),
        key_spec: "SYMMETRIC_DEFAULT".into(),
        rotation_enabled: rotation,
    }
}
