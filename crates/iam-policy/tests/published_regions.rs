//! Published Region-deny SCPs (scp-semantics.md §6.1–§6.3) against the Region and CRIS
//! dimensions of the §8.2 scenario matrix. Every row states the expected decision.
#![allow(clippy::unwrap_used)]

mod common;

use common::scps::*;
use common::{FULL_ACCESS, Want, ctx, eval, levels, policy, with_full_access};
use iam_policy::{ActionSpec, LintKind, MissPart, ScpOutcome, lint_policy};

#[test]
fn control_tower_grregiondeny() {
    let p = policy("p-ct-region", &grregiondeny());
    // Verify the premise of §6.1: nothing in NotAction covers Bedrock.
    let ActionSpec::NotAction(list) = &p.statements[0].action else {
        panic!("GRREGIONDENY uses NotAction");
    };
    assert_eq!(list.len(), 86);
    assert!(!list.iter().any(|a| a.to_lowercase().starts_with("bedrock")));

    let lv = with_full_access(&[("p-ct-region", &grregiondeny())]);
    let deny = Want::Deny("GRREGIONDENY");
    run_table(
        "GRREGIONDENY",
        &lv,
        vec![
            ("InvokeModel outside governed Regions", invoke("us-east-1"), deny),
            ("InvokeModel in a governed Region", invoke("eu-west-1"), Want::Allowed),
            ("ListFoundationModels outside", ctx("bedrock:ListFoundationModels", "ap-southeast-2", "*"), deny),
            ("mantle outside", ctx("bedrock-mantle:CreateInference", "us-west-2", "*"), deny),
            ("EU CRIS leg into non-governed eu-north-1 (CfCT #211)", cris_leg("eu-west-1", "eu-north-1", "eu"), deny),
            ("global CRIS leg", cris_leg("eu-west-1", "unspecified", "global"), deny),
            (
                "Control Tower execution role is a hole",
                as_role(invoke("us-east-1"), "AWSControlTowerExecution"),
                Want::Allowed,
            ),
            ("global service iam", ctx("iam:CreateRole", "us-east-1", "*"), Want::Allowed),
            ("lightsail:Get* mid-list wildcard", ctx("lightsail:GetInstances", "us-east-1", "*"), Want::Allowed),
            ("lightsail:Create* not exempt", ctx("lightsail:CreateInstances", "us-east-1", "*"), deny),
        ],
    );

    // Near misses explain why the request went through.
    let ScpOutcome::Allowed { near_misses } = eval(&lv, &ctx("iam:CreateRole", "us-east-1", "*")) else {
        panic!("iam is exempt");
    };
    assert_eq!(near_misses.len(), 1);
    assert_eq!(near_misses[0].part, MissPart::NotAction);
    assert_eq!(
        near_misses[0].to_string(),
        "SCP p-ct-region on root r-ab12 (Statement[0] Sid GRREGIONDENY): NotAction exempts iam:CreateRole (listed as iam:*)"
    );
    let ScpOutcome::Allowed { near_misses } = eval(&lv, &invoke("eu-west-1")) else {
        panic!("governed Region");
    };
    assert_eq!(near_misses[0].reason, "condition StringNotEquals aws:RequestedRegion is false: eu-west-1 is listed");
}

