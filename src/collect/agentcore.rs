//! Amazon Bedrock AgentCore (the `bedrock-agentcore-control` plane): gateways with their
//! targets' tools, policy engines with their Cedar policies, agent runtimes, browsers and code
//! interpreters with their network mode, and memories with their key. The list calls that
//! return summaries are followed by the Get that holds the judged fields.

use crate::aws::AccountClients;
use crate::domain::Region;
use crate::snapshot::{
    AgentCoreCompute, AgentCoreMemory, AttachedPolicyEngine, Collected, ComputeKind, EnginePolicy, Gap, Gateway,
    GatewayTarget, PolicyDefinition, PolicyEngine,
};
use aws_sdk_bedrockagentcorecontrol::types::{McpTargetConfiguration, PolicyDefinition as SdkDefinition, ToolSchema};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
/// AgentCore authorizes its control plane under the `bedrock-agentcore:` prefix.
pub const ACTIONS: &[&str] = &[
    "bedrock-agentcore:GetAgentRuntime",
    "bedrock-agentcore:GetBrowser",
    "bedrock-agentcore:GetCodeInterpreter",
    "bedrock-agentcore:GetGateway",
    "bedrock-agentcore:GetGatewayTarget",
    "bedrock-agentcore:GetMemory",
    "bedrock-agentcore:ListAgentRuntimes",
    "bedrock-agentcore:ListBrowsers",
    "bedrock-agentcore:ListCodeInterpreters",
    "bedrock-agentcore:ListGatewayTargets",
    "bedrock-agentcore:ListGateways",
    "bedrock-agentcore:ListMemories",
    "bedrock-agentcore:ListPolicies",
    "bedrock-agentcore:ListPolicyEngines",
];

/// Every gateway of the region with its targets and the tools they declare.
pub async fn gateways(clients: &AccountClients, region: &Region) -> Collected<Vec<Gateway>> {
    let client = clients.agentcore(Some(region));
    let summaries: Vec<_> = client
        .list_gateways()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock-agentcore", "ListGateways", Some(region), &e))?;
    let mut out = Vec::with_capacity(summaries.len());
    for s in summaries {
        let g = client
            .get_gateway()
            .gateway_identifier(s.gateway_id())
            .send()
            .await
            .map_err(|e| super::gap("bedrock-agentcore", "GetGateway", Some(region), &e))?;
        let target_summaries: Vec<_> = client
            .list_gateway_targets()
            .gateway_identifier(s.gateway_id())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| super::gap("bedrock-agentcore", "ListGatewayTargets", Some(region), &e))?;
        let mut targets = Vec::with_capacity(target_summaries.len());
        for t in target_summaries {
            let target = client
                .get_gateway_target()
                .gateway_identifier(s.gateway_id())
                .target_id(t.target_id())
                .send()
                .await
                .map_err(|e| super::gap("bedrock-agentcore", "GetGatewayTarget", Some(region), &e))?;
            let (kind, tools) = match target.target_configuration().and_then(|c| c.as_mcp().ok()) {
                Some(McpTargetConfiguration::Lambda(l)) => (
                    "lambda",
                    match l.tool_schema() {
                        Some(ToolSchema::InlinePayload(defs)) => {
                            Some(defs.iter().map(|d| d.name().to_owned()).collect())
                        }
                        _ => None,
                    },
                ),
                Some(McpTargetConfiguration::OpenApiSchema(_)) => ("openApiSchema", None),
                Some(McpTargetConfiguration::SmithyModel(_)) => ("smithyModel", None),
                Some(McpTargetConfiguration::McpServer(_)) => ("mcpServer", None),
                Some(McpTargetConfiguration::ApiGateway(_)) => ("apiGateway", None),
                Some(McpTargetConfiguration::Connector(_)) => ("connector", None),
                Some(_) => ("unknown", None),
                None if target.target_configuration().is_some_and(|c| c.is_http()) => ("http", None),
                None => ("other", None),
            };
            targets.push(GatewayTarget {
                id: target.target_id().to_owned(),
                name: target.name().to_owned(),
                kind: kind.to_owned(),
                tools,
            });
        }
        out.push(Gateway {
            id: g.gateway_id().to_owned(),
            arn: g.gateway_arn().to_owned(),
            name: g.name().to_owned(),
            authorizer_type: g.authorizer_type().as_str().to_owned(),
            jwt_discovery_url: g
                .authorizer_configuration()
                .and_then(|a| a.as_custom_jwt_authorizer().ok())
                .map(|j| j.discovery_url().to_owned()),
            policy_engine: g
                .policy_engine_configuration()
                .map(|p| AttachedPolicyEngine { arn: p.arn().to_owned(), mode: p.mode().as_str().to_owned() }),
            exception_level: g.exception_level().map(|e| e.as_str().to_owned()),
            kms_key_arn: g.kms_key_arn().filter(|k| !k.is_empty()).map(str::to_owned),
            role_arn: g.role_arn().unwrap_or_default().to_owned(),
            targets,
        });
    }
    Ok(out)
}

