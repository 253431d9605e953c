//! SCP documents for the scp module's tests: AWS-managed FullAWSAccess and the published
//! controls of scp-semantics.md §6, filled in.

pub const FULL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// A region deny whose NotAction exempts all of Bedrock (the classic hole).
pub const REGION_EXEMPTS_BEDROCK: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyOutsideRegions",
  "Effect":"Deny","NotAction":["iam:*","sts:*","organizations:*","bedrock:*"],"Resource":"*",
  "Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1","eu-central-1"]}}}]}"#;

/// A deny-list SCP with no Allow (attached where FullAWSAccess was detached).
pub const DENY_LEAVE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyLeave","Effect":"Deny",
  "Action":"organizations:LeaveOrganization","Resource":"*"}]}"#;

/// Control Tower's landing-zone region deny (§6.1), governed regions eu-west-1 and eu-central-1.
pub const GRREGIONDENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"GRREGIONDENY","Effect":"Deny",
  "NotAction":["a4b:*","access-analyzer:*","account:*","acm:*","activate:*","artifact:*",
    "aws-marketplace-management:*","aws-marketplace:*","aws-portal:*","billing:*","billingconductor:*",
    "budgets:*","ce:*","chatbot:*","chime:*","cloudfront:*","cloudtrail:LookupEvents","compute-optimizer:*",
    "config:*","consoleapp:*","consolidatedbilling:*","cur:*","datapipeline:GetAccountLimits","devicefarm:*",
    "directconnect:*","ec2:DescribeRegions","ec2:DescribeTransitGateways","ec2:DescribeVpnGateways",
    "ecr-public:*","fms:*","freetier:*","globalaccelerator:*","health:*","iam:*","importexport:*",
    "invoicing:*","iq:*","kms:*","license-manager:ListReceivedLicenses","lightsail:Get*","mobileanalytics:*",
    "networkmanager:*","notifications-contacts:*","notifications:*","organizations:*","payments:*",
    "pricing:*","quicksight:DescribeAccountSubscription","resource-explorer-2:*",
    "route53-recovery-cluster:*","route53-recovery-control-config:*","route53-recovery-readiness:*",
    "route53:*","route53domains:*","s3:CreateMultiRegionAccessPoint","s3:DeleteMultiRegionAccessPoint",
    "s3:GetAccountPublicAccessBlock","s3:GetBucketLocation","s3:ListAllMyBuckets","savingsplans:*",
    "shield:*","sso:*","sts:*","support:*","supportapp:*","supportplans:*","sustainability:*",
    "tag:GetResources","tax:*","trustedadvisor:*","waf-regional:*","waf:*","wafv2:*"],
  "Resource":"*",
  "Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1","eu-central-1"]},
    "ArnNotLike":{"aws:PrincipalARN":["arn:aws:iam::*:role/AWSControlTowerExecution"]}}}]}"#;

/// Deny Bedrock and AgentCore unless through approved endpoints, exempting FAS (§6.4, with
/// AgentCore's service prefix added).
pub const VPCE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyBedrockOutsideApprovedVpce",
  "Effect":"Deny","Action":["bedrock:*","bedrock-mantle:*","bedrock-agentcore:*"],"Resource":"*","Condition":{
  "StringNotEqualsIfExists":{"aws:SourceVpce":["vpce-0aaa1111bbbb2222c","vpce-0ddd3333eeee4444f"]},
  "BoolIfExists":{"aws:ViaAWSService":"false"},
  "ArnNotLikeIfExists":{"aws:PrincipalArn":["arn:aws:iam::*:role/BreakGlass"]}}}]}"#;

