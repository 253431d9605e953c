//! Organization discovery: roots (and which policy types are enabled), the OU tree,
//! accounts with status and parent, and every SCP, RCP and Bedrock policy with its content
//! and targets; for the Bedrock policies also the guardrails they name and, per distinct
//! policy path, the effective policy Organizations computes (`management_policies`).
//!
//! The walk is top-down (ListOrganizationalUnitsForParent / ListAccountsForParent per
//! parent, ListTargetsForPolicy per policy), so the number of Organizations calls grows
//! with OUs + policies + pages, never with accounts: no ListParents or
//! ListPoliciesForTarget per account. DescribeEffectivePolicy is called once per distinct
//! Bedrock-policy path, and accounts only get paths of their own through policies attached
//! to them, so it too grows with policy attachments, not accounts.

use aws_sdk_organizations::types::{PolicyType, PolicyTypeStatus};
use tracing::instrument;

use crate::aws::errors::{Failure, FailureKind, classify};
use crate::aws::{self, AccountClients, AwsContext, ManagementAccessRefused};
use crate::collect::{bedrock, cloudtrail, kms};
use crate::domain::{AccountId, Partition, Region};
use crate::snapshot::{Gap, OrgAccount, OrgRoot, OrgSnapshot, OrgUnit, ScpPolicy};

mod management_policies;

/// Discovery could not build the organization: the sweep cannot run.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// An Organizations call failed.
    #[error("Organizations {operation} failed: {} ({})", failure.code, failure.message)]
    Call {
        /// The operation.
        operation: &'static str,
        /// What AWS said.
        failure: Failure,
    },
    /// The answer lacked something every answer must have.
    #[error("Organizations {operation} answered without {what}")]
    Incomplete {
        /// The operation.
        operation: &'static str,
        /// What was missing.
        what: &'static str,
    },
    /// The credentials do not belong to an organization (or Organizations is not enabled).
    #[error("these credentials are not in an AWS Organization ({0})")]
    NotInOrganization(String),
    /// STS could not say who the service's credentials are (so no ARN can be built).
    #[error("STS GetCallerIdentity failed: {} ({})", .0.code, .0.message)]
    CallerIdentity(Failure),
    /// The configured management-account access does not fit these credentials.
    #[error(transparent)]
    ManagementAccess(#[from] ManagementAccessRefused),
}

impl DiscoveryError {
    fn call<E, R>(operation: &'static str, err: &aws_sdk_organizations::error::SdkError<E, R>) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let failure = classify(err);
        if failure.code == "AWSOrganizationsNotInUseException" {
            return Self::NotInOrganization(failure.code);
        }
        Self::Call { operation, failure }
    }

    /// True when the failure was an access denial (wrong account or missing permissions).
    pub fn is_access_denied(&self) -> bool {
        matches!(self, Self::Call { failure, .. } if failure.kind == FailureKind::AccessDenied)
    }

    /// True when the configuration, not AWS, has to change (the CLI exits with code 2).
    pub fn is_config_error(&self) -> bool {
        matches!(self, Self::ManagementAccess(_))
    }
}

/// A failed Organizations call that does not stop discovery: a gap the evaluation names.
fn call_gap<E, R>(operation: &'static str, err: &aws_sdk_organizations::error::SdkError<E, R>) -> Gap
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    Gap::from_failure("organizations", operation, None, classify(err))
}

/// Discovery at the start of a sweep: who the service's credentials are (their partition
/// names every ARN built later; see [`AwsContext::caller_identity`]), then the organization
/// with those credentials. With `management_account_access = "own-credentials"` the
/// credentials must be the management account's: a delegated administrator is refused
/// right after DescribeOrganization, before anything else is read.
///
/// The management account's trails and their keys are read as the management account: with
/// its own credentials when the service runs there, else through the member role in it (a
/// delegated administrator sees the organization trail as a shadow and may not describe the
/// management account's key).
pub async fn discover_checked(ctx: &AwsContext, trail_region: &Region) -> Result<OrgSnapshot, DiscoveryError> {
    let caller = ctx.caller_identity().await.map_err(DiscoveryError::CallerIdentity)?.clone();
    let mode = ctx.settings().management_account_access;
    discover_after(
        &ctx.own_clients(),
        trail_region,
        |management| Ok(aws::check_management_access(mode, &caller, management)?),
        Some((ctx, &caller.account)),
    )
    .await
}

/// Walks the organization with the service's own (management-account or delegated
/// administrator) credentials, and collects the management account's trails in `trail_region`.
#[instrument(skip_all, fields(aws.region = %trail_region))]
pub async fn discover(clients: &AccountClients, trail_region: &Region) -> Result<OrgSnapshot, DiscoveryError> {
    discover_after(clients, trail_region, |_| Ok(()), None).await
}

/// The IAM actions discovery calls in the management account (the organization's structure
/// and policies), as its `DiscoveryError::call` names them.
pub const ACTIONS: &[&str] = &[
    "organizations:DescribeEffectivePolicy",
    "organizations:DescribeOrganization",
    "organizations:DescribePolicy",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListPolicies",
    "organizations:ListRoots",
    "organizations:ListTargetsForPolicy",
];

