//! The `flows` family: BR.FLW.1, every prompt flow is encrypted with a customer-managed key,
//! its aliases serve published versions, and every node where a model answers (prompt nodes,
//! and knowledge-base nodes that generate) is guarded by a published guardrail version, in
//! the working draft (the test alias serves it) and in every version an alias serves.

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{ResourceKind, Status};
use crate::evaluate::ids;
use crate::snapshot::{AccountSnapshot, Flow, FlowNodeKind};

/// "prompt node" or "knowledge-base node", for details.
fn node_words(kind: FlowNodeKind) -> &'static str {
    match kind {
        FlowNodeKind::Prompt => "prompt node",
        FlowNodeKind::KnowledgeBase => "knowledge-base node",
    }
}

/// What is wrong with one flow, and how many nodes a model answers at (for the pass).
fn judge_flow(flow: &Flow) -> (Vec<String>, usize) {
    let mut wrong = Vec::new();
    if flow.kms_key_arn.is_none() {
        wrong.push("it is encrypted with an AWS-owned key".to_owned());
    }
    for alias in flow.aliases.iter().filter(|a| !a.is_test() && a.serves_draft()) {
        wrong.push(format!("alias {} serves the working draft", alias.name));
    }
    let mut generating = 0;
    for def in &flow.definitions {
        for node in def.model_nodes.iter().filter(|n| n.generates()) {
            generating += 1;
            let at = format!("{} {} ({})", node_words(node.kind), node.name, version_words(&def.version));
            match &node.guardrail {
                None => wrong.push(format!("{at} has no guardrail")),
                Some((id, v)) if v.is_empty() || v == "DRAFT" => {
                    wrong.push(format!("{at} uses guardrail {id}'s working draft, not a published version"));
                }
                Some(_) => {}
            }
        }
    }
    (wrong, generating)
}

fn version_words(version: &str) -> String {
    if version == "DRAFT" { "working draft".to_owned() } else { format!("version {version}") }
}

