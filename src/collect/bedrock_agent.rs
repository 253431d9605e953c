//! Agents for Amazon Bedrock (the `bedrock-agent` control plane): every agent with its
//! guardrail, key, service role, idle-session TTL and model, and the versions its aliases
//! serve; every knowledge base with its store, embedding model and the encryption of each of
//! its data sources; every prompt flow with the definitions its aliases run; every managed
//! prompt with its key and models.

use aws_sdk_bedrockagent::types::{FlowDefinition as SdkFlowDefinition, FlowNodeConfiguration, StorageConfiguration};

use crate::aws::AccountClients;
use crate::domain::Region;
use crate::snapshot::{
    Agent, AgentAlias, AgentVersion, Collected, DataSource, Flow, FlowDefinition, FlowModelNode, FlowNodeKind, Gap,
    KnowledgeBase, ManagedPrompt, VectorStore,
};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
/// Agents for Amazon Bedrock authorizes its calls under the `bedrock:` prefix.
pub const ACTIONS: &[&str] = &[
    "bedrock:GetAgent",
    "bedrock:GetAgentVersion",
    "bedrock:GetDataSource",
    "bedrock:GetFlow",
    "bedrock:GetFlowVersion",
    "bedrock:GetKnowledgeBase",
    "bedrock:GetPrompt",
    "bedrock:ListAgentAliases",
    "bedrock:ListAgents",
    "bedrock:ListDataSources",
    "bedrock:ListFlowAliases",
    "bedrock:ListFlows",
    "bedrock:ListKnowledgeBases",
    "bedrock:ListPrompts",
];

/// Every agent of the region.
pub async fn agents(clients: &AccountClients, region: &Region) -> Collected<Vec<Agent>> {
    let client = clients.bedrock_agent(Some(region));
    let summaries: Vec<_> = client
        .list_agents()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock", "ListAgents", Some(region), &e))?;
    let mut out = Vec::with_capacity(summaries.len());
    for s in summaries {
        let got = client
            .get_agent()
            .agent_id(s.agent_id())
            .send()
            .await
            .map_err(|e| super::gap("bedrock", "GetAgent", Some(region), &e))?;
        let Some(a) = got.agent else {
            let message = format!("GetAgent for {} answered without the agent", s.agent_id());
            return Err(Gap::bad_response("bedrock", "GetAgent", Some(region), "MissingAgent", message));
        };
        let aliases: Vec<_> = client
            .list_agent_aliases()
            .agent_id(s.agent_id())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| super::gap("bedrock", "ListAgentAliases", Some(region), &e))?;
        // What callers run: each numbered version an alias serves, with its own guardrail and
        // model (the draft's may differ).
        let mut served: Vec<&str> = aliases
            .iter()
            .flat_map(|al| al.routing_configuration().iter().filter_map(|r| r.agent_version()))
            .filter(|v| *v != "DRAFT")
            .collect();
        served.sort_unstable();
        served.dedup();
        let mut versions = Vec::with_capacity(served.len());
        for version in served {
            let got = client
                .get_agent_version()
                .agent_id(s.agent_id())
                .agent_version(version)
                .send()
                .await
                .map_err(|e| super::gap("bedrock", "GetAgentVersion", Some(region), &e))?;
            let Some(v) = got.agent_version else {
                let message = format!("GetAgentVersion for {} {version} answered without the version", s.agent_id());
                return Err(Gap::bad_response(
                    "bedrock",
                    "GetAgentVersion",
                    Some(region),
                    "MissingAgentVersion",
                    message,
                ));
            };
            versions.push(AgentVersion {
                version: version.to_owned(),
                guardrail: guardrail_of(v.guardrail_configuration()),
                foundation_model: v.foundation_model().filter(|m| !m.is_empty()).map(str::to_owned),
            });
        }
        out.push(Agent {
            id: a.agent_id().to_owned(),
            arn: a.agent_arn().to_owned(),
            name: a.agent_name().to_owned(),
            status: a.agent_status().as_str().to_owned(),
            guardrail: guardrail_of(a.guardrail_configuration()),
            kms_key_arn: a.customer_encryption_key_arn().filter(|k| !k.is_empty()).map(str::to_owned),
            role_arn: a.agent_resource_role_arn().to_owned(),
            idle_session_ttl_seconds: a.idle_session_ttl_in_seconds(),
            aliases: aliases
                .iter()
                .map(|al| AgentAlias {
                    id: al.agent_alias_id().to_owned(),
                    name: al.agent_alias_name().to_owned(),
                    versions: al
                        .routing_configuration()
                        .iter()
                        .filter_map(|r| r.agent_version().map(str::to_owned))
                        .collect(),
                })
                .collect(),
            foundation_model: a.foundation_model().filter(|m| !m.is_empty()).map(str::to_owned),
            versions,
        });
    }
    Ok(out)
}

