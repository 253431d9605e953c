//! Behaviour under AWS faults and interruptions, with the proxy replaying answers shaped
//! as the AWS API reference documents them where moto cannot produce them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bedrock_sweeper::sweep::{self, SweepError};
use serde_json::json;

use super::helpers::{Moto, assert_totals_match_findings, test_db};
use super::proxy::{Proxy, Reply};
use super::seed::{self, Org, TrailSpec};
use super::sweep_e2e::deps;
use bedrock_sweeper::domain::Status;
use bedrock_sweeper::domain::SweepOutcome;

/// GetTrailStatus answered as CloudTrail documents it (awsJson1_1: epoch-second timestamps).
fn trail_status(age_hours: f64, delivery_error: Option<&str>) -> Reply {
    let now = chrono::Utc::now().timestamp() as f64;
    let mut body = json!({
        "IsLogging": true,
        "LatestDeliveryTime": now - age_hours * 3600.0,
        "LatestDigestDeliveryTime": now - age_hours * 3600.0,
        "StartLoggingTime": now - 86400.0 * 30.0,
    });
    if let Some(e) = delivery_error {
        body["LatestDeliveryError"] = json!(e);
    }
    Reply::json(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_health_is_judged_from_trail_status() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let org = Org::create(&moto.endpoint()).await;
    let ok = org.account("healthy", &org.root).await;
    let broken = org.account("broken", &org.root).await;
    for account in [&ok, &broken] {
        let cfg = org.member(account).await;
        let bucket = format!("trail-{account}");
        seed::bucket(&cfg, &bucket, None).await;
        seed::trail(&cfg, TrailSpec::main(&bucket)).await;
    }
    let broken_rule = broken.clone();
    proxy.rule(move |req| {
        (req.action().as_deref() == Some("GetTrailStatus")).then(|| {
            if req.account.as_deref() == Some(broken_rule.as_str()) {
                trail_status(30.0, Some("AccessDenied"))
            } else {
                trail_status(1.0, None)
            }
        })
    });
    let (pool, _) = test_db().await;
    let r = crate::helpers::run_sweep(&deps(&proxy.endpoint(), pool).await, "test").await.unwrap();
    let log4 = |account: &str| {
        r.findings.iter().find(|f| f.control_id == "BR.LOG.4" && f.account_id == account).cloned().unwrap()
    };
    assert_eq!(log4(&ok).status, Status::Pass, "{}", log4(&ok).detail);
    let bad = log4(&broken);
    assert_eq!(bad.status, Status::Fail);
    assert!(
        bad.detail.contains("last delivery failed (AccessDenied)") && bad.detail.contains("30 hours ago"),
        "{}",
        bad.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_and_unimplemented_apis_are_gaps_not_passes() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let org = Org::create(&moto.endpoint()).await;
    let member = org.account("member", &org.root).await;
    let throttled = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&throttled);
    let target = member.clone();
    proxy.rule(move |req| {
        let hit = req.account.as_deref() == Some(target.as_str()) && req.action().as_deref() == Some("DescribeTrails");
        (hit && count.fetch_add(1, Ordering::SeqCst) < 2).then(|| Reply {
            status: 400,
            content_type: "application/x-amz-json-1.1",
            body: json!({"__type": "ThrottlingException", "message": "Rate exceeded"}).to_string(),
        })
    });
    let (pool, _) = test_db().await;
    let mut d = deps(&proxy.endpoint(), pool).await;
    d.aws = bedrock_sweeper::aws::AwsContext::from_config(
        super::helpers::sdk_config(&proxy.endpoint()),
        &bedrock_sweeper::config::AwsSettings {
            management_account_access: bedrock_sweeper::config::ManagementAccess::OwnCredentials,
            s3_force_path_style: true,
            max_attempts: 3,
            ..Default::default()
        },
    );
    let r = crate::helpers::run_sweep(&d, "test").await.unwrap();
    assert_eq!(
        throttled.load(Ordering::SeqCst),
        4,
        "two throttled attempts, the retry that went through, and the second region's call"
    );
    let cloudtrail = &r.aws_calls["CloudTrail"]["DescribeTrails"];
    assert!(cloudtrail.errors >= 2, "{cloudtrail:?}");
    // Trails were read in the end: BR.LOG.1 is a real verdict, not an error.
    let log1 = r.findings.iter().find(|f| f.control_id == "BR.LOG.1" && f.account_id == member).unwrap();
    assert_eq!(log1.status, Status::Fail, "{}", log1.detail);
    // moto answers ListGuardrails with HTTP 500: that is an error and a coverage failure, never a pass.
    let grd = r.findings.iter().find(|f| f.control_id == "BR.GRD.1" && f.account_id == member).unwrap();
    assert_eq!(grd.status, Status::Error, "{}", grd.detail);
    let cov = r.findings.iter().find(|f| f.control_id == "BR.COV.1" && f.account_id == member).unwrap();
    assert_eq!(cov.status, Status::Fail);
    assert!(cov.detail.contains("bedrock:ListGuardrails"), "{}", cov.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_organization_the_sweep_fails_clearly_and_is_recorded() {
    let moto = Moto::start().await;
    let (pool, _) = test_db().await;
    let err = sweep::run(&deps(&moto.endpoint(), pool.clone()).await, "test").await.unwrap_err();
    assert!(matches!(err, SweepError::Discovery(_)), "{err:?}");
    assert!(err.to_string().contains("not in an AWS Organization"), "{err}");
    let (status, error): (String, Option<String>) =
        sqlx::query_as("select status, error from sweeps").fetch_one(&pool).await.unwrap();
    assert_eq!(status, "failed");
    assert!(error.unwrap().contains("AWSOrganizationsNotInUseException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_sweep_is_resumed_not_restarted() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    for name in ["one", "two", "three"] {
        org.account(name, &org.root).await;
    }
    let (pool, _) = test_db().await;
    let mut d = deps(&moto.endpoint(), pool.clone()).await;
    d.sweep.account_concurrency = 1;
    // Stop after the first account: the sweep stays `running` with its tasks in Postgres.
    d.stop.store(true, Ordering::SeqCst);
    let first = crate::helpers::run_sweep(&d, "test").await.unwrap();
    assert_eq!(first.status, SweepOutcome::Interrupted);
    let done: i64 =
        sqlx::query_scalar("select count(*) from sweep_tasks where state = 'done'").fetch_one(&pool).await.unwrap();
    assert_eq!(done, 0, "the stop flag was set before any account was claimed");

    // A crashed worker: one task left `running` with an expired lease.
    sqlx::query("update sweep_tasks set state = 'running', lease_owner = 'dead', lease_expires_at = now() - interval '1 minute' where account_id = (select min(account_id) from sweep_tasks)")
        .execute(&pool)
        .await
        .unwrap();
    d.stop.store(false, Ordering::SeqCst);
    let resumed = crate::helpers::run_sweep(&d, "test").await.unwrap();
    assert!(resumed.resumed);
    assert_eq!(resumed.sweep_id, first.sweep_id);
    assert_eq!(resumed.status, SweepOutcome::Completed);
    assert_eq!(resumed.accounts.assessed, 4);
    assert_totals_match_findings(&pool).await;
    let points: i64 = sqlx::query_scalar("select count(*) from posture_points where sweep_id = $1")
        .bind(first.sweep_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(points, 1, "the resumed sweep recorded its posture point once, when it completed");
    let sweeps: i64 = sqlx::query_scalar("select count(*) from sweeps").fetch_one(&pool).await.unwrap();
    assert_eq!(sweeps, 1);

    // A second process while one runs is refused, across processes (the database says so:
    // the sweep's lease is live).
    sqlx::query(
        "update sweeps set status = 'running', lease_owner = 'alive', lease_expires_at = now() + interval '10 minutes'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("update sweep_tasks set state = 'running', lease_owner = 'alive', lease_expires_at = now() + interval '10 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    let err = sweep::run(&d, "test").await.unwrap_err();
    assert!(matches!(err, SweepError::AlreadyRunning(id) if id == first.sweep_id), "{err:?}");
}

/// An account whose result can never be recorded (here: PostgreSQL refuses its row) hands the
/// sweep back each time; after `MAX_TASK_ATTEMPTS` claims it is given up as not assessed, so
/// the sweep completes instead of running for ever, and its earlier findings stay untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_that_cannot_be_recorded_is_given_up_not_retried_for_ever() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    let poisoned = org.account("poisoned", &org.root).await;
    let fine = org.account("fine", &org.root).await;
    let (pool, _) = test_db().await;
    let d = deps(&moto.endpoint(), pool.clone()).await;
    sweep::run(&d, "test").await.unwrap();
    let before: Vec<(String, String, bool)> =
        sqlx::query_as("select id, status, active from findings where account_id = $1 order by id")
            .bind(&poisoned)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(!before.is_empty());

    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "create function refuse_poisoned() returns trigger language plpgsql as $$
         begin if new.id = '{poisoned}' then raise exception 'refused for the test'; end if; return new; end $$;
         create trigger refuse_poisoned before insert or update on accounts
         for each row execute function refuse_poisoned();"
    )))
    .execute(&pool)
    .await
    .unwrap();

    let mut failures = 0;
    let report = loop {
        match sweep::run(&d, "test").await {
            Ok(r) => break r,
            Err(e) => {
                failures += 1;
                assert!(failures <= sweep::MAX_TASK_ATTEMPTS, "still failing after {failures} runs: {e}");
            }
        }
    };
    assert_eq!(report.status, SweepOutcome::Completed);
    assert!(failures >= 1, "the account's failures end the runs before the give-up");
    assert_eq!(report.accounts.not_assessed, 1, "{:?}", report.accounts);
    let (assessed, attempts): (bool, i32) =
        sqlx::query_as("select assessed, attempts from sweep_tasks where sweep_id = $1 and account_id = $2")
            .bind(report.sweep_id)
            .bind(&poisoned)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(!assessed);
    assert_eq!(attempts, sweep::MAX_TASK_ATTEMPTS + 1);
    let gap: String = sqlx::query_scalar(
        "select code from collection_gaps where sweep_id = $1 and account_id = $2 and service = 'bedrock-sweeper'",
    )
    .bind(report.sweep_id)
    .bind(&poisoned)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(gap, "RetriesExhausted");
    // Nothing about the given-up account changed; the other account was recorded.
    let after: Vec<(String, String, bool)> =
        sqlx::query_as("select id, status, active from findings where account_id = $1 order by id")
            .bind(&poisoned)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(after, before);
    let events: i64 = sqlx::query_scalar(
        "select count(*) from finding_events e join findings f on f.id = e.finding_id
         where e.sweep_id = $1 and f.account_id = $2",
    )
    .bind(report.sweep_id)
    .bind(&poisoned)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(events, 0);
    let fine_done: bool =
        sqlx::query_scalar("select assessed from sweep_tasks where sweep_id = $1 and account_id = $2")
            .bind(report.sweep_id)
            .bind(&fine)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(fine_done);
}
