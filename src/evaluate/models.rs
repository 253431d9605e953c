//! The `models` family: BR.MOD.1, every model the account's Bedrock resources are built on
//! is on the approved list (`controls.approved_models`): the models its agents orchestrate
//! with, its knowledge bases embed with, its flows and managed prompts call, its jobs run
//! and its custom models were customized from. Each region's verdict names every model in
//! use and who uses it, approved list or not, so the evidence answers "which models does
//! this account use?" even where no list is configured.
//!
//! Whether a model *could* be invoked (by anyone, outside these resources) is what BR.ORG.5
//! decides from the service control policies.

use std::collections::BTreeMap;

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::Status;
use crate::evaluate::ids;
use crate::snapshot::{AccountSnapshot, Collected, Gap, RegionSnapshot};

/// The geography prefixes of system-defined cross-region inference profiles
/// (`us.anthropic.claude-…`, `global.…`): the model id follows the prefix.
const PROFILE_GEOGRAPHIES: &[&str] = &["us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"];

/// What a resource names as its model, as far as the name tells.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum ModelRef {
    /// A foundation model, by its model id; `via` is the cross-region inference profile it
    /// was named through, if any.
    Foundation { id: String, via: Option<String> },
    /// A custom model (by ARN): judged by the model it was customized from, when the region's
    /// custom models tell it.
    Custom(String),
    /// An imported model (by ARN): a model the organization brought, approved only by its ARN.
    Imported(String),
    /// A name that does not say which model runs (an application inference profile, a
    /// provisioned model, a custom model the region's listing does not hold): approved only by
    /// its ARN, otherwise unknown.
    Opaque(String),
}

impl ModelRef {
    fn parse(reference: &str) -> Self {
        let (kind, id) = match reference.split_once(":bedrock:") {
            // arn:<partition>:bedrock:<region>:<account>:<kind>/<id>
            Some((_, rest)) => {
                let resource = rest.splitn(3, ':').nth(2).unwrap_or_default();
                resource.split_once('/').unwrap_or(("", resource))
            }
            None => ("", reference),
        };
        match kind {
            "" | "foundation-model" | "inference-profile" => Self::foundation(id),
            "custom-model" => Self::Custom(reference.to_owned()),
            "imported-model" => Self::Imported(reference.to_owned()),
            _ => Self::Opaque(reference.to_owned()),
        }
    }

    fn foundation(id: &str) -> Self {
        match id.split_once('.') {
            Some((geo, model)) if PROFILE_GEOGRAPHIES.contains(&geo) && model.contains('.') => {
                Self::Foundation { id: model.to_owned(), via: Some(id.to_owned()) }
            }
            _ => Self::Foundation { id: id.to_owned(), via: None },
        }
    }

    /// A custom model resolved to the model it was customized from (through custom models of
    /// custom models), by the region's custom-model listing; one it cannot resolve is opaque.
    fn resolved(self, customs: &[crate::snapshot::CustomModel]) -> Self {
        let mut current = self;
        for _ in 0..8 {
            let Self::Custom(arn) = &current else { return current };
            let base = customs.iter().find(|m| &m.arn == arn).and_then(|m| m.base_model.as_deref());
            current = match base {
                Some(base) => Self::parse(base),
                None => Self::Opaque(arn.clone()),
            };
        }
        match current {
            Self::Custom(arn) => Self::Opaque(arn),
            other => other,
        }
    }

    fn words(&self) -> String {
        match self {
            Self::Foundation { id, via: Some(profile) } => format!("{id} (through {profile})"),
            Self::Foundation { id, via: None } => id.clone(),
            Self::Custom(arn) | Self::Imported(arn) | Self::Opaque(arn) => arn.clone(),
        }
    }
}

/// Whether an approved-list entry (a model id, a foundation-model or inference-profile ARN,
/// `*` and `?` allowed) admits the model.
fn approves(entry: &str, model: &ModelRef) -> bool {
    match model {
        ModelRef::Foundation { id, via } => {
            let pattern = entry
                .rsplit_once("foundation-model/")
                .or_else(|| entry.rsplit_once("inference-profile/"))
                .map_or(entry, |(_, id)| id);
            iam_policy::wildcard_match(pattern, id)
                || via.as_deref().is_some_and(|v| iam_policy::wildcard_match(pattern, v))
        }
        ModelRef::Custom(arn) | ModelRef::Imported(arn) | ModelRef::Opaque(arn) => {
            iam_policy::wildcard_match(entry, arn)
        }
    }
}