/// A guardrail configuration as (identifier, version), when it names a guardrail.
fn guardrail_of(g: Option<&aws_sdk_bedrockagent::types::GuardrailConfiguration>) -> Option<(String, String)> {
    g.and_then(|g| {
        g.guardrail_identifier()
            .filter(|id| !id.is_empty())
            .map(|id| (id.to_owned(), g.guardrail_version().unwrap_or_default().to_owned()))
    })
}

/// Every knowledge base of the region (GetKnowledgeBase for its kind, store and embedding
/// model), with each data source's encryption key.
pub async fn knowledge_bases(clients: &AccountClients, region: &Region) -> Collected<Vec<KnowledgeBase>> {
    let client = clients.bedrock_agent(Some(region));
    let summaries: Vec<_> = client
        .list_knowledge_bases()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock", "ListKnowledgeBases", Some(region), &e))?;
    let mut out = Vec::with_capacity(summaries.len());
    for kb in summaries {
        let got = client
            .get_knowledge_base()
            .knowledge_base_id(kb.knowledge_base_id())
            .send()
            .await
            .map_err(|e| super::gap("bedrock", "GetKnowledgeBase", Some(region), &e))?;
        let Some(detail) = got.knowledge_base else {
            let message =
                format!("GetKnowledgeBase for {} answered without the knowledge base", kb.knowledge_base_id());
            return Err(Gap::bad_response(
                "bedrock",
                "GetKnowledgeBase",
                Some(region),
                "MissingKnowledgeBase",
                message,
            ));
        };
        let config = detail.knowledge_base_configuration();
        let managed = config.and_then(|c| c.managed_knowledge_base_configuration());
        let embedding_model = config
            .and_then(|c| c.vector_knowledge_base_configuration())
            .map(|v| v.embedding_model_arn())
            .or_else(|| managed.and_then(|m| m.embedding_model_arn()))
            .filter(|m| !m.is_empty())
            .map(str::to_owned);
        let sources: Vec<_> = client
            .list_data_sources()
            .knowledge_base_id(kb.knowledge_base_id())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| super::gap("bedrock", "ListDataSources", Some(region), &e))?;
        let mut data_sources = Vec::with_capacity(sources.len());
        for ds in sources {
            let got = client
                .get_data_source()
                .knowledge_base_id(kb.knowledge_base_id())
                .data_source_id(ds.data_source_id())
                .send()
                .await
                .map_err(|e| super::gap("bedrock", "GetDataSource", Some(region), &e))?;
            let Some(d) = got.data_source else {
                let message = format!("GetDataSource for {} answered without the data source", ds.data_source_id());
                return Err(Gap::bad_response("bedrock", "GetDataSource", Some(region), "MissingDataSource", message));
            };
            data_sources.push(DataSource {
                id: d.data_source_id().to_owned(),
                name: d.name().to_owned(),
                kms_key_arn: d
                    .server_side_encryption_configuration()
                    .and_then(|c| c.kms_key_arn())
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned),
            });
        }
        out.push(KnowledgeBase {
            id: kb.knowledge_base_id().to_owned(),
            name: kb.name().to_owned(),
            data_sources,
            kind: config.map(|c| c.r#type().as_str().to_owned()),
            managed_store_key: managed
                .and_then(|m| m.server_side_encryption_configuration())
                .and_then(|c| c.kms_key_arn())
                .filter(|k| !k.is_empty())
                .map(str::to_owned),
            vector_store: detail.storage_configuration().map(vector_store),
            embedding_model,
        });
    }
    Ok(out)
}

