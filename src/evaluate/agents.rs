//! The `agents` family: BR.AGT.1, every agent for Amazon Bedrock is guarded and contained:
//! a guardrail is associated (a published version, not the draft), the aliases callers
//! invoke serve published versions, it is encrypted with a customer-managed key, its service
//! role is its own and holds no `bedrock:*` on everything (BR.IAM.1's judgement of that
//! role), and idle sessions end within `controls.max_agent_idle_session_seconds`.

use std::collections::BTreeMap;

use super::iam::judge_principal;
use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{ResourceKind, Status};
use crate::evaluate::ids;
use crate::snapshot::{AccountSnapshot, Agent};

/// What is wrong with one agent (failures) and what could not be judged (unknowns).
fn judge_agent(
    agent: &Agent,
    snap: &AccountSnapshot,
    role_users: &BTreeMap<&str, Vec<&str>>,
    max_ttl: i32,
) -> (Vec<String>, Vec<String>) {
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    // The working draft (the test alias runs it) and every version an alias serves.
    let served = agent.versions.iter().map(|v| (format!("version {}", v.version), &v.guardrail));
    for (which, guardrail) in std::iter::once(("the working draft".to_owned(), &agent.guardrail)).chain(served) {
        let at = if which == "the working draft" { String::new() } else { format!(" in {which}") };
        match guardrail {
            None => wrong.push(format!("no guardrail is associated{at}")),
            Some((id, version)) if version.is_empty() || version == "DRAFT" => {
                wrong.push(format!("its guardrail {id} is the working draft, not a published version{at}"));
            }
            Some(_) => {}
        }
    }
    for alias in agent.aliases.iter().filter(|a| !a.is_test()) {
        if alias.serves_draft() {
            wrong.push(format!("alias {} serves the working draft", alias.name));
        }
    }
    if agent.kms_key_arn.is_none() {
        wrong.push("it is encrypted with an AWS-owned key".to_owned());
    }
    if agent.idle_session_ttl_seconds > max_ttl {
        wrong.push(format!(
            "idle sessions last {} s, more than the {max_ttl} s allowed",
            agent.idle_session_ttl_seconds
        ));
    }
    let others: Vec<&str> =
        role_users.get(agent.role_arn.as_str()).into_iter().flatten().copied().filter(|n| *n != agent.arn).collect();
    if !others.is_empty() {
        wrong.push(format!("its service role {} is shared with {}", agent.role_arn, others.join(", ")));
    }
    match &snap.iam {
        Err(gap) => unknown.push(format!("its service role could not be judged ({})", gap.summary())),
        Ok(iam) => match iam.principals.iter().find(|p| p.arn == agent.role_arn) {
            None => unknown.push(format!("its service role {} is not among the account's roles", agent.role_arn)),
            Some(role) => {
                let found = judge_principal(role, &iam.managed_policies);
                wrong.extend(found.broad.into_iter().map(|b| format!("its service role: {b}")));
                unknown.extend(found.unreadable.into_iter().map(|u| format!("its service role: {u}")));
            }
        },
    }
    (wrong, unknown)
}

