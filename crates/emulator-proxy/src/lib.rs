//! A small HTTP proxy in front of the AWS emulator (moto in server mode), for what moto
//! cannot do:
//! - fault injection (AccessDenied on one account's AssumeRole or on one collector call),
//! - Bedrock guardrail and custom-model APIs, which moto does not implement: answered here
//!   with bodies shaped as the Bedrock API reference documents them; so are the Agents for
//!   Amazon Bedrock calls moto lacks (data sources, prompt flows, Prompt management).
//!
//! It learns which account each access key belongs to from the AssumeRole answers it
//! forwards, so rules can target one member account.
//!
//! The integration tests start it in-process ([`Proxy::start`]) with rules of their own; the
//! demo runs the `emulator-proxy` binary with the [`demo`] answers. The sweep benchmark has it
//! record what it forwards ([`Proxy::record_to`]) and then sends the same requests to moto
//! without the sweeper ([`replay`]), to measure the emulator's own ceiling.

#![expect(clippy::unwrap_used, reason = "test and demo infrastructure: a broken proxy fails loudly")]

pub mod demo;
pub mod replay;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The creation and update time of the replayed guardrails.
const GUARDRAIL_TS: &str = "2026-11-01T00:00:00Z";

/// One request as the proxy saw it.
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// The account the request's credentials belong to (assumed-role keys), if known.
    pub account: Option<String>,
    /// Region from the SigV4 credential scope.
    pub region: String,
}

impl Req {
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The operation for query (`Action=`) and JSON (`X-Amz-Target`) protocols.
    pub fn action(&self) -> Option<String> {
        if let Some(t) = self.headers.get("x-amz-target") {
            return t.rsplit('.').next().map(str::to_owned);
        }
        let text = self.body_text();
        text.split('&').find_map(|kv| kv.strip_prefix("Action=")).map(str::to_owned)
    }
}

