//! Doing less work per policy path without changing any probe's outcome:
//! - per action, statements that cannot concern it are dropped and long Action/NotAction
//!   lists are reduced to the one pattern that decides ([`specialize`]), so thousands of
//!   probes do not re-match e.g. Control Tower's 90-entry NotAction list;
//! - regions the path's policies cannot tell apart share one evaluation
//!   ([`region_classes`]): a region enters a request only as `aws:RequestedRegion` and as
//!   the region segment of resource ARNs, so two regions that every policy string matches
//!   (or not) alike — as a literal, a glob, case-insensitively, or as an ARN region
//!   segment — get the same decision.

use std::collections::HashMap;

use iam_policy::{ActionSpec, Level, NearMiss, Policy, ResourceSpec, ScpOutcome, Statement};

/// The levels narrowed to what can matter for `action`: statements whose Action/NotAction
/// cannot cover it are dropped, and the others get a one-pattern action list with the same
/// outcome (a NotAction that exempts the action keeps the exempting pattern, so the near
/// miss still names it). Saves re-matching long NotAction lists for every probe.
pub(crate) fn specialize(levels: &[Level], action: &str) -> Vec<Level> {
    let narrow = |s: &Statement| -> Option<Statement> {
        let spec = match &s.action {
            ActionSpec::Action(l) => ActionSpec::Action(vec![l.iter().find(|p| action_glob(p, action))?.clone()]),
            ActionSpec::NotAction(l) => match l.iter().find(|p| action_glob(p, action)) {
                Some(p) => ActionSpec::NotAction(vec![p.clone()]),
                None => ActionSpec::Action(vec![action.to_owned()]),
            },
        };
        Some(Statement { action: spec, ..s.clone() })
    };
    levels
        .iter()
        .map(|l| Level {
            label: l.label.clone(),
            policies: l
                .policies
                .iter()
                .map(|p| Policy {
                    id: p.id.clone(),
                    version: p.version.clone(),
                    statements: p.statements.iter().filter_map(narrow).collect(),
                    warnings: Vec::new(),
                })
                .collect(),
        })
        .collect()
}

/// Case-insensitive glob with `*` and `?` over the whole action name (§3.2).
pub(crate) fn action_glob(pattern: &str, action: &str) -> bool {
    glob(&pattern.to_lowercase(), &action.to_lowercase())
}

/// For each of `regions`, the first region of its class (itself when alone): regions that
/// every condition value and resource pattern of `policies` treats alike. Without any
/// possible difference all regions form one class; policy variables or short resource
/// patterns (matched against the whole ARN) disable the grouping.
pub(crate) fn region_classes<'r>(policies: &[&Policy], regions: &[&'r str]) -> HashMap<&'r str, &'r str> {
    let identity = || regions.iter().map(|r| (*r, *r)).collect();
    let mut strings: Vec<&str> = Vec::new();
    for stmt in policies.iter().flat_map(|p| &p.statements) {
        let resources = match &stmt.resource {
            ResourceSpec::Resource(l) | ResourceSpec::NotResource(l) => l,
        };
        for r in resources {
            if r != "*" && r.splitn(6, ':').count() < 6 {
                return identity();
            }
        }
        let values = stmt.conditions.iter().flat_map(|c| c.values.iter());
        for s in resources.iter().chain(values) {
            if s.contains("${") {
                return identity();
            }
            let relevant =
                s.contains(['*', '?']) || regions.iter().any(|r| s.to_lowercase().contains(&r.to_lowercase()));
            if relevant && !strings.contains(&s.as_str()) {
                strings.push(s);
            }
        }
    }
    let signature = |r: &str| -> Vec<bool> {
        let lower = r.to_lowercase();
        strings
            .iter()
            .flat_map(|s| {
                let seg3 = s.split(':').nth(3).filter(|_| s.splitn(6, ':').count() == 6);
                [*s == r, glob(s, r), glob(&s.to_lowercase(), &lower), seg3.is_some_and(|g| glob(g, r))]
            })
            .collect()
    };
    let mut reps: Vec<(Vec<bool>, &'r str)> = Vec::new();
    let mut out = HashMap::new();
    for r in regions {
        let sig = signature(r);
        let rep = match reps.iter().find(|(s, _)| *s == sig) {
            Some((_, rep)) => *rep,
            None => {
                reps.push((sig, r));
                r
            }
        };
        out.insert(*r, rep);
    }
    out
}

/// Case-sensitive glob with `*` and `?` over the whole text.
fn glob(pattern: &str, text: &str) -> bool {
    iam_policy::wildcard_match(pattern, text)
}

/// `out` as it reads for `to` when it was computed for `from`, a region of the same class.
pub(crate) fn relabel(out: &ScpOutcome, from: &str, to: &str) -> ScpOutcome {
    let fix =
        |nms: &[NearMiss]| nms.iter().map(|n| NearMiss { reason: n.reason.replace(from, to), ..n.clone() }).collect();
    match out {
        ScpOutcome::Allowed { near_misses } => ScpOutcome::Allowed { near_misses: fix(near_misses) },
        ScpOutcome::ImplicitDeny { level, reason } => {
            ScpOutcome::ImplicitDeny { level: level.clone(), reason: reason.replace(from, to) }
        }
        ScpOutcome::Depends { near_misses, .. } => {
            let mut o = out.clone();
            if let ScpOutcome::Depends { near_misses: n, .. } = &mut o {
                *n = fix(near_misses);
            }
            o
        }
        ScpOutcome::ExplicitDeny { .. } => out.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::action_glob;

    #[test]
    fn action_globs_match_like_iam() {
        for (p, a, want) in [
            ("bedrock:*", "bedrock:InvokeModel", true),
            ("Bedrock:invokemodel", "bedrock:InvokeModel", true),
            ("bedrock:*Model*", "bedrock:InvokeModelWithResponseStream", true),
            ("bedrock:*", "bedrock-mantle:CreateInference", false),
            ("bedrock:Invoke?odel", "bedrock:InvokeModel", true),
            ("*", "iam:CreateServiceSpecificCredential", true),
            ("cloudtrail:LookupEvents", "cloudtrail:StopLogging", false),
        ] {
            assert_eq!(action_glob(p, a), want, "{p} vs {a}");
        }
    }
}
