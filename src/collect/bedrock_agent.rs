//! Agents for Amazon Bedrock (the `bedrock-agent` control plane): every agent with its
//! guardrail, key, service role and idle-session TTL, and the versions its aliases serve;
//! every knowledge base with the encryption of each of its data sources.

use crate::aws::AccountClients;
use crate::domain::Region;
use crate::snapshot::{Agent, AgentAlias, Collected, DataSource, Gap, KnowledgeBase};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
/// Agents for Amazon Bedrock authorizes its calls under the `bedrock:` prefix.
pub const ACTIONS: &[&str] = &[
    "bedrock:GetAgent",
    "bedrock:GetDataSource",
    "bedrock:ListAgentAliases",
    "bedrock:ListAgents",
    "bedrock:ListDataSources",
    "bedrock:ListKnowledgeBases",
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
        out.push(Agent {
            id: a.agent_id().to_owned(),
            arn: a.agent_arn().to_owned(),
            name: a.agent_name().to_owned(),
            status: a.agent_status().as_str().to_owned(),
            guardrail: a.guardrail_configuration().and_then(|g| {
                g.guardrail_identifier()
                    .filter(|id| !id.is_empty())
                    .map(|id| (id.to_owned(), g.guardrail_version().unwrap_or_default().to_owned()))
            }),
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
        });
    }
    Ok(out)
}

/// Every knowledge base of the region, with each data source's encryption key.
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
        out.push(KnowledgeBase { id: kb.knowledge_base_id().to_owned(), name: kb.name().to_owned(), data_sources });
    }
    Ok(out)
}
