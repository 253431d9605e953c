//! Security Hub drain benchmark: 100,000 findings across 1,000 accounts, delivered per
//! member account to a local fake Security Hub + STS on loopback that answers at once, so
//! the figures show our own overhead and pacing, not a remote service. Then a re-sweep
//! with nothing changed, which must enqueue and send nothing.
//!
//! Needs PostgreSQL (`TEST_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/postgres).
//! Run: `cargo bench --bench security_hub_drain` (ACCOUNTS and PER_ACCOUNT override the size).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use bedrock_sweeper::aws::AwsContext;
use bedrock_sweeper::catalog::Catalog;
use bedrock_sweeper::config::AwsSettings;
use bedrock_sweeper::export::sender::Sender;
use bedrock_sweeper::store::workflow::DefaultTarget;
use bedrock_sweeper::store::{self, outbox};
use sqlx::postgres::PgPoolOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Answers AssumeRole (query protocol) and BatchImportFindings (REST JSON) at once.
async fn fake_aws(requests: Arc<AtomicU64>, findings: Arc<AtomicU64>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let (requests, findings) = (Arc::clone(&requests), Arc::clone(&findings));
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = vec![0u8; 65536];
                loop {
                    // One request per connection turn; keep-alive is honoured.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned();
                    buf.drain(..head_end + len);
                    let (ctype, reply) = if head.starts_with("post /findings/import") {
                        requests.fetch_add(1, Ordering::Relaxed);
                        let n = body.matches("\"SchemaVersion\"").count();
                        findings.fetch_add(n as u64, Ordering::Relaxed);
                        (
                            "application/json",
                            format!("{{\"FailedCount\":0,\"SuccessCount\":{n},\"FailedFindings\":[]}}"),
                        )
                    } else {
                        let exp = (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
                        (
                            "text/xml",
                            format!(
                                "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>AKIA</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>{exp}</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>"
                            ),
                        )
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n{reply}",
                        reply.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let accounts = env_usize("ACCOUNTS", 1_000);
    let per_account = env_usize("PER_ACCOUNT", 100);
    let admin =
        std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let admin_pool = PgPoolOptions::new().max_connections(1).connect(&admin).await.expect("PostgreSQL reachable");
    let db = format!("sweeper_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {db}")))
        .execute(&admin_pool)
        .await
        .expect("create database");
    let url = format!("{}/{db}", admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base));
    let pool = PgPoolOptions::new().max_connections(16).connect(&url).await.expect("connect");
    store::migrate(&pool).await.expect("migrate");
    let catalog = Arc::new(Catalog::embedded().expect("catalog"));

    // Findings as a sweep would have recorded them: failing, never sent.
    let t = Instant::now();
    sqlx::query(
        "insert into findings (id, control_id, account_id, region, resource_id, resource_kind, status, severity, title,
                               detail, active, first_seen_at, last_seen_at, status_since, last_sweep_id)
         select md5(a::text || '/' || r::text), 'BR.IAM.1', lpad((100000000000 + a)::text, 12, '0'), null,
                'arn:aws:iam::' || lpad((100000000000 + a)::text, 12, '0') || ':role/r' || r, 'iam_role', 'fail', 'high',
                'No over-broad Bedrock IAM', 'IAM role r' || r || ': inline policy p grants bedrock:* on *.', true,
                now(), now(), now(), gen_random_uuid()
         from generate_series(1, $1) a, generate_series(1, $2) r",
    )
    .bind(accounts as i32)
    .bind(per_account as i32)
    .execute(&pool)
    .await
    .expect("generate findings");
    let policy = outbox::OutboxPolicy {
        region: "us-east-1".into(),
        central_account: None,
        heartbeat: chrono::Duration::days(7),
    };
    let account_ids: Vec<String> =
        sqlx::query_scalar("select distinct account_id from findings").fetch_all(&pool).await.expect("accounts");
    let mut enqueued = 0;
    for a in &account_ids {
        let mut conn = pool.acquire().await.expect("connection");
        enqueued += outbox::reconcile_account(&mut conn, a, &policy, chrono::Utc::now()).await.expect("reconcile");
    }
    println!(
        "generated {} findings in {accounts} accounts, enqueued {enqueued} in {:.1}s",
        accounts * per_account,
        t.elapsed().as_secs_f64()
    );

    let requests = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let port = fake_aws(Arc::clone(&requests), Arc::clone(&received)).await;
    let base = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
            "a", "b", None, None, "bench",
        )))
        .build();
    let sender = Sender {
        pool: pool.clone(),
        aws: AwsContext::from_config(base, &AwsSettings::default()),
        catalog,
        management_account: None,
        hub: DefaultTarget { region: "us-east-1".into(), central_account: None },
        concurrency: env_usize("CONCURRENCY", 16),
        retry_base: chrono::Duration::minutes(5),
        max_requests: None,
        counters: Arc::default(),
    };
    let t = Instant::now();
    let report = sender.drain().await.expect("drain");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "drain: {} findings imported in {} requests ({} received by the fake hub) in {secs:.1}s = {:.0} findings/s, {:.1} requests/s; pending {}, failed {}",
        report.imported,
        report.requests,
        received.load(Ordering::Relaxed),
        report.imported as f64 / secs,
        report.requests as f64 / secs,
        report.pending,
        report.failed_total
    );
    let quota_bound = report.requests as f64 / (10.0 * account_ids.len() as f64);
    println!(
        "quota floor for this shape: {quota_bound:.2}s (10 requests/s per account-region, all accounts in parallel)"
    );

    // A re-sweep with nothing changed: reconcile again, then drain.
    let mut re_enqueued = 0;
    for a in &account_ids {
        let mut conn = pool.acquire().await.expect("connection");
        re_enqueued += outbox::reconcile_account(&mut conn, a, &policy, chrono::Utc::now()).await.expect("reconcile");
    }
    let before = requests.load(Ordering::Relaxed);
    let again = sender.drain().await.expect("second drain");
    println!(
        "re-sweep with no change: {re_enqueued} enqueued, {} imported, {} requests",
        again.imported,
        requests.load(Ordering::Relaxed) - before
    );
    println!("peak RSS {:.0} MiB", peak_rss_mib());
    pool.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("drop database {db}"))).execute(&admin_pool).await.ok();
}
