//! BR.LOG.6: CloudTrail digest chains written into moto's S3 as CloudTrail writes them,
//! signed with a key made in the test that the proxy serves as `ListPublicKeys` (moto lacks
//! it). An intact chain passes; each way of breaking it fails, naming the hour and object;
//! an unreadable bucket is `error`; a second verification reads only what arrived since.

use std::sync::Arc;

use aws_config::SdkConfig;
use bedrock_sweeper::aws::{AwsContext, CallCounts};
use bedrock_sweeper::collect::trail_integrity::{ByteBudget, ChainPolicy, ChainTarget, PublicKeys, verify_chain};
use bedrock_sweeper::config::AwsSettings;
use bedrock_sweeper::domain::{Region, Status};
use bedrock_sweeper::snapshot::{BreakKind, ChainVerification};
use chrono::{DateTime, Duration, DurationRound, Utc};
use emulator_proxy::{Proxy, Reply};

use super::chain_fixture::{Chain, HourSpec, SigningKey, Written};
use super::helpers::{Moto, run_sweep, sdk_config, test_db};
use super::seed::{self, Org, TrailSpec};

const ACCOUNT: &str = "123456789012";

/// The proxy answers `ListPublicKeys` with `key`, valid from a week ago to a week ahead.
fn serve_public_key(proxy: &Proxy, key: &SigningKey) {
    let (value, fingerprint) = (key.public_der_base64(), key.fingerprint.clone());
    let now = Utc::now().timestamp();
    proxy.rule(move |req| {
        (req.action().as_deref() == Some("ListPublicKeys"))
            .then(|| Reply::cloudtrail_public_keys(&[(&value, &fingerprint, now - 7 * 86_400, now + 7 * 86_400)]))
    });
}

/// The top of the current hour, a minute past (as CloudTrail's digests end).
fn this_hour() -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::hours(1)).unwrap() + Duration::minutes(1)
}

struct Bench {
    _moto: Moto,
    proxy: Proxy,
    key: SigningKey,
    cfg: SdkConfig,
    aws: AwsContext,
    /// Shared by its verifications, as a sweep shares it across accounts.
    keys: PublicKeys,
}

impl Bench {
    async fn start() -> Self {
        let moto = Moto::start().await;
        let proxy = Proxy::start(moto.port).await;
        let key = SigningKey::generate();
        serve_public_key(&proxy, &key);
        let cfg = sdk_config(&proxy.endpoint());
        let settings = AwsSettings { s3_force_path_style: true, max_attempts: 1, ..AwsSettings::default() };
        let aws = AwsContext::from_config(cfg.clone(), &settings);
        Self { _moto: moto, proxy, key, cfg, aws, keys: PublicKeys::default() }
    }

    /// A bucket (made if new) with a chain of trail `main`, home region us-east-1.
    async fn chain(&self, bucket: &str) -> Chain {
        self.chain_in(bucket, "us-east-1", "us-east-1").await
    }

    /// The chain of `region`'s digests of a trail whose home region is `home`.
    async fn chain_in(&self, bucket: &str, region: &str, home: &str) -> Chain {
        let s3 = seed::s3(&self.cfg);
        if s3.head_bucket().bucket(bucket).send().await.is_err() {
            seed::bucket(&self.cfg, bucket, None).await;
        }
        Chain {
            s3,
            bucket: bucket.to_owned(),
            account: ACCOUNT.to_owned(),
            region: region.to_owned(),
            home_region: home.to_owned(),
            trail: "main".to_owned(),
            logs_root: format!("AWSLogs/{ACCOUNT}/"),
        }
    }

    fn target(chain: &Chain) -> ChainTarget {
        let region = Region::parse(&chain.region).unwrap();
        ChainTarget {
            trail_name: chain.trail.clone(),
            account: chain.account.clone(),
            digest_prefix: ChainTarget::prefix_for(None, None, ACCOUNT, &region),
            region,
            bucket: chain.bucket.clone(),
            home_region: Region::parse(&chain.home_region).unwrap(),
        }
    }

    /// Verifies `chain` from `cursor`; the result and the AWS calls it made.
    async fn verify(
        &self,
        chain: &Chain,
        cursor: Option<&bedrock_sweeper::snapshot::ChainCursor>,
        budget_bytes: u64,
    ) -> (ChainVerification, CallCounts) {
        let before = self.aws.counter().snapshot();
        let policy = ChainPolicy { window: Duration::hours(48), stall_after: Duration::hours(24), now: Utc::now() };
        let budget = ByteBudget::new(budget_bytes);
        let v = verify_chain(&self.aws.own_clients(), &Self::target(chain), cursor, &policy, &budget, &self.keys)
            .await
            .unwrap();
        (v, bedrock_sweeper::aws::calls_since(&before, &self.aws.counter().snapshot()))
    }
}

