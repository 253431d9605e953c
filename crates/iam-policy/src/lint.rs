//! Policy lints that point at SCPs which parse fine but do not do what their authors
//! probably meant (scp-semantics.md §8.6, §3.6, §3.7, §5.1).

use crate::arn::{VarScope, arn_matches};
use crate::context::RequestContext;
use crate::glob::Glob;
use crate::matching::action_covered;
use crate::model::{BaseOperator, Condition, Effect, Policy, ResourceSpec, Statement};
use crate::tri::Tri;

/// How serious a lint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Works, but is written in a fragile or confusing way.
    Style,
    /// Probably weaker or stronger than intended.
    Warning,
    /// The policy does not do what it says (e.g. an unfilled template).
    Error,
}

/// What a lint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LintKind {
    /// A template placeholder such as `${Account}`, `[PRIVILEGED_ROLE]`,
    /// `{example-region-1}` or `<BreakGlassRole>` was never filled in (§3.7, §8.6).
    UnresolvedPlaceholder,
    /// A Deny covers all of `bedrock:*` but nothing in the policy denies `bedrock-mantle:*`
    /// (§5.1).
    BedrockWithoutMantle,
    /// `bedrock:CallWithBearerToken` is denied but `bedrock-mantle:CallWithBearerToken` is
    /// not (§5.1, §6.7).
    BearerTokenWithoutMantle,
    /// `Bool aws:ViaAWSService false` without `IfExists` (§8.6; style only).
    ViaAwsServiceWithoutIfExists,
    /// `ForAnyValue:`/`ForAllValues:` on a single-valued key (§3.6).
    SetOperatorOnSingleValuedKey,
    /// A single-value operator on a multivalued key; never matches (§3.6).
    SingleValueOperatorOnMultivaluedKey,
    /// A negated `aws:PrincipalArn` condition that exempts every role (§8.6).
    BroadPrincipalExemption,
    /// A non-fatal parse warning (missing Resource, duplicate JSON key).
    ParseWarning,
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    /// What it is about.
    pub kind: LintKind,
    /// How serious.
    pub severity: Severity,
    /// Statement index, when the lint is about one statement.
    pub statement_index: Option<usize>,
    /// Statement Sid, if any.
    pub sid: Option<String>,
    /// A sentence for a person.
    pub message: String,
}

/// Keys documented as single-valued (IAM-KEYS, SAR-BEDROCK; §4, §5.2).
const SINGLE_VALUED: &[&str] = &[
    "aws:RequestedRegion",
    "aws:SourceVpce",
    "aws:SourceVpc",
    "aws:SourceIp",
    "aws:VpcSourceIp",
    "aws:ViaAWSService",
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalServiceName",
    "aws:PrincipalType",
    "aws:CalledViaFirst",
    "aws:CalledViaLast",
    "aws:SecureTransport",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:userid",
    "aws:username",
    "aws:VpceAccount",
    "aws:VpceOrgID",
    "bedrock:GuardrailIdentifier",
    "bedrock:InferenceProfileArn",
    "bedrock:ModelArn",
    "bedrock:ProjectArn",
    "bedrock:PromptRouterArn",
    "bedrock:ServiceTier",
    "bedrock:BearerTokenType",
];

/// Keys documented as multivalued (§3.6, §4).
const MULTI_VALUED: &[&str] = &[
    "aws:TagKeys",
    "aws:CalledVia",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalServiceNamesList",
    "aws:VpceOrgPaths",
    "aws:SourceOrgPaths",
];

/// A made-up action name: a pattern that covers it covers the whole service.
const PROBE_ACTION: &str = "ZzSweeperProbeAction";
const PROBE_ACCOUNT: &str = "111122223333";
const PROBE_ROLE: &str = "arn:aws:iam::111122223333:role/ZzSweeperProbeRole";

