//! The 18 "Tricky test cases" of scp-semantics.md §9, each with its expected decision.
//! Statement-level cases are expressed as a Deny attached at the root next to
//! FullAWSAccess: "the condition matches" shows up as an explicit deny, "it does not" as
//! Allowed.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ACCOUNT, FULL_ACCESS, Want, check, ctx, eval, fm, levels, with_full_access};
use iam_policy::{Level, LintKind, RequestContext, bedrock_runtime_iam_action, lint_policy, parse_policy};

const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

/// A policy with one Deny statement (Sid `T`) on `action` with `condition`.
fn deny_on(action: &str, condition: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"T","Effect":"Deny","Action":"{action}","Resource":"*","Condition":{condition}}}]}}"#
    )
}

fn deny(condition: &str) -> String {
    deny_on("bedrock:*", condition)
}

struct Case {
    name: &'static str,
    levels: Vec<Level>,
    ctx: RequestContext,
    want: Want,
}

fn root_deny(name: &'static str, policy: &str, ctx: RequestContext, want: Want) -> Case {
    Case { name, levels: with_full_access(&[("p-test", policy)]), ctx, want }
}

fn invoke(region: &str) -> RequestContext {
    ctx("bedrock:InvokeModel", region, &fm(region, MODEL))
}

fn cases() -> Vec<Case> {
    let vpce_deny = deny(r#"{"StringNotEquals":{"aws:SourceVpce":"vpce-0aaa"}}"#);
    let vpce_deny_ifexists = deny(r#"{"StringNotEqualsIfExists":{"aws:SourceVpce":"vpce-0aaa"}}"#);
    let guard_ifexists = deny(r#"{"StringEqualsIfExists":{"bedrock:GuardrailIdentifier":"arn:g"}}"#);
    let guard_plain = deny(r#"{"StringEquals":{"bedrock:GuardrailIdentifier":"arn:g"}}"#);
    let regions = deny(r#"{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1","eu-central-1"]}}"#);
    let all_tags = deny(r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["team","cost"]}}"#);
    let any_tags = deny(r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["team","cost"]}}"#);
    let exempt = deny(
        r#"{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"},"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Exempt"}}"#,
    );
    let fm_resource = r#"{"Version":"2012-10-17","Statement":[{"Sid":"T","Effect":"Deny","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*:*:foundation-model/*"}]}"#;
    let not_resource = r#"{"Version":"2012-10-17","Statement":[{"Sid":"T","Effect":"Deny","Action":"bedrock:InvokeModel","NotResource":"arn:aws:bedrock:*::foundation-model/anthropic.*"}]}"#;
    let case_action = deny_on("Bedrock:invokeModel", "{}");
    let mid_wild = deny_on("bedrock:*Model*", "{}");
    let bool_json = deny(r#"{"Bool":{"aws:ViaAWSService":false}}"#);
    let bool_str = deny(r#"{"Bool":{"aws:ViaAWSService":"false"}}"#);
    let upper_key = deny(
        r#"{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"},"ArnNotLike":{"aws:PrincipalARN":"arn:aws:iam::*:role/AWSControlTowerExecution"}}"#,
    );
    let invoke_only = deny_on("bedrock:InvokeModel", "{}");
    let any_not_like = deny(r#"{"ForAnyValue:StringNotLike":{"aws:TagKeys":"team*"}}"#);
    let var_eq = deny(r#"{"StringEquals":{"aws:PrincipalAccount":"${aws:PrincipalTag/x}"}}"#);
    let var_ne = deny(r#"{"StringNotEquals":{"aws:PrincipalAccount":"${aws:PrincipalTag/x}"}}"#);
    let placeholder = deny(r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::${Account}:role/Admin"}}"#);
    let admin = format!("arn:aws:iam::{ACCOUNT}:role/Admin");
    let profile = format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.{MODEL}");

    vec![
        // 1. Negated operator on a missing key is true; IfExists changes nothing (§3.5).
        root_deny("1 StringNotEquals SourceVpce, key missing", &vpce_deny, invoke("eu-west-1"), Want::Deny("T")),
        root_deny(
            "1 StringNotEqualsIfExists SourceVpce, key missing",
            &vpce_deny_ifexists,
            invoke("eu-west-1"),
            Want::Deny("T"),
        ),
        root_deny(
            "1 StringNotEquals SourceVpce, approved endpoint",
            &vpce_deny,
            invoke("eu-west-1").with_value("aws:SourceVpce", "vpce-0aaa"),
            Want::Allowed,
        ),
        // 2. IfExists on a positive operator matches a missing key; plain StringEquals not.
        root_deny("2 StringEqualsIfExists, key missing", &guard_ifexists, invoke("eu-west-1"), Want::Deny("T")),
        root_deny("2 StringEquals, key missing", &guard_plain, invoke("eu-west-1"), Want::Allowed),
        // 3. NOR semantics for negated multi-value.
        root_deny("3 StringNotEquals [a,b] with b", &regions, invoke("eu-central-1"), Want::Allowed),
        root_deny("3 StringNotEquals [a,b] with a", &regions, invoke("eu-west-1"), Want::Allowed),
        root_deny("3 StringNotEquals [a,b] with c", &regions, invoke("us-east-1"), Want::Deny("T")),
        // 4. ForAllValues on a missing key is true; ForAnyValue false (§3.6).
        root_deny("4 ForAllValues, key missing", &all_tags, invoke("eu-west-1"), Want::Deny("T")),
        root_deny("4 ForAnyValue, key missing", &any_tags, invoke("eu-west-1"), Want::Allowed),
        root_deny(
            "4 ForAllValues, value outside set",
            &all_tags,
            invoke("eu-west-1").with_values("aws:TagKeys", ["team", "owner"]),
            Want::Allowed,
        ),
        // 5. PrincipalArn of an assumed-role session is the role ARN (§4).
        root_deny(
            "5 session of exempt role",
            &exempt,
            invoke("us-east-1").with_value("aws:PrincipalArn", format!("arn:aws:iam::{ACCOUNT}:role/Exempt")),
            Want::Allowed,
        ),
        root_deny("5 other role", &exempt, invoke("us-east-1"), Want::Deny("T")),
        // 6. Global CRIS leg: RequestedRegion "unspecified" is not in the allow-list.
        root_deny(
            "6 RequestedRegion unspecified",
            &regions,
            ctx("bedrock:InvokeModel", "unspecified", &format!("arn:aws:bedrock:::foundation-model/{MODEL}")),
            Want::Deny("T"),
        ),
        // 7. `*` in region/account matches the empty segments of foundation-model ARNs.
        root_deny("7 regional FM ARN, empty account", fm_resource, invoke("us-east-1"), Want::Deny("T")),
        root_deny(
            "7 global FM ARN, empty region too",
            fm_resource,
            ctx("bedrock:InvokeModel", "unspecified", &format!("arn:aws:bedrock:::foundation-model/{MODEL}")),
            Want::Deny("T"),
        ),
        root_deny(
            "7 inference profile is not a foundation model",
            fm_resource,
            ctx("bedrock:InvokeModel", "us-east-1", &profile),
            Want::Allowed,
        ),
        // 8. NotResource foundation-model/... denies the inference-profile authorization.
        root_deny(
            "8 NotResource, profile ARN",
            not_resource,
            ctx("bedrock:InvokeModel", "us-east-1", &profile),
            Want::Deny("T"),
        ),
        root_deny("8 NotResource, approved FM ARN", not_resource, invoke("us-east-1"), Want::Allowed),
        root_deny(
            "8 NotResource, no-resource request *",
            not_resource,
            ctx("bedrock:InvokeModel", "us-east-1", "*"),
            Want::Deny("T"),
        ),
        // 9. Only SCP on an OU is a conditional Allow that does not match → implicit deny.
        Case {
            name: "9 conditional Allow at OU",
            levels: levels(&[
                &[("p-FullAWSAccess", FULL_ACCESS)],
                &[(
                    "p-allow-eu",
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}"#,
                )],
                &[("p-FullAWSAccess", FULL_ACCESS)],
            ]),
            ctx: invoke("us-east-1"),
            want: Want::Implicit("OU ou-ab12-1"),
        },
        Case {
            name: "9 conditional Allow at OU, matching",
            levels: levels(&[
                &[("p-FullAWSAccess", FULL_ACCESS)],
                &[(
                    "p-allow-eu",
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}"#,
                )],
                &[("p-FullAWSAccess", FULL_ACCESS)],
            ]),
            ctx: invoke("eu-west-1"),
            want: Want::Allowed,
        },
        // 10. FullAWSAccess detached at an OU that only has a deny-list SCP.
        Case {
            name: "10 FullAWSAccess detached at OU",
            levels: levels(&[
                &[("p-FullAWSAccess", FULL_ACCESS)],
                &[(
                    "p-deny-leave",
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#,
                )],
                &[("p-FullAWSAccess", FULL_ACCESS)],
            ]),
            ctx: ctx("s3:GetObject", "eu-west-1", "arn:aws:s3:::bucket/key"),
            want: Want::Implicit("OU ou-ab12-1"),
        },
        // 11. Management account: this crate has no notion of it and reports the deny;
        // the caller must map it to "not enforceable" (§1.2, §8.5).
        root_deny(
            "11 management account (caller exempts)",
            &regions,
            invoke("us-east-1").with_value("aws:PrincipalAccount", "999999999999"),
            Want::Deny("T"),
        ),
        // 12. Case-insensitive actions and mid-string wildcards (§3.2).
        root_deny("12 Bedrock:invokeModel", &case_action, invoke("eu-west-1"), Want::Deny("T")),
        root_deny(
            "12 *Model* covers InvokeModelWithResponseStream",
            &mid_wild,
            ctx("bedrock:InvokeModelWithResponseStream", "eu-west-1", "*"),
            Want::Deny("T"),
        ),
        root_deny(
            "12 *Model* does not cover ApplyGuardrail",
            &mid_wild,
            ctx("bedrock:ApplyGuardrail", "eu-west-1", "*"),
            Want::Allowed,
        ),
        root_deny(
            "12 bedrock:* does not cover bedrock-mantle",
            &case_action,
            ctx("bedrock-mantle:CreateInference", "eu-west-1", "*"),
            Want::Allowed,
        ),
        // 13. JSON boolean false equals the string "false" (§3.1).
        root_deny("13 Bool JSON false, direct call", &bool_json, invoke("eu-west-1"), Want::Deny("T")),
        root_deny("13 Bool string false, direct call", &bool_str, invoke("eu-west-1"), Want::Deny("T")),
        root_deny(
            "13 Bool JSON false, FAS call",
            &bool_json,
            invoke("eu-west-1").with_value("aws:ViaAWSService", "true"),
            Want::Allowed,
        ),
        // 14. Key names are case-insensitive (§3.8).
        root_deny(
            "14 aws:PrincipalARN vs aws:principalarn",
            &upper_key,
            {
                let mut c = invoke("us-east-1");
                c.remove("aws:PrincipalArn");
                c.with_value("aws:principalarn", "arn:aws:iam::111122223333:role/AWSControlTowerExecution")
            },
            Want::Allowed,
        ),
        // 15. Converse is authorized as bedrock:InvokeModel (§5.1).
        root_deny(
            "15 Converse as InvokeModel",
            &invoke_only,
            ctx(bedrock_runtime_iam_action("Converse").unwrap(), "eu-west-1", "*"),
            Want::Deny("T"),
        ),
        root_deny(
            "15 ConverseStream is not InvokeModel",
            &invoke_only,
            ctx(bedrock_runtime_iam_action("ConverseStream").unwrap(), "eu-west-1", "*"),
            Want::Allowed,
        ),
        // 16. ForAnyValue with a negated operator: some value not like team*.
        root_deny(
            "16 ForAnyValue:StringNotLike, one outsider",
            &any_not_like,
            invoke("eu-west-1").with_values("aws:TagKeys", ["team-a", "cost"]),
            Want::Deny("T"),
        ),
        root_deny(
            "16 ForAnyValue:StringNotLike, all like",
            &any_not_like,
            invoke("eu-west-1").with_values("aws:TagKeys", ["team-a", "team-b"]),
            Want::Allowed,
        ),
        root_deny("16 ForAnyValue:StringNotLike, key missing", &any_not_like, invoke("eu-west-1"), Want::Allowed),
        // 17. Policy variable with a missing key: StringEquals false, StringNotEquals true.
        root_deny("17 variable missing, StringEquals", &var_eq, invoke("eu-west-1"), Want::Allowed),
        root_deny("17 variable missing, StringNotEquals", &var_ne, invoke("eu-west-1"), Want::Deny("T")),
        root_deny(
            "17 variable present",
            &var_eq,
            invoke("eu-west-1").with_value("aws:PrincipalTag/X", ACCOUNT),
            Want::Deny("T"),
        ),
        root_deny(
            "17 variable unknowable",
            &var_eq,
            invoke("eu-west-1").with_tag_keys_unknown(),
            Want::Depends(&["aws:PrincipalTag/x"]),
        ),
        // 18. A leftover `${Account}` is a variable for a key that never exists, so the
        // exemption never applies and the Admin role is denied (lint below reports it).
        root_deny(
            "18 placeholder ${Account} breaks the exemption",
            &placeholder,
            invoke("eu-west-1").with_value("aws:PrincipalArn", admin),
            Want::Deny("T"),
        ),
    ]
}

#[test]
fn tricky_cases_from_reference_section_9() {
    let cases = cases();
    assert!(cases.len() >= 40, "table shrank: {}", cases.len());
    let mut covered: Vec<u32> = cases.iter().map(|c| c.name.split(' ').next().unwrap().parse().unwrap()).collect();
    covered.dedup();
    assert_eq!(covered, (1..=18).collect::<Vec<_>>(), "all 18 cases in order");
    for case in &cases {
        check(case.name, &eval(&case.levels, &case.ctx), case.want);
    }
}

#[test]
fn case_18_placeholder_is_linted() {
    let json = deny(r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::${Account}:role/[PRIVILEGED_ROLE]"}}"#);
    let lints = lint_policy(&parse_policy("p-tmpl", &json).unwrap());
    let found: Vec<&str> =
        lints.iter().filter(|l| l.kind == LintKind::UnresolvedPlaceholder).map(|l| l.message.as_str()).collect();
    assert_eq!(found.len(), 2, "{lints:#?}");
    assert!(found[0].contains("${Account}"), "{found:?}");
    assert!(found[1].contains("[PRIVILEGED_ROLE]"), "{found:?}");
}

#[test]
fn case_15_api_mapping() {
    let table = [
        ("Converse", Some("bedrock:InvokeModel")),
        ("bedrock-runtime:ConverseStream", Some("bedrock:InvokeModelWithResponseStream")),
        ("InvokeModelWithBidirectionalStream", Some("bedrock:InvokeModel")),
        ("StartAsyncInvoke", Some("bedrock:InvokeModel")),
        ("ApplyGuardrail", Some("bedrock:ApplyGuardrail")),
        ("Frobnicate", None),
    ];
    for (api, want) in table {
        assert_eq!(bedrock_runtime_iam_action(api), want, "{api}");
    }
}
