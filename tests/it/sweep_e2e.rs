//! End to end: an organization with nested OUs and accounts carrying known
//! misconfigurations, swept twice; the findings are asserted control by control and
//! account by account, and the second sweep's transitions are asserted.

use std::sync::Arc;

use bedrock_sweeper::app;
use bedrock_sweeper::aws::AwsContext;
use bedrock_sweeper::catalog::Catalog;
use bedrock_sweeper::config::{AwsSettings, ControlParameters, ManagementAccess, Settings, SweepSettings};
use bedrock_sweeper::domain::{EventKind, FindingId, FindingRecord, Region, Status};
use bedrock_sweeper::store::findings::events_of_sweep;
use bedrock_sweeper::sweep::SweepDeps;
use serde_json::json;
use sqlx::PgPool;

use super::helpers::{Moto, Swept, assert_totals_match_findings, sdk_config, test_db};
use super::proxy::{AgentCoreSpec, EngineSpec, FlowSpec, Proxy, Reply};
use super::seed::{self, GatewaySpec, Org, TrailSpec};
use bedrock_sweeper::domain::SweepOutcome;

fn region(r: &str) -> Region {
    Region::parse(r).unwrap()
}

/// The settings every test organization is swept with: the emulator's own credentials stand
/// in for the management account, two regions, one approved.
pub fn settings() -> Settings {
    Settings {
        aws: AwsSettings {
            management_account_access: ManagementAccess::OwnCredentials,
            s3_force_path_style: true,
            max_attempts: 2,
            call_timeout_seconds: 20,
            ..AwsSettings::default()
        },
        sweep: SweepSettings {
            regions: vec![region("us-east-1"), region("eu-west-1")],
            account_concurrency: 3,
            ..SweepSettings::default()
        },
        controls: ControlParameters { approved_regions: vec![region("us-east-1")], ..ControlParameters::default() },
        ..Settings::default()
    }
}

/// What a sweep of the emulator at `endpoint` needs, built by the composition root.
pub async fn deps(endpoint: &str, pool: PgPool) -> SweepDeps {
    deps_with(endpoint, pool, settings()).await
}

/// [`deps`] with other settings.
pub async fn deps_with(endpoint: &str, pool: PgPool, settings: Settings) -> SweepDeps {
    let aws = AwsContext::from_config(sdk_config(endpoint), &settings.aws);
    app::sweep_deps(&settings, Arc::new(Catalog::embedded().unwrap()), pool, aws).await.unwrap()
}

/// The one finding of `control` for `account` in `region` (None: account-wide) and `resource`.
#[track_caller]
fn finding<'a>(
    r: &'a Swept,
    control: &str,
    account: &str,
    region: Option<&str>,
    resource: Option<&str>,
) -> &'a FindingRecord {
    let matches: Vec<&FindingRecord> = r
        .findings
        .iter()
        .filter(|f| {
            f.control_id == control
                && f.account_id == account
                && f.region.as_ref().map(Region::as_str) == region
                && resource.is_none_or(|res| f.resource_id == res)
        })
        .collect();
    assert_eq!(matches.len(), 1, "{control} {account} {region:?} {resource:?}: {matches:#?}");
    matches[0]
}

#[track_caller]
fn status(r: &Swept, control: &str, account: &str, region: Option<&str>, resource: Option<&str>) -> Status {
    finding(r, control, account, region, resource).status
}

const NARROW: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}]}"#;
const BEDROCK_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}"#;
const EVERYTHING: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const ENDPOINT_POLICY: &str = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"bedrock:InvokeModel","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-example"}}}]}"#;
const TS: &str = "2026-11-01T00:00:00Z";
/// The models the organization approves (controls.approved_models in this test).
const APPROVED_MODELS: &[&str] = &["anthropic.claude-3-haiku-20240307-v1:0", "amazon.titan-*"];
const APPROVED_AGENT_MODEL: &str = "us.anthropic.claude-3-haiku-20240307-v1:0";
const UNAPPROVED_MODEL: &str = "meta.llama3-70b-instruct-v1:0";

