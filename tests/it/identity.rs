//! The service's own identity at the start of a sweep: `own-credentials` refused to a caller
//! that is not the management account, and the caller's partition in every role ARN.

use std::sync::{Arc, Mutex};

use bedrock_sweeper::aws::AwsContext;
use bedrock_sweeper::config::{AwsSettings, ManagementAccess};
use bedrock_sweeper::sweep::{self, SweepError};

use super::helpers::{Moto, sdk_config, test_db};
use super::proxy::{Proxy, Reply};
use super::seed::Org;
use super::sweep_e2e::deps;
use bedrock_sweeper::domain::SweepOutcome;

fn settings(access: ManagementAccess) -> AwsSettings {
    AwsSettings { management_account_access: access, s3_force_path_style: true, max_attempts: 1, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_credentials_of_a_member_account_are_refused_naming_both_accounts() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    let delegated = org.account("security-tooling", &org.root).await;
    let (pool, _) = test_db().await;
    let mut d = deps(&moto.endpoint(), pool.clone()).await;
    // The service runs with a member account's credentials (moto maps assumed-role keys to
    // the role's account, as GetCallerIdentity does in AWS): a delegated administrator.
    d.aws = AwsContext::from_config(org.member(&delegated).await, &settings(ManagementAccess::OwnCredentials));

    let err = sweep::run(&d, "test").await.expect_err("a delegated administrator may not use own-credentials");
    let SweepError::Discovery(e) = &err else { panic!("not a discovery error: {err}") };
    assert!(e.is_config_error(), "{e}");
    let text = err.to_string();
    assert!(text.contains(&delegated) && text.contains(&org.management_account), "{text}");
    assert!(text.contains("aws.management_account_access") && text.contains("\"role\""), "the fix is named: {text}");

    // The sweep is recorded as failed with that message, and nothing was planned or assessed.
    let (status, error): (String, Option<String>) =
        sqlx::query_as("select status, error from sweeps").fetch_one(&pool).await.unwrap();
    assert_eq!(status, "failed");
    assert!(error.is_some_and(|e| e.contains(&delegated)));
    let tasks: i64 = sqlx::query_scalar("select count(*) from sweep_tasks").fetch_one(&pool).await.unwrap();
    let findings: i64 = sqlx::query_scalar("select count(*) from findings").fetch_one(&pool).await.unwrap();
    assert_eq!((tasks, findings), (0, 0));

    // The management account's own credentials are accepted under the same setting.
    d.aws = AwsContext::from_config(sdk_config(&moto.endpoint()), &settings(ManagementAccess::OwnCredentials));
    let r = sweep::run(&d, "test").await.unwrap();
    assert_eq!(r.status, SweepOutcome::Completed);
}

/// GetCallerIdentity as STS answers it (query protocol, XML), for a GovCloud caller.
fn gov_identity(account: &str) -> Reply {
    Reply {
        status: 200,
        content_type: "text/xml",
        body: format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
             <Arn>arn:aws-us-gov:sts::{account}:assumed-role/BedrockSweeper/i-0abc</Arn>\
             <UserId>AROAEXAMPLE:i-0abc</UserId><Account>{account}</Account></GetCallerIdentityResult>\
             <ResponseMetadata><RequestId>proxy</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_arns_are_built_in_the_callers_partition() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let org = Org::create(&moto.endpoint()).await;
    let member = org.account("member", &org.root).await;
    let management = org.management_account.clone();
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&asked);
    proxy.rule(move |req| match req.action().as_deref() {
        Some("GetCallerIdentity") => Some(gov_identity(&management)),
        Some("AssumeRole") => {
            let body = req.body_text();
            let arn = body.split('&').find_map(|kv| kv.strip_prefix("RoleArn=")).unwrap_or_default();
            seen.lock().unwrap().push(percent_decode(arn));
            // The emulator lives in `aws`; what matters is what was asked for.
            Some(Reply::xml_error(403, "AccessDenied", "not in this test"))
        }
        _ => None,
    });
    let (pool, _) = test_db().await;
    let mut d = deps(&proxy.endpoint(), pool.clone()).await;
    d.aws = AwsContext::from_config(sdk_config(&proxy.endpoint()), &settings(ManagementAccess::Role));

    let r = sweep::run(&d, "test").await.unwrap();
    assert_eq!((r.status, r.accounts.not_assessed), (SweepOutcome::Completed, 2));
    let mut asked = asked.lock().unwrap().clone();
    asked.sort();
    asked.dedup();
    let mut want: Vec<String> = [&org.management_account, &member]
        .iter()
        .map(|a| format!("arn:aws-us-gov:iam::{a}:role/BedrockSweeperReadOnly"))
        .collect();
    want.sort();
    assert_eq!(asked, want);
    // The not-assessed finding names the role it tried, in that partition.
    let detail: String =
        sqlx::query_scalar("select detail from findings where account_id = $1 and control_id = 'BR.COV.1'")
            .bind(&member)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(detail.contains(&format!("arn:aws-us-gov:iam::{member}:role/")), "{detail}");
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_exits_2_for_own_credentials_of_another_account() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    let delegated = org.account("security-tooling", &org.root).await;
    let creds = super::seed::role_credentials(&org.mgmt, &delegated).await;
    let (_pool, url) = test_db().await;
    let out = super::cli::sweeper()
        .args(["sweep", "--quiet"])
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
        .env("AWS_SESSION_TOKEN", creds.session_token().unwrap_or_default())
        .env("SWEEPER_DATABASE__URL", &url)
        .env("SWEEPER_AWS__MANAGEMENT_ACCOUNT_ACCESS", "own-credentials")
        .env("SWEEPER_AWS__MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&delegated) && err.contains(&org.management_account), "{err}");
}

/// Running as a delegated administrator (`role` mode), discovery reads the management
/// account's trails and keys as the management account, through the member role: from the
/// delegated administrator, the organization trail is a shadow and its key not describable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_administrator_reads_the_management_trails_through_the_role() {
    let moto = Moto::start().await;
    let proxy = Proxy::start(moto.port).await;
    let org = Org::create(&moto.endpoint()).await;
    let key = super::seed::cmk(&org.mgmt, true).await;
    super::seed::bucket(&org.mgmt, "org-trail-logs", None).await;
    let trail = super::seed::trail(&org.mgmt, super::seed::TrailSpec::organization("org-trail-logs", &key)).await;
    let delegated = org.account("security-tooling", &org.root).await;

    let askers: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let seen = Arc::clone(&askers);
    proxy.rule(move |req| {
        if req.action().as_deref() == Some("DescribeTrails") {
            seen.lock().unwrap().push(req.account.clone());
        }
        None
    });
    // moto lets no member read the organization; AWS lets a delegated administrator.
    proxy.forward_as(&delegated, "AWSOrganizationsV20161128.", &org.management_account);
    // Assumed through the proxy, so it knows whose keys they are.
    let creds = super::seed::role_credentials(&sdk_config(&proxy.endpoint()), &delegated).await;
    let ctx = AwsContext::from_config(
        super::helpers::sdk_config_with(&proxy.endpoint(), creds),
        &settings(ManagementAccess::Role),
    );
    let home = bedrock_sweeper::domain::Region::parse("us-east-1").unwrap();
    let snapshot = bedrock_sweeper::org::discover_checked(&ctx, &home).await.unwrap();

    let trails = snapshot.management_trails.as_ref().unwrap();
    assert!(trails.iter().any(|t| t.arn == trail && t.is_organization_trail), "{trails:?}");
    let described = snapshot.management_kms_keys.get(&key).unwrap().as_ref().unwrap();
    assert!(described.is_customer_managed(), "{described:?}");
    let askers = askers.lock().unwrap().clone();
    assert_eq!(askers, [Some(org.management_account.clone())], "trails read as the management account");
}