fn calls(counts: &CallCounts, service: &str, op: &str) -> u64 {
    counts.get(service).and_then(|o| o.get(op)).map_or(0, |c| c.calls)
}

const HOUR: HourSpec = HourSpec { log_files: 3, log_bytes: 20_000, previous_override: None };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intact_chain_verifies_and_the_next_run_reads_only_the_new_hour() {
    let b = Bench::start().await;
    let chain = b.chain("intact-trail").await;
    // Two hours long before the window, then six recent hours chained to them: the first
    // digest of the window links to one outside it, which is read to check the link.
    let old = chain.write_hours(&b.key, this_hour() - Duration::hours(60), 2, None, &HOUR).await;
    let written = chain.write_hours(&b.key, this_hour() - Duration::hours(1), 6, old.last().cloned(), &HOUR).await;

    let (first, counts) = b.verify(&chain, None, u64::MAX).await;
    assert!(first.breaks.is_empty(), "{:#?}", first.breaks);
    assert_eq!((first.digests_verified, first.log_files_verified), (6, 18));
    assert!(first.restarts.is_empty(), "the window's first digest links to the one before it");
    assert_eq!(first.next_cursor.as_ref().unwrap().digest_key, written[5].key);
    assert_eq!(calls(&counts, "S3", "HeadObject"), 1, "{counts:?}");
    assert_eq!(calls(&counts, "S3", "GetObject"), 1 + 6 + 18, "{counts:?}");
    assert_eq!(calls(&counts, "CloudTrail", "ListPublicKeys"), 1, "{counts:?}");

    // One more hour arrives; the next run starts from the cursor.
    let newer = chain.write_hour(&b.key, this_hour(), Some(&written[5]), &HOUR).await;
    let (second, counts) = b.verify(&chain, first.next_cursor.as_ref(), u64::MAX).await;
    assert!(second.breaks.is_empty(), "{:#?}", second.breaks);
    assert_eq!((second.digests_verified, second.log_files_verified), (1, 3));
    assert_eq!(second.next_cursor.as_ref().unwrap().digest_key, newer.key);
    assert_eq!(calls(&counts, "S3", "ListObjectsV2"), 1, "{counts:?}");
    assert_eq!(calls(&counts, "S3", "GetObject"), 1 + 3, "{counts:?}");
    assert_eq!(calls(&counts, "S3", "HeadObject"), 0, "{counts:?}");
    assert_eq!(calls(&counts, "CloudTrail", "ListPublicKeys"), 0, "the region's key is known: {counts:?}");
    println!("incremental S3 calls: first run {} GetObject for 6 hours; second run {counts:?}", 6 + 18);

    // Nothing new: nothing read but the listing.
    let (third, counts) = b.verify(&chain, second.next_cursor.as_ref(), u64::MAX).await;
    assert_eq!(third.digests_verified, 0);
    assert_eq!(third.next_cursor, second.next_cursor);
    assert_eq!(calls(&counts, "S3", "GetObject"), 0, "{counts:?}");
}

/// A multi-region trail's digests in another region than its home carry both in their names
/// (`…_CloudTrail-Digest_<region>_<trail>_<home>_…`); a trail of the same name with another
/// home region writing into the same folder is another chain, and is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_region_chain_is_found_by_its_region_and_home_region() {
    let b = Bench::start().await;
    let chain = b.chain_in("multi-region-trail", "eu-west-1", "us-east-1").await;
    chain.write_hours(&b.key, this_hour() - Duration::hours(1), 3, None, &HOUR).await;
    let other = b.chain_in("multi-region-trail", "eu-west-1", "us-west-2").await;
    other.write_hours(&b.key, this_hour() - Duration::hours(2), 2, None, &HOUR).await;

    let (v, _) = b.verify(&chain, None, u64::MAX).await;
    assert!(v.breaks.is_empty(), "{:#?}", v.breaks);
    assert_eq!((v.digests_verified, v.log_files_verified), (3, 9));
}

