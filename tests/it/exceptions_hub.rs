//! Exceptions reach Security Hub: a finding an exception suppresses gets Workflow.Status
//! SUPPRESSED (with a note naming the exception), and NEW again when the exception expires
//! or is withdrawn. Imports go to moto; moto does not implement BatchUpdateFindings, so the
//! proxy answers it with bodies shaped as the API reference documents them
//! (`ProcessedFindings`, `UnprocessedFindings`), for the findings it saw imported.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use bedrock_sweeper::domain::{AccountId, ControlId};
use bedrock_sweeper::domain::{Role, TokenHash};
use bedrock_sweeper::store::exceptions;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::api::{OPERATOR, call, post_json};
use super::helpers::{Moto, test_db};
use super::proxy::{Proxy, Reply};
use super::security_hub::{member_with_hub, policy, sender};
use super::seed::{self, Org};
use super::sweep_e2e::deps;
use bedrock_sweeper::domain::Status;

/// One BatchUpdateFindings request: the caller's account and its body.
type Updates = Arc<Mutex<Vec<(String, Value)>>>;

/// Remembers the Ids imported through the proxy (moto stores them) and answers
/// BatchUpdateFindings: processed when the finding was imported and not listed in `refuse`.
fn hub_updates(proxy: &Proxy, refuse: Arc<Mutex<BTreeSet<String>>>) -> Updates {
    let imported: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let seen = Arc::clone(&imported);
    proxy.rule(move |req| {
        if req.path == "/findings/import" {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let ids = body["Findings"].as_array().unwrap().iter().map(|f| f["Id"].as_str().unwrap().to_owned());
            seen.lock().unwrap().extend(ids);
        }
        None // forwarded to moto
    });
    let updates: Updates = Arc::default();
    let log = Arc::clone(&updates);
    proxy.rule(move |req| {
        if req.method != "PATCH" || req.path != "/findings/batchupdate" {
            return None;
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        log.lock().unwrap().push((req.account.clone().unwrap_or_default(), body.clone()));
        let (mut processed, mut unprocessed) = (Vec::new(), Vec::new());
        for ident in body["FindingIdentifiers"].as_array().unwrap() {
            let id = ident["Id"].as_str().unwrap();
            if imported.lock().unwrap().contains(id) && !refuse.lock().unwrap().contains(id) {
                processed.push(ident.clone());
            } else {
                // The reference leaves the codes open; the sender treats every code alike.
                unprocessed.push(json!({"FindingIdentifier": ident, "ErrorCode": "FindingNotFound",
                                        "ErrorMessage": "no such finding"}));
            }
        }
        Some(Reply::json(json!({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})))
    });
    updates
}

fn new_exception(account: &str) -> exceptions::NewException {
    exceptions::NewException {
        control_id: ControlId::parse("BR.CFG.1").unwrap(),
        account_id: Some(AccountId::parse(account).unwrap()),
        ou_path: None,
        region: None,
        resource_pattern: None,
        reason: "config rebuild in progress".into(),
        expires_at: chrono::Utc::now() + chrono::Duration::days(1),
    }
}

async fn workflow_of(pool: &sqlx::PgPool, id: &str) -> Option<String> {
    sqlx::query_scalar("select sh_workflow from findings where id = $1").bind(id).fetch_one(pool).await.unwrap()
}

/// The Ids and workflow status of each BatchUpdateFindings request since `from`.
fn sent_since(updates: &Updates, from: usize) -> Vec<(String, String, BTreeSet<String>, String)> {
    updates.lock().unwrap()[from..]
        .iter()
        .map(|(account, body)| {
            let ids = body["FindingIdentifiers"].as_array().unwrap();
            (
                account.clone(),
                body["Workflow"]["Status"].as_str().unwrap().to_owned(),
                ids.iter().map(|i| i["Id"].as_str().unwrap().to_owned()).collect(),
                body["Note"]["Text"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exceptions_are_suppressed_in_security_hub_and_lifted_when_they_end() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let refuse: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let updates = hub_updates(&proxy, Arc::clone(&refuse));
    let org = Org::create(&moto.endpoint()).await;
    let (member, m) = member_with_hub(&org).await;

    let (pool, _) = test_db().await;
    let mut d = deps(&proxy.endpoint(), pool.clone()).await;
    d.security_hub = Some(policy());
    let r = crate::helpers::run_sweep(&d, "test").await.unwrap();
    let first = sender(&d, &r).drain().await.unwrap();
    assert_eq!(first.workflow.requests, 0, "no exception, no workflow update: {first:?}");
    let target = r.findings.iter().find(|f| f.control_id == "BR.CFG.1" && f.account_id == member).unwrap();
    assert_eq!(target.status, Status::Fail);
    let target_asff = format!("bedrock-sweeper/v1/{}", target.id);
    // Every finding of that control and account that Security Hub holds (fail or error).
    let covered: BTreeSet<String> = r
        .findings
        .iter()
        .filter(|f| {
            f.control_id == "BR.CFG.1"
                && f.account_id == member
                && (f.status == Status::Fail || f.status == Status::Error)
        })
        .map(|f| format!("bedrock-sweeper/v1/{}", f.id))
        .collect();

    // An exception created through the API: the service delivers the suppression by itself.
    // The service's runner, with its own stop flag (the test sweeps again later).
    let mut service = d.clone();
    service.stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let token = TokenHash { role: Role::Operator, sha256: Sha256::digest(OPERATOR.as_bytes()).into() };
    let built = crate::helpers::service(service, &[token]);
    let runner = Arc::clone(built.runner());
    let app = built.router();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let body = json!({"control_id": "BR.CFG.1", "scope": {"account_id": member},
                      "reason": "config rebuild in progress", "expires_at": tomorrow});
    let created = post_json(&app, "/api/v1/exceptions", OPERATOR, &body.to_string()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let exception = created.json()["id"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        if workflow_of(&pool, &target.id).await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(workflow_of(&pool, &target.id).await.as_deref(), Some("SUPPRESSED"));
    // The service's delivery has recorded the update; let it finish before delivering here
    // (a second delivery meanwhile would find it running and send nothing: `busy`).
    runner.wait_idle().await;
    let sent = sent_since(&updates, 0);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (account, status, ids, note) = &sent[0];
    assert_eq!((account.as_str(), status.as_str()), (member.as_str(), "SUPPRESSED"), "from the member's own account");
    assert_eq!(ids, &covered, "exactly the findings the exception covers");
    assert!(note.contains(&exception) && note.contains("config rebuild in progress"), "{note}");
    let body = updates.lock().unwrap()[0].1.clone();
    assert_eq!(body["Note"]["UpdatedBy"], "bedrock-sweeper");
    assert_eq!(
        body["FindingIdentifiers"][0]["ProductArn"],
        format!("arn:aws:securityhub:us-east-1:{member}:product/{member}/default")
    );

    // Nothing changed: nothing is sent.
    let again = sender(&d, &r).drain().await.unwrap();
    assert_eq!(again.workflow.requests, 0, "{again:?}");

    // The exception expires: the suppression is lifted (NEW), for the same findings.
    sqlx::query("update exceptions set expires_at = now() - interval '1 second'").execute(&pool).await.unwrap();
    let before = updates.lock().unwrap().len();
    let lifted = sender(&d, &r).drain().await.unwrap();
    assert_eq!((lifted.workflow.updated, lifted.workflow_pending), (covered.len() as u64, 0), "{lifted:?}");
    let sent = sent_since(&updates, before);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].1.as_str(), &sent[0].2), ("NEW", &covered));
    assert!(sent[0].3.contains("no longer applies"), "{}", sent[0].3);
    assert_eq!(workflow_of(&pool, &target.id).await.as_deref(), Some("NEW"));

    // A new exception, but Security Hub does not process one finding yet: it waits, nothing
    // is recorded as done, and it goes through on the next attempt.
    // (Created in the store: through the API, the service's own delivery would race this one.)
    refuse.lock().unwrap().insert(target_asff.clone());
    let second = exceptions::create(&pool, &new_exception(&member), "test").await.unwrap().id;
    let deferred = sender(&d, &r).drain().await.unwrap();
    assert_eq!(deferred.workflow.deferred, 1, "{deferred:?}");
    assert_eq!(workflow_of(&pool, &target.id).await.as_deref(), Some("NEW"));
    let (error,): (String,) =
        sqlx::query_as("select last_error from security_hub_workflow_outbox where finding_id = $1")
            .bind(&target.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(error.starts_with("FindingNotFound"), "{error}");
    refuse.lock().unwrap().clear();
    sqlx::query("update security_hub_workflow_outbox set next_attempt_at = now()").execute(&pool).await.unwrap();
    let retried = sender(&d, &r).drain().await.unwrap();
    assert_eq!((retried.workflow.updated, retried.workflow_pending), (1, 0), "{retried:?}");
    assert_eq!(workflow_of(&pool, &target.id).await.as_deref(), Some("SUPPRESSED"));

    // Withdrawn through the API: lifted again.
    let withdrawn = call(&app, "DELETE", &format!("/api/v1/exceptions/{second}"), Some(OPERATOR)).await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.text);
    for _ in 0..200 {
        if workflow_of(&pool, &target.id).await.as_deref() == Some("NEW") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(workflow_of(&pool, &target.id).await.as_deref(), Some("NEW"));
    runner.wait_idle().await;

    // An exception withdrawn before its suppression was sent sends nothing at all.
    let third = exceptions::create(&pool, &new_exception(&member), "test").await.unwrap().id;
    exceptions::withdraw(&pool, third, "test").await.unwrap();
    let before = updates.lock().unwrap().len();
    sender(&d, &r).drain().await.unwrap();
    let suppressions_after_withdrawal = sent_since(&updates, before).iter().filter(|s| s.1 == "SUPPRESSED").count();
    assert_eq!(suppressions_after_withdrawal, 0);
    assert_eq!(workflow_of(&pool, &target.id).await.as_deref(), Some("NEW"));

    // The opt-in suppression policy allows exactly what was sent, and nothing else of the kind.
    let policy: Value =
        serde_json::from_str(include_str!("../../deploy/security-hub-suppression-policy.json")).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let allow = statements
        .iter()
        .find(|s| s["Effect"] == "Allow" && s["Action"] == "securityhub:BatchUpdateFindings")
        .expect("the suppression policy allows BatchUpdateFindings");
    assert_eq!(allow["Resource"], "arn:aws:securityhub:*:${aws:PrincipalAccount}:hub/default");
    let allowed: BTreeSet<&str> = allow["Condition"]["StringEquals"]["securityhub:ASFFSyntaxPath/Workflow.Status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let used: BTreeSet<String> = sent_since(&updates, 0).into_iter().map(|s| s.1).collect();
    assert_eq!(allowed, used.iter().map(String::as_str).collect(), "policy values = values sent");
    // Every other field a customer owns is denied, each on its own: keys in one condition
    // block are ANDed, so a block listing several would deny only a request setting all.
    let denied: BTreeSet<&str> = statements
        .iter()
        .filter(|s| s["Effect"] == "Deny" && s["Action"] == "securityhub:BatchUpdateFindings")
        .map(|s| {
            let null = s["Condition"]["Null"].as_object().unwrap();
            assert_eq!((s["Condition"].as_object().unwrap().len(), null.len()), (1, 1), "one key per Deny: {s}");
            let (key, value) = null.iter().next().unwrap();
            assert_eq!(value, "false");
            key.strip_prefix("securityhub:ASFFSyntaxPath/").unwrap()
        })
        .collect();
    for field in ["Confidence", "Criticality", "RelatedFindings", "Severity.Label", "Types", "VerificationState"] {
        assert!(denied.contains(field), "{field} is not denied");
    }
    // What the sender sets is not among them.
    let body = updates.lock().unwrap()[0].1.clone();
    let sent_fields: BTreeSet<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(sent_fields, BTreeSet::from(["FindingIdentifiers", "Note", "Workflow"]));

    // Fixed while suppressed: archived, and nothing is sent to an archived finding (Security
    // Hub may delete it) even when the exception ends; when it fails again, the delivery that
    // reopens it lifts the suppression at once.
    let fourth = exceptions::create(&pool, &new_exception(&member), "test").await.unwrap().id;
    sender(&d, &r).drain().await.unwrap();
    assert_eq!(workflow_of(&pool, &target.id).await.as_deref(), Some("SUPPRESSED"));
    aws_sdk_config::Client::new(&m)
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .unwrap();
    let fixed = crate::helpers::run_sweep(&d, "test").await.unwrap();
    let before = updates.lock().unwrap().len();
    let archived = sender(&d, &fixed).drain().await.unwrap();
    assert!(archived.imported >= 1 && archived.workflow.requests == 0, "{archived:?}");
    exceptions::withdraw(&pool, fourth, "test").await.unwrap();
    let quiet = sender(&d, &fixed).drain().await.unwrap();
    assert_eq!((quiet.workflow.requests, quiet.workflow_pending), (0, 0), "{quiet:?}");
    assert_eq!(updates.lock().unwrap().len(), before);
    seed::stop_config_recorder(&m).await;
    let broken = crate::helpers::run_sweep(&d, "test").await.unwrap();
    let reopened = sender(&d, &broken).drain().await.unwrap();
    assert!(reopened.imported >= 1, "{reopened:?}");
    let sent = sent_since(&updates, before);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].1 == "NEW" && sent[0].2.contains(&target_asff), "{sent:?}");
    assert_eq!(workflow_of(&pool, &target.id).await.as_deref(), Some("NEW"));
}
