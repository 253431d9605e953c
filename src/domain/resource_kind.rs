//! What a finding is about, as the evaluator that judged it knows it: the ASFF resource type
//! comes from here, never from the shape of the resource id.

use serde::{Deserialize, Serialize};

/// The kind of a finding's subject.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ResourceKind {
    /// The account itself (account- and account-region-wide controls).
    Account,
    /// The organization (organization-wide controls).
    Organization,
    /// A CloudTrail trail.
    Trail,
    /// A KMS key.
    KmsKey,
    /// An S3 bucket.
    S3Bucket,
    /// A VPC endpoint.
    VpcEndpoint,
    /// An IAM role.
    IamRole,
    /// An IAM user.
    IamUser,
    /// An IAM group.
    IamGroup,
    /// A Bedrock custom (fine-tuned or imported) model.
    CustomModel,
    /// A Bedrock guardrail (version).
    Guardrail,
    /// A long-term Amazon Bedrock API key (an IAM service-specific credential).
    BedrockApiKey,
    /// A Bedrock model customization or batch inference job.
    BedrockJob,
    /// An agent for Amazon Bedrock.
    BedrockAgent,
    /// A knowledge base for Amazon Bedrock.
    KnowledgeBase,
    /// A prompt flow.
    BedrockFlow,
    /// A prompt of Prompt management.
    BedrockPrompt,
    /// An AgentCore gateway.
    AgentCoreGateway,
    /// An AgentCore policy engine.
    AgentCorePolicyEngine,
    /// An AgentCore memory.
    AgentCoreMemory,
    /// An AgentCore agent runtime, browser or code interpreter.
    AgentCoreCompute,
}

impl ResourceKind {
    /// The ASFF `Resources[].Type`: one of Security Hub's resource types where there is one,
    /// else `Other`.
    pub fn asff_type(self) -> &'static str {
        match self {
            ResourceKind::Account => "AwsAccount",
            ResourceKind::Trail => "AwsCloudTrailTrail",
            ResourceKind::KmsKey => "AwsKmsKey",
            ResourceKind::S3Bucket => "AwsS3Bucket",
            ResourceKind::VpcEndpoint => "AwsEc2VpcEndpoint",
            ResourceKind::IamRole => "AwsIamRole",
            ResourceKind::IamUser => "AwsIamUser",
            ResourceKind::IamGroup => "AwsIamGroup",
            ResourceKind::Organization
            | ResourceKind::CustomModel
            | ResourceKind::Guardrail
            | ResourceKind::BedrockApiKey
            | ResourceKind::BedrockJob
            | ResourceKind::BedrockAgent
            | ResourceKind::KnowledgeBase
            | ResourceKind::BedrockFlow
            | ResourceKind::BedrockPrompt
            | ResourceKind::AgentCoreGateway
            | ResourceKind::AgentCorePolicyEngine
            | ResourceKind::AgentCoreMemory
            | ResourceKind::AgentCoreCompute => "Other",
        }
    }
}
