//! Parser errors and accepted shapes, and the lints (scp-semantics.md §2, §3.1, §8.6).
#![allow(clippy::unwrap_used)]

mod common;

use common::policy;
use iam_policy::{Effect, LintKind, ResourceSpec, Severity, lint_policy, parse_policy};

#[test]
fn parse_errors_name_policy_and_place() {
    let stmt = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{body}]}}"#);
    let ok = r#"{"Effect":"Deny","Action":"bedrock:*","Resource":"*"}"#;
    let table: Vec<(String, &str)> = vec![
        ("[]".into(), "policy p-x: document: expected a JSON object"),
        (r#"{"Statement":"x"}"#.into(), "policy p-x: Statement: expected object or array"),
        (r#"{"Version":"2012-10-17"}"#.into(), "policy p-x: document: missing Statement"),
        (
            r#"{"Version":"2020-01-01","Statement":[]}"#.into(),
            "policy p-x: Version: unsupported version \"2020-01-01\"",
        ),
        (r#"{"Statement":[],"Foo":1}"#.into(), "policy p-x: Foo: unknown top-level element"),
        (r#"{"Statement":[]}"#.into(), "policy p-x: Statement: must contain at least one statement"),
        (stmt(&format!("{ok},\"x\"")), "policy p-x: Statement[1]: expected object"),
        (
            stmt(r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}"#),
            "policy p-x: Statement[0].Principal: not supported in service control policies",
        ),
        (
            stmt(r#"{"Effect":"Deny","NotPrincipal":{"AWS":"x"},"Action":"s3:*","Resource":"*"}"#),
            "policy p-x: Statement[0].NotPrincipal: not supported in service control policies",
        ),
        (
            stmt(r#"{"Effect":"deny","Action":"s3:*","Resource":"*"}"#),
            "policy p-x: Statement[0].Effect: expected \"Allow\" or \"Deny\", got \"deny\"",
        ),
        (stmt(r#"{"Action":"s3:*","Resource":"*"}"#), "policy p-x: Statement[0]: missing Effect"),
        (stmt(r#"{"Effect":"Deny","Resource":"*"}"#), "policy p-x: Statement[0]: missing Action or NotAction"),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}"#),
            "policy p-x: Statement[0]: has both Action and NotAction",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","NotResource":"*"}"#),
            "policy p-x: Statement[0]: has both Resource and NotResource",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":["s3:*",3],"Resource":"*"}"#),
            "policy p-x: Statement[0].Action[1]: expected string",
        ),
        (stmt(r#"{"Effect":"Deny","Action":[],"Resource":"*"}"#), "policy p-x: Statement[0].Action: must not be empty"),
        (
            stmt(r#"{"Effect":"Deny","Action":"bedrock","Resource":"*"}"#),
            "policy p-x: Statement[0].Action[0]: \"bedrock\" is not \"*\" or of the form service:action",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","Resource":"bucket"}"#),
            "policy p-x: Statement[0].Resource[0]: \"bucket\" is not \"*\" or an ARN",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Foo":1}"#),
            "policy p-x: Statement[0].Foo: unknown statement element",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":[]}"#),
            "policy p-x: Statement[0].Condition: expected object",
        ),
        (
            stmt(&format!(
                r#"{ok},{ok},{{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{{"StringEquals":{{"k":{{"a":1}}}}}}}}"#
            )),
            "policy p-x: Statement[2].Condition.StringEquals: expected string or array",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":["a",null]}}}"#),
            "policy p-x: Statement[0].Condition.StringEquals.k[1]: expected string, number or bool",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringEquals":"k"}}"#),
            "policy p-x: Statement[0].Condition.StringEquals: expected object of condition keys",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}}"#),
            "policy p-x: Statement[0].Condition.StringEqualz: unknown condition operator \"StringEqualz\"",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"k":"true"}}}"#),
            "policy p-x: Statement[0].Condition.NullIfExists: condition operator \"NullIfExists\": Null has no IfExists form",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue:Null":{"k":"true"}}}"#),
            "policy p-x: Statement[0].Condition.ForAnyValue:Null: condition operator \"ForAnyValue:Null\": Null takes no set prefix",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"NumericLessThan":{"k":"abc"}}}"#),
            "policy p-x: Statement[0].Condition.NumericLessThan.k: \"abc\" is not a valid value for NumericLessThan",
        ),
        (
            stmt(
                r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"300.1.1.1/8"}}}"#,
            ),
            "policy p-x: Statement[0].Condition.IpAddress.aws:SourceIp: \"300.1.1.1/8\" is not a valid value for IpAddress",
        ),
        (
            stmt(
                r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"tomorrow"}}}"#,
            ),
            "policy p-x: Statement[0].Condition.DateGreaterThan.aws:CurrentTime: \"tomorrow\" is not a valid value for DateGreaterThan",
        ),
        (
            stmt(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Null":{"k":"maybe"}}}"#),
            "policy p-x: Statement[0].Condition.Null.k: \"maybe\" is not a valid value for Null",
        ),
    ];
    for (json, want) in table {
        let err = parse_policy("p-x", &json).unwrap_err();
        assert_eq!(err.to_string(), want, "for {json}");
    }
    let err = parse_policy("p-x", "{").unwrap_err().to_string();
    assert!(err.starts_with("policy p-x: document: invalid JSON: "), "{err}");
    // Deep nesting hits serde_json's recursion limit instead of overflowing the stack.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = parse_policy("p-x", &deep).unwrap_err().to_string();
    assert!(err.starts_with("policy p-x: document: invalid JSON: "), "{err}");
}

