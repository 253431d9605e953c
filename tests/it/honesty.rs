//! "Could not look" is never "compliant": a member account fails every control it can, is
//! swept and delivered to Security Hub, and is then swept again with each collection the
//! controls read failed in turn — AccessDenied, throttling until the retries run out, and
//! HTTP 500 — through the proxy, with the region list discovered (`sweep.regions` empty).
//! Nothing changed in the account, so any `pass`, any `resolved`/`retired` transition, or
//! anything PASSED or ARCHIVED queued for Security Hub would be the sweep lying.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bedrock_sweeper::store::findings::events_of_sweep;
use bedrock_sweeper::sweep::{self, SweepDeps};
use serde_json::json;
use sqlx::PgPool;

use super::helpers::{Moto, assert_totals_match_findings, run_sweep, test_db};
use super::proxy::{AgentCoreSpec, EngineSpec, FlowSpec, Proxy, Reply, Req};
use super::security_hub::{policy, sender};
use super::seed::{self, GatewaySpec, Org, TrailSpec};
use super::sweep_e2e::deps;
use bedrock_sweeper::domain::EventKind;
use bedrock_sweeper::domain::Status;
use bedrock_sweeper::domain::SweepOutcome;

const TS: &str = "2026-11-01T00:00:00Z";
const BEDROCK_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}"#;

/// How a call is made on the wire, for shaping its error answers as the service does.
#[derive(Clone, Copy, Debug)]
enum Wire {
    /// EC2's query protocol.
    Ec2,
    /// The query protocol of IAM and STS.
    Query,
    /// awsJson1_1 (CloudTrail, CloudWatch Logs, Config, KMS).
    Json,
    /// Bedrock's restJson1.
    RestJson,
    /// S3's restXml.
    S3,
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    AccessDenied,
    Throttled,
    ServerError,
}

fn fault_reply(wire: Wire, fault: Fault) -> Reply {
    let (status, code, message) = match (fault, wire) {
        (Fault::AccessDenied, Wire::Ec2) => {
            (403, "UnauthorizedOperation", "You are not authorized to perform this operation.")
        }
        (Fault::AccessDenied, Wire::Json | Wire::RestJson) => (400, "AccessDeniedException", "User is not authorized"),
        (Fault::AccessDenied, _) => (403, "AccessDenied", "User is not authorized"),
        (Fault::Throttled, Wire::Ec2) => (503, "RequestLimitExceeded", "Request limit exceeded."),
        (Fault::Throttled, Wire::Query) => (400, "Throttling", "Rate exceeded"),
        (Fault::Throttled, Wire::S3) => (503, "SlowDown", "Please reduce your request rate."),
        (Fault::Throttled, _) => (400, "ThrottlingException", "Rate exceeded"),
        (Fault::ServerError, Wire::Ec2) => (500, "InternalError", "An internal error has occurred."),
        (Fault::ServerError, Wire::Json | Wire::RestJson) => (500, "InternalFailure", "internal failure"),
        (Fault::ServerError, _) => (500, "InternalError", "We encountered an internal error."),
    };
    match wire {
        Wire::Ec2 => Reply { status, ..Reply::ec2_error(code, message) },
        Wire::Query => Reply::xml_error(status, code, message),
        Wire::Json | Wire::RestJson => Reply {
            status,
            content_type: "application/x-amz-json-1.1",
            body: json!({"__type": code, "message": message}).to_string(),
        },
        Wire::S3 => Reply {
            status,
            content_type: "application/xml",
            body: format!("<Error><Code>{code}</Code><Message>{message}</Message><RequestId>proxy</RequestId></Error>"),
        },
    }
}

/// One collection of the member account to fail, and the controls that read it.
struct Case {
    input: &'static str,
    wire: Wire,
    matches: fn(&Req) -> bool,
    controls: &'static [&'static str],
}

fn action_is(req: &Req, op: &str) -> bool {
    req.action().as_deref() == Some(op)
}

