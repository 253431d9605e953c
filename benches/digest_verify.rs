//! CloudTrail digest-chain verification benchmark (BR.LOG.6): a busy trail's 24 hours × 4
//! regions — by default 2,016 gzip log files of 1 MiB each (uncompressed) and 96 signed
//! digests — written into moto's S3 and verified by `collect::trail_integrity::verify_chain`
//! as a sweep does (the 4 chains of one account one after the other). In the same run, on
//! the same bytes:
//! - `sha256sum` over the stored (gzip) files, and `gzip -dc | sha256sum` over each (what
//!   verification computes: SHA-256 of the uncompressed content), from a temporary directory;
//! - the emulator's ceiling: plain GETs of the same objects through the same proxy, at the
//!   same concurrency, bodies discarded.
//!
//! Prints MB/s for each, the ratios, and verification's peak RSS (the peak is reset before
//! verification: `/proc/self/clear_refs`).
//!
//! Run: `scripts/bench-digest.sh` (sets up moto). FILES_PER_HOUR (21), FILE_KIB (1024) and
//! HOURS (24) change the size.

#[path = "../tests/it/chain_fixture.rs"]
#[expect(dead_code, clippy::unwrap_used, reason = "the tests' fixture writer, shared as is")]
mod chain_fixture;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use bedrock_sweeper::aws::AwsContext;
use bedrock_sweeper::collect::trail_integrity::{ByteBudget, ChainPolicy, ChainTarget, PublicKeys, verify_chain};
use bedrock_sweeper::config::AwsSettings;
use bedrock_sweeper::domain::Region;
use chain_fixture::{Chain, HourSpec, SigningKey, Written};
use chrono::{Duration as Hours, DurationRound, Utc};
use emulator_proxy::{Proxy, Reply};
use futures::StreamExt;

const ACCOUNT: &str = "123456789012";
const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"];
const BUCKET: &str = "busy-trail";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Moto(Child, u16);

impl Drop for Moto {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

async fn start_moto() -> Moto {
    let bin = std::env::var("MOTO_SERVER").expect("MOTO_SERVER (scripts/bench-digest.sh sets it)");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    // Owned from here: dropping it kills and reaps the server.
    let moto = Moto(child, port);
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("moto did not start");
}

fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "bench",
        )))
        .build()
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

