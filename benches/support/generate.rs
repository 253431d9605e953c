//! The API benchmark's data generator: a deterministic organization of 10,000 accounts with
//! a year of daily sweeps behind it, written with COPY in the store's own schema. The
//! store's writer (`findings::record_account`, one account per transaction) runs at a sweep's
//! pace, far too slow for a million findings; the aggregates are then computed by the
//! store's own `totals::rebuild`.

use std::collections::BTreeMap;

use bedrock_sweeper::catalog::Catalog;
use bedrock_sweeper::domain::{AccountId, EventKind, FindingId, Region, Severity, Status, SweepId};
use bedrock_sweeper::evaluate::Evaluation;
use bedrock_sweeper::store::{exceptions, totals};
use chrono::{DateTime, Duration as Days, DurationRound, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// Bump when the generated data changes shape: older databases are then rebuilt.
pub const GENERATOR_VERSION: &str = "1";
pub const DB_NAME: &str = "bedrock_sweeper_bench_api";
pub const ACCOUNTS: usize = 10_000;
pub const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"];
pub const FINDINGS_PER_REGION: usize = 25;
pub const DAYS: usize = 365;
/// Chance that a passing or failing finding flips on a given day.
pub const DAILY_FLIP: f64 = 0.004;
pub const EVENTS_COPY: &str =
    "copy finding_events (finding_id, sweep_id, at, kind, old_status, new_status, detail) from stdin";

/// splitmix64: deterministic, so every run generates the same organization.
pub struct Rng(u64);

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

pub struct Finding {
    id: FindingId,
    account: usize,
    control: usize,
    status: Status,
}

/// COPY text format: tab-separated, `\N` for null, backslash escapes.
pub fn field(out: &mut String, value: Option<&str>) {
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

pub fn row(out: &mut String, values: &[Option<&str>]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        field(out, *v);
    }
    out.push('\n');
}

pub async fn copy(pool: &PgPool, statement: &str, data: &str) {
    let mut conn = pool.acquire().await.expect("connection");
    let mut copy = conn.copy_in_raw(statement).await.expect("COPY");
    for chunk in data.as_bytes().chunks(1 << 20) {
        copy.send(chunk).await.expect("COPY data");
    }
    copy.finish().await.expect("COPY finish");
}

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The region of the `i`-th generated finding (findings are generated account by account,
/// region by region).
pub fn region_of(i: usize) -> &'static str {
    REGIONS[(i / FINDINGS_PER_REGION) % REGIONS.len()]
}

pub fn account_id(i: usize) -> String {
    format!("{:012}", 200_000_000_000usize + i)
}

pub fn ou_path(i: usize) -> String {
    format!("Root/Unit-{:02}/Team-{:02}", i % 10, (i / 10) % 10)
}

pub fn sweep_id(day: usize) -> SweepId {
    let digest = Sha256::digest(format!("bench-sweep-{day}").as_bytes());
    let bytes: [u8; 16] = digest[..16].try_into().expect("16 bytes");
    SweepId(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

pub fn detail(control_title: &str, status: Status, region: &str, account: &str) -> String {
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
pub struct Failing {
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
pub async fn generate(pool: &PgPool, catalog: &Catalog) -> (usize, usize) {
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
                    resource_kind: bedrock_sweeper::domain::ResourceKind::CustomModel,
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
                Some("custom_model"),
            ],
        );
    }
    copy(
        pool,
        "copy findings (id, control_id, account_id, region, resource_id, status, severity, title, detail, active,
                        first_seen_at, last_seen_at, status_since, last_sweep_id, resource_kind) from stdin",
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