const CASES: &[Case] = &[
    Case {
        input: "regions (DescribeRegions)",
        wire: Wire::Ec2,
        matches: |r| action_is(r, "DescribeRegions"),
        controls: &[
            "BR.NET.1", "BR.NET.2", "BR.NET.3", "BR.LOG.2", "BR.LOG.3", "BR.LOG.4", "BR.INV.1", "BR.INV.2", "BR.INV.3",
            "BR.ENC.1", "BR.ENC.2", "BR.GRD.1", "BR.CFG.1", "BR.FLW.1", "BR.PRM.1", "BR.MOD.1",
        ],
    },
    Case {
        input: "IAM (GetAccountAuthorizationDetails)",
        wire: Wire::Query,
        matches: |r| action_is(r, "GetAccountAuthorizationDetails"),
        controls: &["BR.IAM.1"],
    },
    Case {
        input: "trails (DescribeTrails)",
        wire: Wire::Json,
        matches: |r| action_is(r, "DescribeTrails"),
        controls: &["BR.LOG.1", "BR.LOG.2", "BR.LOG.3", "BR.LOG.4", "BR.LOG.5"],
    },
    Case {
        input: "trail status (GetTrailStatus)",
        wire: Wire::Json,
        matches: |r| action_is(r, "GetTrailStatus"),
        controls: &["BR.LOG.1", "BR.LOG.4", "BR.LOG.5"],
    },
    Case {
        input: "VPC endpoints (DescribeVpcEndpoints)",
        wire: Wire::Ec2,
        matches: |r| action_is(r, "DescribeVpcEndpoints"),
        controls: &["BR.NET.1", "BR.NET.2", "BR.NET.3"],
    },
    Case {
        input: "invocation logging (GetModelInvocationLoggingConfiguration)",
        wire: Wire::RestJson,
        matches: |r| r.path.starts_with("/logging/modelinvocations"),
        controls: &["BR.INV.1", "BR.INV.2", "BR.INV.3", "BR.ENC.2"],
    },
    Case {
        input: "log group (DescribeLogGroups)",
        wire: Wire::Json,
        matches: |r| action_is(r, "DescribeLogGroups"),
        controls: &["BR.INV.2", "BR.INV.3"],
    },
    Case {
        input: "guardrails (ListGuardrails)",
        wire: Wire::RestJson,
        matches: |r| r.method == "GET" && r.path.starts_with("/guardrails"),
        controls: &["BR.GRD.1"],
    },
    Case {
        input: "custom models (ListCustomModels)",
        wire: Wire::RestJson,
        matches: |r| r.method == "GET" && r.path.starts_with("/custom-models"),
        controls: &["BR.ENC.1"],
    },
    Case {
        input: "imported models (ListImportedModels)",
        wire: Wire::RestJson,
        matches: |r| r.method == "GET" && r.path.starts_with("/imported-models"),
        controls: &["BR.ENC.1"],
    },
    Case {
        input: "batch inference jobs (ListModelInvocationJobs)",
        wire: Wire::RestJson,
        matches: |r| r.method == "GET" && r.path.starts_with("/model-invocation-jobs"),
        controls: &["BR.JOB.1"],
    },
    Case {
        input: "agents (ListAgents)",
        wire: Wire::RestJson,
        matches: |r| r.path.starts_with("/agents"),
        controls: &["BR.AGT.1", "BR.NET.3", "BR.MOD.1"],
    },
    Case {
        input: "knowledge bases (ListKnowledgeBases)",
        wire: Wire::RestJson,
        matches: |r| r.path.starts_with("/knowledgebases"),
        controls: &["BR.KB.1", "BR.NET.3", "BR.MOD.1"],
    },
    Case {
        input: "knowledge-base detail (GetKnowledgeBase)",
        wire: Wire::RestJson,
        matches: |r| r.method == "GET" && r.path.trim_end_matches('/') == "/knowledgebases/KB0000001",
        controls: &["BR.KB.1", "BR.NET.3", "BR.MOD.1"],
    },
    Case {
        input: "prompt flows (ListFlows)",
        wire: Wire::RestJson,
        matches: |r| r.path.starts_with("/flows"),
        controls: &["BR.FLW.1", "BR.NET.3", "BR.MOD.1"],
    },
    Case {
        input: "the version a flow alias serves (GetFlowVersion)",
        wire: Wire::RestJson,
        matches: |r| r.path.starts_with("/flows/") && r.path.contains("/versions/"),
        controls: &["BR.FLW.1"],
    },
    Case {
        input: "AgentCore gateways (ListGateways)",
        wire: Wire::RestJson,
        matches: |r| r.path.starts_with("/gateways"),
        controls: &["BR.AGC.1", "BR.AGC.3", "BR.AGC.5", "BR.AGC.6", "BR.NET.3"],
    },
    Case {
        input: "AgentCore gateway targets (ListGatewayTargets)",
        wire: Wire::RestJson,
        matches: |r| r.path.starts_with("/gateways/") && r.path.contains("/targets"),
        controls: &["BR.AGC.1", "BR.AGC.6"],
    },
    Case {
        input: "AgentCore policy engines (ListPolicyEngines)",
        wire: Wire::RestJson,
        matches: |r| r.path.starts_with("/policy-engines"),
        controls: &["BR.AGC.5", "BR.AGC.6"],
    },
    Case {
        input: "AgentCore runtimes and tools (ListBrowsers)",
        wire: Wire::RestJson,
        matches: |r| r.path.starts_with("/browsers"),
        controls: &["BR.AGC.4", "BR.NET.3"],
    },
    Case {
        input: "AgentCore memories (ListMemories)",
        wire: Wire::RestJson,
        matches: |r| r.path.starts_with("/memories"),
        controls: &["BR.AGC.5", "BR.NET.3"],
    },
    Case {
        input: "managed prompts (ListPrompts)",
        wire: Wire::RestJson,
        matches: |r| r.path.starts_with("/prompts"),
        controls: &["BR.PRM.1", "BR.MOD.1"],
    },
    Case {
        input: "Config recorders (DescribeConfigurationRecorders)",
        wire: Wire::Json,
        matches: |r| action_is(r, "DescribeConfigurationRecorders"),
        controls: &["BR.CFG.1"],
    },
    Case {
        input: "KMS keys (DescribeKey)",
        wire: Wire::Json,
        matches: |r| action_is(r, "DescribeKey"),
        controls: &["BR.INV.2", "BR.ENC.2"],
    },
    Case {
        input: "bucket encryption (GetBucketEncryption)",
        wire: Wire::S3,
        matches: |r| r.method == "GET" && r.path.contains("?encryption"),
        controls: &["BR.INV.2", "BR.ENC.2"],
    },
    Case {
        input: "long-term Bedrock API keys (ListServiceSpecificCredentials)",
        wire: Wire::Query,
        matches: |r| action_is(r, "ListServiceSpecificCredentials"),
        controls: &["BR.IAM.2"],
    },
    Case {
        input: "the account's bucket list (ListBuckets)",
        wire: Wire::S3,
        matches: |r| r.method == "GET" && (r.path == "/" || r.path.starts_with("/?")),
        controls: &["BR.EVD.1"],
    },
    Case {
        input: "bucket policy (GetBucketPolicy)",
        wire: Wire::S3,
        matches: |r| r.method == "GET" && r.path.contains("?policy"),
        controls: &["BR.EVD.1"],
    },
    Case {
        input: "Block Public Access (GetPublicAccessBlock)",
        wire: Wire::S3,
        matches: |r| r.method == "GET" && r.path.contains("?publicAccessBlock"),
        controls: &["BR.EVD.1"],
    },
    Case {
        input: "Object Ownership (GetBucketOwnershipControls)",
        wire: Wire::S3,
        matches: |r| r.method == "GET" && r.path.contains("?ownershipControls"),
        controls: &["BR.EVD.1"],
    },
    Case {
        input: "key policy (GetKeyPolicy)",
        wire: Wire::Json,
        matches: |r| action_is(r, "GetKeyPolicy"),
        controls: &["BR.EVD.1"],
    },
];