/// BR.AGT.1.
pub fn agents_guarded(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    // Who uses each service role, across the account's regions (roles are global).
    let mut role_users: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for rs in &snap.per_region {
        if let Ok(agents) = &rs.agents {
            for a in agents {
                role_users.entry(a.role_arn.as_str()).or_default().push(a.arn.as_str());
            }
        }
    }
    let mut out = Vec::new();
    for rs in &snap.per_region {
        let agents = match &rs.agents {
            Ok(a) => a,
            Err(gap) => {
                out.push(input.listing_failed(ids::AGT_1, &rs.region, "agents", gap));
                continue;
            }
        };
        for agent in agents {
            let (wrong, unknown) = judge_agent(agent, snap, &role_users, input.params.max_agent_idle_session_seconds);
            let (status, detail) = if !wrong.is_empty() {
                let all: Vec<String> = wrong.into_iter().chain(unknown).collect();
                (Status::Fail, format!("Agent {}: {}.", agent.name, all.join("; ")))
            } else if !unknown.is_empty() {
                (Status::Error, format!("Agent {}: {}.", agent.name, unknown.join("; ")))
            } else {
                let (g, v) = agent.guardrail.clone().unwrap_or_default();
                (
                    Status::Pass,
                    format!(
                        "Agent {} is guarded by {g} version {v}, encrypted with {}, acts with its own narrow role and ends idle sessions after {} s.",
                        agent.name,
                        agent.kms_key_arn.as_deref().unwrap_or_default(),
                        agent.idle_session_ttl_seconds
                    ),
                )
            };
            out.push(input.verdict(
                ids::AGT_1,
                Some(&rs.region),
                (&agent.arn, ResourceKind::BedrockAgent),
                status,
                detail,
            ));
        }
    }
    if out.is_empty() {
        out.push(input.account_verdict(ids::AGT_1, Status::NotApplicable, "The account has no agents.".into()));
    }
    out
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = &[Control {
    id: ids::AGT_1,
    reads: reads(&[Input::Agents, Input::Iam], Proof::Exhaustive, Regions::Swept),
    judge: Judge::Account(agents_guarded),
}];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::{AgentAlias, IamPrincipal, IamSnapshot, PolicyDocument};

    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/k";

    fn agent(name: &str, role: &str) -> Agent {
        Agent {
            id: name.into(),
            arn: format!("arn:aws:bedrock:eu-west-1:{MEMBER}:agent/{name}"),
            name: name.into(),
            status: "PREPARED".into(),
            guardrail: Some(("gr1".into(), "2".into())),
            kms_key_arn: Some(KEY.into()),
            role_arn: format!("arn:aws:iam::{MEMBER}:role/{role}"),
            idle_session_ttl_seconds: 600,
            aliases: vec![
                AgentAlias {
                    id: AgentAlias::TEST_ID.into(),
                    name: "AgentTestAlias".into(),
                    versions: vec!["DRAFT".into()],
                },
                AgentAlias { id: "LIVE".into(), name: "live".into(), versions: vec!["3".into()] },
            ],
            foundation_model: Some("anthropic.claude-3-haiku-20240307-v1:0".into()),
            versions: vec![crate::snapshot::AgentVersion {
                version: "3".into(),
                guardrail: Some(("gr1".into(), "2".into())),
                foundation_model: Some("anthropic.claude-3-haiku-20240307-v1:0".into()),
            }],
        }
    }

    fn role(name: &str, policy: &str) -> IamPrincipal {
        IamPrincipal {
            kind: "role".into(),
            name: name.into(),
            arn: format!("arn:aws:iam::{MEMBER}:role/{name}"),
            path: "/".into(),
            inline_policies: vec![PolicyDocument { name: "p".into(), document: policy.into() }],
            attached: vec![],
        }
    }

    const NARROW: &str = r#"{"Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}]}"#;
    const BROAD: &str = r#"{"Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}"#;

    fn judge(agents: Vec<Agent>, roles: Vec<IamPrincipal>) -> Vec<Evaluation> {
        let mut snap = account_snapshot();
        snap.iam = Ok(IamSnapshot { principals: roles, ..IamSnapshot::default() });
        snap.per_region[0].agents = Ok(agents);
        with_input(&snap, |i| agents_guarded(i, &snap))
    }

    #[test]
    fn a_guarded_contained_agent_passes_and_each_shortfall_fails() {
        let out = judge(vec![agent("helper", "helper-role")], vec![role("helper-role", NARROW)]);
        assert_eq!(statuses(&out), vec![Status::Pass], "{out:?}");
        assert_eq!(out[0].resource_kind, ResourceKind::BedrockAgent);

        let mut loose = agent("loose", "loose-role");
        loose.guardrail = None;
        loose.kms_key_arn = None;
        loose.idle_session_ttl_seconds = 3600;
        loose.aliases[1].versions = vec!["DRAFT".into()];
        let out = judge(vec![loose], vec![role("loose-role", BROAD)]);
        assert_eq!(statuses(&out), vec![Status::Fail]);
        for want in ["no guardrail", "alias live serves the working draft", "AWS-owned key", "3600 s", "bedrock:* on *"]
        {
            assert!(out[0].detail.contains(want), "{want}: {}", out[0].detail);
        }

        let mut draft = agent("draft", "draft-role");
        draft.guardrail = Some(("gr1".into(), "DRAFT".into()));
        let out = judge(vec![draft], vec![role("draft-role", NARROW)]);
        assert!(out[0].detail.contains("working draft, not a published version"), "{}", out[0].detail);

        // The version an alias serves is judged as published: a guarded draft does not cover it.
        let mut served = agent("served", "served-role");
        served.versions[0].guardrail = None;
        let out = judge(vec![served], vec![role("served-role", NARROW)]);
        assert_eq!(statuses(&out), vec![Status::Fail]);
        assert!(out[0].detail.contains("no guardrail is associated in version 3"), "{}", out[0].detail);
    }

    #[test]
    fn a_shared_role_fails_and_an_unknown_role_is_an_error() {
        let out = judge(vec![agent("a", "shared"), agent("b", "shared")], vec![role("shared", NARROW)]);
        assert_eq!(statuses(&out), vec![Status::Fail, Status::Fail]);
        assert!(out[0].detail.contains("is shared with") && out[0].detail.contains("agent/b"), "{}", out[0].detail);

        let out = judge(vec![agent("a", "missing")], vec![]);
        assert_eq!(statuses(&out), vec![Status::Error], "{out:?}");

        let mut snap = account_snapshot();
        snap.per_region[0].agents = Ok(vec![agent("a", "r")]);
        snap.iam = Err(gap("iam", "GetAccountAuthorizationDetails"));
        assert_eq!(statuses(&with_input(&snap, |i| agents_guarded(i, &snap))), vec![Status::Error]);
    }

    #[test]
    fn no_agent_is_not_applicable_and_a_failed_listing_an_error() {
        assert_eq!(statuses(&judge(vec![], vec![])), vec![Status::NotApplicable]);
        let mut snap = account_snapshot();
        snap.per_region[0].agents = Err(gap("bedrock", "ListAgents"));
        assert_eq!(statuses(&with_input(&snap, |i| agents_guarded(i, &snap))), vec![Status::Error]);
    }
}