/// Every IAM action the sweeper's own role must allow: discovery, the management account's
/// trails and their keys (read with the trail and key collectors), and entering the members.
/// A unit test holds it against `deploy/sweeper-policy.json` exactly.
pub const SWEEPER_ROLE_ACTIONS: &[&[&str]] =
    &[ACTIONS, cloudtrail::ACTIONS, kms::DESCRIBE_ACTIONS, bedrock::ENFORCED_GUARDRAIL_ACTIONS, aws::ACTIONS];

/// [`discover`], with `check` run on the management account id as soon as it is known. With
/// `role` (the context and the caller's account), the management account's trails are read
/// through the member role when the caller is another account.
async fn discover_after(
    clients: &AccountClients,
    trail_region: &Region,
    check: impl FnOnce(&AccountId) -> Result<(), DiscoveryError>,
    role: Option<(&AwsContext, &AccountId)>,
) -> Result<OrgSnapshot, DiscoveryError> {
    let org = clients.organizations(None);

    let described =
        org.describe_organization().send().await.map_err(|e| DiscoveryError::call("DescribeOrganization", &e))?;
    let organization = described
        .organization
        .ok_or(DiscoveryError::Incomplete { operation: "DescribeOrganization", what: "an organization" })?;
    // An organization never spans partitions: its ARN names the one every built ARN is in.
    let partition = organization
        .arn
        .as_deref()
        .and_then(|arn| Partition::of_arn(arn).ok())
        .ok_or(DiscoveryError::Incomplete { operation: "DescribeOrganization", what: "an ARN" })?;
    let organization_id =
        organization.id.ok_or(DiscoveryError::Incomplete { operation: "DescribeOrganization", what: "an id" })?;
    let management_account_id = organization
        .master_account_id
        .as_deref()
        .and_then(|id| AccountId::parse(id).ok())
        .ok_or(DiscoveryError::Incomplete { operation: "DescribeOrganization", what: "a management account id" })?;
    check(&management_account_id)?;

    let roots: Vec<_> = org
        .list_roots()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| DiscoveryError::call("ListRoots", &e))?
        .into_iter()
        .flat_map(|page| page.roots.unwrap_or_default())
        .collect();
    let roots: Vec<OrgRoot> = roots
        .into_iter()
        .filter_map(|r| {
            let enabled = |kind: PolicyType| {
                r.policy_types()
                    .iter()
                    .any(|p| p.r#type() == Some(&kind) && p.status() == Some(&PolicyTypeStatus::Enabled))
            };
            Some(OrgRoot {
                scp_enabled: enabled(PolicyType::ServiceControlPolicy),
                rcp_enabled: enabled(PolicyType::ResourceControlPolicy),
                bedrock_policy_enabled: enabled(PolicyType::BedrockPolicy),
                id: r.id?,
                name: r.name.unwrap_or_else(|| "Root".into()),
            })
        })
        .collect();
    if roots.is_empty() {
        return Err(DiscoveryError::Incomplete { operation: "ListRoots", what: "a root" });
    }

    // Breadth-first over the tree: one OU listing and one account listing per parent.
    let mut ous = Vec::new();
    let mut accounts = Vec::new();
    let mut parents: Vec<String> = roots.iter().map(|r| r.id.clone()).collect();
    while let Some(parent) = parents.pop() {
        let children: Vec<_> = org
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| DiscoveryError::call("ListOrganizationalUnitsForParent", &e))?
            .into_iter()
            .flat_map(|page| page.organizational_units.unwrap_or_default())
            .collect();
        for ou in children {
            let Some(id) = ou.id else { continue };
            parents.push(id.clone());
            ous.push(OrgUnit { id, name: ou.name.unwrap_or_default(), parent_id: parent.clone() });
        }
        let members: Vec<_> = org
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| DiscoveryError::call("ListAccountsForParent", &e))?
            .into_iter()
            .flat_map(|page| page.accounts.unwrap_or_default())
            .collect();
        for a in members {
            let Some(id) = a.id.as_deref().and_then(|id| AccountId::parse(id).ok()) else { continue };
            // `State` replaced the deprecated `Status`; older endpoints only send `Status`.
            let status = a
                .state()
                .map(|s| s.as_str().to_owned())
                .or_else(|| a.status().map(|s| s.as_str().to_owned()))
                .unwrap_or_else(|| "UNKNOWN".into());
            accounts.push(OrgAccount {
                id,
                name: a.name.unwrap_or_default(),
                email: a.email.unwrap_or_default(),
                status,
                parent_id: parent.clone(),
            });
        }
    }
    accounts.sort_by(|a, b| a.id.cmp(&b.id));

    let policies = discover_policies(&org, PolicyType::ServiceControlPolicy).await?;
    // The other policy types are read only where they are enabled: a type enabled on no root
    // governs nothing, and its listing costs calls.
    let rcps = match roots.iter().any(|r| r.rcp_enabled) {
        true => discover_policies(&org, PolicyType::ResourceControlPolicy).await?,
        false => Vec::new(),
    };
    let bedrock_policies = match roots.iter().any(|r| r.bedrock_policy_enabled) {
        true => discover_policies(&org, PolicyType::BedrockPolicy).await?,
        false => Vec::new(),
    };
    let as_management = match role {
        Some((ctx, caller)) if *caller != management_account_id => aws::assume_role(ctx, &management_account_id)
            .await
            .map_err(|e| Gap::from_failure("sts", "AssumeRole", None, e.failure)),
        _ => Ok(clients.clone()),
    };
    let enforced_guardrails =
        management_policies::enforced_guardrails(as_management.as_ref(), &bedrock_policies, &management_account_id)
            .await;
    let (management_trails, management_kms_keys) = match as_management {
        Ok(management) => {
            // Every trail the management account sees, organization trails among them.
            let trails = cloudtrail::collect(&management, None, std::slice::from_ref(trail_region)).await;
            let key_refs = match &trails {
                Ok(trails) => trails
                    .iter()
                    .filter_map(|t| t.kms_key_id.clone().map(|k| (k, Region::parse(&t.home_region).ok())))
                    .collect(),
                Err(_) => Vec::new(),
            };
            let keys = kms::collect(&management, key_refs, trail_region).await;
            (trails, keys)
        }
        // Not read: every control that relies on the organization trails says so.
        Err(gap) => (Err(gap), Default::default()),
    };

    let mut snapshot = OrgSnapshot {
        organization_id,
        partition,
        management_account_id,
        roots,
        ous,
        accounts,
        policies,
        rcps,
        bedrock_policies,
        bedrock_effective: Default::default(),
        enforced_guardrails,
        management_trails,
        management_kms_keys,
    };
    snapshot.bedrock_effective = management_policies::effective_samples(&org, &snapshot).await;
    Ok(snapshot)
}