/// Every policy engine of the region with its policies (both listings return whole objects).
pub async fn policy_engines(clients: &AccountClients, region: &Region) -> Collected<Vec<PolicyEngine>> {
    let client = clients.agentcore(Some(region));
    let engines: Vec<_> = client
        .list_policy_engines()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock-agentcore", "ListPolicyEngines", Some(region), &e))?;
    let mut out = Vec::with_capacity(engines.len());
    for e in engines {
        let policies: Vec<_> = client
            .list_policies()
            .policy_engine_id(e.policy_engine_id())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| super::gap("bedrock-agentcore", "ListPolicies", Some(region), &err))?;
        out.push(PolicyEngine {
            id: e.policy_engine_id().to_owned(),
            arn: e.policy_engine_arn().to_owned(),
            name: e.name().to_owned(),
            kms_key_arn: e.encryption_key_arn().filter(|k| !k.is_empty()).map(str::to_owned),
            policies: policies
                .iter()
                .map(|p| EnginePolicy {
                    id: p.policy_id().to_owned(),
                    name: p.name().to_owned(),
                    status: p.status().as_str().to_owned(),
                    enforcement_mode: p.enforcement_mode().as_str().to_owned(),
                    definition: match p.definition() {
                        Some(SdkDefinition::Cedar(c)) => PolicyDefinition::Cedar(c.statement().to_owned()),
                        Some(SdkDefinition::Policy(_)) => PolicyDefinition::Other("policy statement".to_owned()),
                        Some(SdkDefinition::PolicyGeneration(_)) => {
                            PolicyDefinition::Other("policy generation".to_owned())
                        }
                        Some(_) | None => PolicyDefinition::Other("unknown definition".to_owned()),
                    },
                })
                .collect(),
        });
    }
    Ok(out)
}

/// Every agent runtime, browser and code interpreter of the region with its network mode.
/// AWS's own browser and code interpreter (`aws.browser.v1`, `aws.codeinterpreter.v1`) are
/// listed as `SYSTEM` and are not the account's to configure: only `CUSTOM` ones are read.
pub async fn compute(clients: &AccountClients, region: &Region) -> Collected<Vec<AgentCoreCompute>> {
    use aws_sdk_bedrockagentcorecontrol::types::ResourceType;
    let client = clients.agentcore(Some(region));
    let mut out = Vec::new();
    let runtimes: Vec<_> = client
        .list_agent_runtimes()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock-agentcore", "ListAgentRuntimes", Some(region), &e))?;
    for r in runtimes {
        let got = client
            .get_agent_runtime()
            .agent_runtime_id(r.agent_runtime_id())
            .send()
            .await
            .map_err(|e| super::gap("bedrock-agentcore", "GetAgentRuntime", Some(region), &e))?;
        out.push(AgentCoreCompute {
            kind: ComputeKind::Runtime,
            id: got.agent_runtime_id().to_owned(),
            arn: got.agent_runtime_arn().to_owned(),
            name: got.agent_runtime_name().to_owned(),
            network_mode: got.network_configuration().map(|n| n.network_mode().as_str().to_owned()).unwrap_or_default(),
        });
    }
    let browsers: Vec<_> = client
        .list_browsers()
        .r#type(ResourceType::Custom)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock-agentcore", "ListBrowsers", Some(region), &e))?;
    for b in browsers {
        let got = client
            .get_browser()
            .browser_id(b.browser_id())
            .send()
            .await
            .map_err(|e| super::gap("bedrock-agentcore", "GetBrowser", Some(region), &e))?;
        out.push(AgentCoreCompute {
            kind: ComputeKind::Browser,
            id: got.browser_id().to_owned(),
            arn: got.browser_arn().to_owned(),
            name: got.name().to_owned(),
            network_mode: got.network_configuration().map(|n| n.network_mode().as_str().to_owned()).unwrap_or_default(),
        });
    }
    let interpreters: Vec<_> = client
        .list_code_interpreters()
        .r#type(ResourceType::Custom)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock-agentcore", "ListCodeInterpreters", Some(region), &e))?;
    for c in interpreters {
        let got = client
            .get_code_interpreter()
            .code_interpreter_id(c.code_interpreter_id())
            .send()
            .await
            .map_err(|e| super::gap("bedrock-agentcore", "GetCodeInterpreter", Some(region), &e))?;
        out.push(AgentCoreCompute {
            kind: ComputeKind::CodeInterpreter,
            id: got.code_interpreter_id().to_owned(),
            arn: got.code_interpreter_arn().to_owned(),
            name: got.name().to_owned(),
            network_mode: got.network_configuration().map(|n| n.network_mode().as_str().to_owned()).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Every memory of the region with its key.
pub async fn memories(clients: &AccountClients, region: &Region) -> Collected<Vec<AgentCoreMemory>> {
    let client = clients.agentcore(Some(region));
    let summaries: Vec<_> = client
        .list_memories()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock-agentcore", "ListMemories", Some(region), &e))?;
    let mut out = Vec::with_capacity(summaries.len());
    for s in summaries {
        let Some(id) = s.id() else {
            let message = "ListMemories answered a memory without its id".to_owned();
            return Err(Gap::bad_response("bedrock-agentcore", "ListMemories", Some(region), "MissingId", message));
        };
        let got = client
            .get_memory()
            .memory_id(id)
            .send()
            .await
            .map_err(|e| super::gap("bedrock-agentcore", "GetMemory", Some(region), &e))?;
        let Some(m) = got.memory else {
            let message = format!("GetMemory for {id} answered without the memory");
            return Err(Gap::bad_response("bedrock-agentcore", "GetMemory", Some(region), "MissingMemory", message));
        };
        out.push(AgentCoreMemory {
            id: m.id().to_owned(),
            arn: m.arn().to_owned(),
            name: m.name().to_owned(),
            kms_key_arn: m.encryption_key_arn().filter(|k| !k.is_empty()).map(str::to_owned),
        });
    }
    Ok(out)
}