fn in_list(list: &[&str], key: &str) -> bool {
    list.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// Lints a parsed policy. Findings are ordered by statement.
pub fn lint_policy(policy: &Policy) -> Vec<Lint> {
    let mut out: Vec<Lint> = policy
        .warnings
        .iter()
        .map(|w| Lint {
            kind: LintKind::ParseWarning,
            severity: Severity::Warning,
            statement_index: None,
            sid: None,
            message: format!("{}: {}", w.place, w.message),
        })
        .collect();
    let denies =
        |action: &str| policy.statements.iter().any(|s| s.effect == Effect::Deny && action_covered(&s.action, action));
    let mantle_all = denies(&format!("bedrock-mantle:{PROBE_ACTION}"));
    let mantle_bearer = denies("bedrock-mantle:CallWithBearerToken");

    for stmt in &policy.statements {
        let mut push = |kind, severity, message: String| {
            out.push(Lint { kind, severity, statement_index: Some(stmt.index), sid: stmt.sid.clone(), message });
        };
        for (place, text) in strings(stmt) {
            for ph in placeholders(text) {
                push(
                    LintKind::UnresolvedPlaceholder,
                    Severity::Error,
                    format!("{place} contains unfilled template placeholder {ph} in {text:?}"),
                );
            }
        }
        if stmt.effect == Effect::Deny {
            let bedrock_all = action_covered(&stmt.action, &format!("bedrock:{PROBE_ACTION}"));
            if bedrock_all && !mantle_all {
                push(
                    LintKind::BedrockWithoutMantle,
                    Severity::Warning,
                    "denies all of bedrock:* but no Deny in this policy covers bedrock-mantle:*; \
                     the Mantle (OpenAI-compatible) endpoint stays open"
                        .into(),
                );
            }
            if action_covered(&stmt.action, "bedrock:CallWithBearerToken") && !mantle_bearer {
                push(
                    LintKind::BearerTokenWithoutMantle,
                    Severity::Warning,
                    "denies bedrock:CallWithBearerToken but not bedrock-mantle:CallWithBearerToken; \
                     API keys still work on the Mantle endpoint"
                        .into(),
                );
            }
        }
        for cond in &stmt.conditions {
            for (kind, severity, message) in condition_lints(cond) {
                push(kind, severity, message);
            }
        }
    }
    out
}

fn condition_lints(cond: &Condition) -> Vec<(LintKind, Severity, String)> {
    let mut out = Vec::new();
    let op = &cond.operator;
    let key = cond.key.as_str();
    if op.base == BaseOperator::Bool
        && !op.if_exists
        && key.eq_ignore_ascii_case("aws:ViaAWSService")
        && cond.values.iter().any(|v| v.eq_ignore_ascii_case("false"))
    {
        out.push((
            LintKind::ViaAwsServiceWithoutIfExists,
            Severity::Style,
            format!("{op} {key} false works because the key is always present, but AWS samples write BoolIfExists"),
        ));
    }
    if op.set.is_some() && in_list(SINGLE_VALUED, key) {
        out.push((
            LintKind::SetOperatorOnSingleValuedKey,
            Severity::Warning,
            format!("{op} on single-valued key {key}: the set prefix makes the test behave unexpectedly (ForAllValues is true when the key is missing); drop the prefix"),
        ));
    }
    if op.set.is_none() && op.base != BaseOperator::Null && in_list(MULTI_VALUED, key) {
        out.push((
            LintKind::SingleValueOperatorOnMultivaluedKey,
            Severity::Error,
            format!("{op} on multivalued key {key} without ForAnyValue/ForAllValues never matches"),
        ));
    }
    let negated_principal =
        matches!(op.base, BaseOperator::ArnNotLike | BaseOperator::ArnNotEquals | BaseOperator::StringNotLike)
            && key.eq_ignore_ascii_case("aws:PrincipalArn");
    if negated_principal {
        let probe_ctx = RequestContext::new("", "").with_value("aws:PrincipalAccount", PROBE_ACCOUNT);
        for v in &cond.values {
            let broad = if op.base == BaseOperator::StringNotLike {
                Glob::new(v, false).matches(PROBE_ROLE)
            } else {
                arn_matches(v, PROBE_ROLE, &probe_ctx, VarScope::Anywhere) == Tri::True
            };
            if broad {
                out.push((
                    LintKind::BroadPrincipalExemption,
                    Severity::Warning,
                    format!("{op} {key} {v} exempts every role, so the statement never applies to roles"),
                ));
            }
        }
    }
    out
}

/// Every policy string of a statement worth scanning, with its place.
fn strings(stmt: &Statement) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    let (aname, actions) = match &stmt.action {
        crate::model::ActionSpec::Action(l) => ("Action", l),
        crate::model::ActionSpec::NotAction(l) => ("NotAction", l),
    };
    out.extend(actions.iter().map(|a| (aname.to_owned(), a.as_str())));
    let (rname, resources) = match &stmt.resource {
        ResourceSpec::Resource(l) => ("Resource", l),
        ResourceSpec::NotResource(l) => ("NotResource", l),
    };
    out.extend(resources.iter().map(|r| (rname.to_owned(), r.as_str())));
    for c in &stmt.conditions {
        let place = format!("Condition.{}", c.operator);
        out.push((place.clone(), c.key.as_str()));
        out.extend(c.values.iter().map(|v| (format!("{place}.{}", c.key), v.as_str())));
    }
    out
}

/// Finds template placeholders: `${Name}` without a colon (IAM variables always have
/// one), `[UPPER_CASE]`, `{lower-case}` and `<Name>` (§3.7 UNSURE note, §6).
pub(crate) fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let close = match chars[i] {
            '[' => ']',
            '{' => '}',
            '<' => '>',
            _ => {
                i += 1;
                continue;
            }
        };
        let Some(len) = chars[i + 1..].iter().position(|c| *c == close) else {
            i += 1;
            continue;
        };
        let inner: String = chars[i + 1..i + 1 + len].iter().collect();
        let dollar = i > 0 && chars[i - 1] == '$';
        let ok = match chars[i] {
            '{' if dollar => !inner.contains(':') && !matches!(inner.as_str(), "*" | "?" | "$") && !inner.is_empty(),
            '[' => inner.len() >= 2 && inner.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
            _ => {
                !inner.is_empty()
                    && inner.chars().any(|c| c.is_ascii_alphabetic())
                    && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            }
        };
        if ok {
            let start = if dollar { i - 1 } else { i };
            out.push(chars[start..i + 2 + len].iter().collect());
            i += len + 2;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn finds_placeholders() {
        assert_eq!(
            placeholders("arn:aws:iam::${Account}:role/[PRIVILEGED_ROLE]"),
            vec!["${Account}", "[PRIVILEGED_ROLE]"]
        );
        assert_eq!(placeholders("{example-region-1}"), vec!["{example-region-1}"]);
        assert_eq!(placeholders("arn:aws:iam::*:role/<BreakGlassRole>"), vec!["<BreakGlassRole>"]);
        assert!(placeholders("arn:aws:iam::${aws:PrincipalAccount}:user/${*}").is_empty());
        assert!(placeholders("eu-west-1").is_empty());
        assert!(placeholders("[a]").is_empty());
    }
}