/// The regions the member has enabled, answered as EC2 documents DescribeRegions.
fn describe_regions() -> Reply {
    let items: String = ["us-east-1", "eu-west-1"]
        .iter()
        .map(|r| {
            format!(
                "<item><regionName>{r}</regionName><regionEndpoint>ec2.{r}.amazonaws.com</regionEndpoint>\
                 <optInStatus>opt-in-not-required</optInStatus></item>"
            )
        })
        .collect();
    Reply {
        status: 200,
        content_type: "text/xml",
        body: format!(
            "<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>proxy</requestId>\
             <regionInfo>{items}</regionInfo></DescribeRegionsResponse>"
        ),
    }
}

/// Bedrock answers moto lacks, shaped as the Bedrock API reference documents them: no
/// guardrails anywhere (none enforced at account level either), and one custom model in us-east-1 with an AWS-owned key.
fn bedrock_reply(req: &Req) -> Option<Reply> {
    // IAM, not Bedrock, but moto lacks it too: every account's users have one long-term
    // Bedrock API key that never expires.
    if action_is(req, "ListServiceSpecificCredentials") {
        return Some(Reply::bedrock_api_keys(&[("ACCASUBJECTKEY0000001", "data-scientist", TS, None)]));
    }
    let account = req.account.clone().unwrap_or_else(|| "123456789012".into());
    // Agents (moto keeps no guardrail configuration and has no aliases): one unguarded agent
    // in us-east-1 acting with the broad `wide` role, on an AWS-owned key.
    // A knowledge base in us-east-1 whose data source has no customer-managed key.
    if let Some(rest) = req.path.strip_prefix("/knowledgebases") {
        return Some(Reply::knowledge_base(rest, &account, &req.region, req.region == "us-east-1", None));
    }
    // A flow in us-east-1 with an unguarded prompt node, on an AWS-owned key, its alias on
    // version 2; a managed prompt on an AWS-owned key.
    if let Some(rest) = req.path.strip_prefix("/flows") {
        let flow = FlowSpec { name: "open-flow", guardrail: None, key: None, alias_version: "2" };
        return Some(Reply::flows(rest, &account, &req.region, (req.region == "us-east-1").then_some(&flow)));
    }
    if let Some(rest) = req.path.strip_prefix("/prompts") {
        let prompt = ("chat", "amazon.titan-text-express-v1", None);
        return Some(Reply::prompts(rest, &account, &req.region, (req.region == "us-east-1").then_some(prompt)));
    }
    if let Some(rest) = req.path.strip_prefix("/agents") {
        if rest.is_empty() || rest.starts_with('?') {
            let agents = if req.region == "us-east-1" {
                json!([{"agentId": "loose", "agentName": "loose", "agentStatus": "PREPARED", "updatedAt": TS}])
            } else {
                json!([])
            };
            return Some(Reply::json(json!({ "agentSummaries": agents })));
        }
        if rest.contains("/agentaliases") {
            return Some(Reply::json(json!({ "agentAliasSummaries": [] })));
        }
        // It orchestrates with a model the organization did not approve.
        return Some(Reply::json(json!({ "agent": {
            "agentId": "loose", "agentName": "loose", "agentArn": format!("arn:aws:bedrock:us-east-1:{account}:agent/loose"),
            "agentVersion": "DRAFT", "agentStatus": "PREPARED", "idleSessionTTLInSeconds": 600,
            "agentResourceRoleArn": format!("arn:aws:iam::{account}:role/wide"), "createdAt": TS, "updatedAt": TS,
            "foundationModel": "meta.llama3-70b-instruct-v1:0"
        }})));
    }
    // AgentCore (moto has no policy engines, browsers or code interpreters): the subject's
    // enforcing engine `open` permits everything; a custom browser on the public network.
    let spec = AgentCoreSpec {
        engines: vec![EngineSpec {
            id: "open",
            key: None,
            policies: vec![("open", "permit(principal, action, resource is AgentCore::Gateway);".to_owned())],
        }],
        public_browser: true,
    };
    if let Some(reply) = Reply::agentcore(&req.path, &account, &req.region, &spec) {
        return Some(reply);
    }
    if req.method != "GET" {
        return None;
    }
    if req.path.starts_with("/guardrails") {
        return Some(Reply::json(json!({ "guardrails": [] })));
    }
    if req.path.starts_with("/enforcedGuardrailsConfiguration") {
        return Some(Reply::json(json!({ "guardrailsConfig": [] })));
    }
    if req.path.starts_with("/model-customization-jobs") {
        return Some(Reply::json(json!({ "modelCustomizationJobSummaries": [] })));
    }
    // A batch job in us-east-1 with neither an output key nor a VPC.
    if req.path.starts_with("/model-invocation-jobs") {
        let jobs = if req.region == "us-east-1" {
            json!([{"jobArn": format!("arn:aws:bedrock:us-east-1:{account}:model-invocation-job/open"), "jobName": "open",
                    "modelId": "amazon.titan-text-express-v1", "roleArn": format!("arn:aws:iam::{account}:role/batch"),
                    "status": "Completed", "submitTime": TS,
                    "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://batch-in/"}},
                    "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://batch-out/"}}}])
        } else {
            json!([])
        };
        return Some(Reply::json(json!({ "invocationJobSummaries": jobs })));
    }
    if req.path.starts_with("/imported-models") {
        return Some(Reply::json(json!({ "modelSummaries": [] })));
    }
    if req.path.starts_with("/custom-models/") {
        return Some(Reply::json(json!({
            "modelArn": format!("arn:aws:bedrock:us-east-1:{account}:custom-model/tuned"), "modelName": "tuned",
            "creationTime": TS
        })));
    }
    if req.path.starts_with("/custom-models") {
        let models = if req.region == "us-east-1" && req.account.is_some() {
            json!([{"modelArn": format!("arn:aws:bedrock:us-east-1:{account}:custom-model/tuned"), "modelName": "tuned",
                    "creationTime": TS, "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1",
                    "baseModelName": "titan"}])
        } else {
            json!([])
        };
        return Some(Reply::json(json!({ "modelSummaries": models })));
    }
    None
}