/// Every policy of `kind` with its content and targets: one ListPolicies walk, then one
/// DescribePolicy and one ListTargetsForPolicy walk per policy.
async fn discover_policies(
    org: &aws_sdk_organizations::Client,
    kind: PolicyType,
) -> Result<Vec<ScpPolicy>, DiscoveryError> {
    let summaries: Vec<_> = org
        .list_policies()
        .filter(kind)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| DiscoveryError::call("ListPolicies", &e))?
        .into_iter()
        .flat_map(|page| page.policies.unwrap_or_default())
        .collect();
    let mut policies = Vec::with_capacity(summaries.len());
    for summary in summaries {
        let Some(id) = summary.id.clone() else { continue };
        let described = org
            .describe_policy()
            .policy_id(&id)
            .send()
            .await
            .map_err(|e| DiscoveryError::call("DescribePolicy", &e))?;
        let content = described.policy.and_then(|p| p.content).unwrap_or_default();
        let targets: Vec<_> = org
            .list_targets_for_policy()
            .policy_id(&id)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| DiscoveryError::call("ListTargetsForPolicy", &e))?
            .into_iter()
            .flat_map(|page| page.targets.unwrap_or_default())
            .collect();
        policies.push(ScpPolicy {
            id,
            name: summary.name.unwrap_or_default(),
            arn: summary.arn.unwrap_or_default(),
            aws_managed: summary.aws_managed,
            content,
            targets: targets.into_iter().filter_map(|t| t.target_id).collect(),
        });
    }
    policies.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(policies)
}

#[cfg(test)]
mod actions {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn discovery_declares_the_organizations_calls_it_makes() {
        let source = [include_str!("mod.rs"), include_str!("management_policies.rs")].concat();
        let named: BTreeSet<String> = ["DiscoveryError::call(\"", "call_gap(\""]
            .iter()
            .flat_map(|marker| source.split(marker).skip(1))
            .filter_map(|rest| rest.split('"').next())
            .filter(|op| op.chars().next().is_some_and(char::is_uppercase))
            .map(|op| format!("organizations:{op}"))
            .collect();
        let declared: BTreeSet<String> = ACTIONS.iter().map(|a| (*a).to_owned()).collect();
        assert_eq!(named, declared);
    }

    #[test]
    fn the_sweeper_policy_allows_exactly_what_the_service_calls() {
        let declared: BTreeSet<String> =
            SWEEPER_ROLE_ACTIONS.iter().flat_map(|a| a.iter().map(|s| (*s).to_owned())).collect();
        let allowed = crate::collect::tests::policy_actions(include_str!("../../deploy/sweeper-policy.json"));
        let missing: Vec<_> = declared.difference(&allowed).collect();
        let extra: Vec<_> = allowed.difference(&declared).collect();
        assert!(missing.is_empty(), "deploy/sweeper-policy.json lacks {missing:?}");
        assert!(extra.is_empty(), "deploy/sweeper-policy.json allows {extra:?}, which nothing calls");
    }
}
