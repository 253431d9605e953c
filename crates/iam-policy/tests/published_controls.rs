//! Published network, guardrail, CloudTrail, API-key and model SCPs (scp-semantics.md
//! §6.4–§6.8) against the §8.2 scenario matrix. Every row states the expected decision.
#![allow(clippy::unwrap_used)]

mod common;

use common::scps::*;
use common::{ACCOUNT, Want, ctx, eval, fm, policy, with_full_access};
use iam_policy::{LintKind, RequestContext, lint_policy};

#[test]
fn deny_unless_vpc_endpoint() {
    let lv = with_full_access(&[("p-vpce", VPCE)]);
    let deny = Want::Deny("DenyBedrockOutsideApprovedVpce");
    let fas = |c: RequestContext| {
        let mut c = c.with_value("aws:ViaAWSService", "true");
        c.remove("aws:SourceIp");
        c
    };
    run_table(
        "VPCE",
        &lv,
        vec![
            ("public endpoint", invoke("eu-west-1"), deny),
            ("approved endpoint", via_vpce(invoke("eu-west-1"), "vpce-0ddd3333eeee4444f"), Want::Allowed),
            ("other endpoint", via_vpce(invoke("eu-west-1"), "vpce-0bad"), deny),
            ("FAS call", fas(invoke("eu-west-1")), Want::Allowed),
            ("break-glass role", as_role(invoke("eu-west-1"), "BreakGlass"), Want::Allowed),
            (
                "agent execution role",
                as_role(invoke("eu-west-1"), "service-role/AmazonBedrockExecutionRoleForAgents_x1"),
                Want::Allowed,
            ),
            ("mantle on public endpoint", ctx("bedrock-mantle:CreateInference", "eu-west-1", "*"), deny),
            ("unrelated service", ctx("s3:GetObject", "eu-west-1", "arn:aws:s3:::b/k"), Want::Allowed),
        ],
    );
    let lv = with_full_access(&[("p-vpce-any", VPCE_ANY)]);
    run_table(
        "VPCE Null variant",
        &lv,
        vec![
            ("no endpoint", invoke("eu-west-1"), Want::Deny("DenyWithoutAnyEndpoint")),
            ("any endpoint", via_vpce(invoke("eu-west-1"), "vpce-0bad"), Want::Allowed),
            ("FAS", fas(invoke("eu-west-1")), Want::Allowed),
        ],
    );
}

#[test]
fn require_guardrail() {
    let lv = with_full_access(&[("p-guard", GUARDRAIL)]);
    let deny = Want::Deny("DenyInferenceWithoutApprovedGuardrail");
    let with_guard = |g: &str| invoke("eu-central-1").with_value("bedrock:GuardrailIdentifier", g);
    run_table(
        "guardrail",
        &lv,
        vec![
            ("no guardrail", invoke("eu-central-1"), deny),
            (
                "approved, versioned",
                with_guard("arn:aws:bedrock:eu-central-1:111122223333:guardrail/abc123xyz:1"),
                Want::Allowed,
            ),
            (
                "approved, unversioned",
                with_guard("arn:aws:bedrock:eu-central-1:111122223333:guardrail/abc123xyz"),
                Want::Allowed,
            ),
            (
                "approved, other version",
                with_guard("arn:aws:bedrock:eu-central-1:111122223333:guardrail/abc123xyz:2"),
                deny,
            ),
            ("other guardrail", with_guard("arn:aws:bedrock:eu-central-1:111122223333:guardrail/zzz"), deny),
            ("ApplyGuardrail not covered", ctx("bedrock:ApplyGuardrail", "eu-central-1", "*"), Want::Allowed),
            ("streaming without guardrail", ctx("bedrock:InvokeModelWithResponseStream", "eu-central-1", "*"), deny),
        ],
    );
}

#[test]
fn protect_cloudtrail() {
    let lv = with_full_access(&[("p-ct-trail", CLOUDTRAIL)]);
    let trail = |name: &str| format!("arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/{name}");
    let deny = Want::Deny("GRCLOUDTRAILENABLED");
    run_table(
        "CloudTrail",
        &lv,
        vec![
            (
                "StopLogging CT trail",
                ctx("cloudtrail:StopLogging", "eu-west-1", &trail("aws-controltower-BaselineCloudTrail")),
                deny,
            ),
            (
                "DeleteTrail CT trail",
                ctx("cloudtrail:DeleteTrail", "eu-west-1", &trail("aws-controltower-BaselineCloudTrail")),
                deny,
            ),
            ("StopLogging own trail", ctx("cloudtrail:StopLogging", "eu-west-1", &trail("team-trail")), Want::Allowed),
            (
                "CT execution role",
                as_role(
                    ctx("cloudtrail:StopLogging", "eu-west-1", &trail("aws-controltower-x")),
                    "AWSControlTowerExecution",
                ),
                Want::Allowed,
            ),
            ("LookupEvents", ctx("cloudtrail:LookupEvents", "eu-west-1", "*"), Want::Allowed),
        ],
    );
}

