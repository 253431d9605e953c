//! The answers the demo organization gets for the APIs moto lacks, so the demo's posture is
//! what the organization is built to show (the well-configured account passes, the sandbox
//! fails where it cuts corners) rather than "could not look" everywhere. Shaped as the AWS
//! API references document them; the README's coverage table lists them.
//!
//! - Bedrock guardrails: `prod-genai` has a strong guardrail `gr1` under its own key with a
//!   published version, enforced on the account in us-east-1; `sandbox-experiments` has a
//!   weak draft `gr9` on an AWS-owned key.
//! - IAM `ListServiceSpecificCredentials`: the sandbox's `data-scientist` holds a long-term
//!   Bedrock API key that never expires.
//! - CloudTrail `GetTrailStatus`: moto never delivers a log or digest file, so the one trail
//!   (the organization's, logging since seeding) reports deliveries five minutes ago.
//! - CloudTrail `ListPublicKeys`: the key `scripts/demo_seed.py` signed the organization
//!   trail's digest chains with (it writes them into moto's S3 as CloudTrail would).
//! - Custom, imported models and their jobs; knowledge bases, prompt flows and managed
//!   prompts; AgentCore policy engines, browsers and code interpreters: none, answered as
//!   empty lists.

use serde_json::json;

use super::{AgentCoreSpec, Reply, Req};

const TS: &str = "2026-11-01T00:00:00Z";

/// The seeded demo organization, as `scripts/demo_seed.py` reports it.
#[derive(Debug, Clone)]
pub struct DemoOrg {
    /// `prod-genai`, the well-configured account.
    pub good: String,
    /// Its customer-managed key.
    pub good_key: String,
    /// `sandbox-experiments`, the one with the usual shortcuts.
    pub bad: String,
    /// The key the organization trail's digests are signed with: base64 of its DER public
    /// half and its fingerprint.
    pub trail_key: (String, String),
}

/// The demo's answer to `req`, or `None` to let moto answer.
pub fn answer(org: &DemoOrg, req: &Req) -> Option<Reply> {
    let account = req.account.clone().unwrap_or_else(|| "123456789012".into());
    let home = req.region == "us-east-1";
    if req.action().as_deref() == Some("ListServiceSpecificCredentials") {
        return Some(if account == org.bad {
            Reply::bedrock_api_keys(&[("ACCADEMOSANDBOXKEY001", "data-scientist", TS, None)])
        } else {
            Reply::bedrock_api_keys(&[])
        });
    }
    if req.action().as_deref() == Some("GetTrailStatus") {
        return Some(trail_status());
    }
    if req.action().as_deref() == Some("ListPublicKeys") {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let (value, fingerprint) = &org.trail_key;
        return Some(Reply::cloudtrail_public_keys(&[(value, fingerprint, now - 30 * 86_400, now + 30 * 86_400)]));
    }
    if let Some(rest) = req.path.strip_prefix("/knowledgebases") {
        return Some(Reply::knowledge_base(rest, &account, &req.region, false, None));
    }
    if let Some(rest) = req.path.strip_prefix("/flows") {
        return Some(Reply::flows(rest, &account, &req.region, None));
    }
    if let Some(rest) = req.path.strip_prefix("/prompts") {
        return Some(Reply::prompts(rest, &account, &req.region, None));
    }
    if let Some(reply) = Reply::agentcore(&req.path, &account, &req.region, &AgentCoreSpec::default()) {
        return Some(reply);
    }
    if req.method != "GET" {
        return None;
    }
    let path = req.path.as_str();
    if path.starts_with("/enforcedGuardrailsConfiguration") {
        let configs = if account == org.good && home {
            json!([{"configId": "cfg1", "guardrailArn": format!("arn:aws:bedrock:us-east-1:{account}:guardrail/gr1"),
                    "guardrailId": "gr1", "guardrailVersion": "1", "createdAt": TS, "createdBy": "platform-team",
                    "updatedAt": TS, "updatedBy": "platform-team", "owner": "ACCOUNT",
                    "modelEnforcement": {"includedModels": ["ALL"], "excludedModels": []}}])
        } else {
            json!([])
        };
        return Some(Reply::json(json!({ "guardrailsConfig": configs })));
    }
    if path.starts_with("/guardrails/") {
        return Some(if account == org.bad {
            Reply::weak_guardrail(&account)
        } else {
            Reply::strong_guardrail(&account, &org.good_key)
        });
    }
    if path.starts_with("/guardrails") {
        // With guardrailIdentifier, ListGuardrails lists that guardrail's versions.
        let list: &[(&str, &str, &str)] = if account == org.good && home && path.contains("guardrailIdentifier=gr1") {
            &[("gr1", "pii-and-prompt-attacks", "DRAFT"), ("gr1", "pii-and-prompt-attacks", "1")]
        } else if account == org.good && home {
            &[("gr1", "pii-and-prompt-attacks", "DRAFT")]
        } else if account == org.bad && home {
            &[("gr9", "weak", "DRAFT")]
        } else {
            &[]
        };
        return Some(Reply::guardrail_list(&account, list));
    }
    let empty = |key: &str| Some(Reply::json(json!({ key: [] })));
    match path.split('?').next().unwrap_or_default().trim_end_matches('/') {
        "/model-customization-jobs" => empty("modelCustomizationJobSummaries"),
        "/model-invocation-jobs" => empty("invocationJobSummaries"),
        "/imported-models" | "/custom-models" => empty("modelSummaries"),
        _ => None,
    }
}

/// GetTrailStatus of a trail logging and delivering (times are epoch seconds in CloudTrail's
/// JSON protocol).
fn trail_status() -> Reply {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (recent, started) = (now - 300, now - 3600);
    Reply {
        status: 200,
        content_type: "application/x-amz-json-1.1",
        body: json!({
            "IsLogging": true, "StartLoggingTime": started,
            "LatestDeliveryTime": recent, "LatestDigestDeliveryTime": recent,
            "LatestDeliveryAttemptTime": "", "LatestDeliveryAttemptSucceeded": "",
            "TimeLoggingStarted": "", "TimeLoggingStopped": ""
        })
        .to_string(),
    }
}