/// A canned answer.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Reply {
    pub fn json(body: serde_json::Value) -> Self {
        Self { status: 200, content_type: "application/json", body: body.to_string() }
    }

    /// A query-protocol (XML) error, e.g. STS or EC2 AccessDenied.
    pub fn xml_error(status: u16, code: &str, message: &str) -> Self {
        Self {
            status,
            content_type: "text/xml",
            body: format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
            ),
        }
    }

    /// IAM's ListServiceSpecificCredentials answer (moto does not implement it), shaped as
    /// the IAM API reference documents it: one member per (credential id, user, created,
    /// expires) of bedrock.amazonaws.com, all active, in one untruncated page.
    pub fn bedrock_api_keys(keys: &[(&str, &str, &str, Option<&str>)]) -> Self {
        let members: String = keys
            .iter()
            .map(|(id, user, created, expires)| {
                let expiry = expires.map(|e| format!("<ExpirationDate>{e}</ExpirationDate>")).unwrap_or_default();
                format!(
                    "<member><UserName>{user}</UserName><Status>Active</Status><ServiceUserName>{user}-at-proxy</ServiceUserName>\
                     <CreateDate>{created}</CreateDate>{expiry}<ServiceSpecificCredentialId>{id}</ServiceSpecificCredentialId>\
                     <ServiceName>bedrock.amazonaws.com</ServiceName></member>"
                )
            })
            .collect();
        Self {
            status: 200,
            content_type: "text/xml",
            body: format!(
                "<ListServiceSpecificCredentialsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
                 <ListServiceSpecificCredentialsResult><ServiceSpecificCredentials>{members}</ServiceSpecificCredentials>\
                 <IsTruncated>false</IsTruncated></ListServiceSpecificCredentialsResult>\
                 <ResponseMetadata><RequestId>proxy</RequestId></ResponseMetadata></ListServiceSpecificCredentialsResponse>"
            ),
        }
    }

    /// Bedrock's GetGuardrail (moto has no guardrails), shaped as the Bedrock API reference
    /// documents it: `gr1` in us-east-1, filtering every harmful category and prompt attacks
    /// strongly and anonymising e-mail addresses, under the customer-managed `key`.
    pub fn strong_guardrail(account: &str, key: &str) -> Self {
        let filters: Vec<_> = ["HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT"]
            .iter()
            .map(|t| serde_json::json!({"type": t, "inputStrength": "HIGH", "outputStrength": "HIGH"}))
            .chain([serde_json::json!({"type": "PROMPT_ATTACK", "inputStrength": "HIGH", "outputStrength": "NONE"})])
            .collect();
        Self::json(serde_json::json!({
            "name": "pii-and-prompt-attacks", "guardrailId": "gr1", "guardrailArn": format!("arn:aws:bedrock:us-east-1:{account}:guardrail/gr1"),
            "version": "DRAFT", "status": "READY", "createdAt": GUARDRAIL_TS, "updatedAt": GUARDRAIL_TS,
            "blockedInputMessaging": "blocked", "blockedOutputsMessaging": "blocked",
            "contentPolicy": {"filters": filters},
            "sensitiveInformationPolicy": {"piiEntities": [{"type": "EMAIL", "action": "ANONYMIZE"}], "regexes": []},
            "kmsKeyArn": key
        }))
    }

    /// GetGuardrail of `gr9` in us-east-1: hate speech filtered weakly, on an AWS-owned key,
    /// a draft only.
    pub fn weak_guardrail(account: &str) -> Self {
        Self::json(serde_json::json!({
            "name": "weak", "guardrailId": "gr9", "guardrailArn": format!("arn:aws:bedrock:us-east-1:{account}:guardrail/gr9"),
            "version": "DRAFT", "status": "READY", "createdAt": GUARDRAIL_TS, "updatedAt": GUARDRAIL_TS,
            "blockedInputMessaging": "blocked", "blockedOutputsMessaging": "blocked",
            "contentPolicy": {"filters": [{"type": "HATE", "inputStrength": "LOW", "outputStrength": "NONE"}]}
        }))
    }

    /// Bedrock's ListGuardrails: one summary per (id, name, version), in us-east-1.
    pub fn guardrail_list(account: &str, guardrails: &[(&str, &str, &str)]) -> Self {
        let list: Vec<_> = guardrails
            .iter()
            .map(|(id, name, version)| {
                serde_json::json!({"id": id, "arn": format!("arn:aws:bedrock:us-east-1:{account}:guardrail/{id}"),
                    "status": "READY", "name": name, "version": version, "createdAt": GUARDRAIL_TS, "updatedAt": GUARDRAIL_TS})
            })
            .collect();
        Self::json(serde_json::json!({ "guardrails": list }))
    }

    /// Agents for Amazon Bedrock's knowledge-base calls (moto has no data sources), shaped as
    /// its API reference documents them, for `rest`, the path after `/knowledgebases`: one
    /// vector knowledge base `KB0000001` when `listed`, embedding with Titan Text Embeddings
    /// V2 into an OpenSearch Serverless collection, with one S3 data source `wiki` encrypted
    /// with `key` (an AWS-owned key when `None`).
    pub fn knowledge_base(rest: &str, account: &str, region: &str, listed: bool, key: Option<&str>) -> Self {
        const TS: &str = "2026-11-01T00:00:00Z";
        let rest = rest.split('?').next().unwrap_or_default().trim_end_matches('/');
        if rest.is_empty() {
            let kbs = if listed {
                serde_json::json!([{"knowledgeBaseId": "KB0000001", "name": "docs", "status": "ACTIVE", "updatedAt": TS}])
            } else {
                serde_json::json!([])
            };
            return Self::json(serde_json::json!({ "knowledgeBaseSummaries": kbs }));
        }
        if rest == "/KB0000001" {
            return Self::json(serde_json::json!({ "knowledgeBase": {
                "knowledgeBaseId": "KB0000001", "name": "docs",
                "knowledgeBaseArn": format!("arn:aws:bedrock:{region}:{account}:knowledge-base/KB0000001"),
                "roleArn": format!("arn:aws:iam::{account}:role/kb-docs"),
                "knowledgeBaseConfiguration": {"type": "VECTOR", "vectorKnowledgeBaseConfiguration": {
                    "embeddingModelArn": format!("arn:aws:bedrock:{region}::foundation-model/amazon.titan-embed-text-v2:0")}},
                "storageConfiguration": {"type": "OPENSEARCH_SERVERLESS", "opensearchServerlessConfiguration": {
                    "collectionArn": format!("arn:aws:aoss:{region}:{account}:collection/docs0001"), "vectorIndexName": "docs",
                    "fieldMapping": {"vectorField": "embedding", "textField": "text", "metadataField": "metadata"}}},
                "status": "ACTIVE", "createdAt": TS, "updatedAt": TS
            }}));
        }
        if rest.ends_with("/datasources") {
            return Self::json(serde_json::json!({ "dataSourceSummaries": [
                {"knowledgeBaseId": "KB0000001", "dataSourceId": "DS0000001", "name": "wiki", "status": "AVAILABLE", "updatedAt": TS}
            ]}));
        }
        let encryption = key.map_or_else(|| serde_json::json!({}), |k| serde_json::json!({"kmsKeyArn": k}));
        Self::json(serde_json::json!({ "dataSource": {
            "knowledgeBaseId": "KB0000001", "dataSourceId": "DS0000001", "name": "wiki", "status": "AVAILABLE",
            "createdAt": TS, "updatedAt": TS,
            "dataSourceConfiguration": {"type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::wiki-docs"}},
            "serverSideEncryptionConfiguration": encryption
        }}))
    }

    /// Agents for Amazon Bedrock's prompt-flow calls (moto has no flows), shaped as its API
    /// reference documents ListFlows, GetFlow, ListFlowAliases and GetFlowVersion, for `rest`,
    /// the path after `/flows`. When `flow` is given, the region has one flow `FLOW000001`
    /// named after it: an input node, a prompt node `ask` on Titan Text Express and a
    /// retrieve-only knowledge-base node `search` inside a loop; the alias `live` serves
    /// `flow.alias_version`.
    pub fn flows(rest: &str, account: &str, region: &str, flow: Option<&FlowSpec<'_>>) -> Self {
        const TS: &str = "2026-11-01T00:00:00Z";
        let rest = rest.split('?').next().unwrap_or_default().trim_end_matches('/');
        let Some(f) = flow else { return Self::json(serde_json::json!({ "flowSummaries": [] })) };
        let arn = format!("arn:aws:bedrock:{region}:{account}:flow/FLOW000001");
        if rest.is_empty() {
            return Self::json(serde_json::json!({ "flowSummaries": [
                {"name": f.name, "id": "FLOW000001", "arn": arn, "status": "Prepared", "createdAt": TS, "updatedAt": TS, "version": "DRAFT"}
            ]}));
        }
        if rest.ends_with("/aliases") {
            return Self::json(serde_json::json!({ "flowAliasSummaries": [
                {"name": "live", "routingConfiguration": [{"flowVersion": f.alias_version}], "flowId": "FLOW000001",
                 "id": "ALIAS00001", "arn": format!("{arn}/alias/ALIAS00001"), "createdAt": TS, "updatedAt": TS}
            ]}));
        }
        let guardrail = f
            .guardrail
            .map(|(id, version)| serde_json::json!({"guardrailIdentifier": id, "guardrailVersion": version}));
        let definition = serde_json::json!({ "nodes": [
            {"name": "Start", "type": "Input", "configuration": {"input": {}},
             "outputs": [{"name": "document", "type": "String"}]},
            {"name": "ask", "type": "Prompt", "configuration": {"prompt": {
                "sourceConfiguration": {"inline": {"templateType": "TEXT", "modelId": "amazon.titan-text-express-v1",
                    "templateConfiguration": {"text": {"text": "Answer: {{document}}"}}}},
                "guardrailConfiguration": guardrail}}},
            {"name": "each", "type": "Loop", "configuration": {"loop": {"definition": {"nodes": [
                {"name": "search", "type": "KnowledgeBase", "configuration": {"knowledgeBase": {"knowledgeBaseId": "KB0000001"}}}
            ]}}}}
        ]});
        let mut body = serde_json::json!({
            "name": f.name, "executionRoleArn": format!("arn:aws:iam::{account}:role/flow-{}", f.name),
            "id": "FLOW000001", "arn": arn, "status": "Prepared", "createdAt": TS, "definition": definition
        });
        if let Some(key) = f.key {
            body["customerEncryptionKeyArn"] = serde_json::json!(key);
        }
        match rest.split_once("/versions/") {
            Some((_, version)) => body["version"] = serde_json::json!(version),
            None => {
                body["version"] = serde_json::json!("DRAFT");
                body["updatedAt"] = serde_json::json!(TS);
            }
        }
        Self::json(body)
    }

    /// Prompt management's calls (moto has none), shaped as the Agents for Amazon Bedrock API
    /// reference documents ListPrompts and GetPrompt, for `rest`, the path after `/prompts`:
    /// when `prompt` is given, one prompt `PROMPT0001` with that (name, model, key).
    pub fn prompts(rest: &str, account: &str, region: &str, prompt: Option<(&str, &str, Option<&str>)>) -> Self {
        const TS: &str = "2026-11-01T00:00:00Z";
        let rest = rest.split('?').next().unwrap_or_default().trim_end_matches('/');
        let Some((name, model, key)) = prompt else { return Self::json(serde_json::json!({ "promptSummaries": [] })) };
        let arn = format!("arn:aws:bedrock:{region}:{account}:prompt/PROMPT0001");
        if rest.is_empty() {
            return Self::json(serde_json::json!({ "promptSummaries": [
                {"name": name, "id": "PROMPT0001", "arn": arn, "version": "DRAFT", "createdAt": TS, "updatedAt": TS}
            ]}));
        }
        let mut body = serde_json::json!({
            "name": name, "defaultVariant": "v1", "id": "PROMPT0001", "arn": arn, "version": "DRAFT",
            "createdAt": TS, "updatedAt": TS,
            "variants": [{"name": "v1", "templateType": "TEXT", "modelId": model,
                          "templateConfiguration": {"text": {"text": "Summarise {{document}}"}}}]
        });
        if let Some(key) = key {
            body["customerEncryptionKeyArn"] = serde_json::json!(key);
        }
        Self::json(body)
    }

    /// The AgentCore Control calls moto 5.2.5 lacks (policy engines and their policies,
    /// browsers, code interpreters), shaped as the AgentCore Control API reference documents
    /// ListPolicyEngines, ListPolicies, ListBrowsers, GetBrowser and ListCodeInterpreters, for
    /// the request's path; `None` for every other path (moto answers gateways, targets,
    /// runtimes and memories itself).
    pub fn agentcore(path: &str, account: &str, region: &str, spec: &AgentCoreSpec<'_>) -> Option<Self> {
        const TS: &str = "2026-11-01T00:00:00Z";
        let path = path.split('?').next().unwrap_or_default().trim_end_matches('/');
        let engine_arn = |id: &str| format!("arn:aws:bedrock-agentcore:{region}:{account}:policy-engine/{id}");
        if path == "/policy-engines" {
            let engines: Vec<serde_json::Value> = spec
                .engines
                .iter()
                .map(|e| {
                    let mut engine = serde_json::json!({"policyEngineId": e.id, "name": e.id, "createdAt": TS, "updatedAt": TS,
                        "policyEngineArn": engine_arn(e.id), "status": "ACTIVE"});
                    if let Some(key) = e.key {
                        engine["encryptionKeyArn"] = serde_json::json!(key);
                    }
                    engine
                })
                .collect();
            return Some(Self::json(serde_json::json!({ "policyEngines": engines })));
        }
        if let Some(rest) = path.strip_prefix("/policy-engines/") {
            let id = rest.strip_suffix("/policies")?;
            let engine = spec.engines.iter().find(|e| e.id == id)?;
            let policies: Vec<serde_json::Value> = engine
                .policies
                .iter()
                .map(|(policy, statement)| {
                    serde_json::json!({"policyId": policy, "name": policy, "policyEngineId": id, "createdAt": TS, "updatedAt": TS,
                        "policyArn": format!("{}/policy/{policy}", engine_arn(id)), "status": "ACTIVE", "enforcementMode": "ACTIVE",
                        "definition": {"cedar": {"statement": statement}}})
                })
                .collect();
            return Some(Self::json(serde_json::json!({ "policies": policies })));
        }
        let browser_arn =
            format!("arn:aws:bedrock-agentcore:{region}:{account}:browser-custom/research_browser-0123456789");
        if path == "/browsers" {
            let browsers = if spec.public_browser {
                serde_json::json!([{"browserId": "research_browser-0123456789", "browserArn": browser_arn, "name": "research_browser",
                    "status": "READY", "createdAt": TS, "lastUpdatedAt": TS}])
            } else {
                serde_json::json!([])
            };
            return Some(Self::json(serde_json::json!({ "browserSummaries": browsers })));
        }
        if path.starts_with("/browsers/") {
            return Some(Self::json(
                serde_json::json!({"browserId": "research_browser-0123456789", "browserArn": browser_arn,
                "name": "research_browser", "networkConfiguration": {"networkMode": "PUBLIC"}, "status": "READY",
                "createdAt": TS, "lastUpdatedAt": TS}),
            ));
        }
        if path == "/code-interpreters" {
            return Some(Self::json(serde_json::json!({ "codeInterpreterSummaries": [] })));
        }
        None
    }

    /// EC2's error shape.
    /// `cloudtrail:ListPublicKeys` (moto lacks it), shaped as the CloudTrail API reference
    /// documents it: each key as (base64 of the DER PKCS#1 public key, fingerprint, validity
    /// start and end in epoch seconds).
    pub fn cloudtrail_public_keys(keys: &[(&str, &str, i64, i64)]) -> Self {
        let list: Vec<serde_json::Value> = keys
            .iter()
            .map(|(value, fingerprint, start, end)| {
                serde_json::json!({
                    "Value": value,
                    "Fingerprint": fingerprint,
                    "ValidityStartTime": start,
                    "ValidityEndTime": end,
                })
            })
            .collect();
        Self {
            status: 200,
            content_type: "application/x-amz-json-1.1",
            body: serde_json::json!({ "PublicKeyList": list }).to_string(),
        }
    }

    pub fn ec2_error(code: &str, message: &str) -> Self {
        Self {
            status: 403,
            content_type: "text/xml",
            body: format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>"
            ),
        }
    }
}

