//! The guarded writes of sweeps and tasks, at the database level: a lease is taken over
//! only once it lapsed, and a holder whose lease was taken over can no longer write — not
//! its task's result, not the sweep's plan, completion or failure, not a new claim.

use std::time::Duration;

use bedrock_sweeper::aws::CallCounts;
use bedrock_sweeper::catalog::Catalog;
use bedrock_sweeper::domain::AccountId;
use bedrock_sweeper::snapshot::OrgAccount;
use bedrock_sweeper::store::findings::{AccountRecord, record_account};
use bedrock_sweeper::store::sweeps::{self, PlannedTask, Takeover};
use serde_json::json;
use sqlx::PgPool;

use super::helpers::test_db;

const ACCOUNT: &str = "111111111111";

fn account() -> OrgAccount {
    OrgAccount {
        id: AccountId::parse(ACCOUNT).unwrap(),
        name: "member".into(),
        email: "member@example.com".into(),
        status: "ACTIVE".into(),
        parent_id: "r-root".into(),
    }
}

/// A planned sweep with one task, held by `owner` for `lease_seconds`.
async fn planned_sweep(pool: &PgPool, owner: &str, lease_seconds: i64) -> bedrock_sweeper::domain::SweepId {
    let id = sweeps::start(pool, "test", owner, lease_seconds).await.unwrap().unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let hash =
        bedrock_sweeper::store::snapshots::put(&mut conn, "organization", &json!({"test": "org"})).await.unwrap();
    drop(conn);
    let task = PlannedTask { account_id: AccountId::parse(ACCOUNT).unwrap(), skip_reason: None };
    assert!(sweeps::plan(pool, id, owner, &hash, &[task]).await.unwrap());
    id
}

