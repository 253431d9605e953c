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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bedrock_sweeper::api;
use bedrock_sweeper::app::App;
use bedrock_sweeper::catalog::Catalog;
use bedrock_sweeper::config::{DatabaseSettings, Role, Settings, TokenHash};
use bedrock_sweeper::domain::{AccountId, EventKind, FindingId, Region, Severity, Status, SweepId};
use bedrock_sweeper::evaluate::Evaluation;
use bedrock_sweeper::store::{self, exceptions, posture, totals};
use chrono::{DateTime, Duration as Days, DurationRound, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// Bump when the generated data changes shape: older databases are then rebuilt.
const GENERATOR_VERSION: &str = "1";
const DB_NAME: &str = "bedrock_sweeper_bench_api";
const ACCOUNTS: usize = 10_000;
const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"];
const FINDINGS_PER_REGION: usize = 25;
const DAYS: usize = 365;
/// Chance that a passing or failing finding flips on a given day.
const DAILY_FLIP: f64 = 0.004;
const TOKEN: &str = "bench-viewer-token";
const EVENTS_COPY: &str =
    "copy finding_events (finding_id, sweep_id, at, kind, old_status, new_status, detail) from stdin";

/// splitmix64: deterministic, so every run generates the same organization.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Days until the next flip (geometric), at least 1.
    fn gap(&mut self) -> usize {
        let u = self.unit().max(f64::MIN_POSITIVE);
        1 + (u.ln() / (1.0 - DAILY_FLIP).ln()) as usize
    }
}

struct Finding {
    id: FindingId,
    account: usize,
    control: usize,
    status: Status,
}

/// COPY text format: tab-separated, `\N` for null, backslash escapes.
fn field(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("\\N"),
        Some(v) => {
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
        }
    }
}

fn row(out: &mut String, values: &[Option<&str>]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        field(out, *v);
    }
    out.push('\n');
}

