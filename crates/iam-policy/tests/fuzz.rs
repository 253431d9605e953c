//! Property tests: arbitrary JSON values, arbitrary strings and policy-shaped documents fed
//! to the parser and, when they parse, to the evaluator and linter must never panic. The
//! structured generator also checks that the hierarchy agrees with `statement_matches`.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use iam_policy::{
    Effect, Level, Match, RequestContext, ScpOutcome, evaluate_scps, lint_policy, parse_policy, statement_matches,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

const VOCAB: &[&str] = &[
    "Version",
    "2012-10-17",
    "2008-10-17",
    "Statement",
    "Sid",
    "Effect",
    "Allow",
    "Deny",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Principal",
    "*",
    "bedrock:*",
    "bedrock:InvokeModel",
    "s3:Get?bject",
    "StringEquals",
    "StringNotLike",
    "ForAnyValue:StringLike",
    "ForAllValues:StringNotEqualsIfExists",
    "ArnNotLike",
    "Null",
    "IpAddress",
    "DateLessThan",
    "NumericGreaterThan",
    "Bool",
    "BinaryEquals",
    "aws:RequestedRegion",
    "aws:SourceVpce",
    "aws:PrincipalArn",
    "aws:TagKeys",
    "aws:PrincipalTag/team",
    "arn:aws:bedrock:*::foundation-model/*",
    "arn:aws:iam::${aws:PrincipalAccount}:role/${*}x",
    "${aws:PrincipalTag/team, 'x'}",
    "10.0.0.0/8",
    "2001:db8::/32",
    "2024-01-01T00:00:00Z",
    "30",
    "eu-*",
    "${",
    "}",
    "ß",
];

