//! Tests of the engine's sharing and evidence: accounts on one policy path share one
//! evaluation unless a policy can tell their ids apart, and the per-probe evidence names
//! the deciding statement of every probe.

#![allow(clippy::unwrap_used)]

use super::test_policies::*;
use super::tests::{OTHER, org, params};
use super::*;
use crate::domain::{AccountId, Status};
use crate::evaluate::fixtures::{MEMBER, account_snapshot, now};
use iam_policy::{Level, evaluate_scps};

#[test]
fn accounts_on_the_same_path_share_work_unless_a_policy_names_an_account() {
    let catalog = crate::catalog::Catalog::embedded().unwrap();
    let snap = account_snapshot();
    let p = params();
    let judge_all = |org: &OrgSnapshot| {
        let engine = ScpEngine::new(org, catalog.regions(), &p);
        let out: Vec<Evaluation> = [MEMBER, OTHER]
            .iter()
            .map(|a| {
                let account = org.account(&AccountId::parse(a).unwrap()).unwrap();
                let input = AccountInput { org, account, snapshot: Ok(&snap), params: &p, now: now(), scp: &engine };
                region_deny(&input).remove(0)
            })
            .collect();
        (out, engine.paths_evaluated())
    };
    // Same policies on both paths, FullAWSAccess on each account: one evaluation.
    let shared = org(&[("p-regions", REGION_EXEMPTS_BEDROCK, &["ou-ab12-sand"])], &[], true);
    let (out, paths) = judge_all(&shared);
    assert_eq!(paths, 1);
    assert_eq!(out[0].status, Status::Fail);
    assert_eq!(out[0].detail, out[1].detail);
    // An exemption naming MEMBER's roles: MEMBER's generic role is open, OTHER's is not.
    let specific = org(&[("p-one", REGION_EXEMPTS_ONE_ACCOUNT, &["r-ab12"])], &[], true);
    let (out, paths) = judge_all(&specific);
    assert_eq!(paths, 2);
    assert_eq!((out[0].status, out[1].status), (Status::Fail, Status::Pass), "{} / {}", out[0].detail, out[1].detail);
    assert!(out[0].detail.contains("as a generic role"), "{}", out[0].detail);
}

#[test]
fn evidence_lists_every_probe_with_its_deciding_statement() {
    let org = org(&[("p-regions", REGION_EXEMPTS_BEDROCK, &["ou-ab12-sand"])], &[], true);
    let catalog = crate::catalog::Catalog::embedded().unwrap();
    let p = params();
    let engine = ScpEngine::new(&org, catalog.regions(), &p);
    let snap = account_snapshot();
    let account = org.account(&AccountId::parse(MEMBER).unwrap()).unwrap();
    let input = AccountInput { org: &org, account, snapshot: Ok(&snap), params: &p, now: now(), scp: &engine };
    let ev = engine.evidence(&input).unwrap();
    assert_eq!(ev.path, ["root r-ab12", "OU Workloads", "OU Sandbox", "account 111122223333"]);
    let region = &ev.controls[0];
    assert_eq!(region.status, Status::Fail);
    let open = region.probes.iter().find(|p| p.action == "bedrock:InvokeModel" && p.region == "ap-south-1").unwrap();
    assert_eq!((open.outcome, open.as_required), ("allowed", Some(false)));
    assert!(open.near_misses[0].contains("on OU Sandbox"), "{:?}", open.near_misses);
    let mantle = region
        .probes
        .iter()
        .find(|p| p.action == "bedrock-mantle:CreateInference" && p.region == "ap-south-1")
        .unwrap();
    assert_eq!(mantle.outcome, "explicit_deny");
    assert_eq!(mantle.deciding.as_deref(), Some("SCP p-regions (Sid DenyOutsideRegions) on OU Sandbox"));
    assert!(ev.lints.is_empty() || ev.lints.iter().all(|l| l.starts_with("SCP ")));
}

#[test]
fn shortcuts_do_not_change_any_probe_outcome() {
    // Regions told apart by a glob, a NotAction exemption and a detached FullAWSAccess.
    let ap_only = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyAp","Effect":"Deny","Action":"bedrock:*",
      "Resource":"arn:aws:bedrock:*:*:*","Condition":{"StringLike":{"aws:RequestedRegion":["ap-*","us-?ast-1"]}}}]}"#;
    let org = org(
        &[
            ("p-ap", ap_only, &["r-ab12"]),
            ("p-regions", REGION_EXEMPTS_BEDROCK, &["ou-ab12-sand"]),
            ("p-vpce", VPCE, &[MEMBER]),
        ],
        &[],
        true,
    );
    let catalog = crate::catalog::Catalog::embedded().unwrap();
    let p = params();
    let engine = ScpEngine::new(&org, catalog.regions(), &p);
    let account = org.account(&AccountId::parse(MEMBER).unwrap()).unwrap();
    let path = engine.resolve(account).unwrap();
    let levels: Vec<Level> = path
        .policies
        .iter()
        .enumerate()
        .map(|(n, ixs)| Level {
            label: token(n),
            policies: ixs.iter().map(|&i| engine.entry(i).unwrap().policy.clone()).collect(),
        })
        .collect();
    let mut compared = 0;
    engine.run(&path, None, |probes, _, outcomes| {
        for (probe, fast) in probes.iter().zip(outcomes) {
            let slow = evaluate_scps(&levels, &probe.ctx);
            assert_eq!(fast.is_denied(), slow.is_denied(), "{} in {}", probe.ctx.action, probe.region);
            assert_eq!(
                evidence::deny_source(fast),
                evidence::deny_source(&slow),
                "{} in {}",
                probe.ctx.action,
                probe.region
            );
            compared += 1;
        }
    });
    assert!(compared > 1000, "{compared}");
}
