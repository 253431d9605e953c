//! The published SCPs of scp-semantics.md §6, filled in, and helpers to build the §8.2
//! scenario contexts for them.

use iam_policy::{Level, RequestContext};

use super::{ACCOUNT, Want, check, ctx, eval, fm};

pub const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";

/// The global-services NotAction list of Control Tower's GRREGIONDENY (§6.1).
pub const CT_GLOBAL_ACTIONS: &str = r#""a4b:*", "access-analyzer:*", "account:*", "acm:*", "activate:*", "artifact:*",
        "aws-marketplace-management:*", "aws-marketplace:*", "aws-portal:*",
        "billing:*", "billingconductor:*", "budgets:*", "ce:*", "chatbot:*", "chime:*",
        "cloudfront:*", "cloudtrail:LookupEvents", "compute-optimizer:*", "config:*",
        "consoleapp:*", "consolidatedbilling:*", "cur:*", "datapipeline:GetAccountLimits",
        "devicefarm:*", "directconnect:*", "ec2:DescribeRegions", "ec2:DescribeTransitGateways",
        "ec2:DescribeVpnGateways", "ecr-public:*", "fms:*", "freetier:*", "globalaccelerator:*",
        "health:*", "iam:*", "importexport:*", "invoicing:*", "iq:*", "kms:*",
        "license-manager:ListReceivedLicenses", "lightsail:Get*", "mobileanalytics:*",
        "networkmanager:*", "notifications-contacts:*", "notifications:*", "organizations:*",
        "payments:*", "pricing:*", "quicksight:DescribeAccountSubscription",
        "resource-explorer-2:*", "route53-recovery-cluster:*", "route53-recovery-control-config:*",
        "route53-recovery-readiness:*", "route53:*", "route53domains:*",
        "s3:CreateMultiRegionAccessPoint", "s3:DeleteMultiRegionAccessPoint",
        "s3:DescribeMultiRegionAccessPointOperation", "s3:GetAccountPublicAccessBlock",
        "s3:GetBucketLocation", "s3:GetBucketPolicyStatus", "s3:GetBucketPublicAccessBlock",
        "s3:GetMultiRegionAccessPoint", "s3:GetMultiRegionAccessPointPolicy",
        "s3:GetMultiRegionAccessPointPolicyStatus", "s3:GetStorageLensConfiguration",
        "s3:GetStorageLensDashboard", "s3:ListAllMyBuckets", "s3:ListMultiRegionAccessPoints",
        "s3:ListStorageLensConfigurations", "s3:PutAccountPublicAccessBlock",
        "s3:PutMultiRegionAccessPointPolicy", "savingsplans:*", "shield:*", "sso:*", "sts:*",
        "support:*", "supportapp:*", "supportplans:*", "sustainability:*", "tag:GetResources",
        "tax:*", "trustedadvisor:*", "vendor-insights:ListEntitledSecurityProfiles",
        "waf-regional:*", "waf:*", "wafv2:*""#;

pub fn grregiondeny() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"GRREGIONDENY","Effect":"Deny",
        "NotAction":[{CT_GLOBAL_ACTIONS}],"Resource":"*",
        "Condition":{{"StringNotEquals":{{"aws:RequestedRegion":["eu-west-1","eu-central-1"]}},
        "ArnNotLike":{{"aws:PrincipalARN":["arn:aws:iam::*:role/AWSControlTowerExecution"]}}}}}}]}}"#
    )
}

/// AWS's CRIS-aware Region deny (§6.3), with `regions`, `geo` and `role` filled in.
pub fn cris_aware(regions: &str, geo: &str, role: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Sid":"DenyUnapprovedRegionsExceptGlobalAndBedrockCRIS","Effect":"Deny",
          "NotAction":[{CT_GLOBAL_ACTIONS},"wellarchitected:*","bedrock:InvokeModel",
            "bedrock:InvokeModelWithResponseStream","bedrock:CreateModelInvocationJob"],
          "Resource":"*",
          "Condition":{{"StringNotEquals":{{"aws:RequestedRegion":[{regions}]}},
            "ArnNotLike":{{"aws:PrincipalARN":"{role}"}}}}}},
        {{"Sid":"DenyBedrockInferenceOutsideApprovedRegions","Effect":"Deny",
          "Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream",
            "bedrock:CreateModelInvocationJob"],
          "Resource":"*",
          "Condition":{{"StringNotEquals":{{"aws:RequestedRegion":[{regions}]}},
            "ArnNotLike":{{"bedrock:InferenceProfileArn":"arn:aws:bedrock:*:*:inference-profile/{geo}.*"}}}}}}]}}"#
    )
}

pub const VPCE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyBedrockOutsideApprovedVpce",
  "Effect":"Deny","Action":["bedrock:*","bedrock-mantle:*"],"Resource":"*","Condition":{
  "StringNotEqualsIfExists":{"aws:SourceVpce":["vpce-0aaa1111bbbb2222c","vpce-0ddd3333eeee4444f"]},
  "BoolIfExists":{"aws:ViaAWSService":"false"},
  "ArnNotLikeIfExists":{"aws:PrincipalArn":["arn:aws:iam::*:role/BreakGlass",
    "arn:aws:iam::*:role/service-role/AmazonBedrockExecutionRoleForAgents_*"]}}}]}"#;

