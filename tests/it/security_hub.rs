//! Security Hub delivery: against moto end to end, and with replayed answers (the proxy)
//! for what moto does not do (batch limits, FailedFindings, throttling, hub not enabled).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bedrock_sweeper::export::sender::Sender;
use bedrock_sweeper::store::outbox::OutboxPolicy;
use bedrock_sweeper::sweep::SweepReport;
use serde_json::{Value, json};
use sqlx::PgPool;

use super::helpers::{Moto, assert_totals_match_findings, test_db};
use super::proxy::{Proxy, Reply};
use super::seed::{self, Org};
use super::sweep_e2e::deps;
use bedrock_sweeper::domain::Status;

pub(super) fn policy() -> OutboxPolicy {
    OutboxPolicy { region: "us-east-1".into(), central_account: None, heartbeat: chrono::Duration::days(7) }
}

/// A member account whose Security Hub (and the management account's) is enabled and whose
/// Config recorder does not record, so BR.CFG.1 fails there. Returns its id and SDK config.
pub(super) async fn member_with_hub(org: &Org) -> (String, aws_config::SdkConfig) {
    let member = org.account("member", &org.root).await;
    let m = org.member(&member).await;
    aws_sdk_securityhub::Client::new(&m).enable_security_hub().send().await.unwrap();
    aws_sdk_securityhub::Client::new(&org.mgmt).enable_security_hub().send().await.unwrap();
    seed::bucket(&m, "member-config", None).await;
    seed::config_recorder(&m, "member-config", false).await;
    (member, m)
}

pub(super) fn sender(d: &bedrock_sweeper::sweep::SweepDeps, r: &SweepReport) -> Sender {
    Sender {
        pool: d.pool.clone(),
        aws: d.aws.clone(),
        catalog: Arc::clone(&d.catalog),
        management_account: r.management_account.clone(),
        hub: bedrock_sweeper::store::workflow::DefaultTarget { region: "us-east-1".into(), central_account: None },
        concurrency: 2,
        retry_base: chrono::Duration::zero(),
        max_requests: None,
        counters: Arc::default(),
    }
}

/// Every finding moto's Security Hub holds for `account` (moto ignores filters: filter here).
async fn hub_findings(org: &Org, account: &str) -> HashMap<String, aws_sdk_securityhub::types::AwsSecurityFinding> {
    let cfg = org.member(account).await;
    let account = account.to_owned();
    // The generated GetFindings deserialiser (every ASFF resource type) needs a deep stack
    // in debug builds: read on a thread with room for it.
    std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let out = aws_sdk_securityhub::Client::new(&cfg).get_findings().max_results(100).send().await.unwrap();
                out.findings
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|f| f.aws_account_id.as_deref() == Some(account.as_str()))
                    .map(|f| (f.id.clone().unwrap(), f))
                    .collect()
            })
        })
        .unwrap()
        .join()
        .unwrap()
}

