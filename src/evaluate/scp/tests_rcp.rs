//! BR.ORG.10: resource control policies on the account's path, judged on requests from a
//! principal outside the organization and from one inside it.

use super::rcp::data_perimeter;
use super::tests::{judge, org, params};
use crate::domain::Status;
use crate::evaluate::fixtures::{MANAGEMENT, MEMBER};
use crate::snapshot::{OrgSnapshot, ScpPolicy};

/// The identity perimeter of the AWS data-perimeter examples, for the test organization.
const PERIMETER: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"EnforceOrgIdentities","Effect":"Deny",
  "Principal":"*","Action":["s3:*","sts:AssumeRole","kms:*"],"Resource":"*",
  "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-example"},
               "BoolIfExists":{"aws:PrincipalIsAWSService":"false"}}}]}"#;

/// The perimeter with S3 left out by NotAction: buckets stay readable from outside.
const PERIMETER_WITHOUT_S3: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"OrgOnlyExceptS3","Effect":"Deny",
  "Principal":"*","NotAction":["s3:*"],"Resource":"*",
  "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-example"}}}]}"#;

/// Denies every principal but one account's: the organization's own members too.
const ONE_ACCOUNT_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"OnlyTheLogArchive","Effect":"Deny",
  "Principal":"*","Action":["s3:GetObject","kms:Decrypt","sts:AssumeRole"],"Resource":"*",
  "Condition":{"StringNotEquals":{"aws:PrincipalAccount":"123456789012"}}}]}"#;

/// Exempts principals by a tag the probes cannot know.
const TAG_EXEMPT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"UnlessTagged","Effect":"Deny",
  "Principal":"*","Action":["s3:*","sts:AssumeRole","kms:*"],"Resource":"*",
  "Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-example","aws:PrincipalTag/partner":"yes"}}}]}"#;

fn with_rcps(rcps: &[(&str, &str, &[&str])], enabled: bool) -> OrgSnapshot {
    let mut o = org(&[], &[], true);
    o.roots[0].rcp_enabled = enabled;
    o.rcps.push(ScpPolicy {
        id: "p-RCPFullAWSAccess".into(),
        name: "RCPFullAWSAccess".into(),
        arn: "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess".into(),
        aws_managed: true,
        content:
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#
                .into(),
        targets: vec!["r-ab12".into(), "ou-ab12-work".into(), "ou-ab12-sand".into(), MEMBER.into()],
    });
    o.rcps.extend(rcps.iter().map(|(id, content, targets)| ScpPolicy {
        id: (*id).into(),
        name: format!("{id}-name"),
        arn: String::new(),
        aws_managed: false,
        content: (*content).into(),
        targets: targets.iter().map(|t| (*t).to_owned()).collect(),
    }));
    o
}

#[track_caller]
fn check(o: &OrgSnapshot, account: &str, want: Status, says: &[&str], not_says: &[&str]) {
    let e = judge(o, account, &params(), data_perimeter);
    assert_eq!(e.status, want, "{}", e.detail);
    for s in says {
        assert!(e.detail.contains(s), "lacks {s:?}: {}", e.detail);
    }
    for s in not_says {
        assert!(!e.detail.contains(s), "has {s:?}: {}", e.detail);
    }
}

#[test]
fn an_identity_perimeter_denies_outsiders_and_names_its_statement() {
    let o = with_rcps(&[("p-perimeter", PERIMETER, &["ou-ab12-work"])], true);
    check(&o, MEMBER, Status::Pass, &["denied", "RCP p-perimeter", "EnforceOrgIdentities", "OU Workloads"], &["Note"]);
}

#[test]
fn a_perimeter_that_leaves_s3_out_is_open_for_the_log_buckets() {
    let o = with_rcps(&[("p-no-s3", PERIMETER_WITHOUT_S3, &["r-ab12"])], true);
    check(
        &o,
        MEMBER,
        Status::Fail,
        &["outside the organization is not denied", "s3:GetObject", "NotAction"],
        &["kms:Decrypt on"],
    );
}

