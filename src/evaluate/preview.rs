//! Previewing an organization-policy change before it ships: the verdicts of the
//! organization-policy controls (BR.ORG.1–6, 8–10) for every active account, from an
//! organization snapshot as it is and as it would be after the change, and the probes the
//! change would deny that were allowed. Pure: no AWS call, no database.
//!
//! Both sides are judged on the computed effective Bedrock policies (the snapshot's
//! `DescribeEffectivePolicy` answers describe the policies as they were, not as they would
//! be), so only the change itself shows as a difference.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scp::{Expect, ScpEngine};
use super::{AccountInput, Judge, scp};
use crate::aws::errors::FailureKind;
use crate::catalog::RegionInfo;
use crate::config::ControlParameters;
use crate::domain::{AccountId, Region, Status};
use crate::snapshot::{NotAssessed, OrgSnapshot, ScpPolicy, TargetIndex};

/// The policy types a preview can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicyType {
    /// A service control policy.
    ServiceControlPolicy,
    /// A resource control policy.
    ResourceControlPolicy,
    /// An Organizations Bedrock policy.
    BedrockPolicy,
}

/// A proposed change: a new policy attached somewhere, an existing policy attached to more
/// targets or detached from some, or an existing policy's content replaced.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    /// The policy type.
    #[serde(rename = "type")]
    pub policy_type: PolicyType,
    /// An existing policy (`p-...`) to attach, detach or replace; absent for a new policy.
    #[serde(default)]
    pub policy_id: Option<String>,
    /// The candidate content (the policy document as text): a new policy's, or the
    /// replacement of `policy_id`'s.
    #[serde(default)]
    pub content: Option<String>,
    /// Roots, OUs or accounts to attach the policy to.
    #[serde(default)]
    pub attach_to: Vec<String>,
    /// Roots, OUs or accounts to detach `policy_id` from.
    #[serde(default)]
    pub detach_from: Vec<String>,
}

/// Why a change cannot be previewed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    /// The change is not one of the accepted shapes.
    #[error("{0}")]
    Invalid(String),
}

/// One verdict the change would move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VerdictChange {
    /// The control.
    pub control_id: String,
    /// The account.
    pub account_id: String,
    /// The region, for regional verdicts.
    pub region: Option<String>,
    /// What the verdict is about (the account, or a guardrail identifier).
    pub resource_id: String,
    /// Before the change.
    pub before: Status,
    /// After it.
    pub after: Status,
    /// The detail after the change: what holds, or what is open and the deciding statement.
    pub detail: String,
}

/// A probe the change would deny that is allowed today, for the accounts that share an SCP
/// path (they share the outcome).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NewlyDenied {
    /// The control the probe belongs to.
    pub control_id: String,
    /// One account it concerns (the first by id).
    pub account_id: String,
    /// How many accounts it concerns.
    pub accounts: usize,
    /// The IAM action.
    pub action: String,
    /// `aws:RequestedRegion`.
    pub region: String,
    /// Principal and network path, in words.
    pub caller: String,
    /// True when the probe is a call the control requires to stay allowed (through the
    /// approved endpoint, with the required guardrail, of an approved model): the change
    /// would break legitimate use.
    pub approved_path: bool,
    /// The statement that would deny it.
    pub deciding: Option<String>,
}

/// What a change would do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    /// Verdicts that would go from `pass` to something else: fences the change opens (or
    /// verdicts it makes unknowable).
    pub opens: Vec<VerdictChange>,
    /// Verdicts that would become `pass`: gaps the change closes.
    pub closes: Vec<VerdictChange>,
    /// Other moves (between `fail`, `error` and `not_applicable`).
    pub other: Vec<VerdictChange>,
    /// Probes the change would deny, approved paths first.
    pub newly_denied: Vec<NewlyDenied>,
    /// Accounts judged.
    pub accounts: usize,
}

impl Preview {
    /// True when the change would open a fence or block an approved path: what a pipeline
    /// should stop on.
    pub fn is_harmful(&self) -> bool {
        !self.opens.is_empty() || self.newly_denied.iter().any(|n| n.approved_path)
    }
}

const CANDIDATE_ID: &str = "p-candidate";