/// What [`Reply::agentcore`] answers for one account and region.
#[derive(Default)]
pub struct AgentCoreSpec<'a> {
    pub engines: Vec<EngineSpec<'a>>,
    /// A custom browser on the public network.
    pub public_browser: bool,
}

/// A policy engine: its id, key, and (policy id, Cedar statement) policies.
pub struct EngineSpec<'a> {
    pub id: &'a str,
    pub key: Option<&'a str>,
    pub policies: Vec<(&'a str, String)>,
}

/// A prompt flow for [`Reply::flows`].
pub struct FlowSpec<'a> {
    pub name: &'a str,
    /// The guardrail (identifier, version) on its prompt node, if any.
    pub guardrail: Option<(&'a str, &'a str)>,
    /// Its customer-managed key, if any.
    pub key: Option<&'a str>,
    /// The version its alias `live` serves.
    pub alias_version: &'a str,
}

pub type Rule = Box<dyn Fn(&Req) -> Option<Reply> + Send + Sync>;

/// The running proxy.
pub struct Proxy {
    pub port: u16,
    rules: Arc<Mutex<Vec<Rule>>>,
    delay_ms: Arc<AtomicU64>,
    forwards: Arc<Mutex<Vec<ForwardAs>>>,
    recorder: Recorder,
    task: tokio::task::JoinHandle<()>,
}