fn vocab() -> impl Strategy<Value = String> {
    prop::sample::select(VOCAB).prop_map(str::to_owned)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![3 => vocab(), 1 => ".{0,24}"]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

const OPS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCaseIfExists",
    "StringLike",
    "StringNotLike",
    "ForAnyValue:StringNotLike",
    "ForAllValues:StringEquals",
    "NumericLessThan",
    "NumericNotEqualsIfExists",
    "DateGreaterThanEquals",
    "DateNotEquals",
    "Bool",
    "BoolIfExists",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddressIfExists",
    "ArnLike",
    "ArnNotEquals",
    "ForAnyValue:ArnNotLikeIfExists",
    "Null",
    "Bogus",
];
const KEYS: &[&str] = &[
    "aws:RequestedRegion",
    "aws:SourceVpce",
    "aws:PrincipalArn",
    "aws:TagKeys",
    "aws:PrincipalTag/team",
    "aws:SourceIp",
    "aws:CurrentTime",
    "aws:ViaAWSService",
    "k",
];
const VALUES: &[&str] = &[
    "eu-west-1",
    "eu-*",
    "e?-west-?",
    "*",
    "",
    "vpce-1",
    "arn:aws:iam::*:role/*",
    "arn:aws:iam::${aws:PrincipalAccount}:role/A",
    "${aws:PrincipalTag/team}",
    "${*}",
    "${",
    "10.0.0.0/8",
    "::/0",
    "2024-01-01",
    "1700000000",
    "30",
    "-1.5",
    "true",
    "false",
    "ß",
    "İ",
];
const ACTIONS: &[&str] = &["*", "bedrock:*", "bedrock:Invoke*", "s3:?et*", "Bedrock:invokemodel", "iam:*"];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:bedrock:*:*:foundation-model/*",
    "arn:aws:bedrock:*::foundation-model/anthropic.*",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:*",
    "arn:aws:s3:::b",
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(list).prop_map(str::to_owned)
}

/// A policy-shaped document; often parses, so the evaluator really runs.
fn policy_json() -> impl Strategy<Value = String> {
    policy_value().prop_map(|v| v.to_string())
}

fn policy_value() -> impl Strategy<Value = Value> {
    let cond = prop::collection::vec((pick(OPS), pick(KEYS), prop::collection::vec(pick(VALUES), 1..3)), 0..4);
    let stmt = (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(pick(ACTIONS), 1..3),
        any::<bool>(),
        prop::collection::vec(pick(RESOURCES), 1..3),
        cond,
    );
    (any::<bool>(), prop::collection::vec(stmt, 1..4)).prop_map(|(v2012, stmts)| {
        let stmts: Vec<Value> = stmts
            .into_iter()
            .map(|(deny, not_action, actions, not_res, resources, conds)| {
                let mut m = Map::new();
                m.insert("Effect".into(), (if deny { "Deny" } else { "Allow" }).into());
                m.insert((if not_action { "NotAction" } else { "Action" }).into(), actions.into());
                m.insert((if not_res { "NotResource" } else { "Resource" }).into(), resources.into());
                let mut block = Map::new();
                for (op, key, values) in conds {
                    let entry = block.entry(op).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(keys) = entry {
                        keys.insert(key, values.into());
                    }
                }
                m.insert("Condition".into(), Value::Object(block));
                Value::Object(m)
            })
            .collect();
        let version = if v2012 { "2012-10-17" } else { "2008-10-17" };
        serde_json::json!({"Version": version, "Statement": stmts})
    })
}

const FIELDS: &[&str] = &[
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Sid",
    "Condition.StringLike",
    "Condition.ForAnyValue:IpAddress",
    "Condition.Null",
];

/// A policy-shaped document with one element replaced by an arbitrary JSON value.
fn mutated_policy() -> impl Strategy<Value = String> {
    (policy_value(), any::<prop::sample::Index>(), pick(FIELDS), json_value()).prop_map(
        |(mut doc, idx, field, value)| {
            if let Some(Value::Array(stmts)) = doc.get_mut("Statement") {
                let i = idx.index(stmts.len());
                if let Value::Object(stmt) = &mut stmts[i] {
                    match field.split_once('.') {
                        Some((_, op)) => {
                            if let Some(Value::Object(c)) = stmt.get_mut("Condition") {
                                let mut keys = Map::new();
                                keys.insert("aws:SourceIp".into(), value);
                                c.insert(op.into(), Value::Object(keys));
                            }
                        }
                        None => {
                            stmt.insert(field, value);
                        }
                    }
                }
            }
            doc.to_string()
        },
    )
}

fn context() -> impl Strategy<Value = RequestContext> {
    (
        pick(&["bedrock:InvokeModel", "s3:GetObject", "iam:CreateRole", "ec2:RunInstances"]),
        pick(&["*", "arn:aws:bedrock:us-east-1::foundation-model/anthropic.x", "arn:aws:s3:::b/alice/k", "garbage"]),
        prop::collection::vec((pick(KEYS), pick(VALUES)), 0..5),
        prop::collection::vec(pick(VALUES), 0..3),
        any::<bool>(),
    )
        .prop_map(|(action, resource, keys, tags, unknown)| {
            let mut c = RequestContext::new(action, resource).with_values("aws:TagKeys", tags);
            for (k, v) in keys {
                c = c.with_value(k, v);
            }
            if unknown { c.with_tag_keys_unknown() } else { c }
        })
}

fn exercise(policy_id: &str, json: &str, ctx: &RequestContext) -> bool {
    let Ok(policy) = parse_policy(policy_id, json) else {
        return false;
    };
    lint_policy(&policy);
    for s in &policy.statements {
        statement_matches(s, ctx);
    }
    let levels = [Level { label: "root".into(), policies: vec![policy] }];
    evaluate_scps(&levels, ctx);
    true
}

fn run<S: Strategy>(name: &str, cases: u32, strategy: S, f: impl Fn(S::Value) -> bool) {
    let ran = AtomicUsize::new(0);
    let parsed = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    runner
        .run(&strategy, |v| {
            ran.fetch_add(1, Ordering::Relaxed);
            if f(v) {
                parsed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
        .unwrap();
    let (ran, parsed) = (ran.into_inner(), parsed.into_inner());
    eprintln!("{name}: {ran} cases ran, {parsed} parsed and were evaluated");
    assert_eq!(ran, cases as usize);
    // The structured generator must really reach the evaluator; mutated documents only
    // need to get there sometimes (most arbitrary subtrees are rightly rejected).
    match name {
        "structured" => assert!(parsed * 5 > ran, "{name}: generator should often parse"),
        "mutated policies" => assert!(parsed > 0, "{name}: some must parse"),
        _ => {}
    }
}

#[test]
fn arbitrary_json_values_never_panic() {
    let c = RequestContext::new("bedrock:InvokeModel", "*").with_value("aws:RequestedRegion", "eu-west-1");
    run("json values", 3000, json_value(), |v| exercise("p-fuzz", &v.to_string(), &c));
}

#[test]
fn policies_with_arbitrary_json_subtrees_never_panic() {
    let c = RequestContext::new("bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/x")
        .with_value("aws:SourceIp", "10.1.2.3")
        .with_tag_keys_unknown();
    run("mutated policies", 6000, mutated_policy(), |json| exercise("p-mut", &json, &c));
}

#[test]
fn arbitrary_strings_never_panic() {
    let c = RequestContext::new("bedrock:InvokeModel", "*");
    run("strings", 3000, ".{0,200}", |s| exercise("p-fuzz", &s, &c));
}

#[test]
fn structured_policies_evaluate_consistently() {
    run("structured", 3000, (policy_json(), context()), |(json, ctx)| {
        let Ok(policy) = parse_policy("p-s", &json) else {
            return false;
        };
        lint_policy(&policy);
        let matches: Vec<(Effect, Match)> =
            policy.statements.iter().map(|s| (s.effect, statement_matches(s, &ctx))).collect();
        let levels = [Level { label: "root".into(), policies: vec![policy] }];
        let out = evaluate_scps(&levels, &ctx);
        // Cross-check the hierarchy against the statement matcher (§1.1).
        let has = |effect: Effect, f: fn(&Match) -> bool| matches.iter().any(|(e, m)| *e == effect && f(m));
        let yes = |m: &Match| *m == Match::Yes;
        let depends = |m: &Match| matches!(m, Match::Depends(_));
        let (deny_yes, deny_dep) = (has(Effect::Deny, yes), has(Effect::Deny, depends));
        let (allow_yes, allow_dep) = (has(Effect::Allow, yes), has(Effect::Allow, depends));
        let ok = match &out {
            ScpOutcome::ExplicitDeny { .. } => deny_yes,
            ScpOutcome::Allowed { .. } => !deny_yes && !deny_dep && allow_yes,
            ScpOutcome::ImplicitDeny { .. } => !deny_yes && !allow_yes && !allow_dep,
            ScpOutcome::Depends { keys, .. } => {
                !deny_yes && !keys.is_empty() && (deny_dep || allow_dep) && (allow_yes || allow_dep)
            }
        };
        assert!(ok, "{json}\n{ctx:?}\n{matches:?}\n{out:?}");
        true
    });
}