async fn outbox_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from security_hub_outbox").fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_are_imported_resolved_and_not_resent() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    let (member, m) = member_with_hub(&org).await;

    let (pool, _) = test_db().await;
    let mut d = deps(&moto.endpoint(), pool.clone()).await;
    d.security_hub = Some(policy());
    let r1 = crate::helpers::run_sweep(&d, "test").await.unwrap();
    let sent1 = sender(&d, &r1).drain().await.unwrap();
    assert_eq!((sent1.failed, sent1.deferred, sent1.pending), (0, 0, 0), "{sent1:?}");

    // What Security Hub holds is exactly our fail/error findings of that account.
    let expected: Vec<&bedrock_sweeper::domain::FindingRecord> = r1
        .findings
        .iter()
        .filter(|f| f.account_id == member && (f.status == Status::Fail || f.status == Status::Error))
        .collect();
    let hub = hub_findings(&org, &member).await;
    assert_eq!(hub.len(), expected.len(), "{:?}", hub.keys().collect::<Vec<_>>());
    let cfg1 = r1.findings.iter().find(|f| f.control_id == "BR.CFG.1" && f.account_id == member).unwrap();
    let asff_id = format!("bedrock-sweeper/v1/{}", cfg1.id);
    let in_hub = &hub[&asff_id];
    assert_eq!(in_hub.generator_id.as_deref(), Some("BR.CFG.1"));
    assert_eq!(in_hub.compliance.as_ref().and_then(|c| c.status.as_ref()).map(|s| s.as_str()), Some("FAILED"));
    assert_eq!(in_hub.record_state.as_ref().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(
        in_hub.product_arn.as_deref(),
        Some(format!("arn:aws:securityhub:us-east-1:{member}:product/{member}/default").as_str())
    );
    let created = in_hub.created_at.clone().unwrap();
    // The management account's own findings went to its own hub, not the member's.
    assert!(hub.values().all(|f| f.aws_account_id.as_deref() == Some(member.as_str())));
    assert!(!hub_findings(&org, &org.management_account).await.is_empty());

    // Fix the recorder: the finding is resolved (PASSED + ARCHIVED), CreatedAt unchanged.
    aws_sdk_config::Client::new(&m)
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .unwrap();
    let r2 = crate::helpers::run_sweep(&d, "test").await.unwrap();
    let sent2 = sender(&d, &r2).drain().await.unwrap();
    assert_eq!(sent2.imported, 1, "only the resolved finding is sent: {sent2:?}");
    let resolved = &hub_findings(&org, &member).await[&asff_id];
    assert_eq!(resolved.compliance.as_ref().and_then(|c| c.status.as_ref()).map(|s| s.as_str()), Some("PASSED"));
    assert_eq!(resolved.record_state.as_ref().map(|s| s.as_str()), Some("ARCHIVED"));
    assert_eq!(resolved.created_at.as_deref(), Some(created.as_str()));
    assert!(resolved.updated_at > in_hub.updated_at);

    // Nothing changed: nothing is sent.
    let r3 = crate::helpers::run_sweep(&d, "test").await.unwrap();
    let sent3 = sender(&d, &r3).drain().await.unwrap();
    assert_eq!((sent3.imported, sent3.requests), (0, 0), "{sent3:?}");
    assert_eq!(outbox_count(&pool).await, 0);

    // It regresses: the same Id is re-opened (ACTIVE + FAILED again).
    seed::stop_config_recorder(&m).await;
    let r4 = crate::helpers::run_sweep(&d, "test").await.unwrap();
    let sent4 = sender(&d, &r4).drain().await.unwrap();
    assert_eq!(sent4.imported, 1, "{sent4:?}");
    assert_totals_match_findings(&pool).await;
    let reopened = &hub_findings(&org, &member).await[&asff_id];
    assert_eq!(reopened.compliance.as_ref().and_then(|c| c.status.as_ref()).map(|s| s.as_str()), Some("FAILED"));
    assert_eq!(reopened.record_state.as_ref().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(reopened.created_at.as_deref(), Some(created.as_str()));

    // The heartbeat: once it is due, unchanged active findings are re-sent (and only those).
    sqlx::query("update findings set sh_sent_at = sh_sent_at - interval '8 days'").execute(&pool).await.unwrap();
    let r5 = crate::helpers::run_sweep(&d, "test").await.unwrap();
    let sent5 = sender(&d, &r5).drain().await.unwrap();
    let active_in_hub: u64 =
        r5.findings.iter().filter(|f| f.status == Status::Fail || f.status == Status::Error).count() as u64;
    assert_eq!(sent5.imported, active_in_hub, "{sent5:?}");
}

/// Each request the fake hub received: the caller's account and the (Id, UpdatedAt) of each finding.
type Received = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

/// A proxy answering BatchImportFindings itself, recording what it received.
struct FakeHub {
    received: Received,
}

fn fake_hub(proxy: &Proxy, answer: impl Fn(&str, &[Value], usize) -> Option<Reply> + Send + Sync + 'static) -> FakeHub {
    let received: Received = Arc::default();
    let log = Arc::clone(&received);
    proxy.rule(move |req| {
        if req.path != "/findings/import" {
            return None;
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let findings = body["Findings"].as_array().cloned().unwrap_or_default();
        let account = req.account.clone().unwrap_or_default();
        let call = {
            let mut l = log.lock().unwrap();
            l.push((
                account.clone(),
                findings
                    .iter()
                    .map(|f| (f["Id"].as_str().unwrap().to_owned(), f["UpdatedAt"].as_str().unwrap().to_owned()))
                    .collect(),
            ));
            l.len()
        };
        if findings.len() > 100 {
            // What AWS does with more than 100 findings.
            return Some(Reply {
                status: 400,
                content_type: "application/json",
                body: json!({"__type": "InvalidInputException", "Message": "Findings: at most 100"}).to_string(),
            });
        }
        if let Some(reply) = answer(&account, &findings, call) {
            return Some(reply);
        }
        Some(Reply::json(json!({"FailedCount": 0, "SuccessCount": findings.len(), "FailedFindings": []})))
    });
    FakeHub { received }
}

/// An organization with one member holding `principals` over-broad IAM roles (one failing
/// finding each), swept with delivery on.
async fn broad_iam_org(
    proxy: &Proxy,
    moto: &Moto,
    principals: usize,
) -> (Org, String, bedrock_sweeper::sweep::SweepDeps, crate::helpers::Swept) {
    let org = Org::create(&moto.endpoint()).await;
    let member = org.account("member", &org.root).await;
    let m = org.member(&member).await;
    let iam = aws_sdk_iam::Client::new(&m);
    for i in 0..principals {
        iam.create_user().user_name(format!("u{i}")).send().await.unwrap();
        iam.put_user_policy()
            .user_name(format!("u{i}"))
            .policy_name("all")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}"#,
            )
            .send()
            .await
            .unwrap();
    }
    let (pool, _) = test_db().await;
    let mut d = deps(&proxy.endpoint(), pool).await;
    d.security_hub = Some(policy());
    let r = crate::helpers::run_sweep(&d, "test").await.unwrap();
    (org, member, d, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_stay_within_100_and_a_stopped_drain_loses_and_duplicates_nothing() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let hub = fake_hub(&proxy, |_, _, _| None);
    let (_org, member, d, r) = broad_iam_org(&proxy, &moto, 230).await;
    let to_send: i64 = sqlx::query_scalar("select count(*) from security_hub_outbox").fetch_one(&d.pool).await.unwrap();
    assert!(to_send > 230, "{to_send}");

    // Stop after the first request, as a crash or shutdown would.
    let mut s = sender(&d, &r);
    s.max_requests = Some(1);
    let first = s.drain().await.unwrap();
    assert_eq!(first.requests, 1);
    assert!(first.pending > 0);
    let second = sender(&d, &r).drain().await.unwrap();
    assert_eq!(first.imported + second.imported, to_send as u64);
    assert_eq!(second.pending, 0);

    let received = hub.received.lock().unwrap().clone();
    assert!(
        received.iter().all(|(_, batch)| !batch.is_empty() && batch.len() <= 100),
        "batch sizes {:?}",
        received.iter().map(|(_, b)| b.len()).collect::<Vec<_>>()
    );
    let member_ids: Vec<&String> =
        received.iter().filter(|(a, _)| a == &member).flat_map(|(_, b)| b.iter().map(|(id, _)| id)).collect();
    let unique: std::collections::HashSet<&&String> = member_ids.iter().collect();
    assert_eq!(unique.len(), member_ids.len(), "no finding was sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_findings_throttling_and_a_disabled_hub() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let disabled: Arc<Mutex<Option<String>>> = Arc::default();
    let rejected: Arc<Mutex<HashMap<String, &'static str>>> = Arc::default();
    let (dis, rej) = (Arc::clone(&disabled), Arc::clone(&rejected));
    let hub = fake_hub(&proxy, move |account, findings, call| {
        if dis.lock().unwrap().as_deref() == Some(account) {
            return Some(Reply {
                status: 401,
                content_type: "application/json",
                body: json!({"__type": "InvalidAccessException", "Message": "Account is not subscribed to AWS Security Hub"}).to_string(),
            });
        }
        if call == 1 {
            return Some(Reply {
                status: 429,
                content_type: "application/json",
                body: json!({"__type": "LimitExceededException", "Message": "Rate exceeded"}).to_string(),
            });
        }
        let rej = rej.lock().unwrap();
        let failed: Vec<Value> = findings
            .iter()
            .filter_map(|f| {
                let id = f["Id"].as_str().unwrap();
                rej.get(id).map(|code| json!({"Id": id, "ErrorCode": code, "ErrorMessage": "rejected by the test"}))
            })
            .collect();
        Some(Reply::json(
            json!({"FailedCount": failed.len(), "SuccessCount": findings.len() - failed.len(), "FailedFindings": failed}),
        ))
    });
    let (org, member, d, r) = broad_iam_org(&proxy, &moto, 3).await;
    let mgmt_items: Vec<String> =
        sqlx::query_scalar("select finding_id from security_hub_outbox where target_account = $1 order by 1")
            .bind(&org.management_account)
            .fetch_all(&d.pool)
            .await
            .unwrap();
    let (invalid, no_product) =
        (format!("bedrock-sweeper/v1/{}", mgmt_items[0]), format!("bedrock-sweeper/v1/{}", mgmt_items[1]));
    rejected.lock().unwrap().extend([(invalid.clone(), "InvalidInput"), (no_product.clone(), "InvalidAccess")]);
    *disabled.lock().unwrap() = Some(member.clone());

    let mut s = sender(&d, &r);
    s.retry_base = chrono::Duration::hours(1);
    let first = s.drain().await.unwrap();
    // Throttled once (HTTP 429), retried by the SDK: the management account's batch went through.
    let mgmt_requests = hub.received.lock().unwrap().iter().filter(|(a, _)| a.is_empty()).count();
    assert_eq!(mgmt_requests, 2, "the throttled request was retried once");
    assert_eq!(first.imported as usize, mgmt_items.len() - 2, "{first:?}");
    assert_eq!(first.failed, 1, "InvalidInput is kept as failed");
    // The member's hub is off: deferred and recorded, nothing lost.
    assert!(first.unusable_targets.contains(&format!("{member}/us-east-1: not_enabled")), "{first:?}");
    let waiting: Vec<(String, String)> =
        sqlx::query_as("select target_account, last_error from security_hub_outbox where state = 'pending'")
            .fetch_all(&d.pool)
            .await
            .unwrap();
    assert_eq!(first.pending as usize, waiting.len());
    assert!(waiting.iter().any(|(a, e)| a == &org.management_account && e.starts_with("InvalidAccess")));
    assert!(waiting.iter().filter(|(a, _)| a == &member).all(|(_, e)| e.starts_with("InvalidAccessException")));

    let seen_before = hub.received.lock().unwrap().len();
    // Time passes, the hub gets enabled and the product too: everything waiting is delivered;
    // the InvalidInput finding is never retried.
    *disabled.lock().unwrap() = None;
    rejected.lock().unwrap().remove(&no_product);
    sqlx::query("update security_hub_outbox set next_attempt_at = now()").execute(&d.pool).await.unwrap();
    let second = s.drain().await.unwrap();
    assert_eq!((second.pending, second.failed_total), (0, 1), "{second:?}");
    assert_eq!(second.imported as usize, waiting.len());
    assert!(second.unusable_targets.is_empty(), "{second:?}");
    let resent_invalid = hub.received.lock().unwrap()[seen_before..]
        .iter()
        .flat_map(|(_, b)| b.iter())
        .filter(|(id, _)| *id == invalid)
        .count();
    assert_eq!(resent_invalid, 0, "an InvalidInput finding is not retried");
}
