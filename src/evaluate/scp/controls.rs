//! BR.ORG.1–6 from probe outcomes: which checks each control makes, the verdict, and the
//! one-sentence detail (deciding statements, what is left open and why, exemptions, lints).
//! Level names in the text are tokens (`{{L0}}`, …) that the caller replaces per account.

use std::collections::HashMap;

use iam_policy::{LintKind, ScpOutcome, Severity, Statement};

use super::PolicyEntry;
use super::evidence::{
    deny_source, depends, list, near_miss, network_words, principal_words, region_words, statement_name,
};
use super::probes::{Ctl, Expect, Probe, UNSPECIFIED};
use crate::domain::Status;

/// One control's verdict for a path, with level tokens in the detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub status: Status,
    pub detail: String,
}

/// BR.ORG.1–6 for one policy path, indexed by `Ctl as usize`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathVerdicts {
    pub controls: Vec<Verdict>,
}

/// One check of a control: the probes with this `check` name and how to say it failed.
struct Check {
    ctl: Ctl,
    check: &'static str,
    /// Subject, e.g. "Bedrock runtime calls from the public internet".
    what: &'static str,
    /// Verb phrase when the check fails, e.g. "are not denied" / "are denied too".
    failed: &'static str,
}

const CHECKS: &[Check] = &[
    Check { ctl: Ctl::Region, check: "outside", what: "Bedrock", failed: "is open" },
    Check {
        ctl: Ctl::Endpoint,
        check: "public",
        what: "Bedrock runtime calls from the public internet",
        failed: "are not denied",
    },
    Check {
        ctl: Ctl::Endpoint,
        check: "other",
        what: "Bedrock runtime calls through an unapproved VPC endpoint",
        failed: "are not denied",
    },
    Check {
        ctl: Ctl::Endpoint,
        check: "approved",
        what: "Bedrock runtime calls through the approved VPC endpoint",
        failed: "are denied too",
    },
    Check {
        ctl: Ctl::Endpoint,
        check: "fas",
        what: "calls made by AWS services for the caller (FAS)",
        failed: "are not denied",
    },
    Check { ctl: Ctl::Guardrail, check: "none", what: "Model invocation without a guardrail", failed: "is not denied" },
    Check {
        ctl: Ctl::Guardrail,
        check: "required",
        what: "Invocation with the required guardrail",
        failed: "is denied too",
    },
    Check {
        ctl: Ctl::Audit,
        check: "change",
        what: "Changing audit logging or AgentCore policy enforcement",
        failed: "is not denied",
    },
    Check {
        ctl: Ctl::Models,
        check: "other",
        what: "Invoking models outside the approved list",
        failed: "is not denied",
    },
    Check { ctl: Ctl::Models, check: "approved", what: "Invoking approved models", failed: "is denied too" },
    Check {
        ctl: Ctl::ApiKeys,
        check: "create",
        what: "Creating Bedrock API keys (iam:CreateServiceSpecificCredential)",
        failed: "is not denied",
    },
    Check { ctl: Ctl::ApiKeys, check: "use", what: "Calling Bedrock with long-term API keys", failed: "is not denied" },
    Check {
        ctl: Ctl::ApiKeys,
        check: "mantle",
        what: "long-term API keys on the Mantle endpoint",
        failed: "are not denied",
    },
];

/// What each control says when it holds.
fn pass_text(ctl: Ctl, probes: &[(&Probe, &ScpOutcome)]) -> String {
    let regions = distinct(probes.iter().filter(|(p, _)| p.expect == Expect::Deny).map(|(p, _)| p.region.clone()));
    let global = regions.iter().any(|r| r == UNSPECIFIED);
    let n = regions.iter().filter(|r| *r != UNSPECIFIED).count();
    match ctl {
        Ctl::Region => format!(
            "Bedrock is denied in all {n} regions outside the approved list{} for every probed action, principal and network path",
            if global { " and for global cross-region inference" } else { "" }
        ),
        Ctl::Endpoint => {
            let other = probes.iter().any(|(p, _)| p.check == "other");
            format!(
                "Bedrock runtime calls in the {n} approved region(s) are denied from the public internet{} and not denied through the approved VPC endpoint",
                if other { " and through unapproved endpoints" } else { "" }
            )
        }
        Ctl::Guardrail => {
            let required = probes.iter().any(|(p, _)| p.check == "required");
            format!(
                "Model invocation without a guardrail is denied{}",
                if required { " and invocation with the required guardrail is not" } else { "" }
            )
        }
        Ctl::Audit => {
            "Stopping, deleting or changing CloudTrail trails and Bedrock invocation logging, and weakening or deleting AgentCore gateways and their policy engines, is denied for a generic role and the root user".into()
        }
        Ctl::Models => "Invoking models outside the approved list (foundation-model and inference-profile ARNs, Mantle) is denied and approved models are not".into(),
        Ctl::ApiKeys => "Creating Bedrock API keys and calling Bedrock with long-term keys are denied".into(),
    }
}