/// GetTrailStatus for the member's trail, as CloudTrail documents it: logging, but the last
/// delivery failed a day ago (moto always reports a fresh delivery).
fn unhealthy_trail_status() -> Reply {
    let now = chrono::Utc::now().timestamp() as f64;
    Reply::json(json!({
        "IsLogging": true,
        "LatestDeliveryError": "AccessDenied",
        "LatestDeliveryTime": now - 86400.0,
        "StartLoggingTime": now - 86400.0 * 30.0,
    }))
}

/// (finding id, status) of every active finding of `account`, by control, whichever sweep
/// wrote it last.
async fn active(pool: &PgPool, account: &str) -> HashMap<String, Vec<(String, String)>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("select control_id, id, status from findings where account_id = $1 and active order by id")
            .bind(account)
            .fetch_all(pool)
            .await
            .unwrap();
    let mut out: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (control, id, status) in rows {
        out.entry(control).or_default().push((id, status));
    }
    out
}

async fn sweep_and_deliver(d: &SweepDeps) {
    let r = sweep::run(d, "test").await.unwrap();
    assert_eq!(r.status, SweepOutcome::Completed);
    sender(d, &r).drain().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_collections_never_pass_resolve_or_archive() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let org = Org::create(&moto.endpoint()).await;
    let member = org.account("subject", &org.root).await;
    let m = org.member(&member).await;

    // Everything the controls look at exists, and fails: a Bedrock endpoint with the default
    // policy and no runtime endpoint, a single-region unvalidated unencrypted trail without
    // data events whose bucket another organization may read, invocation logging to a bucket another organization may read, whose key does not rotate, and to an
    // unencrypted short-lived log group, a custom model on an AWS-owned key, no guardrail,
    // no Config recorder, a role with bedrock:*.
    let vpc = seed::vpc(&m).await;
    seed::endpoint(&m, &vpc, "com.amazonaws.us-east-1.bedrock", true, None).await;
    seed::bucket(&m, "subject-trail", None).await;
    seed::bucket_policy(&m, "subject-trail", &seed::partner_org_read("subject-trail")).await;
    seed::trail(
        &m,
        TrailSpec {
            name: "local",
            bucket: "subject-trail",
            multi_region: false,
            organization: false,
            validation: false,
            kms_key: None,
            logging: true,
            bedrock_data_events: false,
        },
    )
    .await;
    let key = seed::cmk(&m, false).await;
    seed::share_key_with_partner(&m, &key, "444455556666").await;
    seed::bucket(&m, "subject-invocations", Some(&key)).await;
    seed::bucket_policy(&m, "subject-invocations", &seed::partner_org_read("subject-invocations")).await;
    seed::log_group(&m, "/bedrock/subject", None, Some(30)).await;
    seed::invocation_logging(&m, Some("subject-invocations"), Some("/bedrock/subject")).await;
    seed::role_with_policy(&m, "wide", "bedrock-all", BEDROCK_ALL).await;
    // AgentCore, every fault a single gateway can have at once: no authorizer, DEBUG errors,
    // no key, and the policy engine it enforces (the proxy's) permits everything; a public
    // runtime, a memory without a key. (A gateway without an enforced engine, BR.AGC.2, would
    // leave BR.AGC.6 nothing to judge: both are covered by the unit tests and sweep_e2e.)
    let open_engine = format!("arn:aws:bedrock-agentcore:us-east-1:{member}:policy-engine/open");
    seed::agentcore_gateway(
        &m,
        GatewaySpec {
            account: &member,
            name: "open",
            jwt_discovery_url: None,
            policy_engine: Some((&open_engine, true)),
            debug_errors: true,
            kms_key: None,
            tools: &["process_refund"],
        },
    )
    .await;
    seed::agentcore_runtime(&m, "exposed_agent", false).await;
    seed::agentcore_memory(&m, "chat_memory", None).await;
    aws_sdk_securityhub::Client::new(&m).enable_security_hub().send().await.unwrap();
    aws_sdk_securityhub::Client::new(&org.mgmt).enable_security_hub().send().await.unwrap();

    // The fault in force, if any; rules are tried in order, so it comes first.
    let fault: Arc<Mutex<Option<(usize, Fault)>>> = Arc::default();
    let (f, subject) = (Arc::clone(&fault), member.clone());
    proxy.rule(move |req| {
        let (case, kind) = (*f.lock().unwrap())?;
        let case = &CASES[case];
        (req.account.as_deref() == Some(subject.as_str()) && (case.matches)(req)).then(|| fault_reply(case.wire, kind))
    });
    let subject = member.clone();
    proxy.rule(move |req| {
        (req.account.as_deref() == Some(subject.as_str()) && action_is(req, "GetTrailStatus"))
            .then(unhealthy_trail_status)
    });
    proxy.rule(|req| action_is(req, "DescribeRegions").then(describe_regions));
    proxy.rule(bedrock_reply);

    let (pool, _) = test_db().await;
    let mut d = deps(&proxy.endpoint(), pool.clone()).await;
    d.sweep.regions.clear(); // discovered, through DescribeRegions
    d.controls.approved_models = vec!["amazon.titan-*".into()];
    d.security_hub = Some(policy());

    sweep_and_deliver(&d).await;
    let before = active(&pool, &member).await;
    for c in CASES.iter().flat_map(|c| c.controls) {
        let found = before.get(*c).map(Vec::as_slice).unwrap_or_default();
        // BR.INV.1 passes (logging is on); every other control fails before the faults.
        let want = if *c == "BR.INV.1" { "pass" } else { "fail" };
        assert!(found.iter().any(|(_, s)| s == want), "{c} should {want} in the baseline: {found:?}");
    }
    assert!(before["BR.COV.1"].iter().all(|(_, s)| s == "pass"), "baseline sees everything");
    let sent_active: i64 = sqlx::query_scalar(
        "select count(*) from findings where account_id = $1 and active and sh_record_state = 'ACTIVE'",
    )
    .bind(&member)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(sent_active >= 15, "the failing findings are in Security Hub ({sent_active})");

    for (i, case) in CASES.iter().enumerate() {
        for kind in [Fault::AccessDenied, Fault::Throttled, Fault::ServerError] {
            let what = format!("{} failing with {kind:?}", case.input);
            *fault.lock().unwrap() = Some((i, kind));
            let r = sweep::run(&d, "test").await.unwrap();
            *fault.lock().unwrap() = None;
            assert_eq!(r.status, SweepOutcome::Completed, "{what}");
            let now = active(&pool, &member).await;

            let cov = &now["BR.COV.1"];
            assert!(cov.iter().all(|(_, s)| s == "fail"), "{what}: coverage must fail: {cov:?}");
            // Each control that reads the failed collection says it could not look, or still
            // reports a failure it saw elsewhere (a known failure is real); none passes.
            let mut erred = 0;
            for control in case.controls {
                let verdicts = now.get(*control).map(Vec::as_slice).unwrap_or_default();
                assert!(
                    !verdicts.iter().any(|(_, s)| s == "pass" || s == "not_applicable"),
                    "{what}: {control} claims what it could not see: {verdicts:?}"
                );
                assert!(!verdicts.is_empty(), "{what}: {control} fell silent");
                erred += usize::from(verdicts.iter().any(|(_, s)| s == "error"));
            }
            assert!(erred > 0, "{what}: no control reports the failed collection");
            // Every finding that failed before is still there, and none now passes.
            for (control, findings) in &before {
                for (id, status) in findings.iter().filter(|(_, s)| s == "fail") {
                    let after = now.get(control).and_then(|v| v.iter().find(|(i, _)| i == id));
                    let after = after.map(|(_, s)| s.as_str());
                    assert!(
                        matches!(after, Some("fail" | "error")),
                        "{what}: {control} finding {id} was {status}, now {after:?}"
                    );
                }
            }
            let events = events_of_sweep(&pool, r.sweep_id).await.unwrap();
            let retired: Vec<_> =
                events.iter().filter(|e| matches!(e.kind, EventKind::Resolved | EventKind::Retired)).collect();
            assert!(retired.is_empty(), "{what}: retired on no evidence: {retired:?}");
            let resolving: i64 = sqlx::query_scalar(
                "select count(*) from security_hub_outbox o join findings f on f.id = o.finding_id
                 where f.account_id = $1 and (o.record_state = 'ARCHIVED' or o.compliance = 'PASSED')",
            )
            .bind(&member)
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(resolving, 0, "{what}: a resolution was queued for Security Hub");

            // The fault is gone: the next sweep sees the account as before.
            sweep_and_deliver(&d).await;
            let again = active(&pool, &member).await;
            for (control, findings) in &before {
                let mut want = findings.clone();
                let mut got = again.get(control).cloned().unwrap_or_default();
                want.sort();
                got.sort();
                assert_eq!(got, want, "{what}: {control} after the fault cleared");
            }
        }
    }
    assert_totals_match_findings(&pool).await;
}

