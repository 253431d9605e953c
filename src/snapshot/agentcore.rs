//! What one region of an account holds of Amazon Bedrock AgentCore: gateways with their
//! targets, policy engines with their policies, the compute that runs agents and their tools
//! (runtimes, browsers, code interpreters) and memories.

use serde::{Deserialize, Serialize};

use super::Collected;

/// AgentCore in one region, each listing with its own gap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCoreRegion {
    /// Gateways with their targets.
    pub gateways: Collected<Vec<Gateway>>,
    /// Policy engines with their policies.
    pub policy_engines: Collected<Vec<PolicyEngine>>,
    /// Agent runtimes, browsers and code interpreters (the account's own).
    pub compute: Collected<Vec<AgentCoreCompute>>,
    /// Memories.
    pub memories: Collected<Vec<AgentCoreMemory>>,
}

impl AgentCoreRegion {
    /// A region where AgentCore is offered and nothing of it exists (tests, fixtures).
    pub fn empty() -> Self {
        Self { gateways: Ok(vec![]), policy_engines: Ok(vec![]), compute: Ok(vec![]), memories: Ok(vec![]) }
    }
}

/// An AgentCore Gateway: the MCP endpoint through which agents call tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gateway {
    /// Its id.
    pub id: String,
    /// Its ARN (the `AgentCore::Gateway` resource of its Cedar policies).
    pub arn: String,
    /// Its name.
    pub name: String,
    /// How callers are authenticated: `CUSTOM_JWT`, `AWS_IAM`, or `NONE`.
    pub authorizer_type: String,
    /// The JWT authorizer's discovery URL, when it has one.
    pub jwt_discovery_url: Option<String>,
    /// The policy engine attached to it, if any.
    pub policy_engine: Option<AttachedPolicyEngine>,
    /// `DEBUG` when detailed errors are returned to callers; `None`: generic errors.
    pub exception_level: Option<String>,
    /// The customer-managed key encrypting it; `None`: an AWS-owned key.
    pub kms_key_arn: Option<String>,
    /// The role it calls its targets with.
    pub role_arn: String,
    /// What it exposes.
    pub targets: Vec<GatewayTarget>,
}

/// A gateway's policy engine and whether its decisions are enforced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedPolicyEngine {
    /// The policy engine's ARN.
    pub arn: String,
    /// `ENFORCE` or `LOG_ONLY`.
    pub mode: String,
}

/// A target of a gateway: a set of tools behind one backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayTarget {
    /// Its id.
    pub id: String,
    /// Its name: the prefix of its tools' names (`<target>___<tool>`).
    pub name: String,
    /// `lambda`, `openApiSchema`, `smithyModel`, `mcpServer`, `apiGateway`, `connector`, ...
    pub kind: String,
    /// The tools it declares inline (a Lambda target's tool schema); `None` when only the
    /// backend knows them (an OpenAPI or Smithy document, an MCP server, a schema in S3).
    pub tools: Option<Vec<String>>,
}

/// A policy engine: the Cedar policies evaluated before every tool call of the gateways
/// attached to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEngine {
    /// Its id.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The customer-managed key encrypting it; `None`: an AWS-owned key.
    pub kms_key_arn: Option<String>,
    /// Its policies.
    pub policies: Vec<EnginePolicy>,
}

/// One policy of a policy engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnginePolicy {
    /// Its id (the id the Cedar analysis names it by).
    pub id: String,
    /// Its name.
    pub name: String,
    /// `ACTIVE`, `CREATING`, `CREATE_FAILED`, ...
    pub status: String,
    /// `ACTIVE` (decides) or `LOG_ONLY` (only logged).
    pub enforcement_mode: String,
    /// Its statement.
    pub definition: PolicyDefinition,
}

impl EnginePolicy {
    /// Whether it takes part in decisions: not only logged, and in force — every status but
    /// one that never got there (`CREATING`, `CREATE_FAILED`); a policy being updated or
    /// deleted, or that failed to be, is taken as still deciding.
    pub fn decides(&self) -> bool {
        !matches!(self.status.as_str(), "CREATING" | "CREATE_FAILED") && self.enforcement_mode != "LOG_ONLY"
    }
}

/// A policy's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyDefinition {
    /// A Cedar statement.
    Cedar(String),
    /// Something the sweep cannot evaluate as Cedar (a statement with temporal or guardrail
    /// blocks, a generated policy not yet materialized): its kind.
    Other(String),
}

/// What kind of AgentCore compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComputeKind {
    /// An agent runtime.
    Runtime,
    /// A browser tool.
    Browser,
    /// A code interpreter tool.
    CodeInterpreter,
}

impl ComputeKind {
    /// For details.
    pub fn words(self) -> &'static str {
        match self {
            ComputeKind::Runtime => "Agent runtime",
            ComputeKind::Browser => "Browser",
            ComputeKind::CodeInterpreter => "Code interpreter",
        }
    }
}

/// An agent runtime, browser or code interpreter, with its network mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentCoreCompute {
    /// Which.
    pub kind: ComputeKind,
    /// Its id.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `PUBLIC`, `VPC`, or (code interpreters) `SANDBOX`.
    pub network_mode: String,
}

/// An AgentCore memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentCoreMemory {
    /// Its id.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The customer-managed key encrypting it; `None`: an AWS-owned key.
    pub kms_key_arn: Option<String>,
}