/// `org` as it would be after `change`.
pub fn apply(org: &OrgSnapshot, change: &PolicyChange) -> Result<OrgSnapshot, PreviewError> {
    let invalid = |m: &str| Err(PreviewError::Invalid(m.to_owned()));
    let mut after = org.clone();
    let known_target = |t: &String| {
        org.roots.iter().any(|r| &r.id == t)
            || org.ous.iter().any(|o| &o.id == t)
            || org.accounts.iter().any(|a| a.id.as_str() == t)
    };
    if let Some(t) = change.attach_to.iter().chain(&change.detach_from).find(|t| !known_target(t)) {
        return Err(PreviewError::Invalid(format!("target `{t}` is not a root, OU or account of the organization")));
    }
    if let Some(content) = &change.content {
        serde_json::from_str::<serde_json::Value>(content)
            .map_err(|e| PreviewError::Invalid(format!("content is not JSON: {e}")))?;
    }
    let policies = match change.policy_type {
        PolicyType::ServiceControlPolicy => &mut after.policies,
        PolicyType::ResourceControlPolicy => &mut after.rcps,
        PolicyType::BedrockPolicy => &mut after.bedrock_policies,
    };
    match (&change.policy_id, &change.content) {
        (None, None) => return invalid("give `content` (a new policy) or `policy_id` (an existing one)"),
        (None, Some(content)) => {
            if change.attach_to.is_empty() || !change.detach_from.is_empty() {
                return invalid("a new policy needs `attach_to` (and cannot be detached)");
            }
            policies.push(ScpPolicy {
                id: CANDIDATE_ID.into(),
                name: "candidate".into(),
                arn: String::new(),
                aws_managed: false,
                content: content.clone(),
                targets: change.attach_to.clone(),
            });
        }
        (Some(id), content) => {
            let Some(p) = policies.iter_mut().find(|p| &p.id == id) else {
                return Err(PreviewError::Invalid(format!(
                    "no {:?} with id `{id}` in the last sweep's organization",
                    change.policy_type
                )));
            };
            if content.is_none() && change.attach_to.is_empty() && change.detach_from.is_empty() {
                return invalid("nothing to change: give `content`, `attach_to` or `detach_from`");
            }
            if let Some(content) = content {
                p.content = content.clone();
            }
            for t in &change.attach_to {
                if !p.targets.contains(t) {
                    p.targets.push(t.clone());
                }
            }
            p.targets.retain(|t| !change.detach_from.contains(t));
        }
    }
    Ok(after)
}

/// Previews `change` on `org`, for every active account.
pub fn preview(
    org: &OrgSnapshot,
    regions: &[RegionInfo],
    params: &ControlParameters,
    change: &PolicyChange,
) -> Result<Preview, PreviewError> {
    let mut before = org.clone();
    before.bedrock_effective.clear();
    let mut after = apply(&before, change)?;
    after.bedrock_effective.clear();
    let old = verdicts(&before, regions, params);
    let new = verdicts(&after, regions, params);
    let mut out =
        Preview { opens: Vec::new(), closes: Vec::new(), other: Vec::new(), newly_denied: Vec::new(), accounts: 0 };
    out.accounts = before.accounts.iter().filter(|a| a.is_active()).count();
    for n in &new {
        let Some(o) = old.iter().find(|o| o.key() == n.key()) else { continue };
        if o.status == n.status {
            continue;
        }
        let change = VerdictChange {
            control_id: n.control_id.clone(),
            account_id: n.account_id.to_string(),
            region: n.region.as_ref().map(|r| r.as_str().to_owned()),
            resource_id: n.resource_id.clone(),
            before: o.status,
            after: n.status,
            detail: n.detail.clone(),
        };
        match (o.status, n.status) {
            (Status::Pass, _) => out.opens.push(change),
            (_, Status::Pass) => out.closes.push(change),
            _ => out.other.push(change),
        }
    }
    out.newly_denied = newly_denied(&before, &after, regions, params);
    out.newly_denied.sort_by_key(|n| !n.approved_path);
    Ok(out)
}

#[derive(Debug)]
struct Judged {
    control_id: String,
    account_id: AccountId,
    region: Option<Region>,
    resource_id: String,
    status: Status,
    detail: String,
}

impl Judged {
    fn key(&self) -> (&str, &AccountId, Option<&Region>, &str) {
        (&self.control_id, &self.account_id, self.region.as_ref(), &self.resource_id)
    }
}

fn not_read() -> NotAssessed {
    NotAssessed {
        role_arn: String::new(),
        kind: FailureKind::Service,
        code: "NotRead".into(),
        message: "a preview judges the organization snapshot only".into(),
    }
}