/// In AWS a member's DescribeTrails lists the organization trail's shadow, and the member
/// may not describe the management account's key. moto shows members no organization trail,
/// so the member's answers are replayed as CloudTrail and KMS document them: the trail is
/// judged from the management account's data, and the member is fully covered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_trails_are_judged_from_the_management_account() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let org = Org::create(&moto.endpoint()).await;
    let key = seed::cmk(&org.mgmt, true).await;
    seed::bucket(&org.mgmt, "org-trail-logs", None).await;
    let trail_arn = seed::trail(&org.mgmt, TrailSpec::organization("org-trail-logs", &key)).await;
    let member = org.account("member", &org.root).await;

    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (subject, arn, key_arn, seen) = (member.clone(), trail_arn.clone(), key.clone(), Arc::clone(&refused));
    proxy.rule(move |req| {
        if req.account.as_deref() != Some(subject.as_str()) {
            return None;
        }
        match req.action().as_deref() {
            Some("DescribeTrails") => Some(Reply::json(json!({ "trailList": [{
                "Name": "org", "S3BucketName": "org-trail-logs", "IncludeGlobalServiceEvents": true,
                "IsMultiRegionTrail": true, "HomeRegion": "us-east-1", "TrailARN": arn,
                "LogFileValidationEnabled": true, "KmsKeyId": key_arn, "HasCustomEventSelectors": true,
                "HasInsightSelectors": false, "IsOrganizationTrail": true
            }]}))),
            Some("GetTrailStatus" | "GetEventSelectors" | "DescribeKey")
                if req.body_text().contains(":trail/org") || req.body_text().contains(&key_arn) =>
            {
                seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Some(fault_reply(Wire::Json, Fault::AccessDenied))
            }
            _ => None,
        }
    });
    proxy.rule(bedrock_reply);
    let (pool, _) = test_db().await;
    let r = run_sweep(&deps(&proxy.endpoint(), pool.clone()).await, "test").await.unwrap();
    let of = |control: &str| {
        r.findings.iter().filter(|f| f.account_id == member && f.control_id == control).cloned().collect::<Vec<_>>()
    };
    let log3 = of("BR.LOG.3");
    assert_eq!(log3.len(), 1, "{log3:?}");
    assert_eq!((log3[0].resource_id.as_str(), log3[0].status), (trail_arn.as_str(), Status::Pass), "{log3:?}");
    assert_eq!(of("BR.LOG.1")[0].status, Status::Pass, "{:?}", of("BR.LOG.1"));
    assert_eq!(of("BR.COV.1")[0].status, Status::Pass, "{:?}", of("BR.COV.1"));
    assert_eq!(refused.load(std::sync::atomic::Ordering::Relaxed), 0, "the member was asked about the org trail");
    let gaps: i64 = sqlx::query_scalar("select count(*) from collection_gaps where account_id = $1")
        .bind(&member)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(gaps, 0);
}
