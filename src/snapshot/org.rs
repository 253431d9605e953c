//! The organization as discovered through the Organizations API.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::{Collected, KmsKey, Trail};
use crate::domain::{AccountId, Partition};

/// The organization: its tree, accounts and service control policies, plus the trails
/// of the management account (organization trails are only fully visible there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgSnapshot {
    /// `o-...`.
    pub organization_id: String,
    /// The partition the organization lives in (from its ARN): every ARN the evaluators build
    /// (probe principals and resources) is in it. Snapshots stored before it was recorded are
    /// of the commercial partition.
    #[serde(default = "Partition::aws")]
    pub partition: Partition,
    /// The management account (SCPs never apply to it).
    pub management_account_id: AccountId,
    /// The roots (in practice one).
    pub roots: Vec<OrgRoot>,
    /// Every OU.
    pub ous: Vec<OrgUnit>,
    /// Every account, whatever its status.
    pub accounts: Vec<OrgAccount>,
    /// Every service control policy with its content and targets.
    pub policies: Vec<ScpPolicy>,
    /// Every resource control policy with its content and targets (none read when the type
    /// is enabled on no root).
    #[serde(default)]
    pub rcps: Vec<ScpPolicy>,
    /// Every Organizations Bedrock policy (`BEDROCK_POLICY`) with its content and targets
    /// (none read when the type is enabled on no root).
    #[serde(default)]
    pub bedrock_policies: Vec<ScpPolicy>,
    /// `DescribeEffectivePolicy(BEDROCK_POLICY)` for one active member account of each
    /// distinct Bedrock-policy path (see [`OrgSnapshot::policy_path`]), by account id: the
    /// effective policy text, or `None` when Organizations says the account has none. The
    /// computed effective policies are checked against these answers.
    #[serde(default)]
    pub bedrock_effective: BTreeMap<String, Collected<Option<String>>>,
    /// The guardrails that Bedrock policies name, read in the management account, by the
    /// identifier as the policy writes it; `None` when Bedrock says there is no such
    /// guardrail (version). Identifiers that are not a management-account guardrail ARN
    /// with a version are not read (the evaluation says why they are unusable).
    #[serde(default)]
    pub enforced_guardrails: BTreeMap<String, Collected<Option<EnforcedGuardrail>>>,
    /// Trails seen from the management account (organization trails among them).
    pub management_trails: Collected<Vec<Trail>>,
    /// KMS keys the management account's trails use, by the reference that named them.
    pub management_kms_keys: BTreeMap<String, Collected<KmsKey>>,
}

/// An organization root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRoot {
    /// `r-...`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether the SERVICE_CONTROL_POLICY type is enabled on it.
    pub scp_enabled: bool,
    /// Whether the RESOURCE_CONTROL_POLICY type is enabled on it.
    #[serde(default)]
    pub rcp_enabled: bool,
    /// Whether the BEDROCK_POLICY type is enabled on it.
    #[serde(default)]
    pub bedrock_policy_enabled: bool,
}

/// A guardrail an Organizations Bedrock policy enforces, as the management account sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnforcedGuardrail {
    /// Its ARN, without the version.
    pub arn: String,
    /// The version read (`1`, `2`, ...).
    pub version: String,
    /// `READY`, `FAILED`, ... as Bedrock reports it.
    pub status: String,
    /// Whether it carries an automated-reasoning policy (not supported for enforcement).
    pub automated_reasoning: bool,
    /// Its resource-based policy (`GetResourcePolicy`); `None` when it has none.
    pub resource_policy: Collected<Option<String>>,
}

/// An organizational unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    /// `ou-...`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The root or OU it sits in.
    pub parent_id: String,
}

/// A member (or the management) account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgAccount {
    /// The account id.
    pub id: AccountId,
    /// Its name.
    pub name: String,
    /// Its e-mail address.
    pub email: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, ... as Organizations reports it.
    pub status: String,
    /// The root or OU it sits in.
    pub parent_id: String,
}

impl OrgAccount {
    /// Only active accounts are swept.
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

/// An organization policy (a service control, resource control or Bedrock policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScpPolicy {
    /// `p-...`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Whether AWS manages it (FullAWSAccess).
    pub aws_managed: bool,
    /// The JSON document, exactly as Organizations returned it.
    pub content: String,
    /// Roots, OUs and accounts it is attached to.
    pub targets: Vec<String>,
}

/// Which policies are attached to each root, OU and account: built once, so that finding
/// an account's policies does not scan every policy's targets (FullAWSAccess and
/// RCPFullAWSAccess are attached to every account).
#[derive(Debug, Clone, Default)]
pub struct TargetIndex(std::collections::HashMap<String, Vec<usize>>);

impl TargetIndex {
    /// The index of `policies`.
    pub fn of(policies: &[ScpPolicy]) -> Self {
        let mut index: std::collections::HashMap<String, Vec<usize>> = std::collections::HashMap::new();
        for (i, p) in policies.iter().enumerate() {
            for t in &p.targets {
                index.entry(t.clone()).or_default().push(i);
            }
        }
        Self(index)
    }

    /// The policies attached to `target`, in the order of the policies.
    pub fn at(&self, target: &str) -> &[usize] {
        self.0.get(target).map_or(&[], Vec::as_slice)
    }
}

/// One node on an account's path from the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathNode {
    /// `r-...`, `ou-...` or the account id.
    pub id: String,
    /// A name for people.
    pub name: String,
}

impl OrgSnapshot {
    /// The path of `account`: root, OUs top-down, then the account itself.
    /// Unknown parents end the walk (the path is then shorter, never wrong).
    pub fn path_of(&self, account: &OrgAccount) -> Vec<PathNode> {
        let mut path = vec![PathNode { id: account.id.to_string(), name: account.name.clone() }];
        let mut parent = account.parent_id.as_str();
        // The OU depth limit is 5; the bound protects against a malformed cycle.
        for _ in 0..16 {
            if let Some(ou) = self.ous.iter().find(|o| o.id == parent) {
                path.push(PathNode { id: ou.id.clone(), name: ou.name.clone() });
                parent = ou.parent_id.as_str();
            } else {
                if let Some(root) = self.roots.iter().find(|r| r.id == parent) {
                    path.push(PathNode { id: root.id.clone(), name: root.name.clone() });
                }
                break;
            }
        }
        path.reverse();
        path
    }

    /// The OU path as text, e.g. `Root/Workloads/Sandbox`.
    pub fn ou_path_text(&self, account: &OrgAccount) -> String {
        let path = self.path_of(account);
        path[..path.len().saturating_sub(1)].iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join("/")
    }

    /// The policies attached along the account's path, as indices into the policies
    /// `targets` was built from, per level (root first, the account last), with the levels
    /// that hold none left out: two accounts with the same policy path have the same
    /// effective policy of that type.
    pub fn policy_path(&self, targets: &TargetIndex, account: &OrgAccount) -> Vec<Vec<usize>> {
        self.path_of(account).iter().map(|node| targets.at(&node.id).to_vec()).filter(|l| !l.is_empty()).collect()
    }

    /// The account with this id.
    pub fn account(&self, id: &AccountId) -> Option<&OrgAccount> {
        self.accounts.iter().find(|a| &a.id == id)
    }
}