/// Bedrock guardrail and custom-model answers, shaped as the Bedrock API reference
/// documents them (moto does not implement these APIs).
/// Agents for Amazon Bedrock, as its API reference documents ListAgents (POST /agents),
/// GetAgent and ListAgentAliases: good's agent in us-east-1 is guarded by gr1 version 1,
/// encrypted with its key and acts with its own narrow role; bad's acts with the broad
/// `wide` role, unguarded, on an AWS-owned key, an hour of idle session, its alias on the draft.
fn serve_agents(proxy: &Proxy, good: String, bad: String, good_key: String) {
    // Knowledge bases (moto has no data sources): good's in us-east-1 ingests under its key,
    // bad's under an AWS-owned one.
    let (g, b, key) = (good.clone(), bad.clone(), good_key.clone());
    proxy.rule(move |req| {
        let rest = req.path.strip_prefix("/knowledgebases")?;
        let account = req.account.clone().unwrap_or_default();
        let ours = (account == g || account == b) && req.region == "us-east-1";
        Some(Reply::knowledge_base(rest, &account, &req.region, ours, (account == g).then_some(key.as_str())))
    });
    // Prompt flows (moto has none): good's in us-east-1 guards its prompt node with gr1
    // version 1 under its key, its alias on version 1; bad's has no guardrail, no key, and
    // its alias serves the draft.
    let (g, b, key) = (good.clone(), bad.clone(), good_key.clone());
    proxy.rule(move |req| {
        let rest = req.path.strip_prefix("/flows")?;
        let account = req.account.clone().unwrap_or_default();
        let flow = match (account.as_str(), req.region.as_str()) {
            (a, "us-east-1") if a == g => {
                Some(FlowSpec { name: "triage", guardrail: Some(("gr1", "1")), key: Some(&key), alias_version: "1" })
            }
            (a, "us-east-1") if a == b => {
                Some(FlowSpec { name: "open-flow", guardrail: None, key: None, alias_version: "DRAFT" })
            }
            _ => None,
        };
        Some(Reply::flows(rest, &account, &req.region, flow.as_ref()))
    });
    // Prompt management (moto has none): good's prompt under its key, bad's on an AWS-owned one.
    let (g, b, key) = (good.clone(), bad.clone(), good_key.clone());
    proxy.rule(move |req| {
        let rest = req.path.strip_prefix("/prompts")?;
        let account = req.account.clone().unwrap_or_default();
        let prompt = match (account.as_str(), req.region.as_str()) {
            (a, "us-east-1") if a == g => Some(("summarise", "amazon.titan-text-express-v1", Some(key.as_str()))),
            (a, "us-east-1") if a == b => Some(("chat", "amazon.titan-text-express-v1", None)),
            _ => None,
        };
        Some(Reply::prompts(rest, &account, &req.region, prompt))
    });
    proxy.rule(move |req| {
        // ListAgents is POST /agents (the SDK drops the reference's trailing slash).
        let rest = req.path.strip_prefix("/agents")?;
        let account = req.account.clone().unwrap_or_default();
        // good's agent orchestrates with an approved model through a cross-region inference
        // profile; bad's with a model nobody approved.
        let (name, role, guardrail, key, ttl, alias_version, model) = if account == good {
            ("helper", "agent-helper", Some(json!({"guardrailIdentifier": "gr1", "guardrailVersion": "1"})), Some(good_key.clone()), 600, "1", APPROVED_AGENT_MODEL)
        } else if account == bad {
            ("loose", "wide", None, None, 3600, "DRAFT", UNAPPROVED_MODEL)
        } else {
            ("", "", None, None, 0, "", "")
        };
        let serves = !name.is_empty() && req.region == "us-east-1";
        if rest.is_empty() || rest.starts_with('?') {
            let agents = if serves {
                json!([{"agentId": name, "agentName": name, "agentStatus": "PREPARED", "updatedAt": TS, "latestAgentVersion": "1"}])
            } else {
                json!([])
            };
            return Some(Reply::json(json!({ "agentSummaries": agents })));
        }
        // GetAgentVersion: the version an alias serves, as published (the same guardrail and model).
        if let Some((_, version)) = rest.split_once("/agentversions/") {
            return Some(Reply::json(json!({ "agentVersion": {
                "agentId": name, "agentName": name, "agentArn": format!("arn:aws:bedrock:us-east-1:{account}:agent/{name}"),
                "version": version.trim_end_matches('/'), "agentStatus": "PREPARED", "idleSessionTTLInSeconds": ttl,
                "agentResourceRoleArn": format!("arn:aws:iam::{account}:role/{role}"), "customerEncryptionKeyArn": key,
                "createdAt": TS, "updatedAt": TS, "guardrailConfiguration": guardrail, "foundationModel": model
            }})));
        }
        if rest.contains("/agentaliases") {
            return Some(Reply::json(json!({ "agentAliasSummaries": [
                {"agentAliasId": "TSTALIASID", "agentAliasName": "AgentTestAlias", "routingConfiguration": [{"agentVersion": "DRAFT"}],
                 "agentAliasStatus": "PREPARED", "createdAt": TS, "updatedAt": TS},
                {"agentAliasId": "LIVE000001", "agentAliasName": "live", "routingConfiguration": [{"agentVersion": alias_version}],
                 "agentAliasStatus": "PREPARED", "createdAt": TS, "updatedAt": TS}
            ]})));
        }
        Some(Reply::json(json!({ "agent": {
            "agentId": name, "agentName": name, "agentArn": format!("arn:aws:bedrock:us-east-1:{account}:agent/{name}"),
            "agentVersion": "DRAFT", "agentStatus": "PREPARED", "idleSessionTTLInSeconds": ttl,
            "agentResourceRoleArn": format!("arn:aws:iam::{account}:role/{role}"), "customerEncryptionKeyArn": key,
            "createdAt": TS, "updatedAt": TS, "guardrailConfiguration": guardrail, "foundationModel": model
        }})))
    });
}

