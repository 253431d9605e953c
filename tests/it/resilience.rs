//! A service that survives its dependencies: PostgreSQL restarted under `serve`, the AWS
//! emulator killed mid-sweep, Security Hub unreachable, HTTP clients that stall or flood,
//! and storage that stays bounded (snapshots stored once per content, retention).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bedrock_sweeper::api;
use bedrock_sweeper::api::limits::{HttpLimits, serve_http};
use bedrock_sweeper::app::App;
use bedrock_sweeper::config::{AwsSettings, ManagementAccess};
use bedrock_sweeper::domain::{Role, TokenHash};
use bedrock_sweeper::store::retention;
use bedrock_sweeper::sweep::{self, SweepError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::api::{OPERATOR, VIEWER, silent_endpoint};
use super::helpers::{Moto, run_sweep, service, test_db};
use super::proxy::{Proxy, Reply};
use super::security_hub::{member_with_hub, policy, sender};
use super::seed::{self, Org, TrailSpec};
use super::sweep_e2e::deps;
use bedrock_sweeper::domain::Status;
use bedrock_sweeper::domain::SweepOutcome;

// ---------------------------------------------------------------------------------------
// Plumbing: a raw HTTP client, a server under test, a private PostgreSQL.

/// An HTTP answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts the one error shape and returns the code.
    #[track_caller]
    fn error_code(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        let body = self.json();
        assert!(body["error"]["message"].is_string(), "{body}");
        body["error"]["code"].as_str().unwrap().to_owned()
    }
}

/// Parses a whole HTTP/1.1 response (read until the server closed).
fn parse_answer(raw: &[u8]) -> Option<Answer> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some(Answer { status, body: body.to_owned() })
}

/// One request on its own connection (`Connection: close`).
async fn request(addr: std::net::SocketAddr, method: &str, path: &str, token: Option<&str>) -> Answer {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let auth = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!("{method} {path} HTTP/1.1\r\nhost: test\r\n{auth}content-length: 0\r\nconnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw)).await.expect("answered in time").unwrap();
    parse_answer(&raw).unwrap_or_else(|| panic!("not an HTTP answer: {:?}", String::from_utf8_lossy(&raw)))
}

fn tokens() -> [TokenHash; 2] {
    [
        TokenHash { role: Role::Viewer, sha256: Sha256::digest(VIEWER.as_bytes()).into() },
        TokenHash { role: Role::Operator, sha256: Sha256::digest(OPERATOR.as_bytes()).into() },
    ]
}

/// The router `serve` serves, over the service `app`, served with `limits` on a loopback port.
struct Server {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(app: &App, limits: HttpLimits) -> Self {
        let state = app.state().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve_http(listener, api::router(state), &limits, async move {
                rx.await.ok();
            })
            .await
        });
        Self { addr, stop: Some(tx), task }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            tx.send(()).ok();
        }
        tokio::time::timeout(Duration::from_secs(30), &mut self.task).await.expect("graceful stop").unwrap().unwrap();
    }
}