/// BR.FLW.1.
pub fn flows_guarded(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut out = Vec::new();
    for rs in &snap.per_region {
        let flows = match &rs.flows {
            Ok(f) => f,
            Err(gap) => {
                out.push(input.listing_failed(ids::FLW_1, &rs.region, "prompt flows", gap));
                continue;
            }
        };
        for flow in flows {
            let (wrong, generating) = judge_flow(flow);
            let (status, detail) = if !wrong.is_empty() {
                (Status::Fail, format!("Flow {}: {}.", flow.name, wrong.join("; ")))
            } else {
                let versions: Vec<String> = flow.definitions.iter().map(|d| version_words(&d.version)).collect();
                let retrieve_only = flow
                    .definitions
                    .iter()
                    .flat_map(|d| &d.model_nodes)
                    .filter(|n| n.kind == FlowNodeKind::KnowledgeBase && !n.generates())
                    .count();
                let nodes = if generating == 0 {
                    "no node of it calls a model".to_owned()
                } else {
                    format!(
                        "its {generating} node(s) where a model answers are guarded by published guardrail versions"
                    )
                };
                let retrieval = if retrieve_only > 0 {
                    format!(" ({retrieve_only} retrieve-only knowledge-base node(s) return documents, no answer)")
                } else {
                    String::new()
                };
                (
                    Status::Pass,
                    format!(
                        "Flow {} is encrypted with {}; in {}, {nodes}{retrieval}.",
                        flow.name,
                        flow.kms_key_arn.as_deref().unwrap_or_default(),
                        versions.join(" and ")
                    ),
                )
            };
            out.push(input.verdict(
                ids::FLW_1,
                Some(&rs.region),
                (&flow.arn, ResourceKind::BedrockFlow),
                status,
                detail,
            ));
        }
    }
    if out.is_empty() {
        out.push(input.account_verdict(ids::FLW_1, Status::NotApplicable, "The account has no prompt flows.".into()));
    }
    out
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = &[Control {
    id: ids::FLW_1,
    reads: reads(&[Input::Flows], Proof::Exhaustive, Regions::Swept),
    judge: Judge::Account(flows_guarded),
}];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::{AgentAlias, Collected, FlowDefinition, FlowModelNode};

    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/k";

    fn node(name: &str, kind: FlowNodeKind, guardrail: Option<(&str, &str)>, model: Option<&str>) -> FlowModelNode {
        FlowModelNode {
            name: name.into(),
            kind,
            guardrail: guardrail.map(|(g, v)| (g.into(), v.into())),
            model: model.map(str::to_owned),
            prompt_arn: None,
        }
    }

    /// A flow whose draft and served version 2 each prompt a model and query a knowledge base
    /// (retrieve only), all guarded by gr1 version 1, under a customer-managed key.
    fn flow() -> Flow {
        let nodes = vec![
            node("ask", FlowNodeKind::Prompt, Some(("gr1", "1")), Some("amazon.titan-text-express-v1")),
            node("search", FlowNodeKind::KnowledgeBase, None, None),
        ];
        Flow {
            id: "F1".into(),
            arn: format!("arn:aws:bedrock:eu-west-1:{MEMBER}:flow/F1"),
            name: "triage".into(),
            kms_key_arn: Some(KEY.into()),
            aliases: vec![
                AgentAlias { id: AgentAlias::TEST_ID.into(), name: "TestAlias".into(), versions: vec!["DRAFT".into()] },
                AgentAlias { id: "LIVE".into(), name: "live".into(), versions: vec!["2".into()] },
            ],
            definitions: vec![
                FlowDefinition { version: "DRAFT".into(), model_nodes: nodes.clone() },
                FlowDefinition { version: "2".into(), model_nodes: nodes },
            ],
        }
    }

    fn judge(flows: Collected<Vec<Flow>>) -> Vec<Evaluation> {
        let mut snap = account_snapshot();
        snap.per_region[0].flows = flows;
        with_input(&snap, |i| flows_guarded(i, &snap))
    }

    #[test]
    fn a_guarded_encrypted_flow_passes_and_names_what_it_judged() {
        let out = judge(Ok(vec![flow()]));
        assert_eq!(statuses(&out), vec![Status::Pass], "{out:?}");
        assert_eq!(out[0].resource_kind, ResourceKind::BedrockFlow);
        assert!(out[0].detail.contains("working draft and version 2"), "{}", out[0].detail);
        assert!(out[0].detail.contains("2 retrieve-only"), "{}", out[0].detail);
    }

    #[test]
    fn each_shortfall_fails_and_is_named() {
        let mut f = flow();
        f.kms_key_arn = None;
        f.aliases[1].versions = vec!["DRAFT".into()];
        // Version 2 (served) lost the guardrail on its prompt node; the draft's knowledge-base
        // node generates an answer with no guardrail; a loop's prompt node uses a draft guardrail.
        f.definitions[1].model_nodes[0].guardrail = None;
        f.definitions[0].model_nodes[1].model = Some("anthropic.claude-3-haiku-20240307-v1:0".into());
        f.definitions[0].model_nodes.push(node("inner", FlowNodeKind::Prompt, Some(("gr1", "DRAFT")), None));
        let out = judge(Ok(vec![f]));
        assert_eq!(statuses(&out), vec![Status::Fail]);
        for want in [
            "AWS-owned key",
            "alias live serves the working draft",
            "prompt node ask (version 2) has no guardrail",
            "knowledge-base node search (working draft) has no guardrail",
            "prompt node inner (working draft) uses guardrail gr1's working draft",
        ] {
            assert!(out[0].detail.contains(want), "{want}: {}", out[0].detail);
        }
    }

    #[test]
    fn a_retrieve_only_knowledge_base_node_needs_no_guardrail_but_the_test_alias_is_not_a_fault() {
        let mut f = flow();
        f.definitions.truncate(1);
        f.definitions[0].model_nodes.remove(0);
        f.aliases.truncate(1);
        let out = judge(Ok(vec![f]));
        assert_eq!(statuses(&out), vec![Status::Pass], "{out:?}");
        assert!(out[0].detail.contains("no node of it calls a model"), "{}", out[0].detail);
    }

    #[test]
    fn no_flow_is_not_applicable_and_a_failed_listing_an_error() {
        assert_eq!(statuses(&judge(Ok(vec![]))), vec![Status::NotApplicable]);
        let out = judge(Err(gap("bedrock", "ListFlows")));
        assert_eq!(statuses(&out), vec![Status::Error]);
        assert!(out[0].detail.contains("ListFlows"), "{}", out[0].detail);
    }
}