#[test]
fn cris_aware_region_deny() {
    let json = cris_aware(r#""eu-west-1","eu-central-1""#, "eu", "arn:aws:iam::*:role/BreakGlass");
    let lv = with_full_access(&[("p-cris", &json)]);
    let s1 = Want::Deny("DenyUnapprovedRegionsExceptGlobalAndBedrockCRIS");
    let s2 = Want::Deny("DenyBedrockInferenceOutsideApprovedRegions");
    run_table(
        "CRIS-aware",
        &lv,
        vec![
            ("direct call in unapproved Region", invoke("us-east-1"), s2),
            ("direct call in approved Region", invoke("eu-central-1"), Want::Allowed),
            ("EU geo leg into eu-north-1", cris_leg("eu-west-1", "eu-north-1", "eu"), Want::Allowed),
            ("US geo leg into us-east-1", cris_leg("eu-west-1", "us-east-1", "us"), s2),
            ("global CRIS leg", cris_leg("eu-west-1", "unspecified", "global"), s2),
            (
                "eu profile called from unapproved eu-south-1 (caveat)",
                cris_leg("eu-south-1", "eu-south-1", "eu"),
                Want::Allowed,
            ),
            ("batch job outside", ctx("bedrock:CreateModelInvocationJob", "us-east-1", "*"), s2),
            ("InvokeAgent outside", ctx("bedrock:InvokeAgent", "us-east-1", "*"), s1),
            ("Converse (=InvokeModel) in approved", invoke("eu-west-1"), Want::Allowed),
            (
                "break-glass role, agent outside",
                as_role(ctx("bedrock:InvokeAgent", "us-east-1", "*"), "BreakGlass"),
                Want::Allowed,
            ),
            (
                "break-glass role, inference outside (not exempt in stmt 2)",
                as_role(invoke("us-east-1"), "BreakGlass"),
                s2,
            ),
            ("global service", ctx("sts:GetCallerIdentity", "us-east-1", "*"), Want::Allowed),
        ],
    );
    let ScpOutcome::Allowed { near_misses } = eval(&lv, &cris_leg("eu-west-1", "eu-north-1", "eu")) else {
        panic!("EU leg allowed");
    };
    let reasons: Vec<&str> = near_misses.iter().map(|n| n.reason.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0], "NotAction exempts bedrock:InvokeModel");
    assert!(reasons[1].starts_with("condition ArnNotLike bedrock:InferenceProfileArn is false"), "{reasons:?}");

    // The published template (§6.3) has unfilled placeholders: lint them.
    let template = cris_aware(
        r#""{example-region-1}","{example-region-2}""#,
        "{geo-prefix}",
        "arn:aws:iam::${Account}:role/[PRIVILEGED_ROLE]",
    );
    let lints = lint_policy(&policy("p-tmpl", &template));
    let n = lints.iter().filter(|l| l.kind == LintKind::UnresolvedPlaceholder).count();
    assert_eq!(n, 7, "{lints:#?}");
}

#[test]
fn cris_variants() {
    let lv = with_full_access(&[("p-cris-var", CRIS_VARIANTS)]);
    run_table(
        "CRIS variants",
        &lv,
        vec![
            ("global leg", cris_leg("us-east-1", "unspecified", "global"), Want::Deny("DenyGlobalCRIS")),
            ("EU geo leg", cris_leg("eu-west-1", "eu-west-3", "eu"), Want::Deny("OnlyUSGeoProfiles")),
            ("US geo leg", cris_leg("us-east-1", "us-west-2", "us"), Want::Allowed),
            ("direct call (Null:false needs a profile)", invoke("eu-west-1"), Want::Allowed),
        ],
    );
}

#[test]
fn layered_org_with_near_miss_on_ou() {
    let cris = cris_aware(r#""eu-west-1""#, "eu", "arn:aws:iam::*:role/BreakGlass");
    let lv = levels(&[
        &[("p-FullAWSAccess", FULL_ACCESS)],
        &[("p-FullAWSAccess", FULL_ACCESS), ("p-abc", &cris)],
        &[("p-FullAWSAccess", FULL_ACCESS), ("p-guard", GUARDRAIL)],
    ]);
    // EU geo leg into eu-north-1 without a guardrail: CRIS passes, the account's guardrail
    // SCP denies.
    match eval(&lv, &cris_leg("eu-west-1", "eu-north-1", "eu")) {
        ScpOutcome::ExplicitDeny { level, policy_id, statement_index, .. } => {
            assert_eq!((level.as_str(), policy_id.as_str(), statement_index), ("account 111122223333", "p-guard", 0));
        }
        other => panic!("expected guardrail deny, got {other:#?}"),
    }
    let ok = cris_leg("eu-west-1", "eu-north-1", "eu")
        .with_value("bedrock:GuardrailIdentifier", "arn:aws:bedrock:eu-central-1:111122223333:guardrail/abc123xyz");
    let ScpOutcome::Allowed { near_misses } = eval(&lv, &ok) else {
        panic!("allowed with guardrail");
    };
    let text: Vec<String> = near_misses.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:#?}");
    assert_eq!(
        text[0],
        "SCP p-abc on OU ou-ab12-1 (Statement[0] Sid DenyUnapprovedRegionsExceptGlobalAndBedrockCRIS): NotAction exempts bedrock:InvokeModel"
    );
}