/// A service whose sweeps would go to an address that never answers (the HTTP tests start none).
async fn idle_service(pool: PgPool) -> (App, tokio::task::JoinHandle<()>) {
    let (endpoint, silent) = silent_endpoint().await;
    (service(deps(&endpoint, pool).await, &tokens()), silent)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL server of this test's own (initdb into a temporary directory, its own port),
/// so that restarting it disturbs no other test. Stopped on drop.
struct PrivatePg {
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePg {
    /// PostgreSQL refuses to run as root: then its tools run as the `postgres` user.
    fn tool(program: &str) -> Command {
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        } else {
            Command::new(program)
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(mut c: Command, what: &str) {
        let out = c.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{what}: {e} (is PostgreSQL on PATH?)"));
        assert!(
            out.status.success(),
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn create() -> Self {
        let dir = tempfile::Builder::new().prefix("sweeper-pg-").tempdir().unwrap();
        if is_root() {
            let mut chown = Command::new("chown");
            chown.args(["postgres:postgres"]).arg(dir.path());
            Self::run(chown, "chown the data directory to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = Self { dir, port };
        let mut initdb = Self::tool("initdb");
        initdb.arg("-D").arg(pg.data()).args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
        Self::run(initdb, "initdb");
        pg.start();
        pg
    }

    fn start(&self) {
        let mut c = Self::tool("pg_ctl");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40",
            self.port,
            self.dir.path().display()
        );
        c.arg("-D")
            .arg(self.data())
            .args(["-o", &options, "-l"])
            .arg(self.dir.path().join("log"))
            .args(["-w", "start"]);
        Self::run(c, "pg_ctl start");
    }

    fn stop(&self) {
        let mut c = Self::tool("pg_ctl");
        c.arg("-D").arg(self.data()).args(["-m", "fast", "-w", "stop"]);
        Self::run(c, "pg_ctl stop");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        // It may be stopped already; either way it is not running afterwards.
        Self::tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok();
    }
}

/// The active findings as (id → status, detail).
async fn active_findings(pool: &PgPool) -> BTreeMap<String, (String, String)> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("select id, status, detail from findings where active order by id")
            .fetch_all(pool)
            .await
            .unwrap();
    rows.into_iter().map(|(id, s, d)| (id, (s, d))).collect()
}

/// A few members with different findings (a recorder off, a broad IAM grant, a trail).
async fn varied_org(moto_endpoint: &str, members: usize) -> (Org, Vec<String>) {
    let org = Org::create(moto_endpoint).await;
    let mut ids = Vec::new();
    for i in 0..members {
        let id = org.account(&format!("member{i}"), &org.root).await;
        let cfg = org.member(&id).await;
        match i % 3 {
            0 => {
                seed::bucket(&cfg, &format!("config-{i}"), None).await;
                seed::config_recorder(&cfg, &format!("config-{i}"), i % 2 == 0).await;
            }
            1 => {
                let all =
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]}"#;
                seed::role_with_policy(&cfg, "broad", "bedrock-all", all).await;
            }
            _ => {
                seed::bucket(&cfg, &format!("trail-{i}"), None).await;
                seed::trail(&cfg, TrailSpec::main(&format!("trail-{i}"))).await;
            }
        }
        ids.push(id);
    }
    (org, ids)
}

// ---------------------------------------------------------------------------------------
// PostgreSQL restarted while `serve` runs.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_serve_gives_503_then_recovers_and_the_sweep_resumes() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let (_org, _members) = varied_org(&moto.endpoint(), 5).await;

    // The undisturbed sweep, on a database of the shared server.
    let (reference_pool, _) = test_db().await;
    let reference = sweep::run(&deps(&proxy.endpoint(), reference_pool.clone()).await, "test").await.unwrap();
    assert_eq!(reference.status, SweepOutcome::Completed);
    let expected = active_findings(&reference_pool).await;

    let pg = Arc::new(PrivatePg::create());
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(2))
        .connect(&pg.url())
        .await
        .unwrap();
    bedrock_sweeper::store::migrate(&pool).await.unwrap();
    let mut d = deps(&proxy.endpoint(), pool.clone()).await;
    // One account at a time, so the stop lands in the middle of the sweep; a short lease, so
    // the interrupted account may be taken again soon after.
    d.sweep.account_concurrency = 1;
    d.sweep.lease_seconds = 3;
    let app = service(d.clone(), &tokens());
    let runner = Arc::clone(app.runner());
    let server = Server::start(&app, HttpLimits::default()).await;
    assert_eq!(request(server.addr, "GET", "/readyz", None).await.status, 200);

    // PostgreSQL stops while the second member account is being collected.
    let stopped = Arc::new(AtomicBool::new(false));
    let entered: Arc<Mutex<Vec<String>>> = Arc::default();
    let (pg_rule, stopped_rule) = (Arc::clone(&pg), Arc::clone(&stopped));
    proxy.rule(move |req| {
        if req.action().as_deref() != Some("AssumeRole") {
            return None;
        }
        let role = req.body_text().split('&').find_map(|kv| kv.strip_prefix("RoleArn=").map(str::to_owned));
        let mut entered = entered.lock().unwrap();
        let fresh = match role {
            Some(r) if !entered.contains(&r) => {
                entered.push(r);
                true
            }
            _ => false,
        };
        if fresh && entered.len() == 2 {
            let (pg, stopped) = (Arc::clone(&pg_rule), Arc::clone(&stopped_rule));
            std::thread::spawn(move || {
                pg.stop();
                stopped.store(true, Ordering::SeqCst);
            });
        }
        None
    });
    let started = request(server.addr, "POST", "/api/v1/sweeps", Some(OPERATOR)).await;
    assert_eq!(started.status, 202, "{}", started.body);
    let sweep_id = started.json()["sweep_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !stopped.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the sweep never reached the second member account");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Meanwhile: not ready, and the API answers 503 in its error shape, promptly.
    let asked = Instant::now();
    assert_eq!(request(server.addr, "GET", "/readyz", None).await.error_code(503), "unavailable");
    assert_eq!(request(server.addr, "GET", "/api/v1/sweeps", Some(VIEWER)).await.error_code(503), "unavailable");
    assert_eq!(
        request(server.addr, "GET", &format!("/api/v1/sweeps/{sweep_id}"), Some(VIEWER)).await.error_code(503),
        "unavailable"
    );
    assert!(asked.elapsed() < Duration::from_secs(10), "503s took {:?}", asked.elapsed());
    assert_eq!(request(server.addr, "GET", "/healthz", None).await.status, 200, "the process itself is fine");
    // The sweep gives up on the database; it stays resumable.
    tokio::time::timeout(Duration::from_secs(60), runner.wait_idle()).await.expect("the sweep run ended");

    // PostgreSQL is back: the same process serves again, without a restart.
    let down_for = Instant::now();
    pg.start();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = request(server.addr, "GET", "/readyz", None).await;
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not ready 30 s after PostgreSQL came back: {}", r.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("ready again {:?} after PostgreSQL was started again", down_for.elapsed());
    let listed = request(server.addr, "GET", &format!("/api/v1/sweeps/{sweep_id}"), Some(VIEWER)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["status"], "running", "interrupted, not failed: {}", listed.body);
    let (done, total): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where state = 'done'), count(*) from sweep_tasks where sweep_id = $1::uuid",
    )
    .bind(&sweep_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(done >= 1 && done < total, "stopped mid-sweep: {done} of {total} accounts recorded");

    // Resumed the way the product offers today: the `sweep` command (`sweep::run`), once the
    // interrupted account's lease has lapsed.
    let deadline = Instant::now() + Duration::from_secs(60);
    let resumed = loop {
        match sweep::run(&d, "cli").await {
            Ok(r) => break r,
            Err(SweepError::AlreadyRunning(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("resume failed: {e}"),
        }
    };
    assert!(resumed.resumed, "the interrupted sweep was resumed, not a new one started");
    assert_eq!((resumed.sweep_id.to_string(), resumed.status), (sweep_id.clone(), SweepOutcome::Completed));
    assert_eq!(resumed.accounts.total, reference.accounts.total);

    // Its findings equal the undisturbed sweep's, and every account was recorded once.
    assert_eq!(active_findings(&pool).await, expected);
    let tasks: Vec<(String, i64)> =
        sqlx::query_as("select state, count(*) from sweep_tasks where sweep_id = $1::uuid group by 1")
            .bind(&sweep_id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(tasks, vec![("done".to_owned(), reference.accounts.total)], "{tasks:?}");
    let twice: Vec<(String, i64)> =
        sqlx::query_as("select finding_id, count(*) from finding_events group by 1 having count(*) > 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(twice.is_empty(), "findings recorded twice: {twice:?}");
    let body = request(server.addr, "GET", "/api/v1/sweeps", Some(VIEWER)).await;
    assert_eq!(body.status, 200);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// The emulator killed mid-sweep.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_killed_mid_sweep_leaves_gaps_and_nothing_passes() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let (org, members) = varied_org(&moto.endpoint(), 5).await;
    let moto = Arc::new(Mutex::new(Some(moto)));

    // The emulator dies as the third account is entered (its first AssumeRole; clients of an
    // account entered before may assume its role again).
    let entered: Arc<Mutex<Vec<String>>> = Arc::default();
    let killer = Arc::clone(&moto);
    proxy.rule(move |req| {
        if req.action().as_deref() != Some("AssumeRole") {
            return None;
        }
        let role = req.body_text().split('&').find_map(|kv| kv.strip_prefix("RoleArn=").map(str::to_owned));
        let mut entered = entered.lock().unwrap();
        if let Some(role) = role.filter(|r| !entered.contains(r)) {
            entered.push(role);
            if entered.len() == 3 {
                // Dropping it kills the process and waits for it.
                drop(killer.lock().unwrap().take());
            }
        }
        None
    });
    let (pool, _) = test_db().await;
    let mut d = deps(&proxy.endpoint(), pool.clone()).await;
    // Every account through its role, one at a time, with the default retries and timeouts.
    d.sweep.account_concurrency = 1;
    d.aws = bedrock_sweeper::aws::AwsContext::from_config(
        super::helpers::sdk_config(&proxy.endpoint()),
        &AwsSettings {
            management_account_access: ManagementAccess::Role,
            s3_force_path_style: true,
            ..AwsSettings::default()
        },
    );
    let started = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(180), run_sweep(&d, "test")).await.expect("bounded").unwrap();
    let took = started.elapsed();
    eprintln!("sweep with the emulator killed at the third of {} accounts: {took:?}", r.accounts.total);
    assert!(moto.lock().unwrap().is_none(), "the emulator was killed");
    assert_eq!(r.status, SweepOutcome::Completed);
    assert_eq!(r.accounts.total, members.len() as i64 + 1);
    assert_eq!(r.accounts.assessed, 2, "{:?}", r.accounts);
    assert_eq!(r.accounts.not_assessed, r.accounts.total - 2, "{:?}", r.accounts);

    let not_assessed: Vec<String> =
        sqlx::query_scalar("select account_id from sweep_tasks where sweep_id = $1 and not assessed order by 1")
            .bind(r.sweep_id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(not_assessed.len(), members.len() - 1);
    for account in &not_assessed {
        let mine: Vec<_> = r.findings.iter().filter(|f| &f.account_id == account).collect();
        let cov = mine.iter().find(|f| f.control_id == "BR.COV.1").unwrap();
        assert_eq!(cov.status, Status::Fail, "{}", cov.detail);
        assert!(cov.detail.contains("could not be assessed"), "{}", cov.detail);
        // Only the SCP controls, judged from the organization read before the kill, may pass.
        let passed: Vec<_> =
            mine.iter().filter(|f| f.status == Status::Pass && !f.control_id.starts_with("BR.ORG.")).collect();
        assert!(passed.is_empty(), "{account}: {passed:#?}");
        assert!(
            mine.iter()
                .filter(|f| !f.control_id.starts_with("BR.ORG.") && f.control_id != "BR.COV.1")
                .all(|f| f.status == Status::Error)
        );
    }
    assert!(org.management_account.len() == 12);
}

// ---------------------------------------------------------------------------------------
// Security Hub unreachable.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_hub_unreachable_keeps_the_outbox_and_the_next_delivery_sends_each_finding_once() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let org = Org::create(&moto.endpoint()).await;
    let (member, _) = member_with_hub(&org).await;

    // Security Hub answers 503 to everything while `down`; what gets through is recorded.
    let down = Arc::new(AtomicBool::new(true));
    let refused = Arc::new(AtomicUsize::new(0));
    let imported: Arc<Mutex<Vec<String>>> = Arc::default();
    let (is_down, refused_count, log) = (Arc::clone(&down), Arc::clone(&refused), Arc::clone(&imported));
    proxy.rule(move |req| {
        let hub = req.headers.get("authorization").is_some_and(|a| a.contains("/securityhub/"));
        if !hub {
            return None;
        }
        if is_down.load(Ordering::SeqCst) {
            refused_count.fetch_add(1, Ordering::SeqCst);
            return Some(Reply {
                status: 503,
                content_type: "application/json",
                body: json!({"__type": "ServiceUnavailableException", "Message": "Service unavailable"}).to_string(),
            });
        }
        if req.path == "/findings/import" {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let ids = body["Findings"].as_array().unwrap().iter().map(|f| f["Id"].as_str().unwrap().to_owned());
            log.lock().unwrap().extend(ids);
        }
        None
    });
    let (pool, _) = test_db().await;
    let mut d = deps(&proxy.endpoint(), pool.clone()).await;
    d.security_hub = Some(policy());
    let r = run_sweep(&d, "test").await.unwrap();
    let queued: i64 = sqlx::query_scalar("select count(*) from security_hub_outbox").fetch_one(&pool).await.unwrap();
    let to_send = r.findings.iter().filter(|f| f.status == Status::Fail || f.status == Status::Error).count() as i64;
    assert!(queued > 0 && queued == to_send, "queued {queued}, fail/error findings {to_send}");

    // Unreachable: nothing is lost, nothing is marked sent.
    let first = sender(&d, &r).drain().await.unwrap();
    assert_eq!((first.imported, first.deferred, first.failed), (0, queued as u64, 0), "{first:?}");
    assert!(refused.load(Ordering::SeqCst) > 0);
    let kept: i64 = sqlx::query_scalar("select count(*) from security_hub_outbox where state = 'pending'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, queued, "the outbox keeps everything: {first:?}");
    let marked: i64 = sqlx::query_scalar("select count(*) from findings where sh_sent_at is not null")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(marked, 0);
    assert!(imported.lock().unwrap().is_empty());

    // A second sweep while it is still down changes nothing in the outbox's content.
    let r2 = run_sweep(&d, "test").await.unwrap();
    let queued2: i64 = sqlx::query_scalar("select count(*) from security_hub_outbox").fetch_one(&pool).await.unwrap();
    assert_eq!(queued2, queued);

    // Reachable again: the next delivery sends everything, each finding once.
    down.store(false, Ordering::SeqCst);
    sqlx::query("update security_hub_outbox set next_attempt_at = now()").execute(&pool).await.unwrap();
    let second = sender(&d, &r2).drain().await.unwrap();
    assert_eq!((second.imported as i64, second.pending, second.failed_total), (queued, 0, 0), "{second:?}");
    let third = sender(&d, &r2).drain().await.unwrap();
    assert_eq!((third.imported, third.requests), (0, 0), "nothing is sent twice: {third:?}");
    let sent = imported.lock().unwrap().clone();
    let unique: std::collections::BTreeSet<&String> = sent.iter().collect();
    assert_eq!(unique.len(), sent.len(), "a finding was sent twice");
    assert_eq!(sent.len() as i64, queued);
    assert!(sent.iter().any(|id| r2.findings.iter().any(|f| f.account_id == member && id.ends_with(f.id.as_str()))));
}

// ---------------------------------------------------------------------------------------
// HTTP: timeouts, limits, overload.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_slow_headers_are_dropped_and_overload_gets_503_in_the_error_shape() {
    let (pool, _) = test_db().await;
    let (app, _silent) = idle_service(pool.clone()).await;
    let limits = HttpLimits {
        header_read_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        max_concurrent_requests: 2,
        max_connections: 4,
    };
    let server = Server::start(&app, limits).await;

    // A client that sends half a request line and stalls is dropped after the header timeout.
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /api/v1/swe").await.unwrap();
    let stalled = Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut rest)).await;
    let held = stalled.elapsed();
    assert!(read.is_ok(), "still connected after 10 s");
    assert!(held >= Duration::from_millis(900) && held < Duration::from_secs(4), "dropped after {held:?}");
    assert!(rest.is_empty() || String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 408"), "{rest:?}");

    // Requests in flight beyond the limit are refused at once, in the error shape; a request
    // that takes longer than the request timeout gets 503 `timeout`. (A held lock keeps the
    // two admitted requests waiting on the database.)
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("lock table sweeps in access exclusive mode").execute(&mut *lock).await.unwrap();
    let addr = server.addr;
    let waiting: Vec<_> = (0..2)
        .map(|_| tokio::spawn(async move { request(addr, "GET", "/api/v1/sweeps", Some(VIEWER)).await }))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let refused_at = Instant::now();
    let over = request(addr, "GET", "/api/v1/sweeps", Some(VIEWER)).await;
    assert_eq!(over.error_code(503), "overloaded");
    assert!(refused_at.elapsed() < Duration::from_millis(500), "refused, not queued: {:?}", refused_at.elapsed());
    assert!(over.json()["error"]["message"].as_str().unwrap().contains("concurrent requests"), "{}", over.body);
    assert_eq!(request(addr, "GET", "/healthz", None).await.status, 200, "liveness is not counted");
    for w in waiting {
        assert_eq!(w.await.unwrap().error_code(503), "timeout");
    }
    lock.rollback().await.unwrap();
    assert_eq!(request(addr, "GET", "/api/v1/sweeps", Some(VIEWER)).await.status, 200);

    // Connections beyond the cap are answered 503 in the error shape and closed.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&buf[..n]));
        held.push(s); // kept alive
    }
    let over = request(addr, "GET", "/healthz", None).await;
    assert_eq!(over.error_code(503), "overloaded");
    assert!(over.json()["error"]["message"].as_str().unwrap().contains("open connections"), "{}", over.body);
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(request(addr, "GET", "/healthz", None).await.status, 200, "slots are given back");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_burst_of_1000_connections_leaves_the_service_answering() {
    let (pool, _) = test_db().await;
    let (app, _silent) = idle_service(pool.clone()).await;
    let limits = HttpLimits {
        header_read_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        max_concurrent_requests: 32,
        max_connections: 200,
    };
    let server = Server::start(&app, limits).await;
    let addr = server.addr;

    // 1,000 connections opened back to back (within a few hundred milliseconds; each waits
    // for its handshake only, so the listen queue never overflows and the kernel's SYN
    // retransmissions play no part), all open at once: half ask for data, half send nothing.
    let started = Instant::now();
    let mut sockets = Vec::new();
    for _ in 0..1000 {
        sockets.push(TcpStream::connect(addr).await.unwrap());
    }
    let connected = started.elapsed();
    let clients: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            tokio::spawn(async move {
                if i % 2 == 0 {
                    let req = format!(
                        "GET /api/v1/sweeps HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {VIEWER}\r\nconnection: close\r\n\r\n"
                    );
                    if s.write_all(req.as_bytes()).await.is_err() {
                        return "reset".to_owned();
                    }
                }
                let mut raw = Vec::new();
                match tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut raw)).await {
                    Err(_) => "hung".to_owned(),
                    Ok(Err(_)) => "reset".to_owned(),
                    Ok(Ok(_)) => match parse_answer(&raw) {
                        Some(a) if a.status == 200 => "200".to_owned(),
                        Some(a) if a.status == 503 => format!("503 {}", a.error_code(503)),
                        Some(a) => format!("{} unexpected", a.status),
                        None if raw.is_empty() => "closed".to_owned(),
                        None => format!("garbage {:?}", String::from_utf8_lossy(&raw)),
                    },
                }
            })
        })
        .collect();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for c in clients {
        *outcomes.entry(c.await.unwrap()).or_default() += 1;
    }
    let took = started.elapsed();
    eprintln!("burst of 1,000 connections (opened in {connected:?}): {outcomes:?}, all ended within {took:?}");
    assert!(took < Duration::from_secs(30), "{took:?}");
    let allowed = ["200", "503 overloaded", "503 timeout", "closed", "reset"];
    assert!(outcomes.keys().all(|k| allowed.contains(&k.as_str())), "{outcomes:?}");
    assert!(outcomes.get("200").copied().unwrap_or(0) > 0, "{outcomes:?}");
    assert!(outcomes.get("503 overloaded").copied().unwrap_or(0) > 0, "the caps were reached: {outcomes:?}");

    // Afterwards the service answers as before.
    assert_eq!(request(addr, "GET", "/healthz", None).await.status, 200);
    assert_eq!(request(addr, "GET", "/api/v1/sweeps", Some(VIEWER)).await.status, 200);
    assert_eq!(request(addr, "GET", "/readyz", None).await.status, 200);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------
