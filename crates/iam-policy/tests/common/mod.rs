//! Shared helpers for the integration tests: building levels from JSON and checking
//! outcomes against a compact expectation.
#![allow(dead_code, clippy::unwrap_used)]

pub mod scps;

use iam_policy::{Level, Policy, RequestContext, ScpOutcome, evaluate_scps, parse_policy};

/// The AWS-managed FullAWSAccess SCP (scp-semantics.md §1.1).
pub const FULL_ACCESS: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

pub const ACCOUNT: &str = "111122223333";

pub fn policy(id: &str, json: &str) -> Policy {
    parse_policy(id, json).unwrap_or_else(|e| panic!("{id} should parse: {e}"))
}

/// Label for level `i` of `n`: root, OUs, account.
pub fn label(i: usize, n: usize) -> String {
    if i == 0 {
        "root r-ab12".to_owned()
    } else if i + 1 == n {
        format!("account {ACCOUNT}")
    } else {
        format!("OU ou-ab12-{i}")
    }
}

/// Builds levels from `(policy id, json)` lists, root first.
pub fn levels(spec: &[&[(&str, &str)]]) -> Vec<Level> {
    spec.iter()
        .enumerate()
        .map(|(i, ps)| Level {
            label: label(i, spec.len()),
            policies: ps.iter().map(|(id, j)| policy(id, j)).collect(),
        })
        .collect()
}

/// Root and account with FullAWSAccess, plus `extra` attached at the root.
pub fn with_full_access(extra: &[(&str, &str)]) -> Vec<Level> {
    let mut root = vec![("p-FullAWSAccess", FULL_ACCESS)];
    root.extend_from_slice(extra);
    levels(&[&root, &[("p-FullAWSAccess", FULL_ACCESS)]])
}

/// A generic role in the test account calling `action` in `region` on the public
/// endpoint, with the always-present keys of scp-semantics.md §4.
pub fn ctx(action: &str, region: &str, resource: &str) -> RequestContext {
    RequestContext::new(action, resource)
        .with_value("aws:RequestedRegion", region)
        .with_value("aws:ViaAWSService", "false")
        .with_value("aws:PrincipalArn", format!("arn:aws:iam::{ACCOUNT}:role/probe"))
        .with_value("aws:PrincipalAccount", ACCOUNT)
        .with_value("aws:SourceIp", "203.0.113.10")
}

/// Foundation-model ARN for a Region (empty account, §5.3).
pub fn fm(region: &str, model: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{model}")
}

/// What a test expects.
#[derive(Debug, Clone, Copy)]
pub enum Want {
    Allowed,
    /// Explicit deny by the statement with this Sid (or `Statement[i]` when no Sid).
    Deny(&'static str),
    /// Implicit deny at the level with this label.
    Implicit(&'static str),
    /// Depends on exactly these keys.
    Depends(&'static [&'static str]),
}

pub fn check(name: &str, out: &ScpOutcome, want: Want) {
    let ok = match (want, out) {
        (Want::Allowed, ScpOutcome::Allowed { .. }) => true,
        (Want::Deny(s), ScpOutcome::ExplicitDeny { sid, statement_index, .. }) => {
            sid.as_deref() == Some(s) || format!("Statement[{statement_index}]") == s
        }
        (Want::Implicit(l), ScpOutcome::ImplicitDeny { level, .. }) => level == l,
        (Want::Depends(k), ScpOutcome::Depends { keys, .. }) => keys == k,
        _ => false,
    };
    assert!(ok, "{name}: expected {want:?}, got {out:#?}");
}

pub fn eval(levels: &[Level], ctx: &RequestContext) -> ScpOutcome {
    evaluate_scps(levels, ctx)
}
