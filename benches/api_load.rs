//! API load benchmark at the planned scale: 10,000 accounts × 25 findings × 4 regions
//! (1,000,000 current findings) with a year of daily sweeps behind them (daily transitions,
//! one posture point and 10,000 sweep tasks per sweep), then wrk against the API served on
//! loopback by the same router `serve` uses.
//!
//! The generated database (`bedrock_sweeper_bench_api`) is kept and reused by later runs
//! with the same generator version; `BENCH_REGENERATE=1` rebuilds it. Needs PostgreSQL
//! (`TEST_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/postgres) and wrk.
//! Run: `scripts/bench-api.sh` (installs wrk if needed), or `cargo bench --bench api_load`.
//! `DURATION` (seconds per wrk run, default 20) and `CONNECTIONS` (default 100) tune it.

use std::fmt::Write as _;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bedrock_sweeper::api;
use bedrock_sweeper::app::App;
use bedrock_sweeper::catalog::Catalog;
use bedrock_sweeper::config::{DatabaseSettings, Settings};
use bedrock_sweeper::domain::{Role, TokenHash};
use bedrock_sweeper::domain::{Severity, Status};
use bedrock_sweeper::store::{self, posture};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

mod support;
use support::database;
use support::generate::*;

const TOKEN: &str = "bench-viewer-token";

async fn sizes(pool: &PgPool) -> String {
    let rows: Vec<(String, i64, String)> = sqlx::query_as(
        "select relname::text, n_live_tup, pg_size_pretty(pg_total_relation_size(relid))
         from pg_stat_user_tables where relname in ('findings', 'finding_events', 'sweep_tasks', 'posture_points')
         order by relname",
    )
    .fetch_all(pool)
    .await
    .expect("sizes");
    rows.iter().map(|(t, n, s)| format!("{t}: {n} rows, {s}")).collect::<Vec<_>>().join("; ")
}

/// What wrk printed, parsed.
struct WrkResult {
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    rps: f64,
    requests: u64,
    non_2xx: u64,
}