/// One way to break an intact chain of six hours, applied after it was written.
#[derive(Debug, Clone, Copy)]
enum Tamper {
    EditLogFile,
    DeleteLogFile,
    DeleteDigest,
    AlterSignature,
    LinkElsewhere,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_way_of_breaking_the_chain_fails_naming_the_hour_and_object() {
    let b = Bench::start().await;
    let cases = [
        (Tamper::EditLogFile, BreakKind::LogFileModified),
        (Tamper::DeleteLogFile, BreakKind::LogFileMissing),
        (Tamper::DeleteDigest, BreakKind::DigestMissing),
        (Tamper::AlterSignature, BreakKind::SignatureInvalid),
        (Tamper::LinkElsewhere, BreakKind::LinkMismatch),
    ];
    for (i, (tamper, expected)) in cases.into_iter().enumerate() {
        let chain = b.chain(&format!("tampered-{i}")).await;
        let last = this_hour() - Duration::hours(1);
        let mut written: Vec<Written> = chain.write_hours(&b.key, last - Duration::hours(2), 4, None, &HOUR).await;
        // The hour that is tampered with is written[3]'s (or its link, for the chain faults).
        let (object, hour) = match tamper {
            Tamper::EditLogFile => {
                let k = written[3].log_keys[1].clone();
                chain.put(&k, super::chain_fixture::gzip(b"{\"Records\":[]}"), None).await;
                (k, written[3].end)
            }
            Tamper::DeleteLogFile => {
                let k = written[3].log_keys[0].clone();
                chain.delete(&k).await;
                (k, written[3].end)
            }
            Tamper::DeleteDigest => {
                // The next digest names it; the break names the missing digest and its hour.
                let next = chain.write_hour(&b.key, last - Duration::hours(1), Some(&written[3]), &HOUR).await;
                chain.delete(&written[3].key).await;
                let k = written[3].key.clone();
                written.push(next);
                (k, written[3].end)
            }
            Tamper::AlterSignature => {
                let k = written[3].key.clone();
                let body = chain.s3.get_object().bucket(&chain.bucket).key(&k).send().await.unwrap();
                let bytes = body.body.collect().await.unwrap().into_bytes().to_vec();
                let mut forged = written[3].signature.clone().into_bytes();
                forged[10] = if forged[10] == b'0' { b'1' } else { b'0' };
                chain.put(&k, bytes, Some(std::str::from_utf8(&forged).unwrap())).await;
                (k, written[3].end)
            }
            Tamper::LinkElsewhere => {
                // A properly signed digest whose link skips the hour before it.
                let spec = HourSpec { previous_override: Some(written[2].clone()), ..HOUR };
                let next = chain.write_hour(&b.key, last - Duration::hours(1), Some(&written[3]), &spec).await;
                written.push(next.clone());
                (next.key.clone(), next.end)
            }
        };
        let (v, _) = b.verify(&chain, None, u64::MAX).await;
        let found: Vec<_> = v.breaks.iter().filter(|x| x.kind == expected).collect();
        assert_eq!(found.len(), 1, "{tamper:?}: {:#?}", v.breaks);
        assert!(found[0].object.ends_with(&object), "{tamper:?}: {:#?} names {object}", found[0]);
        assert_eq!(found[0].hour, Some(hour), "{tamper:?}");
        assert!(v.breaks.iter().all(|x| x.kind == expected), "{tamper:?} breaks nothing else: {:#?}", v.breaks);

        // The break stays reported after the cursor moved past it.
        let cursor = v.next_cursor.clone().unwrap();
        let (again, _) = b.verify(&chain, Some(&cursor), u64::MAX).await;
        assert_eq!(again.digests_verified, 0);
        assert!(again.breaks.iter().any(|x| x.kind == expected), "{tamper:?}: sticky");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_bucket_is_a_gap_and_a_small_budget_stops_early_and_resumes() {
    let b = Bench::start().await;
    let chain = b.chain("budgeted").await;
    chain.write_hours(&b.key, this_hour() - Duration::hours(1), 5, None, &HOUR).await;

    // About two hours' worth of bytes: verification stops, says so, and keeps its place.
    let (partial, _) = b.verify(&chain, None, 2 * 3 * 2_000).await;
    let why = partial.stopped_early.clone().expect("stopped early");
    assert!(why.contains("remain"), "{why}");
    assert!(partial.digests_verified < 5 && partial.digests_verified > 0, "{partial:#?}");
    let (rest, _) = b.verify(&chain, partial.next_cursor.as_ref(), u64::MAX).await;
    assert_eq!(partial.digests_verified + rest.digests_verified, 5);
    assert!(rest.stopped_early.is_none() && rest.breaks.is_empty(), "{rest:#?}");

    // A bucket the role may not list: a gap naming the call.
    let denied = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = Arc::clone(&denied);
    b.proxy.rule(move |req| {
        (flag.load(std::sync::atomic::Ordering::Relaxed) && req.method == "GET" && req.path.contains("list-type=2"))
            .then(|| Reply {
                status: 403,
                content_type: "application/xml",
                body: "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>".into(),
            })
    });
    let policy = ChainPolicy { window: Duration::hours(48), stall_after: Duration::hours(24), now: Utc::now() };
    let unlimited = ByteBudget::new(u64::MAX);
    let gap = verify_chain(&b.aws.own_clients(), &Bench::target(&chain), None, &policy, &unlimited, &b.keys)
        .await
        .unwrap_err();
    assert_eq!((gap.operation.as_str(), gap.code.as_str()), ("ListObjectsV2", "AccessDenied"));
    denied.store(false, std::sync::atomic::Ordering::Relaxed);

    // Log files S3 cannot decrypt for the role (the trail's KMS key): the gap names kms:Decrypt.
    let sealed = b.chain("kms-sealed").await;
    sealed.write_hours(&b.key, this_hour() - Duration::hours(1), 1, None, &HOUR).await;
    b.proxy.rule(|req| {
        (req.method == "GET" && req.path.contains("/kms-sealed/") && req.path.contains("/CloudTrail/us-east-1/")).then(
            || Reply {
                status: 403,
                content_type: "application/xml",
                body: "<Error><Code>AccessDenied</Code><Message>User is not authorized to perform: kms:Decrypt \
                       on the resource associated with this ciphertext</Message></Error>"
                    .into(),
            },
        )
    });
    let gap = verify_chain(&b.aws.own_clients(), &Bench::target(&sealed), None, &policy, &unlimited, &b.keys)
        .await
        .unwrap_err();
    assert_eq!((gap.service.as_str(), gap.operation.as_str()), ("kms", "Decrypt"), "{gap:?}");
}

/// End to end: a member's own validated trail, swept twice. The first sweep passes BR.LOG.6
/// and stores the cursor; a log file of the next hour is edited, and the second sweep reads
/// only that hour and fails, naming it; the third still fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeps_verify_the_chain_incrementally_and_keep_a_break_reported() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let key = SigningKey::generate();
    serve_public_key(&proxy, &key);
    let org = Org::create(&moto.endpoint()).await;
    let member = org.account("member", &org.root).await;
    let m = org.member(&member).await;
    seed::bucket(&m, "member-trail", None).await;
    let trail_arn = seed::trail(&m, TrailSpec { multi_region: false, ..TrailSpec::main("member-trail") }).await;
    let chain = Chain {
        s3: seed::s3(&m),
        bucket: "member-trail".into(),
        account: member.clone(),
        region: "us-east-1".into(),
        home_region: "us-east-1".into(),
        trail: "main".into(),
        logs_root: format!("AWSLogs/{member}/"),
    };
    let written = chain.write_hours(&key, this_hour() - Duration::hours(1), 3, None, &HOUR).await;

    let (pool, _) = test_db().await;
    let deps = super::sweep_e2e::deps(&proxy.endpoint(), pool.clone()).await;
    let log6 = |r: &super::helpers::Swept| {
        r.findings
            .iter()
            .find(|f| f.control_id == "BR.LOG.6" && f.account_id == member && f.resource_id == trail_arn)
            .cloned()
            .unwrap_or_else(|| panic!("no BR.LOG.6 finding for {trail_arn}"))
    };
    let s3_gets = |r: &super::helpers::Swept| calls(&r.aws_calls, "S3", "GetObject");

    let first = run_sweep(&deps, "test").await.unwrap();
    let f = log6(&first);
    assert_eq!(f.status, Status::Pass, "{}", f.detail);
    assert_eq!(s3_gets(&first), 3 + 9, "{:?}", first.aws_calls.get("S3"));
    let stored: i64 = sqlx::query_scalar("select count(*) from digest_cursors where account_id = $1")
        .bind(&member)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);

    let newer = chain.write_hour(&key, this_hour(), Some(&written[2]), &HOUR).await;
    chain.put(&newer.log_keys[2], super::chain_fixture::gzip(b"{\"Records\":[]}"), None).await;
    let second = run_sweep(&deps, "test").await.unwrap();
    let f = log6(&second);
    assert_eq!(f.status, Status::Fail, "{}", f.detail);
    assert!(f.detail.contains(&newer.log_keys[2]) && f.detail.contains("log file modified"), "{}", f.detail);
    assert_eq!(s3_gets(&second), 1 + 3, "only the new hour: {:?}", second.aws_calls.get("S3"));

    let third = run_sweep(&deps, "test").await.unwrap();
    let f = log6(&third);
    assert_eq!(f.status, Status::Fail, "a break stays reported: {}", f.detail);
    assert_eq!(s3_gets(&third), 0);
}