async fn task_row(pool: &PgPool) -> (String, Option<String>, i32) {
    sqlx::query_as("select state, lease_owner, attempts from sweep_tasks").fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_task_was_taken_over_cannot_write_its_result() {
    let (pool, _) = test_db().await;
    let sweep = planned_sweep(&pool, "sweep-p1", 60).await;
    let acct = AccountId::parse(ACCOUNT).unwrap();

    assert_eq!(
        sweeps::claim(&pool, sweep, "worker-1", Some("sweep-p1"), 1).await.unwrap().map(|(a, _)| a),
        Some(acct.clone())
    );
    // Live: nobody else gets it, and its holder renews it.
    assert_eq!(sweeps::claim(&pool, sweep, "worker-2", Some("sweep-p1"), 1).await.unwrap().map(|(a, _)| a), None);
    assert!(sweeps::renew_task(&pool, sweep, &acct, "worker-1", 1).await.unwrap());
    assert_eq!(sweeps::claim(&pool, sweep, "worker-2", Some("sweep-p1"), 1).await.unwrap().map(|(a, _)| a), None);

    // worker-1 stalls past its lease: worker-2 takes the task over.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        sweeps::claim(&pool, sweep, "worker-2", Some("sweep-p1"), 60).await.unwrap().map(|(a, _)| a),
        Some(acct.clone())
    );
    assert_eq!(task_row(&pool).await, ("running".into(), Some("worker-2".into()), 2));

    // worker-1 can neither renew, nor hand it back, nor record its result.
    assert!(!sweeps::renew_task(&pool, sweep, &acct, "worker-1", 60).await.unwrap());
    sweeps::release(&pool, sweep, &acct, "worker-1").await.unwrap();
    assert_eq!(task_row(&pool).await, ("running".into(), Some("worker-2".into()), 2));
    let catalog = Catalog::embedded().unwrap();
    let member = account();
    let evidence = json!({"from": "worker-1"});
    let complete = bedrock_sweeper::evaluate::inputs::Incomplete::default();
    let record = |owner| AccountRecord {
        sweep,
        owner,
        account: &member,
        ou_path: "Root".into(),
        assessed: false,
        evidence: &evidence,
        evaluations: &[],
        incomplete: &complete,
        gaps: Vec::new(),
        security_hub: None,
    };
    let lost = record_account(&pool, &catalog, &record("worker-1")).await.unwrap();
    assert!(lost.is_err(), "the worker whose lease was taken over wrote its result");
    let accounts: (i64,) = sqlx::query_as("select count(*) from accounts").fetch_one(&pool).await.unwrap();
    assert_eq!(accounts.0, 0, "nothing of worker-1's result is stored");

    // The new holder's result is recorded, once.
    assert!(record_account(&pool, &catalog, &record("worker-2")).await.unwrap().is_ok());
    assert_eq!(task_row(&pool).await, ("done".into(), None, 2));
    assert!(record_account(&pool, &catalog, &record("worker-2")).await.unwrap().is_err(), "recorded twice");
    assert!(!sweeps::renew_task(&pool, sweep, &acct, "worker-2", 60).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_whose_sweep_lease_was_taken_over_cannot_write_the_sweep() {
    let (pool, _) = test_db().await;
    let sweep = planned_sweep(&pool, "sweep-p1", 1).await;
    let acct = AccountId::parse(ACCOUNT).unwrap();

    // Live: another process can neither take it over nor start a second sweep.
    assert!(matches!(sweeps::take_over(&pool, "sweep-p2", 60).await.unwrap(), Takeover::Live(id) if id == sweep));
    assert_eq!(sweeps::start(&pool, "test", "sweep-p2", 60).await.unwrap(), None);
    // Only the holder's workers claim.
    assert_eq!(sweeps::claim(&pool, sweep, "worker-p2", Some("sweep-p2"), 60).await.unwrap().map(|(a, _)| a), None);

    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (_, left) = sweeps::running_lease(&pool).await.unwrap().unwrap();
    assert!(left <= 0.0, "lapsed: {left}");
    match sweeps::take_over(&pool, "sweep-p2", 60).await.unwrap() {
        Takeover::Taken(row) => assert_eq!(row.id, sweep),
        other => panic!("not taken over: {other:?}"),
    }
    assert!(matches!(sweeps::take_over(&pool, "sweep-p3", 60).await.unwrap(), Takeover::Live(_)), "taken twice");

    // p1 lost it: no renewal, no plan, no claim, no completion, no failure.
    assert!(!sweeps::renew(&pool, sweep, "sweep-p1", 60).await.unwrap());
    let mut conn = pool.acquire().await.unwrap();
    let hash =
        bedrock_sweeper::store::snapshots::put(&mut conn, "organization", &json!({"other": "org"})).await.unwrap();
    drop(conn);
    let extra = PlannedTask { account_id: AccountId::parse("222222222222").unwrap(), skip_reason: None };
    assert!(!sweeps::plan(&pool, sweep, "sweep-p1", &hash, &[extra]).await.unwrap());
    assert_eq!(sweeps::progress(&pool, sweep).await.unwrap(), (0, 1), "p1's plan added nothing");
    assert_eq!(sweeps::claim(&pool, sweep, "worker-p1", Some("sweep-p1"), 60).await.unwrap().map(|(a, _)| a), None);
    assert!(!sweeps::complete(&pool, sweep, "sweep-p1", &CallCounts::new()).await.unwrap());
    assert!(!sweeps::fail(&pool, sweep, "sweep-p1", &CallCounts::new(), "p1").await.unwrap());
    sweeps::release_sweep(&pool, sweep, "sweep-p1").await.unwrap();
    let row: (String, Option<String>, f64) =
        sqlx::query_as("select status, lease_owner, extract(epoch from lease_expires_at - now())::float8 from sweeps")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((row.0.as_str(), row.1.as_deref()), ("running", Some("sweep-p2")));
    assert!(row.2 > 50.0, "p1's release did not touch p2's lease");

    // p2 drives it to the end.
    assert!(sweeps::renew(&pool, sweep, "sweep-p2", 60).await.unwrap());
    assert_eq!(
        sweeps::claim(&pool, sweep, "worker-p2", Some("sweep-p2"), 60).await.unwrap().map(|(a, _)| a),
        Some(acct)
    );
    let catalog = Catalog::embedded().unwrap();
    let member = account();
    let rec = AccountRecord {
        sweep,
        owner: "worker-p2",
        account: &member,
        ou_path: "Root".into(),
        assessed: false,
        evidence: &json!({}),
        evaluations: &[],
        incomplete: &Default::default(),
        gaps: Vec::new(),
        security_hub: None,
    };
    assert!(record_account(&pool, &catalog, &rec).await.unwrap().is_ok());
    assert!(sweeps::complete(&pool, sweep, "sweep-p2", &CallCounts::new()).await.unwrap());
    assert!(!sweeps::complete(&pool, sweep, "sweep-p2", &CallCounts::new()).await.unwrap(), "completed twice");
    assert!(matches!(sweeps::take_over(&pool, "sweep-p3", 60).await.unwrap(), Takeover::NoneRunning));
}