/// The models a region's resources name, each with who names it; and the listings that
/// failed, which may hide more.
fn models_in_use(rs: &RegionSnapshot) -> (BTreeMap<ModelRef, Vec<String>>, Vec<&Gap>) {
    let mut uses: BTreeMap<ModelRef, Vec<String>> = BTreeMap::new();
    let mut gaps = Vec::new();
    let customs: &[crate::snapshot::CustomModel] = rs.custom_models.as_deref().unwrap_or_default();
    let mut add = |reference: &str, user: String| {
        let named = ModelRef::parse(reference);
        let user = match &named {
            ModelRef::Custom(arn) => format!("{user} (through custom model {arn})"),
            _ => user,
        };
        let users = uses.entry(named.resolved(customs)).or_default();
        if !users.contains(&user) {
            users.push(user);
        }
    };
    fn each<'a, T>(c: &'a Collected<Vec<T>>, gaps: &mut Vec<&'a Gap>) -> &'a [T] {
        match c {
            Ok(items) => items,
            Err(gap) => {
                gaps.push(gap);
                &[]
            }
        }
    }
    for a in each(&rs.agents, &mut gaps) {
        if let Some(m) = &a.foundation_model {
            add(m, format!("agent {}", a.name));
        }
        for v in &a.versions {
            if let Some(m) = &v.foundation_model {
                add(m, format!("agent {} version {}", a.name, v.version));
            }
        }
    }
    for kb in each(&rs.knowledge_bases, &mut gaps) {
        if let Some(m) = &kb.embedding_model {
            add(m, format!("knowledge base {} (embeddings)", kb.name));
        }
    }
    for f in each(&rs.flows, &mut gaps) {
        for node in f.definitions.iter().flat_map(|d| &d.model_nodes) {
            if let Some(m) = &node.model {
                add(m, format!("flow {} node {}", f.name, node.name));
            }
        }
    }
    for p in each(&rs.prompts, &mut gaps) {
        for m in &p.models {
            add(m, format!("prompt {}", p.name));
        }
    }
    for m in each(&rs.custom_models, &mut gaps) {
        if let Some(base) = &m.base_model {
            add(base, format!("custom model {} (its base)", m.name));
        }
    }
    for j in each(&rs.jobs, &mut gaps) {
        if let Some(m) = &j.model {
            add(m, format!("job {}", j.name));
        }
    }
    (uses, gaps)
}