/// Builds the verdicts of every control from aligned probes and outcomes.
pub(crate) fn summarize(probes: &[Probe], outcomes: &[ScpOutcome], policies: &[&PolicyEntry]) -> PathVerdicts {
    let all = [Ctl::Region, Ctl::Endpoint, Ctl::Guardrail, Ctl::Audit, Ctl::Models, Ctl::ApiKeys];
    let controls = all
        .iter()
        .map(|&ctl| {
            let mine: Vec<(&Probe, &ScpOutcome)> = probes.iter().zip(outcomes).filter(|(p, _)| p.ctl == ctl).collect();
            control(ctl, &mine, policies)
        })
        .collect();
    PathVerdicts { controls }
}

fn control(ctl: Ctl, probes: &[(&Probe, &ScpOutcome)], policies: &[&PolicyEntry]) -> Verdict {
    if probes.is_empty() {
        return Verdict { status: Status::NotApplicable, detail: "Nothing to probe for this control.".into() };
    }
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for check in CHECKS.iter().filter(|c| c.ctl == ctl) {
        let rows: Vec<&(&Probe, &ScpOutcome)> = probes.iter().filter(|(p, _)| p.check == check.check).collect();
        let Some((first, _)) = rows.first() else { continue };
        let want_deny = first.expect != Expect::Allow;
        let bad: Vec<&(&Probe, &ScpOutcome)> =
            rows.iter().copied().filter(|(_, o)| o.is_denied() != Some(want_deny)).collect();
        if bad.is_empty() {
            continue;
        }
        let clause = failure(check, &rows, &bad, want_deny);
        if first.expect == Expect::Info {
            notes.push(clause);
        } else {
            problems.push(clause);
        }
    }
    let exemptions = exemptions(probes, policies);
    let mut detail = if problems.is_empty() {
        let sources =
            ranked(probes.iter().filter(|(p, _)| p.expect == Expect::Deny).filter_map(|(_, o)| deny_source(o)));
        format!("{} by {}", pass_text(ctl, probes), list(&sources, 2))
    } else {
        problems.join("; ")
    };
    if !exemptions.is_empty() {
        detail.push_str(&format!(" (the deciding statements exempt {})", list(&exemptions, 3)));
    }
    for n in notes {
        detail.push_str(&format!("; note: {n}"));
    }
    detail.push('.');
    let lints = lints(ctl, probes, policies);
    if !lints.is_empty() {
        detail.push_str(&format!(" Lint: {}.", list(&lints, 2)));
    }
    let status = if problems.is_empty() { Status::Pass } else { Status::Fail };
    Verdict { status, detail }
}

/// One clause saying how a check failed: where, and why.
fn failure(check: &Check, rows: &[&(&Probe, &ScpOutcome)], bad: &[&(&Probe, &ScpOutcome)], want_deny: bool) -> String {
    let scope = scope(check.ctl, rows, bad);
    let definite: Vec<&ScpOutcome> = bad.iter().map(|(_, o)| *o).filter(|o| o.is_denied().is_some()).collect();
    if definite.is_empty() {
        let why = ranked(bad.iter().filter_map(|(_, o)| depends(o)));
        let proven = if want_deny { "not proven denied" } else { "not proven allowed" };
        let verb = if check.failed.starts_with("is") { "is" } else { "are" };
        return format!("{} {verb} {proven}{scope}: the decision depends on {}", check.what, list(&why, 1));
    }
    let why = if want_deny {
        let misses = ranked(definite.iter().flat_map(|o| match o {
            ScpOutcome::Allowed { near_misses } => near_misses.iter().map(near_miss).collect(),
            _ => Vec::new(),
        }));
        match misses.first() {
            Some(m) => format!(" because {m}"),
            None => " because no SCP on the path denies it".to_owned(),
        }
    } else {
        format!(" by {}", list(&ranked(definite.iter().filter_map(|o| deny_source(o))), 2))
    };
    format!("{} {}{scope}{why}", check.what, check.failed)
}

/// Where a check failed: regions, actions, principals, networks and notes that are a
/// proper subset of those probed.
fn scope(ctl: Ctl, rows: &[&(&Probe, &ScpOutcome)], bad: &[&(&Probe, &ScpOutcome)]) -> String {
    let mut out = String::new();
    let regions = distinct(bad.iter().map(|(p, _)| p.region.clone()));
    let all_regions = distinct(rows.iter().map(|(p, _)| p.region.clone()));
    let named: Vec<String> = regions.iter().map(|r| region_words(r)).collect();
    if ctl == Ctl::Region {
        let n = regions.iter().filter(|r| *r != UNSPECIFIED).count();
        if n == 0 {
            out.push_str(" for global cross-region inference (aws:RequestedRegion = unspecified)");
        } else {
            out.push_str(&format!(" in {n} region(s) outside the approved list ({})", list(&named, 5)));
        }
    } else if regions.len() < all_regions.len() || all_regions.len() == 1 {
        out.push_str(&format!(" in {}", list(&named, 4)));
    } else {
        let n = regions.len();
        out.push_str(&if n == 2 {
            " in both approved regions".to_owned()
        } else {
            format!(" in all {n} approved regions")
        });
    }
    let actions = distinct(bad.iter().map(|(p, _)| p.ctx.action.clone()));
    if actions.len() < distinct(rows.iter().map(|(p, _)| p.ctx.action.clone())).len() || ctl == Ctl::Audit {
        out.push_str(&format!(" for {}", list(&actions, 4)));
    }
    let notes = distinct(bad.iter().map(|(p, _)| p.note.clone()).filter(|n| !n.is_empty()));
    if !notes.is_empty() && notes.len() < distinct(rows.iter().map(|(p, _)| p.note.clone())).len() {
        out.push_str(&format!(" ({})", list(&notes, 2)));
    }
    let principals = distinct(bad.iter().map(|(p, _)| principal_words(p.principal).to_owned()));
    if principals.len() < distinct(rows.iter().map(|(p, _)| principal_words(p.principal).to_owned())).len() {
        out.push_str(&format!(" as {}", principals.join(" or ")));
    }
    let networks = distinct(bad.iter().map(|(p, _)| network_words(p.network).to_owned()));
    if networks.len() < distinct(rows.iter().map(|(p, _)| network_words(p.network).to_owned())).len() {
        out.push_str(&format!(" via {}", networks.join(" or ")));
    }
    out
}