/// The SCP probes of BR.ORG.1–6 for one account of `org`, each with its outcome and the
/// deciding policy, statement and level: what the dashboard shows under such a finding. Judged
/// from the organization snapshot alone, like a preview; `Err` says why there is no table
/// (an account not in the snapshot, or a path whose policies cannot be evaluated).
pub fn probe_table(
    org: &OrgSnapshot,
    regions: &[RegionInfo],
    params: &ControlParameters,
    account: &AccountId,
) -> Result<scp::ScpEvidence, String> {
    let member = org
        .accounts
        .iter()
        .find(|a| &a.id == account)
        .ok_or_else(|| format!("account {account} is not in the organization snapshot"))?;
    if member.id == org.management_account_id {
        return Err("service control policies never apply to the management account".into());
    }
    let engine = ScpEngine::new(org, regions, params);
    let na = not_read();
    let input =
        AccountInput { org, account: member, snapshot: Err(&na), params, now: chrono::Utc::now(), scp: &engine };
    engine.evidence(&input)
}

/// The organization-policy controls' verdicts for every active account of `org`.
fn verdicts(org: &OrgSnapshot, regions: &[RegionInfo], params: &ControlParameters) -> Vec<Judged> {
    let engine = ScpEngine::new(org, regions, params);
    let na = not_read();
    let mut out = Vec::new();
    for account in org.accounts.iter().filter(|a| a.is_active()) {
        let input = AccountInput { org, account, snapshot: Err(&na), params, now: chrono::Utc::now(), scp: &engine };
        for control in scp::CONTROLS.iter().filter(|c| c.id != crate::evaluate::ids::ORG_7) {
            let Judge::Org(judge) = control.judge else { continue };
            out.extend(judge(&input).into_iter().map(|e| Judged {
                control_id: e.control_id.to_string(),
                account_id: e.account_id,
                region: e.region,
                resource_id: e.resource_id,
                status: e.status,
                detail: e.detail,
            }));
        }
    }
    out
}