/// BR.MOD.1.
pub fn approved_models_in_use(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let approved = &input.params.approved_models;
    let mut out = Vec::new();
    for rs in &snap.per_region {
        let (uses, gaps) = models_in_use(rs);
        if uses.is_empty() && gaps.is_empty() {
            continue;
        }
        let list = |filter: &dyn Fn(&ModelRef) -> bool| -> Vec<String> {
            uses.iter()
                .filter(|(m, _)| filter(m))
                .map(|(m, users)| format!("{} by {}", m.words(), users.join(", ")))
                .collect()
        };
        let in_use = list(&|_| true);
        let in_use = if in_use.is_empty() { "none seen".to_owned() } else { in_use.join("; ") };
        let (status, detail) = if approved.is_empty() {
            (
                Status::NotApplicable,
                format!("No approved model list is configured (controls.approved_models). Models in use: {in_use}."),
            )
        } else {
            let unapproved = list(&|m| {
                matches!(m, ModelRef::Foundation { .. } | ModelRef::Imported(_))
                    && !approved.iter().any(|e| approves(e, m))
            });
            let opaque = list(&|m| matches!(m, ModelRef::Opaque(_)) && !approved.iter().any(|e| approves(e, m)));
            if !unapproved.is_empty() {
                (Status::Fail, format!("Models not on the approved list are in use: {}.", unapproved.join("; ")))
            } else if !opaque.is_empty() {
                (
                    Status::Error,
                    format!(
                        "Could not tell which model these run on (an application inference profile or a provisioned model names none; a custom model not in the region's listing): {}.",
                        opaque.join("; ")
                    ),
                )
            } else if uses.is_empty() {
                (Status::NotApplicable, "No resource seen in the region names a model.".to_owned())
            } else {
                (Status::Pass, format!("Every model in use is approved: {in_use}."))
            }
        };
        out.push(input.verdict(ids::MOD_1, Some(&rs.region), input.this_account(), status, detail));
    }
    if out.is_empty() {
        out.push(input.account_verdict(
            ids::MOD_1,
            Status::NotApplicable,
            "No agent, knowledge base, flow, prompt, job or custom model of the account names a model.".into(),
        ));
    }
    out
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = &[Control {
    id: ids::MOD_1,
    reads: reads(
        &[Input::Agents, Input::KnowledgeBases, Input::Flows, Input::Prompts, Input::CustomModels, Input::Jobs],
        Proof::Exhaustive,
        Regions::Swept,
    ),
    judge: Judge::Account(approved_models_in_use),
}];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ControlParameters;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::{Agent, KnowledgeBase, ManagedPrompt};

    const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

    fn agent(model: &str) -> Agent {
        Agent {
            id: "a".into(),
            arn: format!("arn:aws:bedrock:eu-west-1:{MEMBER}:agent/a"),
            name: "helper".into(),
            status: "PREPARED".into(),
            guardrail: None,
            kms_key_arn: None,
            role_arn: String::new(),
            idle_session_ttl_seconds: 600,
            aliases: vec![],
            foundation_model: Some(model.into()),
            versions: vec![],
        }
    }

    fn kb(embedding: &str) -> KnowledgeBase {
        KnowledgeBase {
            id: "KB1".into(),
            name: "docs".into(),
            data_sources: vec![],
            kind: Some("VECTOR".into()),
            managed_store_key: None,
            vector_store: None,
            embedding_model: Some(embedding.into()),
        }
    }

    fn judge(snap: &AccountSnapshot, approved: &[&str]) -> Vec<Evaluation> {
        let params = ControlParameters {
            approved_models: approved.iter().map(|s| (*s).to_owned()).collect(),
            ..ControlParameters::default()
        };
        with_params(snap, params, |i| approved_models_in_use(i, snap))
    }

    fn with_agent_and_kb(agent_model: &str) -> AccountSnapshot {
        let mut snap = account_snapshot();
        snap.per_region[0].agents = Ok(vec![agent(agent_model)]);
        snap.per_region[0].knowledge_bases =
            Ok(vec![kb("arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0")]);
        snap
    }

    #[test]
    fn models_in_use_are_held_against_the_approved_list_by_id_arn_profile_and_pattern() {
        let snap = with_agent_and_kb(&format!("eu.{HAIKU}"));
        let out = judge(&snap, &[HAIKU, "amazon.titan-embed-*"]);
        assert_eq!(statuses(&out), vec![Status::Pass], "{out:?}");
        assert!(out[0].detail.contains(&format!("{HAIKU} (through eu.{HAIKU}) by agent helper")), "{}", out[0].detail);
        assert!(out[0].detail.contains("knowledge base docs (embeddings)"), "{}", out[0].detail);

        let arn_entry = format!("arn:aws:bedrock:eu-west-1::foundation-model/{HAIKU}");
        let snap = with_agent_and_kb(&format!("arn:aws:bedrock:eu-west-1:{MEMBER}:inference-profile/eu.{HAIKU}"));
        assert_eq!(statuses(&judge(&snap, &[&arn_entry, "amazon.*"])), vec![Status::Pass]);

        let out = judge(&snap, &[HAIKU]);
        assert_eq!(statuses(&out), vec![Status::Fail]);
        assert!(out[0].detail.contains("amazon.titan-embed-text-v2:0 by knowledge base docs"), "{}", out[0].detail);
        assert!(!out[0].detail.contains("helper"), "only the unapproved model is named: {}", out[0].detail);
    }

    #[test]
    fn the_version_an_alias_serves_counts_not_only_the_draft() {
        let mut snap = with_agent_and_kb(HAIKU);
        if let Ok(agents) = &mut snap.per_region[0].agents {
            agents[0].versions.push(crate::snapshot::AgentVersion {
                version: "2".into(),
                guardrail: None,
                foundation_model: Some("meta.llama3-70b-instruct-v1:0".into()),
            });
        }
        let out = judge(&snap, &[HAIKU, "amazon.*"]);
        assert_eq!(statuses(&out), vec![Status::Fail]);
        assert!(out[0].detail.contains("meta.llama3-70b-instruct-v1:0 by agent helper version 2"), "{}", out[0].detail);
    }

    #[test]
    fn every_kind_of_user_is_counted() {
        let mut snap = account_snapshot();
        let r = &mut snap.per_region[0];
        r.prompts = Ok(vec![ManagedPrompt {
            id: "p".into(),
            arn: "p".into(),
            name: "summarise".into(),
            kms_key_arn: None,
            models: vec!["meta.llama3-70b-instruct-v1:0".into()],
        }]);
        let out = judge(&snap, &[HAIKU]);
        assert_eq!(statuses(&out), vec![Status::Fail]);
        assert!(out[0].detail.contains("meta.llama3-70b-instruct-v1:0 by prompt summarise"), "{}", out[0].detail);
    }

    #[test]
    fn custom_models_are_judged_by_their_base_imported_ones_by_arn_and_opaque_names_are_errors() {
        let custom = format!("arn:aws:bedrock:eu-west-1:{MEMBER}:custom-model/tuned");
        let embed = "amazon.titan-embed-text-v2:0";
        // Resolved through the region's custom models to its base: approved or not.
        let mut snap = with_agent_and_kb(&custom);
        snap.per_region[0].custom_models = Ok(vec![crate::snapshot::CustomModel {
            arn: custom.clone(),
            name: "tuned".into(),
            kms_key_arn: None,
            imported: false,
            base_model: Some(format!("arn:aws:bedrock:eu-west-1::foundation-model/{HAIKU}")),
        }]);
        let out = judge(&snap, &[embed, HAIKU]);
        assert_eq!(statuses(&out), vec![Status::Pass], "{out:?}");
        assert!(out[0].detail.contains(&format!("agent helper (through custom model {custom})")), "{}", out[0].detail);
        assert_eq!(statuses(&judge(&snap, &[embed])), vec![Status::Fail]);
        // A custom model the listing does not hold says nothing of its base.
        let snap = with_agent_and_kb(&custom);
        let out = judge(&snap, &[embed]);
        assert_eq!(statuses(&out), vec![Status::Error], "{out:?}");
        // Imported models are approved by their ARN only.
        let imported = format!("arn:aws:bedrock:eu-west-1:{MEMBER}:imported-model/llama-ft");
        let snap = with_agent_and_kb(&imported);
        assert_eq!(statuses(&judge(&snap, &[embed])), vec![Status::Fail]);
        assert_eq!(statuses(&judge(&snap, &[embed, &imported])), vec![Status::Pass]);
        // Application inference profiles and provisioned models name no model.
        for opaque in ["application-inference-profile/abc123", "provisioned-model/pt1"] {
            let snap = with_agent_and_kb(&format!("arn:aws:bedrock:eu-west-1:{MEMBER}:{opaque}"));
            let out = judge(&snap, &[embed]);
            assert_eq!(statuses(&out), vec![Status::Error], "{opaque}");
            assert!(out[0].detail.contains(opaque), "{}", out[0].detail);
        }
    }

    #[test]
    fn without_a_list_the_models_are_shown_and_nothing_used_is_not_applicable() {
        let snap = with_agent_and_kb(HAIKU);
        let out = judge(&snap, &[]);
        assert_eq!(statuses(&out), vec![Status::NotApplicable]);
        assert!(out[0].detail.contains(&format!("{HAIKU} by agent helper")), "{}", out[0].detail);

        let out = judge(&account_snapshot(), &[HAIKU]);
        assert_eq!(statuses(&out), vec![Status::NotApplicable]);
    }

    #[test]
    fn a_failed_listing_is_never_a_pass() {
        let mut snap = with_agent_and_kb(HAIKU);
        snap.per_region[0].flows = Err(gap("bedrock", "ListFlows"));
        let out = with_params(
            &snap,
            ControlParameters {
                approved_models: vec![HAIKU.into(), "amazon.*".into()],
                ..ControlParameters::default()
            },
            crate::evaluate::account,
        );
        let mine: Vec<_> = out.evaluations.into_iter().filter(|e| e.control_id.as_str() == "BR.MOD.1").collect();
        assert_eq!(statuses(&mine), vec![Status::Error], "{mine:?}");
    }
}
