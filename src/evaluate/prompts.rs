//! The `prompts` family: BR.PRM.1, every prompt of Prompt management is encrypted with a
//! customer-managed key.

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{ResourceKind, Status};
use crate::evaluate::ids;
use crate::snapshot::AccountSnapshot;

/// BR.PRM.1.
pub fn prompts_encrypted(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut out = Vec::new();
    for rs in &snap.per_region {
        let prompts = match &rs.prompts {
            Ok(p) => p,
            Err(gap) => {
                out.push(input.listing_failed(ids::PRM_1, &rs.region, "managed prompts", gap));
                continue;
            }
        };
        for p in prompts {
            let models = if p.models.is_empty() { String::new() } else { format!(" (for {})", p.models.join(", ")) };
            let (status, detail) = match &p.kms_key_arn {
                Some(key) => (Status::Pass, format!("Prompt {}{models} is encrypted with {key}.", p.name)),
                None => (Status::Fail, format!("Prompt {}{models} is encrypted with an AWS-owned key.", p.name)),
            };
            out.push(input.verdict(
                ids::PRM_1,
                Some(&rs.region),
                (&p.arn, ResourceKind::BedrockPrompt),
                status,
                detail,
            ));
        }
    }
    if out.is_empty() {
        out.push(input.account_verdict(
            ids::PRM_1,
            Status::NotApplicable,
            "The account has no managed prompts.".into(),
        ));
    }
    out
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = &[Control {
    id: ids::PRM_1,
    reads: reads(&[Input::Prompts], Proof::Exhaustive, Regions::Swept),
    judge: Judge::Account(prompts_encrypted),
}];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::{Collected, ManagedPrompt};

    fn prompt(name: &str, key: Option<&str>) -> ManagedPrompt {
        ManagedPrompt {
            id: name.into(),
            arn: format!("arn:aws:bedrock:eu-west-1:{MEMBER}:prompt/{name}"),
            name: name.into(),
            kms_key_arn: key.map(str::to_owned),
            models: vec!["amazon.titan-text-express-v1".into()],
        }
    }

    fn judge(prompts: Collected<Vec<ManagedPrompt>>) -> Vec<Evaluation> {
        let mut snap = account_snapshot();
        snap.per_region[0].prompts = prompts;
        with_input(&snap, |i| prompts_encrypted(i, &snap))
    }

    #[test]
    fn each_prompt_is_judged_by_its_own_key() {
        let out = judge(Ok(vec![
            prompt("summarise", Some("arn:aws:kms:eu-west-1:111122223333:key/k")),
            prompt("chat", None),
        ]));
        assert_eq!(statuses(&out), vec![Status::Pass, Status::Fail]);
        assert_eq!(out[0].resource_kind, ResourceKind::BedrockPrompt);
        assert!(out[1].detail.contains("chat (for amazon.titan-text-express-v1)"), "{}", out[1].detail);
        assert!(out[1].detail.contains("AWS-owned key"), "{}", out[1].detail);
    }

    #[test]
    fn no_prompt_is_not_applicable_and_a_failed_listing_an_error() {
        assert_eq!(statuses(&judge(Ok(vec![]))), vec![Status::NotApplicable]);
        let out = judge(Err(gap("bedrock", "ListPrompts")));
        assert_eq!(statuses(&out), vec![Status::Error]);
        assert!(out[0].detail.contains("ListPrompts"), "{}", out[0].detail);
    }
}