/// Principal exemptions (negated `aws:PrincipalArn` / `aws:PrincipalTag/*` conditions) of
/// the statements that denied this control's must-deny probes.
fn exemptions(probes: &[(&Probe, &ScpOutcome)], policies: &[&PolicyEntry]) -> Vec<String> {
    let deciding = distinct(probes.iter().filter(|(p, _)| p.expect == Expect::Deny).filter_map(|(_, o)| match o {
        ScpOutcome::ExplicitDeny { policy_id, statement_index, .. } => Some(format!("{policy_id}#{statement_index}")),
        _ => None,
    }));
    let mut out = Vec::new();
    for key in deciding {
        let Some((id, ix)) = key.split_once('#') else { continue };
        let Some(stmt) = statement(policies, id, ix.parse().unwrap_or(usize::MAX)) else { continue };
        for c in &stmt.conditions {
            let principal_key =
                c.key.eq_ignore_ascii_case("aws:PrincipalArn") || c.key.to_lowercase().starts_with("aws:principaltag/");
            if principal_key && c.operator.base.is_negated() {
                for v in &c.values {
                    let text = if c.key.to_lowercase().starts_with("aws:principaltag/") {
                        format!("{}={v}", c.key)
                    } else {
                        v.clone()
                    };
                    if !out.contains(&text) {
                        out.push(text);
                    }
                }
            }
        }
    }
    out
}

fn statement<'a>(policies: &[&'a PolicyEntry], id: &str, index: usize) -> Option<&'a Statement> {
    policies.iter().find(|p| p.policy.id == id)?.policy.statements.iter().find(|s| s.index == index)
}

/// Lints of the policies this control's probes touched, as far as they concern it.
fn lints(ctl: Ctl, probes: &[(&Probe, &ScpOutcome)], policies: &[&PolicyEntry]) -> Vec<String> {
    let mut touched: Vec<&str> = Vec::new();
    for (_, o) in probes {
        let ids: Vec<&str> = match o {
            ScpOutcome::ExplicitDeny { policy_id, .. } => vec![policy_id.as_str()],
            ScpOutcome::Allowed { near_misses } => near_misses.iter().map(|n| n.policy_id.as_str()).collect(),
            ScpOutcome::Depends { policy_id, near_misses, .. } => {
                std::iter::once(policy_id.as_str()).chain(near_misses.iter().map(|n| n.policy_id.as_str())).collect()
            }
            ScpOutcome::ImplicitDeny { .. } => Vec::new(),
        };
        for id in ids {
            if !touched.contains(&id) {
                touched.push(id);
            }
        }
    }
    let mut found: Vec<(Severity, String)> = Vec::new();
    for p in policies.iter().filter(|p| touched.contains(&p.policy.id.as_str())) {
        for l in &p.lints {
            let relevant = match l.kind {
                LintKind::BedrockWithoutMantle => matches!(ctl, Ctl::Region | Ctl::Endpoint | Ctl::Models),
                LintKind::BearerTokenWithoutMantle => matches!(ctl, Ctl::Region | Ctl::ApiKeys),
                LintKind::ViaAwsServiceWithoutIfExists => ctl == Ctl::Endpoint,
                _ => l.severity >= Severity::Warning,
            };
            let stmt =
                l.statement_index.map(|i| format!(" ({})", statement_name(l.sid.as_deref(), i))).unwrap_or_default();
            let text = format!("SCP {}{stmt}: {}", p.policy.id, l.message);
            if relevant && !found.iter().any(|(_, t)| *t == text) {
                found.push((l.severity, text));
            }
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.into_iter().map(|(_, t)| t).collect()
}

/// Distinct values in first-seen order.
fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Distinct values, most frequent first (ties: first seen).
fn ranked(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    for (i, item) in items.enumerate() {
        let e = counts.entry(item).or_insert((0, i));
        e.0 += 1;
    }
    let mut v: Vec<(String, (usize, usize))> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
    v.into_iter().map(|(s, _)| s).collect()
}
