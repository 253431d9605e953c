//! Replicas of `serve` (the real binary) on one database and one emulator: one is killed
//! with SIGKILL mid-sweep; the other takes the sweep over once its lease lapsed, and the
//! sweep completes once, every account recorded exactly once. Also: a sweep is refused while
//! another process's lease is live, and resumed (same id) once it lapsed.
//!
//! Figures printed for the notes (run with `--nocapture`): the takeover time after
//! `kill -9`, and the org's sweep time with one replica and with two.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use bedrock_sweeper::store::sweeps;
use bedrock_sweeper::sweep::{self, SweepError};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::api::{OPERATOR, VIEWER, app, call, get};
use super::helpers::{Moto, assert_totals_match_findings, test_db};
use super::proxy::Proxy;
use super::seed::Org;
use super::sweep_e2e::deps;

/// Short, so the test waits seconds, not minutes; holders renew every second.
const LEASE_SECONDS: i64 = 3;

/// A `serve` process; killed on drop.
struct Serve {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Serve {
    async fn start(db_url: &str, aws_endpoint: &str, log: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let hash = |t: &str| hex::encode(Sha256::digest(t.as_bytes()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bedrock-sweeper"));
        for (k, _) in std::env::vars() {
            if k.starts_with("SWEEPER_") || k.starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .arg("serve")
            .env("SWEEPER_DATABASE__URL", db_url)
            .env("SWEEPER_API__LISTEN", format!("127.0.0.1:{port}"))
            .env("SWEEPER_API__TOKENS", format!("viewer:{},operator:{}", hash(VIEWER), hash(OPERATOR)))
            // Never during the test: every sweep here is started by POST or taken over.
            .env("SWEEPER_API__SCHEDULE", "0 0 0 1 1 *")
            .env("SWEEPER_SECURITY_HUB__ENABLED", "false")
            .env("SWEEPER_SWEEP__LEASE_SECONDS", LEASE_SECONDS.to_string())
            .env("SWEEPER_SWEEP__REGIONS", "us-east-1")
            .env("SWEEPER_SWEEP__ACCOUNT_CONCURRENCY", "2")
            .env("SWEEPER_CONTROLS__APPROVED_REGIONS", "us-east-1")
            .env("SWEEPER_AWS__MANAGEMENT_ACCOUNT_ACCESS", "own-credentials")
            .env("SWEEPER_AWS__S3_FORCE_PATH_STYLE", "true")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", aws_endpoint)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let serve = Self { child, port, log: log.to_owned() };
        for _ in 0..200 {
            if http(port, "GET", "/readyz", VIEWER).await.is_some_and(|(s, _)| s == 200) {
                return serve;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("serve did not become ready: {}", serve.log_text());
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The prefix of the owner id this process's sweep driver holds leases under.
    fn sweep_owner_prefix(&self) -> String {
        format!("sweep-{}-", self.pid())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn post_sweep(&self) -> uuid::Uuid {
        let (status, body) = http(self.port, "POST", "/api/v1/sweeps", OPERATOR).await.unwrap();
        assert_eq!(status, 202, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["sweep_id"].as_str().unwrap().parse().unwrap()
    }

    /// Polls `GET /sweeps/{id}` until the sweep is no longer running.
    async fn wait_finished(&self, id: uuid::Uuid, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (status, body) = http(self.port, "GET", &format!("/api/v1/sweeps/{id}"), VIEWER).await.unwrap();
            assert_eq!(status, 200, "{body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            if v["status"] != "running" {
                return v;
            }
            assert!(Instant::now() < deadline, "sweep {id} still running: {v}\n{}", self.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One HTTP/1.1 request on its own connection: (status, body), or `None` if nothing answers.
async fn http(port: u16, method: &str, path: &str, token: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).await.ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

async fn lease_owner(pool: &PgPool, id: uuid::Uuid) -> Option<String> {
    let (owner,): (Option<String>,) =
        sqlx::query_as("select lease_owner from sweeps where id = $1").bind(id).fetch_one(pool).await.unwrap();
    owner
}

async fn count(pool: &PgPool, sql: &'static str, id: uuid::Uuid) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).bind(id).fetch_one(pool).await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_sweep_is_taken_over_and_its_sweep_completes_once() {
    const MEMBERS: usize = 6;
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    for i in 0..MEMBERS {
        org.account(&format!("member{i}"), &org.root).await;
    }
    let proxy = Proxy::start(moto.port).await;
    let (pool, db_url) = test_db().await;
    let logs = tempfile::tempdir().unwrap();
    let a = Serve::start(&db_url, &proxy.endpoint(), &logs.path().join("a.log")).await;
    let b = Serve::start(&db_url, &proxy.endpoint(), &logs.path().join("b.log")).await;

    // A slow AWS, so the sweep is still running when its process is killed.
    proxy.delay(Duration::from_millis(120));
    let id = a.post_sweep().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let done_at_kill = loop {
        let done = count(&pool, "select count(*) from sweep_tasks where sweep_id = $1 and state = 'done'", id).await;
        if done >= 2 {
            break done;
        }
        assert!(Instant::now() < deadline, "no progress: {}", a.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(lease_owner(&pool, id).await.is_some_and(|o| o.starts_with(&a.sweep_owner_prefix())), "A drives it");
    let accounts = i64::try_from(MEMBERS).unwrap() + 1;
    assert!(done_at_kill < accounts, "the sweep ended before the kill; make AWS slower");

    // kill -9: A's leases are neither renewed nor handed back.
    let mut a = a;
    let killed_at = Instant::now();
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let takeover = loop {
        if lease_owner(&pool, id).await.is_some_and(|o| o.starts_with(&b.sweep_owner_prefix())) {
            break killed_at.elapsed();
        }
        assert!(killed_at.elapsed() < Duration::from_secs(30), "not taken over: {}", b.log_text());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let lease = Duration::from_secs(u64::try_from(LEASE_SECONDS).unwrap());
    let renewal = lease / 3;
    eprintln!(
        "takeover after kill -9: {:.2} s (lease {LEASE_SECONDS} s, renewed every {:.1} s; {done_at_kill} of {accounts} accounts done at the kill)",
        takeover.as_secs_f64(),
        renewal.as_secs_f64()
    );
    // A renewed at most one renewal interval before the kill: the lease lapsed between
    // lease - renewal and lease after it; B takes over as soon as it has, never before.
    assert!(
        takeover + renewal + Duration::from_millis(300) >= lease,
        "taken over before the lease lapsed: {takeover:?}"
    );
    assert!(
        takeover <= lease + Duration::from_secs(1),
        "taken over {takeover:?} after the kill; the lease is {lease:?}"
    );

    let finished = b.wait_finished(id, Duration::from_secs(180)).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    assert_eq!(finished["progress"]["done"], accounts);
    assert!(lease_owner(&pool, id).await.is_some_and(|o| o.starts_with(&b.sweep_owner_prefix())), "B completed it");

    // Exactly once: one task per account, each done; the accounts A had in flight were swept
    // again by B (attempts 2), their first attempt left nothing behind.
    let tasks: Vec<(String, String, i32)> =
        sqlx::query_as("select account_id, state, attempts from sweep_tasks where sweep_id = $1 order by account_id")
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap();
    eprintln!("tasks (account, state, attempts): {tasks:?}");
    assert_eq!(tasks.len(), MEMBERS + 1);
    assert!(tasks.iter().all(|t| t.1 == "done"), "{tasks:?}");
    assert!(tasks.iter().any(|t| t.2 >= 2), "no account was in flight at the kill: {tasks:?}");
    // A first sweep writes exactly one transition per finding (its first): none opened twice.
    let events = count(&pool, "select count(*) from finding_events where sweep_id = $1", id).await;
    let findings = count(&pool, "select count(*) from findings where last_sweep_id = $1", id).await;
    let twice = count(
        &pool,
        "select count(*) from (select finding_id from finding_events where sweep_id = $1
                               group by finding_id having count(*) > 1) t",
        id,
    )
    .await;
    assert_eq!((twice, events), (0, findings), "transitions written twice");
    let dup_gaps = count(
        &pool,
        "select count(*) from (select 1 from collection_gaps where sweep_id = $1
                               group by account_id, region, service, operation, code having count(*) > 1) t",
        id,
    )
    .await;
    assert_eq!(dup_gaps, 0, "an account's gaps were recorded twice");
    // Identical members: the same number of findings each, however their sweep went.
    let per_account: Vec<(String, i64)> = sqlx::query_as(
        "select account_id, count(*) from findings where last_sweep_id = $1 group by account_id order by account_id",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(per_account.len(), MEMBERS + 1, "{per_account:?}");
    let mgmt = org.management_account.clone();
    let member_counts: Vec<i64> = per_account.iter().filter(|(a, _)| *a != mgmt).map(|(_, n)| *n).collect();
    assert!(member_counts.windows(2).all(|w| w[0] == w[1]), "{per_account:?}");
    assert_totals_match_findings(&pool).await;

    // No second sweep follows: the survivor only takes over, it does not start one.
    tokio::time::sleep(lease + Duration::from_secs(1)).await;
    let (sweeps_total,): (i64,) = sqlx::query_as("select count(*) from sweeps").fetch_one(&pool).await.unwrap();
    assert_eq!(sweeps_total, 1, "a second sweep started");

    // The org's sweep time, undelayed, with one replica and with two (one drives, one stands by).
    proxy.delay(Duration::ZERO);
    let started = Instant::now();
    let one = b.post_sweep().await;
    assert_eq!(b.wait_finished(one, Duration::from_secs(180)).await["status"], "completed");
    let with_one = started.elapsed();
    let c = Serve::start(&db_url, &proxy.endpoint(), &logs.path().join("c.log")).await;
    let started = Instant::now();
    let two = c.post_sweep().await;
    assert_eq!(c.wait_finished(two, Duration::from_secs(180)).await["status"], "completed");
    let with_two = started.elapsed();
    assert!(lease_owner(&pool, two).await.is_some_and(|o| o.starts_with(&c.sweep_owner_prefix())));
    eprintln!(
        "sweep of {accounts} accounts (1 region, 2 workers): one replica {:.2} s, two replicas {:.2} s",
        with_one.as_secs_f64(),
        with_two.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_is_refused_while_another_process_holds_its_lease_and_resumed_once_it_lapsed() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    org.account("member", &org.root).await;
    let (pool, _) = test_db().await;
    // Another process started a sweep and is reading the organization (nothing planned yet).
    let id = sweeps::start(&pool, "schedule", "sweep-elsewhere", 60).await.unwrap().unwrap();

    let (app, runner) = app(&moto.endpoint(), pool.clone()).await;
    let r = call(&app, "POST", "/api/v1/sweeps", Some(OPERATOR)).await;
    r.error(StatusCode::CONFLICT, "sweep_running");
    assert_eq!(r.json()["error"]["sweep_id"], id.to_string());
    match sweep::run(&deps(&moto.endpoint(), pool.clone()).await, "cli").await {
        Err(SweepError::AlreadyRunning(running)) => assert_eq!(running, id),
        other => panic!("not refused: {other:?}"),
    }
    assert_eq!(bedrock_sweeper::scheduler::resume_interrupted(&runner).await.unwrap(), None, "live: left alone");

    // That process died in discovery: its lease lapses, and the next trigger resumes the
    // same sweep (reading the organization itself) instead of answering 409.
    sqlx::query("update sweeps set lease_expires_at = now() - interval '1 second'").execute(&pool).await.unwrap();
    let r = call(&app, "POST", "/api/v1/sweeps", Some(OPERATOR)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json()["sweep_id"], id.to_string());
    let mut after = Value::Null;
    for _ in 0..300 {
        after = get(&app, &format!("/api/v1/sweeps/{id}")).await;
        if after["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(after["status"], "completed", "{after}");
    assert_eq!(after["trigger"], "schedule", "the same sweep, not a new one");
    assert_eq!((after["progress"]["done"].as_i64(), after["progress"]["total"].as_i64()), (Some(2), Some(2)));
    assert_eq!(get(&app, "/api/v1/sweeps").await["sweeps"].as_array().unwrap().len(), 1, "no second sweep");
    assert_ne!(lease_owner(&pool, id.0).await.as_deref(), Some("sweep-elsewhere"));
    runner.wait_idle().await;
}