// Storage stays bounded.

/// GetTrailStatus answered as CloudTrail documents it, with deliveries as of now (they move
/// on between sweeps, as a logging trail's do).
fn trail_status_now() -> Reply {
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    Reply::json(json!({"IsLogging": true, "LatestDeliveryTime": now - 60.0, "LatestDigestDeliveryTime": now - 60.0}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_unchanged_sweeps_store_one_snapshot_per_account() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let (org, members) = varied_org(&moto.endpoint(), 4).await;
    let denied = members[1].clone();
    proxy.rule(move |req| {
        let action = req.action();
        if action.as_deref() == Some("GetTrailStatus") {
            return Some(trail_status_now());
        }
        // A gap whose message carries a new request id on every call, as AWS's do.
        if action.as_deref() == Some("DescribeVpcEndpoints") && req.account.as_deref() == Some(denied.as_str()) {
            return Some(Reply {
                status: 403,
                content_type: "text/xml",
                body: format!(
                    "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>{}</RequestID></Response>",
                    uuid::Uuid::new_v4()
                ),
            });
        }
        None
    });
    let (pool, _) = test_db().await;
    let d = deps(&proxy.endpoint(), pool.clone()).await;
    let mut last = None;
    for _ in 0..10 {
        last = Some(sweep::run(&d, "test").await.unwrap());
    }
    let last = last.unwrap();
    let accounts = last.accounts.total;
    let rows: i64 = sqlx::query_scalar("select count(*) from snapshots").fetch_one(&pool).await.unwrap();
    let by_kind: Vec<(String, i64)> =
        sqlx::query_as("select kind, count(*) from snapshots group by 1 order by 1").fetch_all(&pool).await.unwrap();
    eprintln!(
        "snapshot rows written by ten unchanged sweeps: {rows} ({by_kind:?}) for {accounts} accounts; target one per account plus the organization's"
    );
    assert_eq!(by_kind, vec![("account".to_owned(), accounts), ("organization".to_owned(), 1)]);

    // The one row holds the newest volatile values, and the gap's request id is in it.
    let gap_message: String = sqlx::query_scalar(
        "select message from collection_gaps where sweep_id = $1 and operation = 'DescribeVpcEndpoints' limit 1",
    )
    .bind(last.sweep_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let evidence: Value = sqlx::query_scalar(
        "select n.content from sweep_tasks t join snapshots n on n.hash = t.snapshot_hash
         where t.sweep_id = $1 and t.account_id = $2",
    )
    .bind(last.sweep_id)
    .bind(&members[1])
    .fetch_one(&pool)
    .await
    .unwrap();
    let request_id = gap_message.split("<RequestID>").nth(1).and_then(|r| r.split("</RequestID>").next()).unwrap();
    assert!(evidence.to_string().contains(request_id), "the newest message is stored");

    // A real change is a new snapshot of that account only.
    let cfg = org.member(&members[2]).await;
    seed::role_with_policy(
        &cfg,
        "new-role",
        "narrow",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"*"}]}"#,
    )
    .await;
    sweep::run(&d, "test").await.unwrap();
    let after: i64 = sqlx::query_scalar("select count(*) from snapshots").fetch_one(&pool).await.unwrap();
    assert_eq!(after, rows + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_only_what_is_old_and_unreferenced() {
    let (pool, _) = test_db().await;
    let day = |n: i64| chrono::Utc::now() - chrono::Duration::days(n);
    let snapshot = |hash: &'static str, last_seen: chrono::DateTime<chrono::Utc>| {
        let pool = pool.clone();
        async move {
            sqlx::query("insert into snapshots (hash, kind, content, created_at, last_seen_at) values ($1, 'account', '{}', $2, $2)")
                .bind(hash)
                .bind(last_seen)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    for (hash, age) in [
        ("orphan-old", 500),
        ("orphan-recent", 10),
        ("active-old", 500),
        ("retired-old", 500),
        ("task-old", 500),
        ("task-kept", 500),
        ("running-old", 500),
        ("org-old", 500),
    ] {
        snapshot(hash, day(age)).await;
    }
    let sweep = |id: &'static str, status: &'static str, finished: Option<i64>, org: Option<&'static str>| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "insert into sweeps (id, trigger, status, started_at, finished_at, org_snapshot_hash)
                 values ($1::uuid, 'test', $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(status)
            .bind(day(finished.unwrap_or(500)) - chrono::Duration::hours(1))
            .bind(finished.map(day))
            .bind(org)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    const OLD: &str = "00000000-0000-0000-0000-00000000000a";
    const KEPT: &str = "00000000-0000-0000-0000-00000000000b";
    const RUNNING: &str = "00000000-0000-0000-0000-00000000000c";
    const NEWEST: &str = "00000000-0000-0000-0000-00000000000d";
    sweep(OLD, "completed", Some(500), Some("org-old")).await;
    sweep(KEPT, "completed", Some(450), None).await;
    sweep(RUNNING, "running", None, None).await;
    sweep(NEWEST, "completed", Some(5), None).await;
    for (sweep_id, snapshot) in
        [(OLD, "task-old"), (KEPT, "task-kept"), (RUNNING, "running-old"), (NEWEST, "orphan-recent")]
    {
        sqlx::query(
            "insert into sweep_tasks (sweep_id, account_id, state, snapshot_hash) values ($1::uuid, '111111111111', $3, $2)",
        )
        .bind(sweep_id)
        .bind(snapshot)
        .bind(if sweep_id == RUNNING { "running" } else { "done" })
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into collection_gaps (sweep_id, account_id, service, operation, code, message)
             values ($1::uuid, '111111111111', 'ec2', 'DescribeVpcEndpoints', 'AccessDenied', 'no')",
        )
        .bind(sweep_id)
        .execute(&pool)
        .await
        .unwrap();
    }
    // An active finding last written by the 450-day-old sweep, and one retired 500 days ago.
    for (id, active, snapshot, sweep_id) in
        [("f-active", true, "active-old", KEPT), ("f-retired", false, "retired-old", OLD)]
    {
        sqlx::query(
            "insert into findings (id, control_id, account_id, resource_id, resource_kind, status, severity, title, detail,
                                   active, first_seen_at, last_seen_at, status_since, last_sweep_id, snapshot_hash)
             values ($1, 'BR.CFG.1', '111111111111', '111111111111', 'account', 'fail', 'medium', 't', 'd', $2, $3, $3, $3,
                     $4::uuid, $5)",
        )
        .bind(id)
        .bind(active)
        .bind(day(500))
        .bind(sweep_id)
        .bind(snapshot)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("insert into finding_events (finding_id, sweep_id, kind, new_status) values ($1, $2::uuid, 'opened', 'fail')")
            .bind(id)
            .bind(sweep_id)
            .execute(&pool)
            .await
            .unwrap();
    }

    let pruned = retention::prune(&pool, chrono::Duration::days(400)).await.unwrap();
    assert_eq!(pruned, retention::Pruned { snapshots: 4, gaps: 1, sweep_tasks: 1, evidence_detached: 1 }, "{pruned:?}");
    let left: Vec<String> = sqlx::query_scalar("select hash from snapshots order by 1").fetch_all(&pool).await.unwrap();
    assert_eq!(left, ["active-old", "orphan-recent", "running-old", "task-kept"]);
    let tasks: Vec<String> =
        sqlx::query_scalar("select sweep_id::text from sweep_tasks order by 1").fetch_all(&pool).await.unwrap();
    assert_eq!(tasks, [KEPT, RUNNING, NEWEST]);
    let gaps: Vec<String> =
        sqlx::query_scalar("select sweep_id::text from collection_gaps order by 1").fetch_all(&pool).await.unwrap();
    assert_eq!(gaps, [KEPT, RUNNING, NEWEST]);
    // The sweeps and the findings' history stay.
    let sweeps: i64 = sqlx::query_scalar("select count(*) from sweeps").fetch_one(&pool).await.unwrap();
    let events: i64 = sqlx::query_scalar("select count(*) from finding_events").fetch_one(&pool).await.unwrap();
    assert_eq!((sweeps, events), (4, 2));

    // The newest completed sweep is kept however old it is; a snapshot produced again is fresh.
    sqlx::query("update sweeps set finished_at = $2 where id = $1::uuid")
        .bind(NEWEST)
        .bind(day(500))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update snapshots set last_seen_at = $1 where hash = 'orphan-recent'")
        .bind(day(500))
        .execute(&pool)
        .await
        .unwrap();
    let again = retention::prune(&pool, chrono::Duration::days(400)).await.unwrap();
    assert_eq!(again, retention::Pruned::default(), "{again:?}");
    let mut conn = pool.acquire().await.unwrap();
    let hash = bedrock_sweeper::store::snapshots::put(&mut conn, "account", &json!({"unchanged": true})).await.unwrap();
    drop(conn);
    sqlx::query("update snapshots set last_seen_at = $2 where hash = $1")
        .bind(&hash)
        .bind(day(500))
        .execute(&pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    bedrock_sweeper::store::snapshots::put(&mut conn, "account", &json!({"unchanged": true})).await.unwrap();
    drop(conn);
    assert_eq!(retention::prune(&pool, chrono::Duration::days(400)).await.unwrap().snapshots, 0);
    let kept: i64 = sqlx::query_scalar("select count(*) from snapshots where hash = $1")
        .bind(&hash)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 1, "produced again: its age restarts");
}