async fn copy(pool: &PgPool, statement: &str, data: &str) {
    let mut conn = pool.acquire().await.expect("connection");
    let mut copy = conn.copy_in_raw(statement).await.expect("COPY");
    for chunk in data.as_bytes().chunks(1 << 20) {
        copy.send(chunk).await.expect("COPY data");
    }
    copy.finish().await.expect("COPY finish");
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The region of the `i`-th generated finding (findings are generated account by account,
/// region by region).
fn region_of(i: usize) -> &'static str {
    REGIONS[(i / FINDINGS_PER_REGION) % REGIONS.len()]
}

fn account_id(i: usize) -> String {
    format!("{:012}", 200_000_000_000usize + i)
}

fn ou_path(i: usize) -> String {
    format!("Root/Unit-{:02}/Team-{:02}", i % 10, (i / 10) % 10)
}

fn sweep_id(day: usize) -> SweepId {
    let digest = Sha256::digest(format!("bench-sweep-{day}").as_bytes());
    let bytes: [u8; 16] = digest[..16].try_into().expect("16 bytes");
    SweepId(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

fn detail(control_title: &str, status: Status, region: &str, account: &str) -> String {
    match status {
        Status::Fail => format!(
            "{control_title}: does not hold in {region} for account {account}; the deciding setting is missing \
             or too weak (see the evidence snapshot for the exact configuration read)."
        ),
        Status::Error => format!("could not evaluate in {region}: bedrock:ListGuardrails answered AccessDenied"),
        Status::NotApplicable => format!("not applicable in {region}: nothing of that kind exists"),
        Status::Pass => format!("{control_title}: holds in {region}"),
    }
}

/// What is failing, kept up to date as the year is replayed.
struct Failing {
    /// Failing findings per (account, control).
    per_account: Vec<u8>,
    /// Per control, the accounts with a failing finding.
    accounts: Vec<usize>,
    by_severity: BTreeMap<&'static str, i64>,
    controls: usize,
}

impl Failing {
    fn new(controls: usize) -> Self {
        Self {
            per_account: vec![0; ACCOUNTS * controls],
            accounts: vec![0; controls],
            by_severity: BTreeMap::new(),
            controls,
        }
    }

    /// One finding starts (+1) or stops (-1) failing.
    fn change(&mut self, f: &Finding, delta: i8, severity: Severity) {
        let slot = f.account * self.controls + f.control;
        let before = self.per_account[slot];
        let after = before.saturating_add_signed(delta);
        self.per_account[slot] = after;
        match (before, after) {
            (0, a) if a > 0 => self.accounts[f.control] += 1,
            (b, 0) if b > 0 => self.accounts[f.control] -= 1,
            _ => {}
        }
        *self.by_severity.entry(severity.as_str()).or_default() += i64::from(delta);
    }
}

/// Generates the year and writes it; returns how many findings and events were written.
async fn generate(pool: &PgPool, catalog: &Catalog) -> (usize, usize) {
    let controls = catalog.controls();
    let mut rng = Rng(0x5EED);
    let base = (Utc::now() - Days::days(DAYS as i64)).duration_trunc(Days::days(1)).expect("day") + Days::hours(3);
    let finished = |day: usize| base + Days::days(day as i64) + Days::minutes(50);

    // Sweeps, one a day.
    let mut data = String::new();
    for day in 0..DAYS {
        let started = base + Days::days(day as i64);
        let (id, s, f) = (sweep_id(day).to_string(), ts(started), ts(finished(day)));
        row(&mut data, &[Some(&id), Some("schedule"), Some("completed"), Some(&s), Some(&f), Some("10000")]);
    }
    copy(pool, "copy sweeps (id, trigger, status, started_at, finished_at, accounts_total) from stdin", &data).await;

    // Accounts.
    let last = DAYS - 1;
    let (last_sweep, last_time) = (sweep_id(last).to_string(), ts(finished(last)));
    let mut data = String::new();
    for i in 0..ACCOUNTS {
        let (id, name, email, ou) =
            (account_id(i), format!("workload-{i}"), format!("aws+{i}@example.com"), ou_path(i));
        let parent = format!("ou-bench-{:02}{:02}", i % 10, (i / 10) % 10);
        row(
            &mut data,
            &[
                Some(&id),
                Some(&name),
                Some(&email),
                Some("ACTIVE"),
                Some(&parent),
                Some(&ou),
                Some(&last_sweep),
                Some(&last_time),
                Some("t"),
            ],
        );
    }
    copy(
        pool,
        "copy accounts (id, name, email, status, parent_id, ou_path, last_sweep_id, last_assessed_at, assessed) from stdin",
        &data,
    )
    .await;

    // Findings at day 0, then each passing or failing one flips now and then.
    let mut all = Vec::with_capacity(ACCOUNTS * REGIONS.len() * FINDINGS_PER_REGION);
    for a in 0..ACCOUNTS {
        let account = AccountId::parse(&account_id(a)).expect("account id");
        for region in REGIONS {
            for slot in 0..FINDINGS_PER_REGION {
                let control = slot % controls.len();
                let u = rng.unit();
                let status = match u {
                    u if u < 0.22 => Status::Fail,
                    u if u < 0.27 => Status::Error,
                    u if u < 0.40 => Status::NotApplicable,
                    _ => Status::Pass,
                };
                let e = Evaluation {
                    control_id: controls[control].id.clone(),
                    account_id: account.clone(),
                    region: Some(Region::parse(region).expect("region")),
                    resource_id: format!("arn:aws:bedrock:{region}:{account}:resource/slot-{slot}"),
                    status,
                    detail: String::new(),
                };
                let id = FindingId::of(&e.control_id, &e.account_id, e.region.as_ref(), &e.resource_id);
                all.push(Finding { id, account: a, control, status });
            }
        }
    }
    let mut flips: Vec<Vec<usize>> = vec![Vec::new(); DAYS];
    for (i, f) in all.iter().enumerate() {
        if matches!(f.status, Status::Fail | Status::Pass) {
            let mut day = rng.gap();
            while day < DAYS {
                flips[day].push(i);
                day += rng.gap();
            }
        }
    }

    // The state the last sweep leaves follows from the flips alone; the findings go in first,
    // since the transitions refer to them.
    let mut final_status: Vec<Status> = all.iter().map(|f| f.status).collect();
    let mut final_since: Vec<usize> = vec![0; all.len()];
    for (day, flipped) in flips.iter().enumerate() {
        for &i in flipped {
            final_status[i] = if final_status[i] == Status::Fail { Status::Pass } else { Status::Fail };
            final_since[i] = day;
        }
    }

    // Current findings, as the last sweep left them.
    let mut data = String::new();
    for (i, f) in all.iter().enumerate() {
        let c = &controls[f.control];
        let region = region_of(i);
        let account = account_id(f.account);
        let resource = format!("arn:aws:bedrock:{region}:{account}:resource/slot-{}", i % FINDINGS_PER_REGION);
        let d = detail(&c.title, final_status[i], region, &account);
        let (first, since_at) = (ts(finished(0)), ts(finished(final_since[i])));
        row(
            &mut data,
            &[
                Some(f.id.as_str()),
                Some(c.id.as_str()),
                Some(&account),
                Some(region),
                Some(&resource),
                Some(final_status[i].as_str()),
                Some(c.severity.as_str()),
                Some(&c.title),
                Some(&d),
                Some("t"),
                Some(&first),
                Some(&last_time),
                Some(&since_at),
                Some(&last_sweep),
            ],
        );
    }
    copy(
        pool,
        "copy findings (id, control_id, account_id, region, resource_id, status, severity, title, detail, active,
                        first_seen_at, last_seen_at, status_since, last_sweep_id) from stdin",
        &data,
    )
    .await;
    drop(data);

    // Replay the year: events, and the posture point each sweep leaves (kept incrementally:
    // failing findings by severity, and per control the accounts with a failing finding).
    let mut status: Vec<Status> = all.iter().map(|f| f.status).collect();
    let mut failing = Failing::new(controls.len());
    for f in all.iter().filter(|f| f.status == Status::Fail) {
        failing.change(f, 1, controls[f.control].severity);
    }
    let mut events = String::new();
    let mut event_count = 0;
    let mut points = String::new();
    for (day, flipped) in flips.iter().enumerate() {
        let (sweep, at) = (sweep_id(day).to_string(), ts(finished(day)));
        if day == 0 {
            for (i, (f, s)) in all.iter().zip(&status).enumerate() {
                let kind = if *s == Status::Fail { EventKind::Opened } else { EventKind::FirstSeen };
                let d = detail(&controls[f.control].title, *s, region_of(i), &account_id(f.account));
                let fields = [
                    Some(f.id.as_str()),
                    Some(&sweep),
                    Some(&at),
                    Some(kind.as_str()),
                    None,
                    Some(s.as_str()),
                    Some(&d),
                ];
                row(&mut events, &fields);
                event_count += 1;
            }
        }
        for &i in flipped {
            let f = &all[i];
            let (old, new, kind) = match status[i] {
                Status::Fail => (Status::Fail, Status::Pass, EventKind::Resolved),
                _ => (Status::Pass, Status::Fail, EventKind::Regressed),
            };
            failing.change(f, if new == Status::Fail { 1 } else { -1 }, controls[f.control].severity);
            status[i] = new;
            let d = detail(&controls[f.control].title, new, region_of(i), &account_id(f.account));
            row(
                &mut events,
                &[
                    Some(f.id.as_str()),
                    Some(&sweep),
                    Some(&at),
                    Some(kind.as_str()),
                    Some(old.as_str()),
                    Some(new.as_str()),
                    Some(&d),
                ],
            );
            event_count += 1;
        }
        if events.len() > 64 << 20 {
            copy(pool, EVENTS_COPY, &events).await;
            events.clear();
        }
        let mut per_control = serde_json::Map::new();
        for (c, control) in controls.iter().enumerate() {
            per_control.insert(
                control.id.to_string(),
                serde_json::json!({
                    "accounts_compliant": ACCOUNTS - failing.accounts[c], "accounts_evaluated": ACCOUNTS}),
            );
        }
        let by_severity: BTreeMap<&str, i64> =
            failing.by_severity.iter().filter(|(_, n)| **n > 0).map(|(k, n)| (*k, *n)).collect();
        let by_severity = serde_json::to_string(&by_severity).expect("json");
        let per_control = serde_json::Value::Object(per_control).to_string();
        row(&mut points, &[Some(&sweep), Some(&at), Some(&by_severity), Some(&per_control)]);
    }

    copy(pool, EVENTS_COPY, &events).await;
    copy(pool, "copy posture_points (sweep_id, at, failing_by_severity, controls) from stdin", &points).await;

    // Every sweep's tasks.
    for day in 0..DAYS {
        let (sweep, at) = (sweep_id(day).to_string(), ts(finished(day)));
        let mut data = String::new();
        for a in 0..ACCOUNTS {
            row(&mut data, &[Some(&sweep), Some(&account_id(a)), Some("done"), Some("1"), Some("t"), Some(&at)]);
        }
        copy(pool, "copy sweep_tasks (sweep_id, account_id, state, attempts, assessed, finished_at) from stdin", &data)
            .await;
    }

    // Accepted risks: live ones (by OU, account, region, resource pattern), expired and withdrawn ones.
    let in_days = |d: i64| Utc::now() + Days::days(d);
    let control = |i: usize| controls[i % controls.len()].id.clone();
    let mut made = Vec::new();
    for i in 0..30 {
        let new = exceptions::NewException {
            control_id: control(i * 7),
            account_id: (i % 3 == 0).then(|| AccountId::parse(&account_id(i * 311)).expect("account")),
            ou_path: (i % 3 == 1).then(|| format!("Root/Unit-{:02}", i % 10)),
            region: (i % 3 == 2).then(|| Region::parse(REGIONS[i % 4]).expect("region")),
            resource_pattern: (i % 5 == 0).then(|| "arn:aws:bedrock:*:*:resource/slot-1*".to_owned()),
            reason: format!("bench exception {i}: accepted until the platform migration"),
            expires_at: in_days(30 + i as i64 * 10),
        };
        made.push(exceptions::create(pool, &new, "operator:bench0000").await.expect("exception"));
    }
    for e in &made[20..25] {
        exceptions::withdraw(pool, e.id, "operator:bench0000").await.expect("withdraw");
    }
    let expired: Vec<uuid::Uuid> = made[25..].iter().map(|e| e.id).collect();
    sqlx::query("update exceptions set expires_at = now() - interval '1 day' where id = any($1)")
        .bind(&expired)
        .execute(pool)
        .await
        .expect("expire");

    totals::rebuild(pool).await.expect("totals");
    (all.len(), event_count)
}

async fn database(catalog: &Catalog) -> (PgPool, String) {
    let admin =
        std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let url = format!("{}/{DB_NAME}", admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base));
    let admin_pool = PgPoolOptions::new().max_connections(1).connect(&admin).await.expect("PostgreSQL reachable");
    // Regenerated when the generator or any migration changes.
    let schema = Sha256::digest(store::MIGRATOR.iter().flat_map(|m| m.checksum.iter().copied()).collect::<Vec<u8>>());
    let marker = format!("{GENERATOR_VERSION}/{}", hex::encode(&schema[..8]));
    let regenerate = std::env::var("BENCH_REGENERATE").is_ok_and(|v| v == "1");
    if !regenerate && let Ok(pool) = PgPoolOptions::new().max_connections(20).connect(&url).await {
        let found: Option<String> =
            sqlx::query_scalar("select version from bench_dataset").fetch_optional(&pool).await.ok().flatten();
        if found.as_deref() == Some(marker.as_str()) {
            println!("reusing the generated database {DB_NAME} (BENCH_REGENERATE=1 rebuilds it)");
            return (pool, url);
        }
        pool.close().await;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {DB_NAME} with (force)")))
        .execute(&admin_pool)
        .await
        .expect("drop old database");
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {DB_NAME}")))
        .execute(&admin_pool)
        .await
        .expect("create database");
    let pool = PgPoolOptions::new().max_connections(20).connect(&url).await.expect("connect");
    store::migrate(&pool).await.expect("migrate");
    store::controls::sync(&pool, catalog).await.expect("controls");
    let t = Instant::now();
    let (findings, events) = generate(&pool, catalog).await;
    sqlx::query("vacuum analyze").execute(&pool).await.expect("vacuum analyze");
    // Write the load out now, so the measurements do not share the machine with it.
    sqlx::query("checkpoint").execute(&pool).await.expect("checkpoint");
    sqlx::query("create table bench_dataset (version text not null)").execute(&pool).await.expect("marker");
    sqlx::query("insert into bench_dataset values ($1)").bind(&marker).execute(&pool).await.expect("marker");
    println!(
        "generated {findings} findings, {events} transitions, {DAYS} sweeps with {} tasks in {:.0}s",
        DAYS * ACCOUNTS,
        t.elapsed().as_secs_f64()
    );
    (pool, url)
}

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