#[test]
fn parses_shapes_and_records_warnings() {
    // Legacy single-object Statement, no Version, no Resource, duplicate operator.
    let p = parse_policy(
        "p-legacy",
        r#"{"Statement":{"Effect":"Deny","Action":"s3:*","Condition":{"StringEquals":{"k":"a"},"StringEquals":{"k":"b"}}}}"#,
    )
    .unwrap();
    assert_eq!(p.version, None);
    assert_eq!(p.statements.len(), 1);
    assert!(!p.statements[0].variables_enabled);
    assert_eq!(p.statements[0].resource, ResourceSpec::Resource(vec!["*".into()]));
    let places: Vec<&str> = p.warnings.iter().map(|w| w.place.as_str()).collect();
    assert_eq!(places, vec!["Statement.Condition.StringEquals", "Statement[0]"]);
    assert_eq!(p.statements[0].conditions[0].values, vec!["b".to_owned()]);
    let lints = lint_policy(&p);
    assert_eq!(lints.iter().filter(|l| l.kind == LintKind::ParseWarning).count(), 2);

    // Scalars are stringified; every operator with IfExists and set prefixes parses.
    let mut ops = Vec::new();
    for base in [
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnNotEquals",
        "ArnLike",
        "ArnNotLike",
    ] {
        let v = match base {
            b if b.starts_with("Date") => "\"2024-01-01T00:00:00Z\"",
            b if b.contains("Ip") => "\"10.0.0.0/8\"",
            b if b.starts_with("Numeric") => "30",
            "Bool" => "true",
            _ => "[\"a\", 1, false]",
        };
        for op in [
            base.to_owned(),
            format!("{base}IfExists"),
            format!("ForAnyValue:{base}"),
            format!("ForAllValues:{base}IfExists"),
        ] {
            ops.push(format!(r#""{op}":{{"k":{v}}}"#));
        }
    }
    ops.push(r#""Null":{"k":true}"#.into());
    let json = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"All","Effect":"Allow","NotAction":"s3:*","NotResource":["arn:aws:s3:::b"],"Condition":{{{}}}}}]}}"#,
        ops.join(",")
    );
    let p = parse_policy("p-all", &json).unwrap();
    let conds = &p.statements[0].conditions;
    assert_eq!(conds.len(), 26 * 4 + 1);
    assert_eq!(p.statements[0].effect, Effect::Allow);
    let string_eq = conds.iter().find(|c| c.operator.raw == "StringEquals").unwrap();
    assert_eq!(string_eq.values, vec!["a", "1", "false"]);
    let null = conds.iter().find(|c| c.operator.raw == "Null").unwrap();
    assert_eq!(null.values, vec!["true"]);
}