/// §6.4 as published: AgentCore's runtime calls are not fenced.
pub fn vpce_without_agentcore() -> String {
    VPCE.replace(r#","bedrock-agentcore:*""#, "")
}

pub const GUARDRAIL_ARN: &str = "arn:aws:bedrock:eu-west-1:111122223333:guardrail/abc123xyz:1";

/// Require a guardrail on inference (§6.5).
pub const GUARDRAIL: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyInferenceWithoutApprovedGuardrail",
  "Effect":"Deny","Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],"Resource":"*",
  "Condition":{"StringNotEquals":{"bedrock:GuardrailIdentifier":[
    "arn:aws:bedrock:eu-west-1:111122223333:guardrail/abc123xyz:1",
    "arn:aws:bedrock:eu-west-1:111122223333:guardrail/abc123xyz"]}}}]}"#;

/// Protect CloudTrail, invocation logging and AgentCore policy enforcement, with an
/// exemption pattern to fill in.
pub fn protect_audit(exempt: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"ProtectAudit","Effect":"Deny",
  "Action":["cloudtrail:DeleteTrail","cloudtrail:PutEventSelectors","cloudtrail:StopLogging",
    "cloudtrail:UpdateTrail","bedrock:DeleteModelInvocationLoggingConfiguration",
    "bedrock:PutModelInvocationLoggingConfiguration","bedrock-agentcore:UpdateGateway",
    "bedrock-agentcore:DeleteGateway","bedrock-agentcore:UpdatePolicyEngine","bedrock-agentcore:DeletePolicyEngine",
    "bedrock-agentcore:UpdatePolicy","bedrock-agentcore:DeletePolicy"],
  "Resource":"*","Condition":{{"ArnNotLike":{{"aws:PrincipalARN":"{exempt}"}}}}}}]}}"#
    )
}

/// Block Bedrock API keys (§6.7, first sample: no Mantle statement).
pub const API_KEYS: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"DenyBedrockKeyCreation","Effect":"Deny","Action":"iam:CreateServiceSpecificCredential","Resource":"*",
   "Condition":{"StringEquals":{"iam:ServiceSpecificCredentialServiceName":"bedrock.amazonaws.com"}}},
  {"Sid":"DenyBearerTokens","Effect":"Deny","Action":"bedrock:CallWithBearerToken","Resource":"*"}]}"#;

/// Approved models only (§6.8), with the Mantle statement written as "except approved".
pub const APPROVED_MODELS: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"DenyUsageOfModelsWithBedrock","Effect":"Deny",
   "Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream","bedrock:PutFoundationModelEntitlement"],
   "NotResource":"arn:aws:bedrock:*::foundation-model/anthropic.*"},
  {"Sid":"DenyUsageOfModelsWithBedrockMantle","Effect":"Deny","Action":"bedrock-mantle:*","Resource":"*",
   "Condition":{"StringNotLike":{"bedrock-mantle:Model":"anthropic.*"}}}]}"#;

/// Approved models for Bedrock only: Mantle stays open.
pub const APPROVED_MODELS_NO_MANTLE: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"DenyUsageOfModelsWithBedrock","Effect":"Deny",
   "Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],
   "NotResource":"arn:aws:bedrock:*::foundation-model/anthropic.*"}]}"#;

/// A region deny that exempts principals by a resource tag the probes cannot know.
pub const REGION_DEPENDS_ON_TAG: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyUnlessTagged",
  "Effect":"Deny","Action":["bedrock:*","bedrock-mantle:*","bedrock-agentcore:*"],"Resource":"*",
  "Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1"],"aws:ResourceTag/allow-anywhere":"yes"}}}]}"#;

/// A region deny whose exemption names one account's roles (account-specific).
pub const REGION_EXEMPTS_ONE_ACCOUNT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyOutside",
  "Effect":"Deny","Action":["bedrock:*","bedrock-mantle:*","bedrock-agentcore:*"],"Resource":"*",
  "Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1","eu-central-1"]},
  "ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}}}]}"#;

/// Not JSON an SCP can be: `Effect` is missing.
pub const MALFORMED: &str = r#"{"Version":"2012-10-17","Statement":[{"Action":"bedrock:*","Resource":"*"}]}"#;