pub const VPCE_ANY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyWithoutAnyEndpoint",
  "Effect":"Deny","Action":"bedrock:*","Resource":"*","Condition":{
  "Null":{"aws:SourceVpce":"true"},"BoolIfExists":{"aws:ViaAWSService":"false"}}}]}"#;

pub const GUARDRAIL: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyInferenceWithoutApprovedGuardrail",
  "Effect":"Deny","Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],"Resource":"*",
  "Condition":{"StringNotEquals":{"bedrock:GuardrailIdentifier":[
    "arn:aws:bedrock:eu-central-1:111122223333:guardrail/abc123xyz:1",
    "arn:aws:bedrock:eu-central-1:111122223333:guardrail/abc123xyz"]}}}]}"#;

pub const CLOUDTRAIL: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"GRCLOUDTRAILENABLED",
  "Effect":"Deny","Action":["cloudtrail:DeleteTrail","cloudtrail:PutEventSelectors",
  "cloudtrail:StopLogging","cloudtrail:UpdateTrail"],
  "Resource":["arn:aws:cloudtrail:*:*:trail/aws-controltower-*"],
  "Condition":{"ArnNotLike":{"aws:PrincipalARN":"arn:aws:iam::*:role/AWSControlTowerExecution"}}}]}"#;

pub const API_KEYS: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"DenyBedrockKeyCreation","Effect":"Deny","Action":"iam:CreateServiceSpecificCredential","Resource":"*",
   "Condition":{"StringEquals":{"iam:ServiceSpecificCredentialServiceName":"bedrock.amazonaws.com"}}},
  {"Sid":"DenyBearerTokens","Effect":"Deny","Action":"bedrock:CallWithBearerToken","Resource":"*"}]}"#;

pub const API_KEYS_LONG_TERM: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"DenyLongTermKeys","Effect":"Deny","Action":["bedrock:CallWithBearerToken","bedrock-mantle:CallWithBearerToken"],
   "Resource":"*","Condition":{"StringEquals":{"bedrock:bearerTokenType":"LONG_TERM"}}},
  {"Sid":"DenyOldKeys","Effect":"Deny","Action":"iam:CreateServiceSpecificCredential","Resource":"*",
   "Condition":{"StringEquals":{"iam:ServiceSpecificCredentialServiceName":"bedrock.amazonaws.com"},
     "NumericGreaterThanEquals":{"iam:ServiceSpecificCredentialAgeDays":"30"}}}]}"#;

// The reference (§6.8) prints the Mantle statement with StringLike; the Sid says "except
// approved models", which is StringNotLike. We use the latter.
pub const APPROVED_MODELS: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"DenyUsageOfModelsWithBedrock","Effect":"Deny",
   "Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream","bedrock:PutFoundationModelEntitlement"],
   "NotResource":"arn:aws:bedrock:*::foundation-model/anthropic.*"},
  {"Sid":"DenyUsageOfModelsWithBedrockMantle","Effect":"Deny","Action":"bedrock-mantle:*","Resource":"*",
   "Condition":{"StringNotLike":{"bedrock-mantle:Model":"anthropic.*"}}}]}"#;

pub const CRIS_VARIANTS: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"DenyGlobalCRIS","Effect":"Deny","Action":"bedrock:*","Resource":"*","Condition":{
    "StringEquals":{"aws:RequestedRegion":"unspecified"},
    "ArnLike":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:*:*:inference-profile/global.*"}}},
  {"Sid":"OnlyUSGeoProfiles","Effect":"Deny","Action":"bedrock:*","Resource":"*","Condition":{
    "Null":{"bedrock:InferenceProfileArn":"false"},
    "ArnNotLike":{"bedrock:InferenceProfileArn":"arn:aws:bedrock:*:*:inference-profile/us.*"}}}]}"#;

pub fn profile(region: &str, geo: &str) -> String {
    format!("arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{geo}.{MODEL}")
}

pub fn invoke(region: &str) -> RequestContext {
    ctx("bedrock:InvokeModel", region, &fm(region, MODEL))
}

/// A CRIS destination leg: the foundation model in `dest`, through profile `geo`,
/// called in `source` (§5.4).
pub fn cris_leg(source: &str, dest: &str, geo: &str) -> RequestContext {
    let dest_resource = if geo == "global" { String::new() } else { dest.to_owned() };
    ctx("bedrock:InvokeModel", dest, &fm(&dest_resource, MODEL))
        .with_value("bedrock:InferenceProfileArn", profile(source, geo))
}

pub fn as_role(c: RequestContext, role: &str) -> RequestContext {
    c.with_value("aws:PrincipalArn", format!("arn:aws:iam::{ACCOUNT}:role/{role}"))
}

pub fn via_vpce(c: RequestContext, vpce: &str) -> RequestContext {
    let mut c = c
        .with_value("aws:SourceVpce", vpce)
        .with_value("aws:SourceVpc", "vpc-0123")
        .with_value("aws:VpcSourceIp", "10.0.1.5");
    c.remove("aws:SourceIp");
    c
}

pub fn run_table(name: &str, levels: &[Level], rows: Vec<(&str, RequestContext, Want)>) {
    assert!(!rows.is_empty());
    for (row, c, want) in rows {
        check(&format!("{name}: {row}"), &eval(levels, &c), want);
    }
}