/// Where a knowledge base keeps its vectors, by the configuration its storage type names.
fn vector_store(s: &StorageConfiguration) -> VectorStore {
    let location = s
        .opensearch_serverless_configuration()
        .map(|c| c.collection_arn())
        .or_else(|| s.opensearch_managed_cluster_configuration().map(|c| c.domain_arn()))
        .or_else(|| s.s3_vectors_configuration().and_then(|c| c.index_arn().or(c.vector_bucket_arn())))
        .or_else(|| s.rds_configuration().map(|c| c.resource_arn()))
        .or_else(|| s.neptune_analytics_configuration().map(|c| c.graph_arn()))
        .or_else(|| s.pinecone_configuration().map(|c| c.connection_string()))
        .or_else(|| s.redis_enterprise_cloud_configuration().map(|c| c.endpoint()))
        .or_else(|| s.mongo_db_atlas_configuration().map(|c| c.endpoint()))
        .filter(|l| !l.is_empty())
        .map(str::to_owned);
    VectorStore { kind: s.r#type().as_str().to_owned(), location }
}

/// Every prompt flow of the region: its key, its aliases, and the model nodes of the working
/// draft (GetFlow) and of every numbered version an alias serves (GetFlowVersion).
pub async fn flows(clients: &AccountClients, region: &Region) -> Collected<Vec<Flow>> {
    let client = clients.bedrock_agent(Some(region));
    let summaries: Vec<_> = client
        .list_flows()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock", "ListFlows", Some(region), &e))?;
    let mut out = Vec::with_capacity(summaries.len());
    for s in summaries {
        let draft = client
            .get_flow()
            .flow_identifier(s.id())
            .send()
            .await
            .map_err(|e| super::gap("bedrock", "GetFlow", Some(region), &e))?;
        let aliases: Vec<_> = client
            .list_flow_aliases()
            .flow_identifier(s.id())
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| super::gap("bedrock", "ListFlowAliases", Some(region), &e))?;
        let aliases: Vec<AgentAlias> = aliases
            .iter()
            .map(|a| AgentAlias {
                id: a.id().to_owned(),
                name: a.name().to_owned(),
                versions: a
                    .routing_configuration()
                    .iter()
                    .filter_map(|r| r.flow_version().map(str::to_owned))
                    .collect(),
            })
            .collect();
        let unknown_node = |operation: &str, node: String| {
            let message = format!("flow {} has node {node} of a type the sweep does not know", s.id());
            Gap::bad_response("bedrock", operation, Some(region), "UnknownNodeType", message)
        };
        let draft_nodes = model_nodes(draft.definition()).map_err(|n| unknown_node("GetFlow", n))?;
        let mut definitions = vec![FlowDefinition { version: "DRAFT".to_owned(), model_nodes: draft_nodes }];
        let mut served: Vec<&str> =
            aliases.iter().flat_map(|a| a.versions.iter().map(String::as_str)).filter(|v| *v != "DRAFT").collect();
        served.sort_unstable();
        served.dedup();
        for version in served {
            let v = client
                .get_flow_version()
                .flow_identifier(s.id())
                .flow_version(version)
                .send()
                .await
                .map_err(|e| super::gap("bedrock", "GetFlowVersion", Some(region), &e))?;
            let nodes = model_nodes(v.definition()).map_err(|n| unknown_node("GetFlowVersion", n))?;
            definitions.push(FlowDefinition { version: version.to_owned(), model_nodes: nodes });
        }
        out.push(Flow {
            id: draft.id().to_owned(),
            arn: draft.arn().to_owned(),
            name: draft.name().to_owned(),
            kms_key_arn: draft.customer_encryption_key_arn().filter(|k| !k.is_empty()).map(str::to_owned),
            aliases,
            definitions,
        });
    }
    Ok(out)
}

