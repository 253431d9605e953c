//! What discovery reads for the Organizations Bedrock policies beyond the policies
//! themselves: the guardrails they name (in the management account, which must own them)
//! and, for one account of each distinct policy path, the effective policy Organizations
//! computes — the answer our own inheritance computation is checked against.

use std::collections::BTreeMap;

use aws_sdk_organizations::types::EffectivePolicyType;
use serde_json::Value;

use super::call_gap;
use crate::aws::AccountClients;
use crate::collect::bedrock;
use crate::domain::{AccountId, GuardrailRef};
use crate::snapshot::{Collected, EnforcedGuardrail, Gap, OrgSnapshot, ScpPolicy, TargetIndex};

/// At most this many DescribeEffectivePolicy calls a sweep; paths beyond it are judged on
/// the computed effective policy alone, and say so.
pub const MAX_EFFECTIVE_SAMPLES: usize = 200;

/// Every guardrail identifier the policies write (`bedrock.guardrail_inference.<region>.
/// <config>.identifier`, under any operator), in order, once each.
pub fn named_guardrails(policies: &[ScpPolicy]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in policies {
        let Ok(doc) = serde_json::from_str::<Value>(&p.content) else { continue };
        for (_, id) in crate::domain::named_guardrails(&doc) {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// Reads each guardrail the Bedrock policies name, as the management account. Identifiers
/// that cannot name a usable guardrail (not a versioned guardrail ARN, or owned by another
/// account) are not read: the evaluation says why they are unusable without asking AWS.
pub async fn enforced_guardrails(
    management: Result<&AccountClients, &Gap>,
    policies: &[ScpPolicy],
    management_account: &AccountId,
) -> BTreeMap<String, Collected<Option<EnforcedGuardrail>>> {
    let mut out = BTreeMap::new();
    for identifier in named_guardrails(policies) {
        let Ok(guardrail) = GuardrailRef::parse(&identifier) else { continue };
        if guardrail.account != *management_account {
            continue;
        }
        let read = match management {
            Ok(clients) => bedrock::enforced_guardrail(clients, &guardrail).await,
            Err(gap) => Err(gap.clone()),
        };
        out.insert(identifier, read);
    }
    out
}

/// DescribeEffectivePolicy(BEDROCK_POLICY) for the first active member account of each
/// distinct, non-empty Bedrock-policy path (accounts with no Bedrock policy on their path
/// have none; nothing to ask).
pub async fn effective_samples(
    org: &aws_sdk_organizations::Client,
    snapshot: &OrgSnapshot,
) -> BTreeMap<String, Collected<Option<String>>> {
    let mut out = BTreeMap::new();
    for account in sample_accounts(snapshot).into_iter().take(MAX_EFFECTIVE_SAMPLES) {
        let answer = org
            .describe_effective_policy()
            .policy_type(EffectivePolicyType::BedrockPolicy)
            .target_id(account.as_str())
            .send()
            .await;
        let read = match answer {
            Ok(out) => Ok(out.effective_policy.and_then(|p| p.policy_content)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_effective_policy_not_found_exception()) => Ok(None),
            Err(e) => Err(call_gap("DescribeEffectivePolicy", &e)),
        };
        out.insert(account.to_string(), read);
    }
    out
}

/// The account asked about for each distinct non-empty Bedrock-policy path: its first active
/// member account by id.
pub fn sample_accounts(snapshot: &OrgSnapshot) -> Vec<AccountId> {
    let targets = TargetIndex::of(&snapshot.bedrock_policies);
    let mut seen: std::collections::HashSet<Vec<Vec<usize>>> = std::collections::HashSet::new();
    let mut out = Vec::new();
    for account in snapshot.accounts.iter().filter(|a| a.is_active() && a.id != snapshot.management_account_id) {
        let path = snapshot.policy_path(&targets, account);
        if path.is_empty() || !seen.insert(path) {
            continue;
        }
        out.push(account.id.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_guardrails_reads_identifiers_under_any_operator_once() {
        let policy = |id: &str, content: &str| ScpPolicy {
            id: id.into(),
            name: id.into(),
            arn: String::new(),
            aws_managed: false,
            content: content.into(),
            targets: Vec::new(),
        };
        let a = policy(
            "p-a",
            r#"{"bedrock":{"guardrail_inference":{"eu-west-1":{"c1":{"identifier":{"@@assign":"arn:g:1"}},
                 "c2":{"identifier":"arn:bare:2"}},"us-east-1":{"c1":{"identifier":{"@@assign":"arn:g:1"}}}}}}"#,
        );
        let b = policy("p-b", "not json");
        let c = policy(
            "p-c",
            r#"{"bedrock":{"guardrail_inference":{"eu-west-1":{"c":{"identifier":{"@@assign":"x:9"}}}}}}"#,
        );
        assert_eq!(named_guardrails(&[a, b, c]), vec!["arn:g:1", "arn:bare:2", "x:9"]);
    }
}