#[test]
fn block_bedrock_api_keys() {
    let lv = with_full_access(&[("p-keys", API_KEYS)]);
    let create = |svc: &str| {
        ctx("iam:CreateServiceSpecificCredential", "us-east-1", "*")
            .with_value("iam:ServiceSpecificCredentialServiceName", svc)
    };
    run_table(
        "API keys",
        &lv,
        vec![
            ("create Bedrock key", create("bedrock.amazonaws.com"), Want::Deny("DenyBedrockKeyCreation")),
            ("create CodeCommit key", create("codecommit.amazonaws.com"), Want::Allowed),
            ("bearer token", ctx("bedrock:CallWithBearerToken", "eu-west-1", "*"), Want::Deny("DenyBearerTokens")),
            (
                "mantle bearer token stays open",
                ctx("bedrock-mantle:CallWithBearerToken", "eu-west-1", "*"),
                Want::Allowed,
            ),
        ],
    );
    let lints = lint_policy(&policy("p-keys", API_KEYS));
    assert!(lints.iter().any(|l| l.kind == LintKind::BearerTokenWithoutMantle), "{lints:#?}");

    let lv = with_full_access(&[("p-keys-lt", API_KEYS_LONG_TERM)]);
    let token = |t: &str| ctx("bedrock:CallWithBearerToken", "eu-west-1", "*").with_value("bedrock:BearerTokenType", t);
    let aged = |d: &str| create("bedrock.amazonaws.com").with_value("iam:ServiceSpecificCredentialAgeDays", d);
    run_table(
        "API keys variants",
        &lv,
        vec![
            ("long-term key (key spelled bearerTokenType)", token("LONG_TERM"), Want::Deny("DenyLongTermKeys")),
            ("short-term key", token("SHORT_TERM"), Want::Allowed),
            ("45-day key", aged("45"), Want::Deny("DenyOldKeys")),
            ("30-day key", aged("30"), Want::Deny("DenyOldKeys")),
            ("10-day key", aged("10"), Want::Allowed),
        ],
    );
    assert!(lint_policy(&policy("p-keys-lt", API_KEYS_LONG_TERM)).is_empty());
}

#[test]
fn approved_models_only() {
    let lv = with_full_access(&[("p-models", APPROVED_MODELS)]);
    let deny = Want::Deny("DenyUsageOfModelsWithBedrock");
    let via_profile = ctx("bedrock:InvokeModel", "us-east-1", &profile("us-east-1", "us"));
    run_table(
        "approved models",
        &lv,
        vec![
            ("approved model, direct", invoke("us-east-1"), Want::Allowed),
            ("other model", ctx("bedrock:InvokeModel", "us-east-1", &fm("us-east-1", "meta.llama3-70b")), deny),
            ("approved model, global FM ARN", ctx("bedrock:InvokeModel", "unspecified", &fm("", MODEL)), Want::Allowed),
            // §6.8 subtlety: the profile ARN is authorized too and is not a foundation model.
            ("approved model via inference profile: profile pair", via_profile.clone(), deny),
            (
                "mantle approved",
                ctx("bedrock-mantle:CreateInference", "us-east-1", "*")
                    .with_value("bedrock-mantle:Model", "anthropic.claude"),
                Want::Allowed,
            ),
            (
                "mantle other",
                ctx("bedrock-mantle:CreateInference", "us-east-1", "*")
                    .with_value("bedrock-mantle:Model", "openai.gpt-oss"),
                Want::Deny("DenyUsageOfModelsWithBedrockMantle"),
            ),
            (
                "mantle no model key",
                ctx("bedrock-mantle:CreateInference", "us-east-1", "*"),
                Want::Deny("DenyUsageOfModelsWithBedrockMantle"),
            ),
        ],
    );
    // Multi-resource authorization (§3.3): the call is denied if any pair is denied.
    let pairs = [via_profile, invoke("us-east-1")];
    let denied: Vec<bool> = pairs.iter().map(|c| eval(&lv, c).is_denied().unwrap()).collect();
    assert_eq!(denied, vec![true, false]);
    assert!(denied.iter().any(|d| *d), "profile call denied overall");
}
