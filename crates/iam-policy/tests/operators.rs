//! Every condition operator family, policy variables and the reasons given for misses
//! (scp-semantics.md §3.2–§3.7).
#![allow(clippy::unwrap_used)]

mod common;

use common::{ctx, policy};
use iam_policy::{Match, MissPart, RequestContext, statement_matches};

fn cond(version: &str, op: &str, key: &str, values: &str, c: &RequestContext) -> Match {
    let json = format!(
        r#"{{"Version":"{version}","Statement":{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"{op}":{{"{key}":{values}}}}}}}}}"#
    );
    statement_matches(&policy("p-op", &json).statements[0], c)
}

#[test]
fn operator_families() {
    let base = RequestContext::new("s3:GetObject", "*");
    let with = |k: &str, v: &str| base.clone().with_value(k, v);
    let multi = |k: &str, v: &[&str]| base.clone().with_values(k, v.iter().copied());
    let v12 = "2012-10-17";
    let table: Vec<(&str, &str, &str, RequestContext, bool)> = vec![
        ("StringEqualsIgnoreCase", "k", r#""EU-West-1""#, with("k", "eu-west-1"), true),
        ("StringNotEqualsIgnoreCase", "k", r#""EU-West-1""#, with("k", "eu-west-1"), false),
        ("StringEquals", "k", r#""EU-West-1""#, with("k", "eu-west-1"), false),
        ("StringLike", "k", r#""eu-*""#, with("k", "eu-west-1"), true),
        ("StringLike", "k", r#""e?-west-1""#, with("k", "eu-west-1"), true),
        ("StringNotLike", "k", r#"["us-*","eu-*"]"#, with("k", "eu-west-1"), false),
        ("StringNotLike", "k", r#"["us-*","ap-*"]"#, with("k", "eu-west-1"), true),
        ("StringLike", "k", r#""a${*}""#, with("k", "a*"), true),
        ("StringLike", "k", r#""a${*}""#, with("k", "ab"), false),
        ("StringEquals", "k", r#""${aws:PrincipalTag/team, 'none'}""#, with("k", "none"), true),
        ("NumericEquals", "k", "30", with("k", "30.0"), true),
        ("NumericNotEquals", "k", "30", base.clone(), true),
        ("NumericLessThan", "k", "30", with("k", "10"), true),
        ("NumericLessThan", "k", "30", base.clone(), false),
        ("NumericLessThanIfExists", "k", "30", base.clone(), true),
        ("NumericLessThanEquals", "k", "30", with("k", "30"), true),
        ("NumericGreaterThan", "k", "30", with("k", "30"), false),
        ("NumericGreaterThanEquals", "k", "30", with("k", "30"), true),
        ("NumericEquals", "k", "30", with("k", "thirty"), false),
        (
            "DateGreaterThan",
            "aws:CurrentTime",
            r#""2020-01-01T00:00:00Z""#,
            with("aws:CurrentTime", "2024-05-01T12:00:00Z"),
            true,
        ),
        ("DateLessThan", "aws:CurrentTime", r#""2020-01-01T00:00:00Z""#, with("aws:CurrentTime", "1500000000"), true),
        (
            "DateEquals",
            "aws:CurrentTime",
            r#""2020-01-01T01:00:00+01:00""#,
            with("aws:CurrentTime", "1577836800"),
            true,
        ),
        ("DateNotEquals", "aws:CurrentTime", r#""2020-01-01""#, base.clone(), true),
        (
            "DateLessThanEquals",
            "aws:CurrentTime",
            r#""2020-01-01""#,
            with("aws:CurrentTime", "2020-01-01T00:00:00Z"),
            true,
        ),
        (
            "DateGreaterThanEquals",
            "aws:CurrentTime",
            r#""2020-01-02""#,
            with("aws:CurrentTime", "2020-01-01T23:59:59Z"),
            false,
        ),
        ("Bool", "aws:SecureTransport", "true", with("aws:SecureTransport", "True"), true),
        ("Bool", "aws:SecureTransport", "false", base.clone(), false),
        ("BoolIfExists", "aws:SecureTransport", "false", base.clone(), true),
        ("BinaryEquals", "k", r#""QmluYXJ5""#, with("k", "QmluYXJ5"), true),
        ("BinaryEquals", "k", r#""QmluYXJ5""#, with("k", "QmluYXJ6"), false),
        (
            "IpAddress",
            "aws:SourceIp",
            r#"["203.0.113.0/24","2001:db8::/32"]"#,
            with("aws:SourceIp", "2001:db8:5::1"),
            true,
        ),
        ("IpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, with("aws:SourceIp", "198.51.100.1"), false),
        ("IpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, base.clone(), false),
        ("NotIpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, with("aws:SourceIp", "203.0.113.9"), false),
        ("NotIpAddress", "aws:SourceIp", r#""203.0.113.0/24""#, base.clone(), true),
        (
            "ArnEquals",
            "aws:PrincipalArn",
            r#""arn:aws:iam::*:role/A*""#,
            with("aws:PrincipalArn", "arn:aws:iam::1:role/Admin"),
            true,
        ),
        (
            "ArnLike",
            "aws:PrincipalArn",
            r#""arn:aws:iam::*:role/A*""#,
            with("aws:PrincipalArn", "arn:aws:iam::1:role/admin"),
            false,
        ),
        ("ArnLike", "aws:PrincipalArn", r#""arn:aws:iam::*:role/*""#, with("aws:PrincipalArn", "not-an-arn"), false),
        ("ArnNotEquals", "aws:PrincipalArn", r#""arn:aws:iam::*:role/A""#, base.clone(), true),
        (
            "ArnNotLike",
            "aws:PrincipalArn",
            r#""arn:aws:iam::*:role/A""#,
            with("aws:PrincipalArn", "arn:aws:iam::1:role/A"),
            false,
        ),
        (
            "ArnLike",
            "aws:PrincipalArn",
            r#""arn:aws:iam::${aws:PrincipalAccount}:role/*""#,
            with("aws:PrincipalArn", "arn:aws:iam::1:role/A").with_value("aws:PrincipalAccount", "1"),
            true,
        ),
        ("Null", "k", "true", base.clone(), true),
        ("Null", "k", "true", with("k", "v"), false),
        ("Null", "k", "false", with("k", "v"), true),
        ("Null", "k", "false", base.clone(), false),
        (
            "ForAllValues:StringLike",
            "aws:TagKeys",
            r#"["team*","cost"]"#,
            multi("aws:TagKeys", &["team-a", "cost"]),
            true,
        ),
        ("ForAllValues:StringLike", "aws:TagKeys", r#"["team*"]"#, multi("aws:TagKeys", &["team-a", "cost"]), false),
        ("ForAllValues:StringLike", "aws:TagKeys", r#"["team*"]"#, multi("aws:TagKeys", &[]), true),
        ("ForAnyValue:StringLike", "aws:TagKeys", r#"["team*"]"#, multi("aws:TagKeys", &[]), false),
        ("ForAllValues:StringNotEquals", "aws:TagKeys", r#"["a","b"]"#, multi("aws:TagKeys", &["c", "d"]), true),
        ("ForAllValues:StringNotEquals", "aws:TagKeys", r#"["a","b"]"#, multi("aws:TagKeys", &["c", "a"]), false),
        (
            "ForAnyValue:StringEquals",
            "aws:RequestedRegion",
            r#"["eu-west-1"]"#,
            with("aws:RequestedRegion", "eu-west-1"),
            true,
        ),
        ("ForAnyValue:StringEqualsIfExists", "k", r#""a""#, base.clone(), true),
        // Single-value operator on a multivalued key never matches, even negated (§3.6).
        ("StringEquals", "aws:TagKeys", r#""a""#, multi("aws:TagKeys", &["a"]), false),
        ("StringNotEquals", "aws:TagKeys", r#""a""#, multi("aws:TagKeys", &["b"]), false),
    ];
    for (op, key, values, c, want) in table {
        let got = cond(v12, op, key, values, &c);
        assert_eq!(got == Match::Yes, want, "{op} {key} {values} on {c:?}: {got:?}");
    }
    // Version 2008-10-17: `${...}` is literal text (§3.1).
    let literal = with("k", "${aws:username}");
    assert_eq!(cond("2008-10-17", "StringEquals", "k", r#""${aws:username}""#, &literal), Match::Yes);
    assert_ne!(cond(v12, "StringEquals", "k", r#""${aws:username}""#, &literal), Match::Yes);
}

#[test]
fn resource_variables_and_reasons() {
    let json = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::home/${aws:username}/*"}]}"#;
    let stmt = &policy("p-home", json).statements[0];
    let own = ctx("s3:GetObject", "eu-west-1", "arn:aws:s3:::home/alice/f").with_value("aws:username", "alice");
    let other = ctx("s3:GetObject", "eu-west-1", "arn:aws:s3:::home/bob/f").with_value("aws:username", "alice");
    match statement_matches(stmt, &own) {
        Match::No(m) => {
            assert_eq!(m.part, MissPart::NotResource);
            assert_eq!(
                m.reason,
                "NotResource exempts arn:aws:s3:::home/alice/f (listed as arn:aws:s3:::home/${aws:username}/*)"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(statement_matches(stmt, &other), Match::Yes);
    let no_user = ctx("s3:GetObject", "eu-west-1", "arn:aws:s3:::home/alice/f");
    assert_eq!(statement_matches(stmt, &no_user), Match::Yes, "missing variable: NotResource element does not match");
    let unknown = no_user.with_unknown("aws:username");
    assert_eq!(statement_matches(stmt, &unknown), Match::Depends(vec!["aws:username".into()]));

    let s3_only = &policy(
        "p-s3",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["s3:*"],"Resource":"arn:aws:s3:::b/*"}]}"#,
    )
    .statements[0];
    let Match::No(m) = statement_matches(s3_only, &ctx("bedrock:InvokeModel", "eu-west-1", "*")) else { panic!() };
    assert_eq!((m.part, m.reason.as_str()), (MissPart::Action, "Action [s3:*] does not cover bedrock:InvokeModel"));
    let Match::No(m) = statement_matches(s3_only, &ctx("s3:GetObject", "eu-west-1", "arn:aws:s3:::c/k")) else {
        panic!()
    };
    assert_eq!(
        (m.part, m.reason.as_str()),
        (MissPart::Resource, "Resource [arn:aws:s3:::b/*] does not cover arn:aws:s3:::c/k")
    );
}