/// The SCP probes allowed before and denied after, once per pair of SCP paths (before,
/// after) that active member accounts share.
fn newly_denied(
    before: &OrgSnapshot,
    after: &OrgSnapshot,
    regions: &[RegionInfo],
    params: &ControlParameters,
) -> Vec<NewlyDenied> {
    let (old_engine, new_engine) = (ScpEngine::new(before, regions, params), ScpEngine::new(after, regions, params));
    let na = not_read();
    // Accounts with the same SCP path before and after share every probe outcome.
    type Paths = (Vec<Vec<usize>>, Vec<Vec<usize>>);
    let mut groups: Vec<(Paths, Vec<&crate::snapshot::OrgAccount>)> = Vec::new();
    let mut group_of: std::collections::HashMap<Paths, usize> = std::collections::HashMap::new();
    let (old_targets, new_targets) = (TargetIndex::of(&before.policies), TargetIndex::of(&after.policies));
    for account in after.accounts.iter().filter(|a| a.is_active() && a.id != after.management_account_id) {
        let key = (before.policy_path(&old_targets, account), after.policy_path(&new_targets, account));
        match group_of.get(&key) {
            Some(&g) => groups[g].1.push(account),
            None => {
                group_of.insert(key.clone(), groups.len());
                groups.push((key, vec![account]));
            }
        }
    }
    let mut out = Vec::new();
    for (_, accounts) in &groups {
        let account = accounts[0];
        let input = |org, engine| AccountInput {
            org,
            account,
            snapshot: Err(&na),
            params,
            now: chrono::Utc::now(),
            scp: engine,
        };
        let (Ok(old), Ok(new)) =
            (old_engine.evidence(&input(before, &old_engine)), new_engine.evidence(&input(after, &new_engine)))
        else {
            continue;
        };
        for (oc, nc) in old.controls.iter().zip(&new.controls) {
            for (op, np) in oc.probes.iter().zip(&nc.probes) {
                if op.outcome == "allowed" && np.outcome.ends_with("deny") {
                    out.push(NewlyDenied {
                        control_id: nc.control_id.clone(),
                        account_id: account.id.to_string(),
                        accounts: accounts.len(),
                        action: np.action.clone(),
                        region: np.region.clone(),
                        caller: format!("{:?} via {:?}", np.principal, np.network).to_lowercase(),
                        approved_path: np.expected == Expect::Allow,
                        deciding: np.deciding.clone(),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::{MANAGEMENT, MEMBER, org_snapshot, region};

    const FULL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    const REGION_DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyOutside","Effect":"Deny",
      "Action":["bedrock:*","bedrock-mantle:*","bedrock-agentcore:*"],"Resource":"*",
      "Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"]}}}]}"#;
    /// Denies Bedrock runtime calls unless through an endpoint that is not the approved one.
    const WRONG_ENDPOINT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"OnlyVpceOld","Effect":"Deny",
      "Action":["bedrock:InvokeModel"],"Resource":"*",
      "Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-0old0000000000000"}}}]}"#;

    fn org() -> OrgSnapshot {
        let mut o = org_snapshot();
        o.policies.push(ScpPolicy {
            id: "p-FullAWSAccess".into(),
            name: "FullAWSAccess".into(),
            arn: String::new(),
            aws_managed: true,
            content: FULL.into(),
            targets: vec!["r-ab12".into(), MEMBER.into(), MANAGEMENT.into()],
        });
        o.policies.push(ScpPolicy {
            id: "p-regions".into(),
            name: "region-deny".into(),
            arn: String::new(),
            aws_managed: false,
            content: REGION_DENY.into(),
            targets: vec![],
        });
        o
    }

    fn params() -> ControlParameters {
        ControlParameters {
            approved_regions: vec![region("eu-west-1")],
            approved_vpce_ids: vec!["vpce-0aaa1111bbbb2222c".into()],
            ..ControlParameters::default()
        }
    }

    fn run(org: &OrgSnapshot, change: PolicyChange) -> Preview {
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        preview(org, catalog.regions(), &params(), &change).unwrap()
    }

    fn scp(policy_id: Option<&str>, content: Option<&str>, attach: &[&str], detach: &[&str]) -> PolicyChange {
        PolicyChange {
            policy_type: PolicyType::ServiceControlPolicy,
            policy_id: policy_id.map(str::to_owned),
            content: content.map(str::to_owned),
            attach_to: attach.iter().map(|t| (*t).to_owned()).collect(),
            detach_from: detach.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[test]
    fn attaching_the_region_deny_closes_br_org_1_and_detaching_it_opens_it() {
        let org = org();
        let closes = run(&org, scp(Some("p-regions"), None, &["r-ab12"], &[]));
        let c = closes.closes.iter().find(|c| c.control_id == "BR.ORG.1" && c.account_id == MEMBER).unwrap();
        assert_eq!((c.before, c.after), (Status::Fail, Status::Pass));
        assert!(c.detail.contains("p-regions"), "names the deciding policy: {}", c.detail);
        assert!(closes.opens.is_empty() && !closes.is_harmful(), "{:?}", closes.opens);

        let mut attached = org;
        attached.policies[1].targets.push("r-ab12".into());
        let opens = run(&attached, scp(Some("p-regions"), None, &[], &["r-ab12"]));
        let o = opens.opens.iter().find(|c| c.control_id == "BR.ORG.1" && c.account_id == MEMBER).unwrap();
        assert_eq!((o.before, o.after), (Status::Pass, Status::Fail));
        assert!(opens.is_harmful());
    }

    #[test]
    fn a_policy_that_blocks_the_approved_endpoint_is_called_out_first() {
        let p = run(&org(), scp(None, Some(WRONG_ENDPOINT), &[MEMBER], &[]));
        let first = p.newly_denied.first().expect("something is newly denied");
        assert!(first.approved_path, "approved paths come first: {first:?}");
        assert_eq!((first.control_id.as_str(), first.action.as_str()), ("BR.ORG.2", "bedrock:InvokeModel"));
        assert!(first.deciding.as_deref().is_some_and(|d| d.contains("p-candidate")), "{first:?}");
        assert!(p.is_harmful());
    }

    #[test]
    fn changes_that_cannot_be_applied_say_why() {
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        let err = |c: PolicyChange| preview(&org(), catalog.regions(), &params(), &c).unwrap_err().to_string();
        assert!(err(scp(None, None, &["r-ab12"], &[])).contains("give `content`"));
        assert!(err(scp(None, Some("{nope"), &["r-ab12"], &[])).contains("not JSON"));
        assert!(err(scp(None, Some(FULL), &["ou-nowhere"], &[])).contains("`ou-nowhere` is not a root, OU or account"));
        assert!(
            err(scp(Some("p-missing"), Some(FULL), &[], &[])).contains("no ServiceControlPolicy with id `p-missing`")
        );
        assert!(err(scp(None, Some(FULL), &[], &[])).contains("needs `attach_to`"));
        assert!(err(scp(Some("p-regions"), None, &[], &[])).contains("nothing to change"));
    }
}