fn millis(text: &str) -> Option<f64> {
    let (num, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

/// Unloaded latency: one keep-alive connection, one request at a time, for `seconds`,
/// cycling through `paths`. (wrk's figures for a single connection contradict its own request
/// rate here, so this is measured directly.) Returns (p50, p99, max) in ms and the count.
async fn sequential(addr: std::net::SocketAddr, paths: &[String], seconds: u64) -> (f64, f64, f64, usize) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    for path in paths.iter().cycle() {
        if Instant::now() >= deadline {
            break;
        }
        let started = Instant::now();
        let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
        write.write_all(request.as_bytes()).await.expect("send");
        let (mut status, mut length, mut line) = (String::new(), 0usize, String::new());
        loop {
            line.clear();
            read.read_line(&mut line).await.expect("read");
            if status.is_empty() {
                status = line.trim().to_owned();
            } else if line == "\r\n" {
                break;
            } else if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("content-length");
            }
        }
        let mut body = vec![0u8; length];
        read.read_exact(&mut body).await.expect("body");
        assert!(status.starts_with("HTTP/1.1 200"), "{path}: {status}");
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    (at(0.5), at(0.99), latencies[latencies.len() - 1], latencies.len())
}

/// Runs wrk on the blocking pool: the API is served by this process's runtime, whose
/// workers must stay free for it.
async fn wrk(url: &str, connections: usize, seconds: u64, script: Option<&std::path::Path>) -> WrkResult {
    let (url, script) = (url.to_owned(), script.map(std::path::Path::to_path_buf));
    tokio::task::spawn_blocking(move || run_wrk(&url, connections, seconds, script.as_deref()))
        .await
        .expect("wrk thread")
}

fn run_wrk(url: &str, connections: usize, seconds: u64, script: Option<&std::path::Path>) -> WrkResult {
    let threads = connections.clamp(1, 2).to_string();
    let mut cmd = Command::new("wrk");
    cmd.args(["-t", &threads, "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "--latency"]);
    if let Some(script) = script {
        cmd.arg("-s").arg(script);
    }
    let out = cmd
        .args(["-H", &format!("Authorization: Bearer {TOKEN}"), url])
        .output()
        .expect("wrk is installed (Debian package `wrk`; scripts/bench-api.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let percentile = |p: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(p).map(str::trim))
            .and_then(millis)
            .unwrap_or_else(|| panic!("no {p} in wrk output: {text}"))
    };
    let number = |prefix: &str| {
        text.lines().find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned())).unwrap_or_default()
    };
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    WrkResult {
        p50_ms: percentile("50%"),
        p90_ms: percentile("90%"),
        p99_ms: percentile("99%"),
        rps: number("Requests/sec:").parse().unwrap_or(0.0),
        requests,
        non_2xx: number("Non-2xx or 3xx responses:").parse().unwrap_or(0),
    }
}

/// A wrk script that walks distinct URLs round-robin, each thread from its own offset.
async fn walk_script(pool: &PgPool) -> (tempfile::NamedTempFile, Vec<String>) {
    let fail_high: Vec<String> = sqlx::query_scalar(
        "select id from (select id, row_number() over (order by id) as n from findings
                         where active and status = 'fail' and severity = 'high') x
         where n % 100 = 0 order by id",
    )
    .fetch_all(pool)
    .await
    .expect("page starts");
    let mut urls: Vec<String> = fail_high
        .iter()
        .map(|id| format!("/api/v1/findings?status=fail&severity=high&cursor={}", api::pagination::encode(id)))
        .collect();
    urls.extend((0..ACCOUNTS).map(|a| format!("/api/v1/findings?account_id={}", account_id(a))));
    let mut script = tempfile::NamedTempFile::new().expect("temp file");
    let list: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
    let lua = format!(
        "local urls = {{{}}}\nlocal threads = 0\nfunction setup(thread) thread:set(\"offset\", threads * 5000); threads = threads + 1 end\nlocal i = 0\nfunction request() i = i + 1; return wrk.format(\"GET\", urls[((offset or 0) + i) % #urls + 1]) end\n",
        list.join(",")
    );
    std::io::Write::write_all(&mut script, lua.as_bytes()).expect("write script");
    println!("walk: {} distinct URLs", urls.len());
    (script, urls)
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
    let seconds: u64 = std::env::var("DURATION").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let connections: usize = std::env::var("CONNECTIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let catalog = Arc::new(Catalog::embedded().expect("catalog"));
    let (generated, url) = database(&catalog).await;
    println!("{}", sizes(&generated).await);
    generated.close().await;
    // The API's own pool, as `serve` opens it (store::connect: default size, JIT off).
    let settings = DatabaseSettings { url: url.into(), ..DatabaseSettings::default() };
    let pool = store::connect(&settings).await.expect("connect as serve does");
    // From here on, the high-water mark is the API's, not the generator's.
    std::fs::write("/proc/self/clear_refs", "5").ok();

    // What the cache of GET /posture saves: the posture computed from the aggregates.
    let mut took = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        posture::current(&pool).await.expect("posture");
        took.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    took.sort_by(f64::total_cmp);
    println!("posture computed without the cache: median {:.1} ms, max {:.1} ms (20 runs)", took[10], took[19]);

    // The read path only: no sweep runs here, so the API is built without AWS.
    let mut settings = Settings::default();
    settings.api.tokens = vec![TokenHash { role: Role::Viewer, sha256: Sha256::digest(TOKEN.as_bytes()).into() }];
    let state = App::api_only(&settings, Arc::clone(&catalog), pool.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, api::router(state)).await.expect("serve") });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let high = Severity::High.as_str();
    let fail = Status::Fail.as_str();
    let targets = [
        ("GET /posture", "/api/v1/posture".to_owned()),
        ("GET /findings?status=fail&severity=high", format!("/api/v1/findings?status={fail}&severity={high}")),
        ("GET /findings?status=fail&sort=severity", format!("/api/v1/findings?status={fail}&sort=severity")),
        ("GET /findings?ou=Root/Unit-03&status=fail", format!("/api/v1/findings?ou=Root/Unit-03&status={fail}")),
        ("GET /accounts?failing=true", "/api/v1/accounts?failing=true".to_owned()),
        ("GET /history/posture (30 days, daily)", "/api/v1/history/posture".to_owned()),
    ];
    let mut table = String::new();
    for (name, path) in &targets {
        let url = format!("http://{addr}{path}");
        let (p50, p99, max, n) = sequential(addr, std::slice::from_ref(path), 5).await;
        let loaded = wrk(&url, connections, seconds, None).await;
        writeln!(
            table,
            "{name}: 1 connection p50 {p50:.2} ms p99 {p99:.2} ms max {max:.1} ms ({n} requests); {connections} connections p50 {:.2} ms p90 {:.2} ms p99 {:.2} ms, {:.0} requests/s ({} requests, {} not 2xx)",
            loaded.p50_ms, loaded.p90_ms, loaded.p99_ms, loaded.rps, loaded.requests, loaded.non_2xx
        )
        .expect("write");
        assert_eq!(loaded.non_2xx, 0, "{name}: the API answered errors under load");
    }
    // The same URL again and again is served from the shared responses. Walking thousands
    // of distinct pages instead (every page of the failing high findings, and each account's
    // findings) revisits a URL only after the TTL: this is the query path.
    let (walk, urls) = walk_script(&pool).await;
    let base = format!("http://{addr}/");
    // From the far end of the list, so these pages are not the ones wrk starts with.
    let tail: Vec<String> = urls.iter().rev().cloned().collect();
    let (p50, p99, max, n) = sequential(addr, &tail, 5).await;
    let loaded = wrk(&base, connections, seconds, Some(walk.path())).await;
    writeln!(
        table,
        "GET /findings walking distinct pages (not shared): 1 connection p50 {p50:.2} ms p99 {p99:.2} ms max {max:.1} ms ({n} requests); {connections} connections p50 {:.2} ms p90 {:.2} ms p99 {:.2} ms, {:.0} requests/s ({} requests, {} not 2xx)",
        loaded.p50_ms, loaded.p90_ms, loaded.p99_ms, loaded.rps, loaded.requests, loaded.non_2xx
    )
    .expect("write");
    assert_eq!(loaded.non_2xx, 0, "walking pages: the API answered errors under load");
    print!("{table}");
    println!("peak RSS of the process while serving {:.0} MiB", peak_rss_mib());
}
