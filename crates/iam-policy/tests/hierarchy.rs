//! The SCP hierarchy walk: three-valued outcomes and edge cases (scp-semantics.md §1.1,
//! §8.3).
#![allow(clippy::unwrap_used)]

mod common;

use common::{FULL_ACCESS, Want, check, ctx, eval, levels, with_full_access};
use iam_policy::{Effect, Level, ScpOutcome};

const TAG_DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"TagDeny","Effect":"Deny","Action":"bedrock:*","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalTag/team":"ml"}}}]}"#;
const REGION_DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"RegionDeny","Effect":"Deny","Action":"bedrock:*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}"#;
const TAG_ALLOW: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"TagAllow","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/env":"dev"}}}]}"#;

#[test]
fn three_valued_outcomes() {
    let unknown = |region: &str| ctx("bedrock:InvokeModel", region, "*").with_tag_keys_unknown();
    let lv = with_full_access(&[("p-tag", TAG_DENY)]);
    match eval(&lv, &unknown("eu-west-1")) {
        ScpOutcome::Depends { keys, level, policy_id, sid, statement_index, effect, .. } => {
            assert_eq!(keys, vec!["aws:PrincipalTag/team"]);
            assert_eq!(
                (level.as_str(), policy_id.as_str(), sid.as_deref(), statement_index, effect),
                ("root r-ab12", "p-tag", Some("TagDeny"), 0, Effect::Deny)
            );
        }
        other => panic!("{other:#?}"),
    }
    // Known tag decides it.
    check("tag known ml", &eval(&lv, &unknown("eu-west-1").with_value("aws:PrincipalTag/Team", "ml")), Want::Allowed);
    check(
        "tag known other",
        &eval(&lv, &unknown("eu-west-1").with_value("aws:PrincipalTag/team", "web")),
        Want::Deny("TagDeny"),
    );
    // A definite deny elsewhere wins over a Depends deny.
    let lv = with_full_access(&[("p-tag", TAG_DENY), ("p-region", REGION_DENY)]);
    check("definite deny wins", &eval(&lv, &unknown("us-east-1")), Want::Deny("RegionDeny"));
    // A false condition in the same statement makes it a definite miss.
    let both = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Both","Effect":"Deny","Action":"bedrock:*","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalTag/team":"ml","aws:RequestedRegion":"eu-west-1"}}}]}"#;
    check("false AND unknown", &eval(&with_full_access(&[("p-both", both)]), &unknown("eu-west-1")), Want::Allowed);
    // Conditional Allow at an OU on an unknowable key: Depends on the Allow.
    let lv = levels(&[
        &[("p-FullAWSAccess", FULL_ACCESS)],
        &[("p-tag-allow", TAG_ALLOW)],
        &[("p-FullAWSAccess", FULL_ACCESS)],
    ]);
    match eval(&lv, &unknown("eu-west-1")) {
        ScpOutcome::Depends { keys, effect, level, .. } => {
            assert_eq!(
                (keys, effect, level.as_str()),
                (vec!["aws:ResourceTag/env".to_owned()], Effect::Allow, "OU ou-ab12-1")
            );
        }
        other => panic!("{other:#?}"),
    }
    // A Depends deny plus a level with no Allow at all is a definite implicit deny.
    let lv = levels(&[&[("p-FullAWSAccess", FULL_ACCESS), ("p-tag", TAG_DENY)], &[("p-region", REGION_DENY)]]);
    check("depends + implicit", &eval(&lv, &unknown("eu-west-1")), Want::Implicit("account 111122223333"));
    // ForAnyValue over an unknowable key.
    let any = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Any","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:RequestTag/x":"y"}}}]}"#;
    check(
        "set op unknown",
        &eval(&with_full_access(&[("p-any", any)]), &unknown("eu-west-1")),
        Want::Depends(&["aws:RequestTag/x"]),
    );
}

#[test]
fn hierarchy_edges() {
    let c = ctx("bedrock:InvokeModel", "eu-west-1", "*");
    check("no levels", &eval(&[], &c), Want::Allowed);
    let empty = vec![Level { label: "root r-1".into(), policies: vec![] }];
    match eval(&empty, &c) {
        ScpOutcome::ImplicitDeny { level, reason } => {
            assert_eq!((level.as_str(), reason.as_str()), ("root r-1", "no SCP is attached at this level"));
        }
        other => panic!("{other:#?}"),
    }
    let lv = levels(&[
        &[("p-FullAWSAccess", FULL_ACCESS)],
        &[("p-region", REGION_DENY)],
        &[("p-FullAWSAccess", FULL_ACCESS)],
    ]);
    match eval(&lv, &c) {
        ScpOutcome::ImplicitDeny { level, reason } => {
            assert_eq!(level, "OU ou-ab12-1");
            assert!(reason.contains("FullAWSAccess detached"), "{reason}");
        }
        other => panic!("{other:#?}"),
    }
    let scoped = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let lv = levels(&[&[("p-FullAWSAccess", FULL_ACCESS)], &[("p-s3", scoped)]]);
    match eval(&lv, &c) {
        ScpOutcome::ImplicitDeny { reason, .. } => assert_eq!(
            reason,
            "no Allow statement matches: p-s3 Statement[0]: Action [s3:*] does not cover bedrock:InvokeModel"
        ),
        other => panic!("{other:#?}"),
    }
}