/// The prompt and knowledge-base nodes of a definition, those inside loop nodes included.
/// A node of a type this build does not know is `Err(its name)`: it might call a model, so the
/// flow cannot be judged from what was read.
fn model_nodes(definition: Option<&SdkFlowDefinition>) -> Result<Vec<FlowModelNode>, String> {
    let mut out = Vec::new();
    for node in definition.map(SdkFlowDefinition::nodes).unwrap_or_default() {
        match node.configuration() {
            Some(FlowNodeConfiguration::Prompt(p)) => {
                let source = p.source_configuration();
                out.push(FlowModelNode {
                    name: node.name().to_owned(),
                    kind: FlowNodeKind::Prompt,
                    guardrail: guardrail_of(p.guardrail_configuration()),
                    model: source.and_then(|s| s.as_inline().ok()).map(|i| i.model_id().to_owned()),
                    prompt_arn: source.and_then(|s| s.as_resource().ok()).map(|r| r.prompt_arn().to_owned()),
                });
            }
            Some(FlowNodeConfiguration::KnowledgeBase(k)) => out.push(FlowModelNode {
                name: node.name().to_owned(),
                kind: FlowNodeKind::KnowledgeBase,
                guardrail: guardrail_of(k.guardrail_configuration()),
                model: k.model_id().filter(|m| !m.is_empty()).map(str::to_owned),
                prompt_arn: None,
            }),
            Some(FlowNodeConfiguration::Loop(l)) => out.extend(model_nodes(l.definition())?),
            // Nodes where no model answers: inputs and outputs, routing, code, storage and
            // retrieval, Lex bots, and agents (an agent's guardrail is BR.AGT.1's).
            Some(
                FlowNodeConfiguration::Input(_)
                | FlowNodeConfiguration::Output(_)
                | FlowNodeConfiguration::Condition(_)
                | FlowNodeConfiguration::Iterator(_)
                | FlowNodeConfiguration::Collector(_)
                | FlowNodeConfiguration::LoopInput(_)
                | FlowNodeConfiguration::LoopController(_)
                | FlowNodeConfiguration::InlineCode(_)
                | FlowNodeConfiguration::LambdaFunction(_)
                | FlowNodeConfiguration::Lex(_)
                | FlowNodeConfiguration::Storage(_)
                | FlowNodeConfiguration::Retrieval(_)
                | FlowNodeConfiguration::Agent(_),
            ) => {}
            Some(_) => return Err(node.name().to_owned()),
            // A node without configuration runs nothing.
            None => {}
        }
    }
    Ok(out)
}

/// Every managed prompt of the region with its key and the models of its variants
/// (GetPrompt returns the working draft, which holds the prompt's key).
pub async fn prompts(clients: &AccountClients, region: &Region) -> Collected<Vec<ManagedPrompt>> {
    let client = clients.bedrock_agent(Some(region));
    let summaries: Vec<_> = client
        .list_prompts()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("bedrock", "ListPrompts", Some(region), &e))?;
    let mut out = Vec::with_capacity(summaries.len());
    for s in summaries {
        let p = client
            .get_prompt()
            .prompt_identifier(s.id())
            .send()
            .await
            .map_err(|e| super::gap("bedrock", "GetPrompt", Some(region), &e))?;
        let mut models: Vec<String> = Vec::new();
        for model in p.variants().iter().filter_map(|v| v.model_id()).filter(|m| !m.is_empty()) {
            if !models.iter().any(|m| m == model) {
                models.push(model.to_owned());
            }
        }
        out.push(ManagedPrompt {
            id: p.id().to_owned(),
            arn: p.arn().to_owned(),
            name: p.name().to_owned(),
            kms_key_arn: p.customer_encryption_key_arn().filter(|k| !k.is_empty()).map(str::to_owned),
            models,
        });
    }
    Ok(out)
}