/// Where forwarded requests are written, once [`Proxy::record_to`] is called.
type Recorder = Arc<Mutex<Option<std::io::BufWriter<std::fs::File>>>>;

/// Requests of one account to one service that moto answers as another account (its
/// `x-moto-account-id` header): a stand-in for what moto's model lacks, e.g. a delegated
/// administrator reading Organizations.
#[derive(Clone)]
struct ForwardAs {
    from_account: String,
    target_prefix: String,
    to_account: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn start(upstream_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let rules: Arc<Mutex<Vec<Rule>>> = Arc::default();
        let keys: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let delay_ms: Arc<AtomicU64> = Arc::default();
        let forwards: Arc<Mutex<Vec<ForwardAs>>> = Arc::default();
        let recorder: Recorder = Arc::default();
        let (r, k, d, f) = (Arc::clone(&rules), Arc::clone(&keys), Arc::clone(&delay_ms), Arc::clone(&forwards));
        let rec = Arc::clone(&recorder);
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else { return };
                let (r, k, d, f) = (Arc::clone(&r), Arc::clone(&k), Arc::clone(&d), Arc::clone(&f));
                let rec = Arc::clone(&rec);
                tokio::spawn(async move {
                    let delay = d.load(Ordering::Relaxed);
                    if delay > 0 {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                    }
                    // A broken connection only affects that request; the SDK reports it.
                    serve(socket, upstream_port, Shared { rules: r, keys: k, forwards: f, recorder: rec }).await.ok();
                });
            }
        });
        Self { port, rules, delay_ms, forwards, recorder, task }
    }

    /// From now on, writes every request forwarded to moto to `path` (as [`replay::read`]
    /// reads them).
    pub fn record_to(&self, path: &std::path::Path) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        *self.recorder.lock().unwrap() = Some(std::io::BufWriter::new(file));
        Ok(())
    }

    /// Writes out what was recorded so far.
    pub fn flush_recording(&self) -> std::io::Result<()> {
        self.recorder.lock().unwrap().as_mut().map_or(Ok(()), std::io::Write::flush)
    }

    /// Has moto answer `from_account`'s requests whose `X-Amz-Target` starts with
    /// `target_prefix` as `to_account`.
    pub fn forward_as(&self, from_account: &str, target_prefix: &str, to_account: &str) {
        self.forwards.lock().unwrap().push(ForwardAs {
            from_account: from_account.to_owned(),
            target_prefix: target_prefix.to_owned(),
            to_account: to_account.to_owned(),
        });
    }

    /// Delays every request by `delay` before it is answered (a slow AWS), from now on.
    pub fn delay(&self, delay: Duration) {
        self.delay_ms.store(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Adds a rule; the first rule that answers wins, otherwise the request goes to moto.
    pub fn rule(&self, rule: impl Fn(&Req) -> Option<Reply> + Send + Sync + 'static) {
        self.rules.lock().unwrap().push(Box::new(rule));
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What every connection's task shares with the proxy.
struct Shared {
    rules: Arc<Mutex<Vec<Rule>>>,
    keys: Arc<Mutex<HashMap<String, String>>>,
    forwards: Arc<Mutex<Vec<ForwardAs>>>,
    recorder: Recorder,
}

async fn serve(mut socket: TcpStream, upstream_port: u16, shared: Shared) -> std::io::Result<()> {
    let Shared { rules, keys, forwards, recorder } = shared;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + len {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..].to_vec();
    let (access_key, region) = headers
        .get("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .map(|c| {
            let mut s = c.split(['/', ',']);
            (s.next().unwrap_or("").to_owned(), s.nth(1).unwrap_or("").to_owned())
        })
        .unwrap_or_default();
    let account = keys.lock().unwrap().get(&access_key).cloned();
    let req = Req { method, path, headers, body, account, region };

    let canned = rules.lock().unwrap().iter().find_map(|rule| rule(&req));
    let response = match canned {
        Some(reply) => format!(
            "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nx-amzn-requestid: proxy\r\nconnection: close\r\n\r\n{}",
            reply.status,
            reply.content_type,
            reply.body.len(),
            reply.body
        )
        .into_bytes(),
        None => {
            let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port)).await?;
            let target = req.headers.get("x-amz-target").cloned().unwrap_or_default();
            let forward = forwards.lock().unwrap().iter().find_map(|f| {
                (req.account.as_deref() == Some(f.from_account.as_str()) && target.starts_with(&f.target_prefix))
                    .then(|| f.to_account.clone())
            });
            let request = &buf[..head_end + len.min(buf.len() - head_end)];
            match forward {
                // moto does not check signatures: a header after the request line is enough.
                Some(account) => {
                    let line_end = find(request, b"\r\n").map_or(0, |i| i + 2);
                    upstream.write_all(&request[..line_end]).await?;
                    upstream.write_all(format!("x-moto-account-id: {account}\r\n").as_bytes()).await?;
                    upstream.write_all(&request[line_end..]).await?;
                }
                None => {
                    if let Some(out) = recorder.lock().unwrap().as_mut() {
                        replay::write(out, request)?;
                    }
                    upstream.write_all(request).await?
                }
            }
            let mut out = Vec::new();
            upstream.read_to_end(&mut out).await?;
            if req.action().as_deref() == Some("AssumeRole") {
                learn_key(&req, &out, &keys);
            }
            out
        }
    };
    socket.write_all(&response).await?;
    socket.shutdown().await
}

/// Remembers which account an assumed-role access key belongs to.
fn learn_key(req: &Req, response: &[u8], keys: &Mutex<HashMap<String, String>>) {
    let text = String::from_utf8_lossy(response);
    let body = req.body_text();
    let account = body
        .split('&')
        .find_map(|kv| kv.strip_prefix("RoleArn="))
        .map(|arn| arn.replace("%3A", ":"))
        .and_then(|arn| arn.split(':').nth(4).map(str::to_owned));
    let key = text.split("<AccessKeyId>").nth(1).and_then(|s| s.split("</AccessKeyId>").next());
    if let (Some(account), Some(key)) = (account, key) {
        keys.lock().unwrap().insert(key.to_owned(), account);
    }
}
