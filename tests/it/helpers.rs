//! Test harness: a moto server per test on a free loopback port, a fresh PostgreSQL
//! database per test, and SDK configuration pointing at either.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// The moto version the venv pins (scripts/moto-venv.sh).
fn moto_binary() -> String {
    if let Ok(bin) = std::env::var("MOTO_SERVER") {
        return bin;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/moto-venv.sh");
    let out = Command::new("bash").arg(script).stderr(Stdio::inherit()).output().expect("run scripts/moto-venv.sh");
    assert!(out.status.success(), "scripts/moto-venv.sh failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A moto server; killed on drop.
pub struct Moto {
    pub port: u16,
    child: Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        // The server may already be gone; either way it is not running afterwards.
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Moto {
    pub async fn start() -> Self {
        let bin = moto_binary();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("TZ", "UTC")
                .env("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
                .env_remove("MOTO_ACCOUNT_ID")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server");
            let mut moto = Moto { port, child };
            for _ in 0..200 {
                if let Ok(Some(_)) = moto.child.try_wait() {
                    break; // port taken: try another
                }
                if reqwest_like_get(port).await {
                    return moto;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            moto.child.kill().ok();
        }
        panic!("moto_server did not start");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// True when something answers HTTP on the port.
async fn reqwest_like_get(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return false };
    let req = "GET /moto-api/data.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf).await, Ok(n) if n > 0 && buf.starts_with(b"HTTP/1."))
}

/// SDK configuration with the management account's (moto default) credentials.
/// The bin directory of a pinned tool venv: `$<env_var>` (set by scripts/test.sh), or what
/// `scripts/<script>` prints after making the venv.
pub fn tool_venv(env_var: &str, script: &str) -> std::path::PathBuf {
    if let Ok(dir) = std::env::var(env_var) {
        return dir.into();
    }
    let path = format!("{}/scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash").arg(&path).output().unwrap_or_else(|e| panic!("run {path}: {e}"));
    assert!(out.status.success(), "{script} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().into()
}

pub fn sdk_config(endpoint: &str) -> SdkConfig {
    sdk_config_with(endpoint, Credentials::new("testing", "testing", None, None, "test"))
}

pub fn sdk_config_with(endpoint: &str, creds: Credentials) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .build()
}

/// The server to create test databases on.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, migrated database; returns its pool and URL.
pub async fn test_db() -> (PgPool, String) {
    let (pool, url) = empty_db().await;
    bedrock_sweeper::store::migrate(&pool).await.unwrap();
    (pool, url)
}

/// A fresh database without any migration applied.
pub async fn empty_db() -> (PgPool, String) {
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&admin_url())
        .await
        .expect("connect to PostgreSQL (TEST_DATABASE_URL)");
    let name = format!("sweeper_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}"))).execute(&admin).await.unwrap();
    let base = admin_url();
    let url = match base.rfind('/') {
        Some(i) if base[..i].contains("://") && i > base.find("://").unwrap() + 2 => format!("{}/{name}", &base[..i]),
        _ => format!("{base}/{name}"),
    };
    let pool = PgPoolOptions::new().max_connections(5).connect(&url).await.unwrap();
    (pool, url)
}

/// The aggregates `record_account` keeps by deltas equal a recomputation from the findings.
#[track_caller]
pub fn assert_totals_match_findings(pool: &PgPool) -> impl std::future::Future<Output = ()> + '_ {
    let caller = std::panic::Location::caller();
    async move {
        use bedrock_sweeper::store::totals;
        let kept: Vec<(String, String, String, i64)> = totals::finding_totals(pool)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.control_id, t.severity, t.status, t.findings))
            .collect();
        let counted: Vec<(String, String, String, i64)> = sqlx::query_as(
            "select control_id, severity, status, count(*) from findings where active group by 1, 2, 3 order by 1, 2, 3",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert_eq!(kept, counted, "finding_totals drifted from the findings (checked at {caller})");
        let kept: Vec<(String, i64, i64)> = totals::control_accounts(pool)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.control_id, c.accounts_evaluated, c.accounts_failing))
            .collect();
        let counted: Vec<(String, i64, i64)> = sqlx::query_as(
            "select control_id, count(distinct account_id), count(distinct account_id) filter (where status = 'fail')
             from findings where active group by 1 order by 1",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert_eq!(kept, counted, "control_account_totals drifted (checked at {caller})");
        let drifted: Vec<(String, i32, i64)> = sqlx::query_as(
            "select a.id, a.failing_count, count(f.id) filter (where f.status = 'fail')
             from accounts a left join findings f on f.account_id = a.id and f.active
             group by a.id, a.failing_count, a.error_count
             having a.failing_count <> count(f.id) filter (where f.status = 'fail')
                 or a.error_count <> count(f.id) filter (where f.status = 'error')",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert!(drifted.is_empty(), "account counts drifted: {drifted:?} (checked at {caller})");
    }
}

/// A sweep's report with its active findings, as the tests read them (the library's report
/// does not hold them: `serve` never needs them all).
pub struct Swept {
    pub report: bedrock_sweeper::sweep::SweepReport,
    pub findings: Vec<bedrock_sweeper::domain::FindingRecord>,
}

impl std::ops::Deref for Swept {
    type Target = bedrock_sweeper::sweep::SweepReport;

    fn deref(&self) -> &Self::Target {
        &self.report
    }
}

/// `sweep::run`, then the findings it left active.
pub async fn run_sweep(
    deps: &bedrock_sweeper::sweep::SweepDeps,
    trigger: &str,
) -> Result<Swept, bedrock_sweeper::sweep::SweepError> {
    let report = bedrock_sweeper::sweep::run(deps, trigger).await?;
    let findings = bedrock_sweeper::store::findings::of_sweep(&deps.pool, report.sweep_id).await?;
    Ok(Swept { report, findings })
}

/// The service over `deps` as `serve` composes it (`App::from_deps`), accepting `tokens`.
pub fn service(
    deps: bedrock_sweeper::sweep::SweepDeps,
    tokens: &[bedrock_sweeper::domain::TokenHash],
) -> bedrock_sweeper::app::App {
    let mut settings = super::sweep_e2e::settings();
    settings.api.tokens = tokens.to_vec();
    bedrock_sweeper::app::App::from_deps(&settings, deps)
}