fn serve_bedrock_gaps(proxy: &Proxy, good: String, bad: String, good_key: String) {
    // Long-term Bedrock API keys: good's expires next month, bad's never; no other account has one.
    let (g, b) = (good.clone(), bad.clone());
    proxy.rule(move |req| {
        (req.action().as_deref() == Some("ListServiceSpecificCredentials")).then(|| {
            let account = req.account.clone().unwrap_or_default();
            let created = (chrono::Utc::now() - chrono::Duration::days(5)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
            let expires = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
            if account == g {
                Reply::bedrock_api_keys(&[("ACCAGOODKEY0000000001", "ci-bot", &created, Some(&expires))])
            } else if account == b {
                Reply::bedrock_api_keys(&[("ACCABADKEY00000000001", "data-scientist", &created, None)])
            } else {
                Reply::bedrock_api_keys(&[])
            }
        })
    });
    proxy.rule(move |req| {
        if req.method != "GET" {
            return None;
        }
        let account = req.account.clone().unwrap_or_default();
        if req.path.starts_with("/enforcedGuardrailsConfiguration") {
            // The good account enforces its guardrail on itself in us-east-1.
            let configs = if account == good && req.region == "us-east-1" {
                json!([{"configId": "cfg1", "guardrailArn": format!("arn:aws:bedrock:us-east-1:{account}:guardrail/gr1"),
                        "guardrailId": "gr1", "guardrailVersion": "1", "createdAt": TS, "createdBy": "admin",
                        "updatedAt": TS, "updatedBy": "admin", "owner": "ACCOUNT",
                        "modelEnforcement": {"includedModels": ["ALL"], "excludedModels": ["amazon.titan-embed-text-v2:0"]}}])
            } else {
                json!([])
            };
            return Some(Reply::json(json!({ "guardrailsConfig": configs })));
        }
        // good's guardrail gr1 filters everything, has its own key and a published version;
        // bad's gr9 filters hate speech weakly, on an AWS-owned key, as a draft only.
        if req.path.starts_with("/guardrails/") {
            return Some(if account == bad { Reply::weak_guardrail(&account) } else { Reply::strong_guardrail(&account, &good_key) });
        }
        if req.path.starts_with("/guardrails") {
            // With guardrailIdentifier, ListGuardrails lists that guardrail's versions.
            let list: &[(&str, &str, &str)] = match (account.as_str(), req.region.as_str()) {
                (a, "us-east-1") if a == good && req.path.contains("guardrailIdentifier=gr1") => {
                    &[("gr1", "pii-and-prompt-attacks", "DRAFT"), ("gr1", "pii-and-prompt-attacks", "1")]
                }
                (a, "us-east-1") if a == good => &[("gr1", "pii-and-prompt-attacks", "DRAFT")],
                (a, "us-east-1") if a == bad => &[("gr9", "weak", "DRAFT")],
                _ => &[],
            };
            return Some(Reply::guardrail_list(&account, list));
        }
        // Jobs: good ran a private, CMK-encrypted batch job in us-east-1; bad fine-tuned a
        // model in eu-west-1 with neither a key nor a VPC.
        let bad_job = format!("arn:aws:bedrock:eu-west-1:{account}:model-customization-job/ft-open");
        if req.path.starts_with("/model-customization-jobs/") {
            return Some(Reply::json(json!({
                "jobArn": bad_job, "jobName": "ft-open", "outputModelName": "open-model", "roleArn": format!("arn:aws:iam::{account}:role/ft"),
                "status": "Completed", "creationTime": TS, "baseModelArn": "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-text-express-v1",
                "hyperParameters": {}, "trainingDataConfig": {"s3Uri": "s3://training/train.jsonl"},
                "validationDataConfig": {"validators": []}, "outputDataConfig": {"s3Uri": "s3://training/out/"}
            })));
        }
        if req.path.starts_with("/model-customization-jobs") {
            let jobs = if account == bad && req.region == "eu-west-1" {
                json!([{"jobArn": bad_job, "jobName": "ft-open", "status": "Completed", "creationTime": TS,
                        "baseModelArn": "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-text-express-v1"}])
            } else {
                json!([])
            };
            return Some(Reply::json(json!({ "modelCustomizationJobSummaries": jobs })));
        }
        if req.path.starts_with("/model-invocation-jobs") {
            let jobs = if account == good && req.region == "us-east-1" {
                json!([{"jobArn": format!("arn:aws:bedrock:us-east-1:{account}:model-invocation-job/nightly"), "jobName": "nightly",
                        "modelId": "amazon.titan-text-express-v1", "roleArn": format!("arn:aws:iam::{account}:role/batch"),
                        "status": "Completed", "submitTime": TS,
                        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://batch-in/"}},
                        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://batch-out/", "s3EncryptionKeyId": good_key}},
                        "vpcConfig": {"subnetIds": ["subnet-0good"], "securityGroupIds": ["sg-0good"]}}])
            } else {
                json!([])
            };
            return Some(Reply::json(json!({ "invocationJobSummaries": jobs })));
        }
        // Imported models: good's under its key, bad's on an AWS-owned one, in eu-west-1.
        if req.path.starts_with("/imported-models/") {
            let (name, key) = if account == good { ("imported-cmk", Some(good_key.clone())) } else { ("imported-default", None) };
            return Some(Reply::json(json!({
                "modelArn": format!("arn:aws:bedrock:eu-west-1:{account}:imported-model/{name}"), "modelName": name,
                "creationTime": TS, "modelArchitecture": "llama3", "instructSupported": true, "modelKmsKeyArn": key
            })));
        }
        if req.path.starts_with("/imported-models") {
            let models = if (account == good || account == bad) && req.region == "eu-west-1" {
                let name = if account == good { "imported-cmk" } else { "imported-default" };
                json!([{"modelArn": format!("arn:aws:bedrock:eu-west-1:{account}:imported-model/{name}"), "modelName": name,
                        "creationTime": TS, "instructSupported": true, "modelArchitecture": "llama3"}])
            } else {
                json!([])
            };
            return Some(Reply::json(json!({ "modelSummaries": models })));
        }
        if req.path.starts_with("/custom-models/") {
            let key = if account == good { Some(good_key.clone()) } else { None };
            let name = req.path.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default().to_owned();
            return Some(Reply::json(json!({
                "modelArn": format!("arn:aws:bedrock:eu-west-1:{account}:custom-model/{name}"), "modelName": name,
                "creationTime": TS, "modelKmsKeyArn": key
            })));
        }
        if req.path.starts_with("/custom-models") {
            let models = if (account == good || account == bad) && req.region == "eu-west-1" {
                let name = if account == good { "tuned-cmk" } else { "tuned-default" };
                json!([{"modelArn": format!("arn:aws:bedrock:eu-west-1:{account}:custom-model/{name}"), "modelName": name,
                        "creationTime": TS, "baseModelArn": "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-text-express-v1",
                        "baseModelName": "titan"}])
            } else {
                json!([])
            };
            return Some(Reply::json(json!({ "modelSummaries": models })));
        }
        None
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_end_to_end_with_transitions() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let org = Org::create(&moto.endpoint()).await;
    let mgmt = org.management_account.clone();

    // Management account: a multi-region, logging, validated, CMK-encrypted organization trail.
    let org_key = seed::cmk(&org.mgmt, true).await;
    seed::bucket(&org.mgmt, "org-trail-logs", None).await;
    let org_trail = seed::trail(&org.mgmt, TrailSpec::organization("org-trail-logs", &org_key)).await;

    let workloads = org.ou(&org.root, "Workloads").await;
    let prod = org.ou(&workloads, "Prod").await;
    let sandbox = org.ou(&workloads, "Sandbox").await;
    let good = org.account("good", &prod).await;
    let bad = org.account("bad", &sandbox).await;
    let locked = org.account("locked", &org.root).await;
    let closed = org.account("closed", &sandbox).await;
    let flaky = org.account("flaky", &prod).await;
    org.orgs().close_account().account_id(&closed).send().await.unwrap();

    // good: everything in place in the approved region.
    let g = org.member(&good).await;
    let g_vpc = seed::vpc(&g).await;
    let g_runtime =
        seed::endpoint(&g, &g_vpc, "com.amazonaws.us-east-1.bedrock-runtime", true, Some(ENDPOINT_POLICY)).await;
    // Its agent, knowledge base and flow are called through bedrock-agent-runtime.
    let g_agent_runtime =
        seed::endpoint(&g, &g_vpc, "com.amazonaws.us-east-1.bedrock-agent-runtime", true, Some(ENDPOINT_POLICY)).await;
    let g_key = seed::cmk(&g, true).await;
    seed::bucket(&g, "good-invocations", Some(&g_key)).await;
    seed::log_group(&g, "/bedrock/invocations", Some(&g_key), Some(400)).await;
    seed::invocation_logging(&g, Some("good-invocations"), Some("/bedrock/invocations")).await;
    seed::bucket(&g, "good-config", None).await;
    seed::config_recorder(&g, "good-config", true).await;
    seed::role_with_policy(&g, "app", "invoke-only", NARROW).await;
    seed::role_with_policy(&g, "agent-helper", "agent-invoke-only", NARROW).await;

    // bad: control-plane endpoint with the default policy, no runtime endpoint, logs
    // unencrypted and short-lived, a weak own trail, no Config, broad IAM.
    let b = org.member(&bad).await;
    let b_vpc = seed::vpc(&b).await;
    let b_open = seed::endpoint(&b, &b_vpc, "com.amazonaws.us-east-1.bedrock", true, None).await;
    seed::log_group(&b, "/bedrock/b", None, Some(30)).await;
    seed::invocation_logging(&b, None, Some("/bedrock/b")).await;
    seed::bucket(&b, "bad-trail", None).await;
    let b_trail = seed::trail(
        &b,
        TrailSpec {
            name: "local",
            bucket: "bad-trail",
            multi_region: false,
            organization: false,
            validation: false,
            kms_key: None,
            logging: true,
            bedrock_data_events: false,
        },
    )
    .await;
    // Its trail bucket lets another organization read the logs.
    seed::bucket_policy(&b, "bad-trail", &seed::partner_org_read("bad-trail")).await;
    seed::role_with_policy(&b, "wide", "bedrock-all", BEDROCK_ALL).await;
    seed::user_with_inline(&b, "admin", EVERYTHING).await;

    // AgentCore. good: a JWT gateway enforcing engine `refunds` (its policy narrows the refund
    // tool to a role claim and an amount), generic errors, under its key; a runtime in the VPC;
    // a memory under its key; every AgentCore endpoint. bad: an open gateway (no authorizer,
    // DEBUG errors, an AWS-owned key, its engine only logging) and a permissive one (JWT,
    // enforcing engine `open`, whose policy permits everything); a public runtime and browser;
    // a memory without a key.
    let engine = |account: &str, id: &str| format!("arn:aws:bedrock-agentcore:us-east-1:{account}:policy-engine/{id}");
    let g_gateway = seed::agentcore_gateway(
        &g,
        GatewaySpec {
            account: &good,
            name: "refunds",
            jwt_discovery_url: Some("https://idp.example.com/.well-known/openid-configuration"),
            policy_engine: Some((&engine(&good, "refunds"), true)),
            debug_errors: false,
            kms_key: Some(&g_key),
            tools: &["process_refund", "lookup_order"],
        },
    )
    .await;
    let g_runtime_ac = seed::agentcore_runtime(&g, "support_agent", true).await;
    let g_memory = seed::agentcore_memory(&g, "support_memory", Some(&g_key)).await;
    for service in ["bedrock-agentcore", "bedrock-agentcore.gateway"] {
        seed::endpoint(&g, &g_vpc, &format!("com.amazonaws.us-east-1.{service}"), true, Some(ENDPOINT_POLICY)).await;
    }
    let b_open_gateway = seed::agentcore_gateway(
        &b,
        GatewaySpec {
            account: &bad,
            name: "open",
            jwt_discovery_url: None,
            policy_engine: Some((&engine(&bad, "open"), false)),
            debug_errors: true,
            kms_key: None,
            tools: &["process_refund"],
        },
    )
    .await;
    let b_permissive = seed::agentcore_gateway(
        &b,
        GatewaySpec {
            account: &bad,
            name: "permissive",
            jwt_discovery_url: Some("https://idp.example.com/.well-known/openid-configuration"),
            policy_engine: Some((&engine(&bad, "open"), true)),
            debug_errors: false,
            kms_key: None,
            tools: &["process_refund"],
        },
    )
    .await;
    let b_runtime_ac = seed::agentcore_runtime(&b, "exposed_agent", false).await;
    let b_memory = seed::agentcore_memory(&b, "chat_memory", None).await;
    let refund_policy = format!(
        r#"permit(principal is AgentCore::OAuthUser, action == AgentCore::Action::"RefundTool___process_refund", resource == AgentCore::Gateway::"{g_gateway}")
           when {{ principal.hasTag("role") && principal.getTag("role") == "refunds" && context.input.amount < 500 }};"#
    );
    let (ga, ba, key) = (good.clone(), bad.clone(), g_key.clone());
    proxy.rule(move |req| {
        let account = req.account.clone().unwrap_or_default();
        let spec = match (account.as_str(), req.region.as_str()) {
            (a, "us-east-1") if a == ga => AgentCoreSpec {
                engines: vec![EngineSpec {
                    id: "refunds",
                    key: Some(&key),
                    policies: vec![("refund_limit", refund_policy.clone())],
                }],
                public_browser: false,
            },
            (a, "us-east-1") if a == ba => AgentCoreSpec {
                engines: vec![EngineSpec {
                    id: "open",
                    key: None,
                    policies: vec![("open", "permit(principal, action, resource is AgentCore::Gateway);".to_owned())],
                }],
                public_browser: true,
            },
            _ => AgentCoreSpec::default(),
        };
        Reply::agentcore(&req.path, &account, &req.region, &spec)
    });

    // locked: our role cannot be assumed. flaky: one collector call is denied.
    let locked_rule = locked.clone();
    proxy.rule(move |req| {
        (req.action().as_deref() == Some("AssumeRole") && req.body_text().contains(&locked_rule))
            .then(|| Reply::xml_error(403, "AccessDenied", "not authorized to perform sts:AssumeRole"))
    });
    let flaky_rule = flaky.clone();
    proxy.rule(move |req| {
        (req.account.as_deref() == Some(flaky_rule.as_str())
            && req.region == "eu-west-1"
            && req.action().as_deref() == Some("DescribeVpcEndpoints"))
        .then(|| Reply::ec2_error("UnauthorizedOperation", "You are not authorized to perform this operation."))
    });
    serve_bedrock_gaps(&proxy, good.clone(), bad.clone(), g_key.clone());
    serve_agents(&proxy, good.clone(), bad.clone(), g_key.clone());

    let (pool, _) = test_db().await;
    let mut with_models = settings();
    with_models.controls.approved_models = APPROVED_MODELS.iter().map(|m| (*m).to_owned()).collect();
    let deps = deps_with(&proxy.endpoint(), pool.clone(), with_models).await;
    let r1 = crate::helpers::run_sweep(&deps, "test").await.unwrap();
    if std::env::var("SWEEP_E2E_DEBUG").is_ok() {
        // The collection cost of this organization, for notes: calls by service and the sweep's time.
        for (service, ops) in &r1.aws_calls {
            eprintln!("calls {service}: {}", ops.values().map(|c| c.calls).sum::<u64>());
        }
        eprintln!("sweep took {} ms", (r1.finished_at - r1.started_at).num_milliseconds());
    }
    assert_eq!(r1.status, SweepOutcome::Completed);
    assert_totals_match_findings(&pool).await;
    assert_eq!((r1.accounts.total, r1.accounts.assessed, r1.accounts.not_assessed, r1.accounts.skipped), (6, 4, 1, 1));
    assert!(r1.findings.iter().all(|f| f.account_id != closed), "suspended accounts are listed, not swept");
    // Organizations calls grow with OUs and policies, not accounts: DescribeOrganization,
    // ListRoots, 2 listings for each of the 4 parents, ListPolicies, 2 calls for the 1 policy.
    let org_calls: u64 = r1.aws_calls["Organizations"].values().map(|c| c.calls).sum();
    assert_eq!(org_calls, 1 + 1 + 2 * 4 + 1 + 2);
    assert!(!r1.aws_calls["Organizations"].contains_key("ListParents"));

    let s = |c, a: &str, reg, res| status(&r1, c, a, reg, res);
    let us = Some("us-east-1");
    let eu = Some("eu-west-1");

    // Organization-wide: the org trail, reported once on the management account.
    assert_eq!(s("BR.ORG.7", &mgmt, None, None), Status::Pass);
    assert!(r1.findings.iter().filter(|f| f.control_id == "BR.ORG.7").count() == 1);
    assert_eq!(s("BR.ORG.1", &mgmt, None, None), Status::NotApplicable);

    // good
    assert_eq!(s("BR.NET.1", &good, us, None), Status::Pass);
    assert_eq!(s("BR.NET.2", &good, us, Some(&g_runtime)), Status::Pass);
    assert_eq!(s("BR.LOG.1", &good, None, None), Status::Pass);
    assert_eq!(s("BR.LOG.2", &good, None, Some(&org_trail)), Status::Pass);
    assert_eq!(s("BR.LOG.3", &good, None, Some(&org_trail)), Status::Pass);
    assert_eq!(s("BR.LOG.5", &good, None, None), Status::Pass);
    assert_eq!(s("BR.INV.1", &good, us, None), Status::Pass);
    assert_eq!(s("BR.INV.2", &good, us, None), Status::Pass);
    assert_eq!(s("BR.INV.3", &good, us, None), Status::Pass);
    let good_model = format!("arn:aws:bedrock:eu-west-1:{good}:custom-model/tuned-cmk");
    assert_eq!(s("BR.ENC.1", &good, eu, Some(&good_model)), Status::Pass);
    assert_eq!(s("BR.ENC.2", &good, None, Some(&g_key)), Status::Pass);
    assert_eq!(s("BR.GRD.1", &good, us, None), Status::Pass);
    assert_eq!(s("BR.IAM.1", &good, None, None), Status::Pass);
    assert_eq!(s("BR.CFG.1", &good, us, None), Status::Pass);
    let cov = finding(&r1, "BR.COV.1", &good, None, None);
    assert_eq!(cov.status, Status::Pass, "{}", cov.detail);
    // Its invocation-log bucket and key are closed to outsiders (no policy, ACLs disabled;
    // the key policy KMS writes by default).
    assert_eq!(s("BR.EVD.1", &good, us, Some("arn:aws:s3:::good-invocations")), Status::Pass);
    assert_eq!(s("BR.EVD.1", &good, None, Some(&g_key)), Status::Pass);
    // The organization trail's bucket and key are judged in the account that owns them.
    assert_eq!(s("BR.EVD.1", &mgmt, None, Some("arn:aws:s3:::org-trail-logs")), Status::Pass);
    assert_eq!(s("BR.EVD.1", &mgmt, None, Some(&org_key)), Status::Pass);
    // Account-level enforced guardrails are shown in BR.ORG.8's evidence.
    let org8 = finding(&r1, "BR.ORG.8", &good, Some("us-east-1"), None);
    assert!(
        org8.detail.contains(&format!("at account level: arn:aws:bedrock:us-east-1:{good}:guardrail/gr1 version 1, except amazon.titan-embed-text-v2:0")),
        "{}",
        org8.detail
    );
    // The emulator never reports a digest delivery, so a validated trail is unhealthy there.
    let log4 = finding(&r1, "BR.LOG.4", &good, None, Some(&org_trail));
    assert_eq!(log4.status, Status::Fail);
    assert!(log4.detail.contains("never delivered a digest file"), "{}", log4.detail);
    // Unapproved regions get no region-scoped verdicts.
    assert!(!r1.findings.iter().any(|f| f.control_id == "BR.NET.1" && f.region.as_deref() == eu));

    // bad
    assert_eq!(s("BR.NET.1", &bad, us, None), Status::Fail);
    assert_eq!(s("BR.NET.2", &bad, us, Some(&b_open)), Status::Fail);
    assert_eq!(s("BR.LOG.1", &bad, None, None), Status::Pass, "the organization trail covers it");
    assert_eq!(s("BR.LOG.2", &bad, None, Some(&b_trail)), Status::Fail);
    assert_eq!(s("BR.LOG.3", &bad, None, Some(&b_trail)), Status::Fail);
    assert_eq!(s("BR.INV.1", &bad, us, None), Status::Pass);
    assert_eq!(s("BR.INV.2", &bad, us, None), Status::Fail);
    assert_eq!(s("BR.INV.3", &bad, us, None), Status::Fail);
    let bad_model = format!("arn:aws:bedrock:eu-west-1:{bad}:custom-model/tuned-default");
    assert_eq!(s("BR.ENC.1", &bad, eu, Some(&bad_model)), Status::Fail);
    assert_eq!(s("BR.GRD.1", &bad, us, None), Status::Fail);
    assert_eq!(s("BR.CFG.1", &bad, us, None), Status::Fail);
    assert_eq!(s("BR.COV.1", &bad, None, None), Status::Pass);
    assert_eq!(s("BR.IAM.2", &good, None, Some("ACCAGOODKEY0000000001")), Status::Pass);
    let imported = |account: &str, name: &str| format!("arn:aws:bedrock:eu-west-1:{account}:imported-model/{name}");
    let helper = format!("arn:aws:bedrock:us-east-1:{good}:agent/helper");
    let agt = finding(&r1, "BR.AGT.1", &good, us, Some(&helper));
    assert_eq!(agt.status, Status::Pass, "{}", agt.detail);
    let loose = finding(&r1, "BR.AGT.1", &bad, us, Some(&format!("arn:aws:bedrock:us-east-1:{bad}:agent/loose")));
    assert_eq!(loose.status, Status::Fail);
    for want in ["no guardrail", "alias live serves the working draft", "AWS-owned key", "3600 s", "bedrock:* on *"] {
        assert!(loose.detail.contains(want), "{want}: {}", loose.detail);
    }
    let kb = |account: &str| format!("arn:aws:bedrock:us-east-1:{account}:knowledge-base/KB0000001");
    let good_kb = kb(&good);
    assert_eq!(s("BR.KB.1", &good, us, Some(&good_kb)), Status::Pass);
    let bad_kb = finding(&r1, "BR.KB.1", &bad, us, Some(&kb(&bad)));
    assert_eq!(bad_kb.status, Status::Fail);
    assert!(bad_kb.detail.contains("wiki"), "{}", bad_kb.detail);
    let nightly = format!("arn:aws:bedrock:us-east-1:{good}:model-invocation-job/nightly");
    assert_eq!(s("BR.JOB.1", &good, us, Some(&nightly)), Status::Pass);
    let ft = finding(
        &r1,
        "BR.JOB.1",
        &bad,
        eu,
        Some(&format!("arn:aws:bedrock:eu-west-1:{bad}:model-customization-job/ft-open")),
    );
    assert_eq!(ft.status, Status::Fail);
    assert!(ft.detail.contains("AWS-owned key") && ft.detail.contains("no VPC configuration"), "{}", ft.detail);
    // Flows, prompts, the APIs in use and the models in use.
    let flow = |account: &str| format!("arn:aws:bedrock:us-east-1:{account}:flow/FLOW000001");
    let triage = finding(&r1, "BR.FLW.1", &good, us, Some(&flow(&good)));
    assert_eq!(triage.status, Status::Pass, "{}", triage.detail);
    assert!(triage.detail.contains("working draft and version 1"), "{}", triage.detail);
    let open_flow = finding(&r1, "BR.FLW.1", &bad, us, Some(&flow(&bad)));
    assert_eq!(open_flow.status, Status::Fail);
    for want in
        ["AWS-owned key", "alias live serves the working draft", "prompt node ask (working draft) has no guardrail"]
    {
        assert!(open_flow.detail.contains(want), "{want}: {}", open_flow.detail);
    }
    let prompt = |account: &str| format!("arn:aws:bedrock:us-east-1:{account}:prompt/PROMPT0001");
    let (good_prompt, bad_prompt) = (prompt(&good), prompt(&bad));
    assert_eq!(s("BR.PRM.1", &good, us, Some(&good_prompt)), Status::Pass);
    assert_eq!(s("BR.PRM.1", &bad, us, Some(&bad_prompt)), Status::Fail);
    let net3 = finding(&r1, "BR.NET.3", &good, us, None);
    assert_eq!(net3.status, Status::Pass, "{}", net3.detail);
    assert!(
        net3.detail.contains(&format!("bedrock-agent-runtime through {g_agent_runtime}"))
            && net3.detail.contains("agent helper, knowledge base docs, flow triage"),
        "{}",
        net3.detail
    );
    let net3 = finding(&r1, "BR.NET.3", &bad, us, None);
    assert_eq!(net3.status, Status::Fail);
    assert!(net3.detail.contains("No interface endpoint for bedrock-agent-runtime"), "{}", net3.detail);
    assert_eq!(s("BR.NET.2", &good, us, Some(&g_agent_runtime)), Status::Pass);
    let models = finding(&r1, "BR.MOD.1", &good, us, None);
    assert_eq!(models.status, Status::Pass, "{}", models.detail);
    for want in [
        format!("anthropic.claude-3-haiku-20240307-v1:0 (through {APPROVED_AGENT_MODEL}) by agent helper"),
        "amazon.titan-embed-text-v2:0 by knowledge base docs (embeddings)".to_owned(),
        "amazon.titan-text-express-v1 by flow triage node ask, prompt summarise, job nightly".to_owned(),
    ] {
        assert!(models.detail.contains(&want), "{want}: {}", models.detail);
    }
    let models = finding(&r1, "BR.MOD.1", &bad, us, None);
    assert_eq!(models.status, Status::Fail);
    assert!(models.detail.contains(&format!("{UNAPPROVED_MODEL} by agent loose")), "{}", models.detail);
    assert!(!models.detail.contains("titan"), "approved models are not named as unapproved: {}", models.detail);
    // good's custom model in eu-west-1 was customized from an approved model.
    assert_eq!(s("BR.MOD.1", &good, eu, None), Status::Pass);
    // AgentCore.
    let agc = |c, a: &str, res: &str| finding(&r1, c, a, us, Some(res));
    for c in ["BR.AGC.1", "BR.AGC.2", "BR.AGC.3", "BR.AGC.5", "BR.AGC.6"] {
        let f = agc(c, &good, &g_gateway);
        assert_eq!(f.status, Status::Pass, "{c}: {}", f.detail);
    }
    assert_eq!(agc("BR.AGC.4", &good, &g_runtime_ac).status, Status::Pass);
    assert_eq!(agc("BR.AGC.5", &good, &g_memory).status, Status::Pass);
    assert_eq!(agc("BR.AGC.5", &good, &engine(&good, "refunds")).status, Status::Pass);
    let tools = agc("BR.AGC.6", &good, &g_gateway);
    if std::env::var("SWEEP_E2E_DEBUG").is_ok() {
        eprintln!("BR.AGC.6 {}: {}", tools.id, tools.detail);
    }
    for want in [
        "RefundTool___process_refund: narrowed",
        "depends on claim role, input amount (refund_limit)",
        "RefundTool___lookup_order: nobody",
    ] {
        assert!(tools.detail.contains(want), "{want}: {}", tools.detail);
    }
    for c in ["BR.AGC.1", "BR.AGC.2", "BR.AGC.3", "BR.AGC.5"] {
        let f = agc(c, &bad, &b_open_gateway);
        assert_eq!(f.status, Status::Fail, "{c}: {}", f.detail);
    }
    assert_eq!(agc("BR.AGC.6", &bad, &b_open_gateway).status, Status::NotApplicable, "its policies only log");
    assert_eq!(agc("BR.AGC.2", &bad, &b_permissive).status, Status::Pass);
    let permit_all = agc("BR.AGC.6", &bad, &b_permissive);
    assert_eq!(permit_all.status, Status::Fail);
    assert!(
        permit_all.detail.contains("permit open lets every authenticated caller call every tool"),
        "{}",
        permit_all.detail
    );
    assert_eq!(agc("BR.AGC.4", &bad, &b_runtime_ac).status, Status::Fail);
    let browser = format!("arn:aws:bedrock-agentcore:us-east-1:{bad}:browser-custom/research_browser-0123456789");
    assert_eq!(agc("BR.AGC.4", &bad, &browser).status, Status::Fail);
    assert_eq!(agc("BR.AGC.5", &bad, &b_memory).status, Status::Fail);
    assert_eq!(agc("BR.AGC.5", &bad, &engine(&bad, "open")).status, Status::Fail);
    let net3 = finding(&r1, "BR.NET.3", &bad, us, None);
    assert!(
        net3.detail.contains("no interface endpoint for bedrock-agentcore.gateway, which AgentCore gateway open"),
        "{}",
        net3.detail
    );
    let good_import = imported(&good, "imported-cmk");
    assert_eq!(s("BR.ENC.1", &good, eu, Some(&good_import)), Status::Pass);
    let bad_import = finding(&r1, "BR.ENC.1", &bad, eu, Some(&imported(&bad, "imported-default")));
    assert_eq!(bad_import.status, Status::Fail);
    assert!(bad_import.detail.starts_with("Imported model imported-default"), "{}", bad_import.detail);
    let gr1 = format!("arn:aws:bedrock:us-east-1:{good}:guardrail/gr1");
    assert_eq!(s("BR.GRD.2", &good, us, Some(&gr1)), Status::Pass);
    let gr9 = finding(&r1, "BR.GRD.2", &bad, us, Some(&format!("arn:aws:bedrock:us-east-1:{bad}:guardrail/gr9")));
    assert_eq!(gr9.status, Status::Fail);
    for want in ["no MISCONDUCT filter", "AWS-owned key", "no published version"] {
        assert!(gr9.detail.contains(want), "{want}: {}", gr9.detail);
    }
    let key = finding(&r1, "BR.IAM.2", &bad, None, Some("ACCABADKEY00000000001"));
    assert_eq!(key.status, Status::Fail);
    assert!(key.detail.contains("data-scientist") && key.detail.contains("never expires"), "{}", key.detail);
    assert_eq!(s("BR.IAM.2", &mgmt, None, None), Status::Pass, "no key in the management account");
    let evd = finding(&r1, "BR.EVD.1", &bad, None, Some("arn:aws:s3:::bad-trail"));
    assert_eq!(evd.status, Status::Fail);
    assert!(
        evd.detail.contains("organization o-partner1234") && evd.detail.contains("Sid PartnerOrgRead"),
        "{}",
        evd.detail
    );
    let iam_failures: Vec<&str> = r1
        .findings
        .iter()
        .filter(|f| f.control_id == "BR.IAM.1" && f.account_id == bad && f.status == Status::Fail)
        .map(|f| f.resource_id.as_str())
        .collect();
    assert_eq!(iam_failures, [format!("arn:aws:iam::{bad}:role/wide"), format!("arn:aws:iam::{bad}:user/admin")]);

    // locked: not assessed is never a pass.
    let cov = finding(&r1, "BR.COV.1", &locked, None, None);
    assert_eq!(cov.status, Status::Fail);
    assert!(cov.detail.contains("AccessDenied"), "{}", cov.detail);
    for f in r1
        .findings
        .iter()
        .filter(|f| f.account_id == locked && !f.control_id.starts_with("BR.ORG") && f.control_id != "BR.COV.1")
    {
        assert_eq!(f.status, Status::Error, "{f:?}");
        assert!(f.detail.contains("not assessed"), "{f:?}");
    }
    assert!(!r1.findings.iter().any(|f| f.account_id == locked && f.status == Status::Pass));

    // flaky: the denied call is an error where it matters and a coverage failure.
    assert_eq!(s("BR.NET.2", &flaky, eu, None), Status::Error);
    let cov = finding(&r1, "BR.COV.1", &flaky, None, None);
    assert_eq!(cov.status, Status::Fail);
    assert!(cov.detail.contains("ec2:DescribeVpcEndpoints in eu-west-1 (UnauthorizedOperation)"), "{}", cov.detail);

    // Evidence and coverage are stored.
    let gaps: i64 = sqlx::query_scalar("select count(*) from collection_gaps where sweep_id = $1 and account_id = $2")
        .bind(r1.sweep_id)
        .bind(&flaky)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(gaps, 1);
    let snapshots: i64 = sqlx::query_scalar("select count(*) from snapshots").fetch_one(&pool).await.unwrap();
    assert_eq!(snapshots, 6, "one organization snapshot and one per swept account");
    let first_seen_net1 = finding(&r1, "BR.NET.1", &good, us, None).first_seen_at;

    // Every call the sweep made is allowed by the policies in deploy/ (and nothing else is needed).
    let allowed: Vec<String> =
        [include_str!("../../deploy/member-role-policy.json"), include_str!("../../deploy/sweeper-policy.json")]
            .iter()
            .flat_map(|doc| {
                let doc: serde_json::Value = serde_json::from_str(doc).unwrap();
                doc["Statement"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|s| match &s["Action"] {
                        serde_json::Value::String(a) => vec![a.clone()],
                        other => other.as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
    for (service, ops) in &r1.aws_calls {
        for op in ops.keys() {
            let prefix = match service.as_str() {
                "Bedrock" | "Bedrock Agent" => "bedrock",
                "Bedrock AgentCore Control" => "bedrock-agentcore",
                "CloudTrail" => "cloudtrail",
                "CloudWatch Logs" => "logs",
                "Config Service" => "config",
                "EC2" => "ec2",
                "IAM" => "iam",
                "KMS" => "kms",
                "Organizations" => "organizations",
                "S3" => "s3",
                "STS" => "sts",
                other => panic!("unexpected service {other}"),
            };
            // Some S3 operations are authorised under another name (GetBucketEncryption as
            // s3:GetEncryptionConfiguration).
            let action = bedrock_sweeper::collect::iam_action(&format!("{prefix}:{op}"));
            assert!(allowed.contains(&action), "{action} is called but not in deploy/*.json");
        }
    }

    // Fix some things in `bad`, break one in `good`, and sweep again.
    seed::endpoint(&b, &b_vpc, "com.amazonaws.us-east-1.bedrock-runtime", true, Some(ENDPOINT_POLICY)).await;
    aws_sdk_ec2::Client::new(&b).delete_vpc_endpoints().vpc_endpoint_ids(&b_open).send().await.unwrap();
    seed::bucket(&b, "bad-config", None).await;
    seed::config_recorder(&b, "bad-config", true).await;
    seed::stop_config_recorder(&g).await;

    let r2 = crate::helpers::run_sweep(&deps, "test").await.unwrap();
    assert_ne!(r1.sweep_id, r2.sweep_id);
    let org_calls: u64 = r2.aws_calls["Organizations"].values().map(|c| c.calls).sum();
    assert_eq!(org_calls, 13, "each report counts its own sweep's calls");
    assert_eq!(status(&r2, "BR.NET.1", &bad, us, None), Status::Pass);
    assert_eq!(status(&r2, "BR.CFG.1", &bad, us, None), Status::Pass);
    assert_eq!(status(&r2, "BR.CFG.1", &good, us, None), Status::Fail);
    assert!(!r2.findings.iter().any(|f| f.resource_id == b_open), "the deleted endpoint's finding is no longer active");
    assert_eq!(
        finding(&r2, "BR.NET.1", &good, us, None).first_seen_at,
        first_seen_net1,
        "unchanged findings keep first seen"
    );

    let events = events_of_sweep(&pool, r2.sweep_id).await.unwrap();
    let id_of = |r: &Swept, c, a: &str, reg, res| finding(r, c, a, reg, res).id.clone();
    let kind_of = |id: &FindingId| events.iter().filter(|e| e.finding_id == *id).map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(kind_of(&id_of(&r2, "BR.NET.1", &bad, us, None)), [EventKind::Resolved]);
    assert_eq!(kind_of(&id_of(&r2, "BR.CFG.1", &bad, us, None)), [EventKind::Resolved]);
    assert_eq!(kind_of(&id_of(&r2, "BR.CFG.1", &good, us, None)), [EventKind::Regressed]);
    assert_eq!(kind_of(&id_of(&r1, "BR.NET.2", &bad, us, Some(&b_open))), [EventKind::Resolved]);
    assert_eq!(
        kind_of(&id_of(&r2, "BR.NET.1", &good, us, None)),
        Vec::<EventKind>::new(),
        "no event for an unchanged finding"
    );
    // The new runtime endpoint of `bad` is a new, passing finding.
    assert!(events.iter().any(|e| e.kind == EventKind::FirstSeen && e.new_status == Some(Status::Pass)));
    // Nothing else changed state.
    let state_changes = events
        .iter()
        .filter(|e| {
            matches!(e.kind, EventKind::Resolved | EventKind::Regressed | EventKind::Opened | EventKind::Reopened)
        })
        .count();
    assert_eq!(state_changes, 4, "{events:#?}");

    // The aggregates followed every transition, and each sweep left its posture point: what
    // was failing by severity when it completed.
    assert_totals_match_findings(&pool).await;
    for r in [&r1, &r2] {
        let (failing,): (serde_json::Value,) =
            sqlx::query_as("select failing_by_severity from posture_points where sweep_id = $1")
                .bind(r.sweep_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        let mut expected = serde_json::Map::new();
        for f in r.findings.iter().filter(|f| f.status == Status::Fail) {
            let n = expected.entry(f.severity.to_string()).or_insert(serde_json::json!(0));
            *n = serde_json::json!(n.as_i64().unwrap() + 1);
        }
        assert_eq!(failing, serde_json::Value::Object(expected), "posture point of sweep {}", r.sweep_id);
    }
}