#[test]
fn without_an_rcp_or_with_rcps_disabled_nothing_fences_outsiders() {
    check(&with_rcps(&[], true), MEMBER, Status::Fail, &["no RCP on the path denies it", "sts:AssumeRole"], &[]);
    let disabled = with_rcps(&[("p-perimeter", PERIMETER, &["r-ab12"])], false);
    check(&disabled, MEMBER, Status::Fail, &["not enabled on root r-ab12"], &[]);
}

#[test]
fn a_perimeter_that_shuts_out_members_too_is_noted() {
    let o = with_rcps(&[("p-one", ONE_ACCOUNT_ONLY, &[MEMBER])], true);
    check(
        &o,
        MEMBER,
        Status::Pass,
        &["OnlyTheLogArchive", "Note: the RCPs deny principals of the organization too"],
        &[],
    );
}

#[test]
fn an_unknowable_exemption_is_not_proven_and_a_broken_rcp_is_an_error() {
    let o = with_rcps(&[("p-tag", TAG_EXEMPT, &["r-ab12"])], true);
    check(&o, MEMBER, Status::Fail, &["not proven denied", "aws:PrincipalTag/partner"], &[]);
    let broken = with_rcps(
        &[("p-broken", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny"}]}"#, &["ou-ab12-sand"])],
        true,
    );
    check(&broken, MEMBER, Status::Error, &["RCP p-broken", "OU Sandbox"], &[]);
    check(&o, MANAGEMENT, Status::NotApplicable, &["management account"], &[]);
}

/// A perimeter that exempts one bucket by NotResource: only the account's real buckets can
/// show whether its logs are inside it.
const EXEMPTS_A_BUCKET: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"OrgOnlyButPublicAssets","Effect":"Deny",
  "Principal":"*","Action":["s3:*","sts:AssumeRole","kms:*"],"NotResource":"arn:aws:s3:::public-assets/*",
  "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-example"}}}]}"#;

#[test]
fn a_perimeter_that_names_resources_is_not_judged_on_stand_ins_when_the_buckets_are_unknown() {
    use crate::evaluate::AccountInput;
    use crate::evaluate::fixtures::{account_snapshot, gap, now};
    let o = with_rcps(&[("p-exempt", EXEMPTS_A_BUCKET, &["r-ab12"])], true);
    // Everything read: the stand-ins are the account's (it has no log bucket), so it is judged.
    check(&o, MEMBER, Status::Pass, &["OrgOnlyButPublicAssets"], &[]);
    // The invocation-logging configuration, which names the log bucket, could not be read.
    let mut snap = account_snapshot();
    snap.per_region[0].invocation_logging = Err(gap("bedrock", "GetModelInvocationLoggingConfiguration"));
    let catalog = crate::catalog::Catalog::embedded().unwrap();
    let params = params();
    let engine = super::ScpEngine::new(&o, catalog.regions(), &params);
    let account = o.account(&crate::domain::AccountId::parse(MEMBER).unwrap()).unwrap();
    let input = AccountInput { org: &o, account, snapshot: Ok(&snap), params: &params, now: now(), scp: &engine };
    let e = data_perimeter(&input).remove(0);
    assert_eq!(e.status, Status::Error, "{}", e.detail);
    assert!(e.detail.contains("GetModelInvocationLoggingConfiguration"), "{}", e.detail);
    // A perimeter that denies on every resource needs no such knowledge.
    let plain = with_rcps(&[("p-perimeter", PERIMETER, &["r-ab12"])], true);
    let engine = super::ScpEngine::new(&plain, catalog.regions(), &params);
    let account = plain.account(&crate::domain::AccountId::parse(MEMBER).unwrap()).unwrap();
    let input = AccountInput { org: &plain, account, snapshot: Ok(&snap), params: &params, now: now(), scp: &engine };
    assert_eq!(data_perimeter(&input).remove(0).status, Status::Pass);
}