/// Evaluates `{op: {key: values}}` in a Deny statement; true when the statement matches.
#[test]
fn lints() {
    let p = |stmts: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{stmts}]}}"#);
    let d = |action: &str, cond: &str| {
        format!(r#"{{"Effect":"Deny","Action":{action},"Resource":"*","Condition":{cond}}}"#)
    };
    let table: Vec<(String, Vec<LintKind>)> = vec![
        (p(&d(r#""bedrock:*""#, "{}")), vec![LintKind::BedrockWithoutMantle, LintKind::BearerTokenWithoutMantle]),
        (p(&d(r#"["bedrock:*","bedrock-mantle:*"]"#, "{}")), vec![]),
        (p(&format!("{},{}", d(r#""bedrock:*""#, "{}"), d(r#""bedrock-mantle:*""#, "{}"))), vec![]),
        (p(&d(r#""bedrock:InvokeModel""#, "{}")), vec![]),
        (p(&d(r#""*""#, r#"{"Bool":{"aws:ViaAWSService":"false"}}"#)), vec![LintKind::ViaAwsServiceWithoutIfExists]),
        (p(&d(r#""*""#, r#"{"BoolIfExists":{"aws:ViaAWSService":"false"}}"#)), vec![]),
        (
            p(&d(r#""*""#, r#"{"ForAnyValue:StringEquals":{"aws:RequestedRegion":"eu-west-1"}}"#)),
            vec![LintKind::SetOperatorOnSingleValuedKey],
        ),
        (
            p(&d(r#""*""#, r#"{"ForAllValues:StringNotEquals":{"aws:sourcevpce":"vpce-1"}}"#)),
            vec![LintKind::SetOperatorOnSingleValuedKey],
        ),
        (
            p(&d(r#""*""#, r#"{"StringEquals":{"aws:TagKeys":"a"}}"#)),
            vec![LintKind::SingleValueOperatorOnMultivaluedKey],
        ),
        (
            p(&d(r#""*""#, r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}"#)),
            vec![LintKind::BroadPrincipalExemption],
        ),
        (
            p(&d(
                r#""*""#,
                r#"{"StringNotLike":{"aws:PrincipalARN":["arn:aws:iam::*:role/Admin","arn:aws:iam::*:role/*"]}}"#,
            )),
            vec![LintKind::BroadPrincipalExemption],
        ),
        (
            p(&d(
                r#""*""#,
                r#"{"ArnNotEqualsIfExists":{"aws:PrincipalArn":"arn:aws:iam::${aws:PrincipalAccount}:role/*"}}"#,
            )),
            vec![LintKind::BroadPrincipalExemption],
        ),
        (p(&d(r#""*""#, r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin*"}}"#)), vec![]),
        (
            p(&d(r#""*""#, r#"{"StringNotEquals":{"aws:RequestedRegion":"{example-region-1}"}}"#)),
            vec![LintKind::UnresolvedPlaceholder],
        ),
    ];
    for (json, want) in table {
        let lints = lint_policy(&policy("p-lint", &json));
        let kinds: Vec<LintKind> = lints.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, want, "{json}: {lints:#?}");
    }
    let style = lint_policy(&policy("p", &p(&d(r#""*""#, r#"{"Bool":{"aws:ViaAWSService":false}}"#))));
    assert_eq!((style[0].severity, style[0].statement_index), (Severity::Style, Some(0)));
}