/// Runs `sh -c script` and returns its wall time.
fn timed_shell(script: &str, dir: &std::path::Path) -> Duration {
    let start = Instant::now();
    let status = Command::new("sh").arg("-c").arg(script).current_dir(dir).stdout(Stdio::null()).status().expect("sh");
    assert!(status.success(), "{script} failed");
    start.elapsed()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let files_per_hour = env_usize("FILES_PER_HOUR", 21);
    let file_kib = env_usize("FILE_KIB", 1024);
    let hours = env_usize("HOURS", 24);
    let moto = start_moto().await;
    let proxy = Proxy::start(moto.1).await;
    let key = SigningKey::generate();
    let (value, fingerprint, now) = (key.public_der_base64(), key.fingerprint.clone(), Utc::now().timestamp());
    proxy.rule(move |req| {
        (req.action().as_deref() == Some("ListPublicKeys"))
            .then(|| Reply::cloudtrail_public_keys(&[(&value, &fingerprint, now - 7 * 86_400, now + 7 * 86_400)]))
    });
    let cfg = sdk_config(&proxy.endpoint());
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true).build());
    s3.create_bucket().bucket(BUCKET).send().await.expect("bucket");

    // Seed: per region, `hours` chained digests of `files_per_hour` log files.
    let seeding = Instant::now();
    let last = Utc::now().duration_trunc(Hours::hours(1)).expect("hour") - Hours::hours(1) + Hours::minutes(1);
    let spec = HourSpec { log_files: files_per_hour, log_bytes: file_kib * 1024, previous_override: None };
    let mut written: Vec<Written> = Vec::new();
    for region in REGIONS {
        let chain = Chain {
            s3: s3.clone(),
            bucket: BUCKET.into(),
            account: ACCOUNT.into(),
            region: region.into(),
            home_region: "us-east-1".into(),
            trail: "busy".into(),
            logs_root: format!("AWSLogs/{ACCOUNT}/"),
        };
        written.extend(chain.write_hours(&key, last, hours, None, &spec).await);
    }
    let log_keys: Vec<String> = written.iter().flat_map(|w| w.log_keys.clone()).collect();
    let digest_keys: Vec<String> = written.iter().map(|w| w.key.clone()).collect();
    eprintln!(
        "seeded {} log files of {file_kib} KiB and {} digests in {:.0?}",
        log_keys.len(),
        digest_keys.len(),
        seeding.elapsed()
    );

    // The same bytes on disk, for sha256sum.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stored_bytes = 0u64;
    for (i, k) in log_keys.iter().chain(&digest_keys).enumerate() {
        let body = s3.get_object().bucket(BUCKET).key(k).send().await.expect("get");
        let bytes = body.body.collect().await.expect("body").into_bytes();
        stored_bytes += bytes.len() as u64;
        std::fs::write(dir.path().join(format!("{i:06}.json.gz")), &bytes).expect("write");
    }
    let uncompressed = (log_keys.len() * file_kib * 1024) as u64;

    // The emulator's ceiling: the same GETs through the same proxy, 4 at a time, nothing else.
    let all: Vec<String> = digest_keys.iter().chain(&log_keys).cloned().collect();
    let ceiling_start = Instant::now();
    let got: Vec<u64> = futures::stream::iter(all.clone())
        .map(|k| {
            let s3 = s3.clone();
            tokio::spawn(async move {
                let out = s3.get_object().bucket(BUCKET).key(k).send().await.expect("get");
                out.body.collect().await.expect("body").into_bytes().len() as u64
            })
        })
        .buffer_unordered(4)
        .map(|r| r.expect("join"))
        .collect()
        .await;
    let ceiling = ceiling_start.elapsed();
    assert_eq!(got.iter().sum::<u64>(), stored_bytes);

    // Verification, as a sweep does it for one account: chain after chain.
    std::fs::write("/proc/self/clear_refs", "5").ok();
    let rss_before = peak_rss_kib();
    let aws =
        AwsContext::from_config(cfg.clone(), &AwsSettings { s3_force_path_style: true, ..AwsSettings::default() });
    let clients = aws.own_clients();
    let policy = ChainPolicy { window: Hours::hours(48), stall_after: Hours::hours(24), now: Utc::now() };
    let budget = ByteBudget::new(u64::MAX);
    let keys = PublicKeys::default();
    let verify_start = Instant::now();
    let (mut digests, mut files, mut bytes) = (0u32, 0u32, 0u64);
    for region in REGIONS {
        let r = Region::parse(region).expect("region");
        let target = ChainTarget {
            trail_name: "busy".into(),
            account: ACCOUNT.into(),
            digest_prefix: ChainTarget::prefix_for(None, None, ACCOUNT, &r),
            region: r,
            bucket: BUCKET.into(),
            home_region: Region::parse("us-east-1").expect("region"),
        };
        let v = verify_chain(&clients, &target, None, &policy, &budget, &keys).await.expect("verified");
        assert!(v.breaks.is_empty(), "{:#?}", v.breaks);
        digests += v.digests_verified;
        files += v.log_files_verified;
        bytes += v.bytes_read;
    }
    let verified = verify_start.elapsed();
    let rss_peak = peak_rss_kib();
    assert_eq!((files as usize, digests as usize), (log_keys.len(), digest_keys.len()));
    assert_eq!(bytes, stored_bytes);

    let sha_stored = timed_shell("sha256sum ./*.json.gz", dir.path());
    let sha_inflated = timed_shell("for f in ./*.json.gz; do gzip -dc \"$f\" | sha256sum; done", dir.path());

    let ours = mb_per_s(stored_bytes, verified);
    println!("digest-chain verification: {hours} h x {} regions", REGIONS.len());
    println!(
        "  data: {digests} digests, {files} log files, {:.1} MB stored (gzip), {:.1} MB uncompressed",
        stored_bytes as f64 / 1e6,
        uncompressed as f64 / 1e6
    );
    println!(
        "  verify_chain (S3 via proxy + inflate + SHA-256 + RSA): {:.2} s, {ours:.1} MB/s stored, {:.1} MB/s uncompressed",
        verified.as_secs_f64(),
        mb_per_s(uncompressed, verified)
    );
    println!(
        "  emulator ceiling (same GETs, same proxy, 4 at a time): {:.2} s, {:.1} MB/s -> verification at {:.0}% of it",
        ceiling.as_secs_f64(),
        mb_per_s(stored_bytes, ceiling),
        100.0 * ceiling.as_secs_f64() / verified.as_secs_f64()
    );
    println!(
        "  sha256sum on the stored files: {:.2} s, {:.1} MB/s -> verification {:.2}x its time",
        sha_stored.as_secs_f64(),
        mb_per_s(stored_bytes, sha_stored),
        verified.as_secs_f64() / sha_stored.as_secs_f64()
    );
    println!(
        "  gzip -dc | sha256sum per file (what verification computes): {:.2} s, {:.1} MB/s stored -> verification {:.2}x its time",
        sha_inflated.as_secs_f64(),
        mb_per_s(stored_bytes, sha_inflated),
        verified.as_secs_f64() / sha_inflated.as_secs_f64()
    );
    println!("  peak RSS during verification: {} MiB (before: {} MiB)", rss_peak / 1024, rss_before / 1024);
}
