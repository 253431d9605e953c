//! Benchmark of the SCP controls (BR.ORG.1–6): an organization of 10,000 accounts under
//! five OU levels with 50 SCPs, every account judged through the full probe matrix.
//! Prints total time, time per 1,000 accounts, distinct policy paths and peak RSS.
//!
//! Run with `cargo bench --bench scp_probe` (optionally `-- <accounts>`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use bedrock_sweeper::aws::errors::FailureKind;
use bedrock_sweeper::catalog::Catalog;
use bedrock_sweeper::config::ControlParameters;
use bedrock_sweeper::domain::{AccountId, Region, Status};
use bedrock_sweeper::evaluate::scp::{self, ScpEngine};
use bedrock_sweeper::evaluate::{AccountInput, Evaluation};
use bedrock_sweeper::snapshot::{EnforcedGuardrail, NotAssessed, OrgAccount, OrgRoot, OrgSnapshot, OrgUnit, ScpPolicy};

const FULL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const MGMT: &str = "999999999999";

/// Fifty SCPs in the shapes of scp-semantics.md §6, with varying parameters.
fn documents() -> Vec<String> {
    let mut docs = vec![FULL.to_owned()];
    let regions = ["\"eu-west-1\",\"eu-central-1\"", "\"eu-west-1\"", "\"eu-west-1\",\"eu-central-1\",\"us-east-1\""];
    let global: Vec<String> = (0..80).map(|i| format!("\"svc{i}:*\"")).collect();
    for i in 0..12 {
        let r = regions[i % 3];
        let exempt_bedrock = if i % 4 == 3 { ",\"bedrock:*\"" } else { "" };
        docs.push(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"GRREGIONDENY{i}","Effect":"Deny","NotAction":[{}{exempt_bedrock},"iam:*","sts:*"],"Resource":"*","Condition":{{"StringNotEquals":{{"aws:RequestedRegion":[{r}]}},"ArnNotLike":{{"aws:PrincipalARN":["arn:aws:iam::*:role/AWSControlTowerExecution","arn:aws:iam::*:role/Admin{i}"]}}}}}}]}}"#,
            global.join(",")
        ));
    }
    for i in 0..8 {
        docs.push(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Vpce{i}","Effect":"Deny","Action":["bedrock:*","bedrock-mantle:*"],"Resource":"*","Condition":{{"StringNotEqualsIfExists":{{"aws:SourceVpce":["vpce-0aaa1111bbbb2222c","vpce-{i:04}"]}},"BoolIfExists":{{"aws:ViaAWSService":"false"}},"ArnNotLikeIfExists":{{"aws:PrincipalArn":["arn:aws:iam::*:role/BreakGlass{i}"]}}}}}}]}}"#
        ));
    }
    for i in 0..6 {
        docs.push(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Guard{i}","Effect":"Deny","Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],"Resource":"*","Condition":{{"StringNotEquals":{{"bedrock:GuardrailIdentifier":["arn:aws:bedrock:eu-west-1:111122223333:guardrail/g{i}:1","arn:aws:bedrock:eu-west-1:111122223333:guardrail/abc:1"]}}}}}}]}}"#
        ));
    }
    for i in 0..6 {
        docs.push(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Audit{i}","Effect":"Deny","Action":["cloudtrail:DeleteTrail","cloudtrail:PutEventSelectors","cloudtrail:StopLogging","cloudtrail:UpdateTrail","bedrock:DeleteModelInvocationLoggingConfiguration","bedrock:PutModelInvocationLoggingConfiguration"],"Resource":"*","Condition":{{"ArnNotLike":{{"aws:PrincipalARN":"arn:aws:iam::*:role/Audit{i}"}}}}}}]}}"#
        ));
    }
    for i in 0..6 {
        docs.push(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Keys{i}","Effect":"Deny","Action":"iam:CreateServiceSpecificCredential","Resource":"*","Condition":{{"StringEquals":{{"iam:ServiceSpecificCredentialServiceName":"bedrock.amazonaws.com"}}}}}},{{"Sid":"Bearer{i}","Effect":"Deny","Action":["bedrock:CallWithBearerToken","bedrock-mantle:CallWithBearerToken"],"Resource":"*"}}]}}"#
        ));
    }
    for i in 0..6 {
        docs.push(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Models{i}","Effect":"Deny","Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],"NotResource":"arn:aws:bedrock:*::foundation-model/anthropic.*"}},{{"Sid":"Mantle{i}","Effect":"Deny","Action":"bedrock-mantle:*","Resource":"*","Condition":{{"StringNotLike":{{"bedrock-mantle:Model":"anthropic.*"}}}}}}]}}"#
        ));
    }
    for i in 0..5 {
        // Account-specific exemptions: paths carrying these are cached per account.
        docs.push(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Misc{i}","Effect":"Deny","Action":["organizations:LeaveOrganization","ec2:*Vpc*","bedrock:Delete*"],"Resource":"*","Condition":{{"ArnNotLike":{{"aws:PrincipalArn":"arn:aws:iam::10000000000{i}:role/Admin"}}}}}}]}}"#
        ));
    }
    assert_eq!(docs.len(), 50);
    docs
}

const GUARDRAIL: &str = "arn:aws:bedrock:eu-west-1:999999999999:guardrail/benchguard01";

const RCPS: &[&str] = &[
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
    r#"{"Version":"2012-10-17","Statement":[{"Sid":"EnforceOrgIdentities","Effect":"Deny","Principal":"*",
      "Action":["s3:*","sts:AssumeRole","kms:*"],"Resource":"*",
      "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-bench"},"BoolIfExists":{"aws:PrincipalIsAWSService":"false"}}}]}"#,
];

const BEDROCK_EXCLUDE: &str = r#"{"bedrock":{"guardrail_inference":{"eu-west-1":{"org":{"model_enforcement":{
  "excluded_models":{"@@append":["anthropic.claude-3-haiku-20240307-v1:0"]}}}}}}}"#;

fn bedrock_root() -> String {
    format!(
        r#"{{"bedrock":{{"guardrail_inference":{{"eu-west-1":{{"org":{{"identifier":{{"@@assign":"{GUARDRAIL}:1"}},
          "model_enforcement":{{"included_models":{{"@@assign":["ALL"]}},"excluded_models":{{"@@assign":[]}}}}}}}},
          "eu-central-1":{{"org":{{"identifier":{{"@@assign":"{GUARDRAIL}:1"}}}}}}}}}}}}"#
    )
}

fn enforced_guardrail() -> EnforcedGuardrail {
    EnforcedGuardrail {
        arn: GUARDRAIL.into(),
        version: "1".into(),
        status: "READY".into(),
        automated_reasoning: false,
        resource_policy: Ok(Some(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"bedrock:ApplyGuardrail",
              "Resource":"{GUARDRAIL}","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-bench"}}}}}}]}}"#
        ))),
    }
}

/// Policies of one type with `contents[i]` attached to `targets[i]`.
fn organization_policies<S: AsRef<str>>(contents: &[S], targets: &[Vec<String>]) -> Vec<ScpPolicy> {
    contents
        .iter()
        .zip(targets)
        .enumerate()
        .map(|(i, (content, targets))| ScpPolicy {
            id: format!("p-org{i:02}"),
            name: format!("org-{i}"),
            arn: String::new(),
            aws_managed: false,
            content: content.as_ref().to_owned(),
            targets: targets.clone(),
        })
        .collect()
}

fn main() {
    let accounts: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let catalog = Catalog::embedded().expect("catalog");
    let docs = documents();
    let mut targets: Vec<Vec<String>> = vec![Vec::new(); docs.len()];
    let mut ous = Vec::new();
    let mut leaves = vec!["r-bench".to_owned()];
    targets[0].push("r-bench".into());
    targets[1].push("r-bench".into());
    targets[19].push("r-bench".into());
    // Five OU levels: 5, 15, 30, 60, 120 OUs; each gets FullAWSAccess (except one) and one
    // or two of the other SCPs, chosen by position.
    let fanout = [5, 3, 2, 2, 2];
    let mut n = 0usize;
    for (depth, f) in fanout.iter().enumerate() {
        let mut next = Vec::new();
        for parent in &leaves {
            for _ in 0..*f {
                n += 1;
                let id = format!("ou-bench-{n:05}");
                ous.push(OrgUnit { id: id.clone(), name: format!("L{}-{n}", depth + 1), parent_id: parent.clone() });
                if n != 7 {
                    targets[0].push(id.clone());
                }
                targets[1 + (n * 7) % 44].push(id.clone());
                if n.is_multiple_of(3) {
                    targets[1 + (n * 13) % 44].push(id.clone());
                }
                next.push(id);
            }
        }
        leaves = next;
    }
    let mut list = Vec::with_capacity(accounts + 1);
    for i in 0..accounts {
        let id = format!("{:012}", 200_000_000_000usize + i);
        let parent = leaves[i % leaves.len()].clone();
        targets[0].push(id.clone());
        if i.is_multiple_of(10) {
            targets[1 + (i / 10) % 5].push(id.clone());
        }
        if i.is_multiple_of(500) {
            targets[45 + (i / 500) % 5].push(id.clone());
        }
        list.push(OrgAccount {
            id: AccountId::parse(&id).unwrap(),
            name: format!("acct-{i}"),
            email: format!("a{i}@example.com"),
            status: "ACTIVE".into(),
            parent_id: parent,
        });
    }
    list.push(OrgAccount {
        id: AccountId::parse(MGMT).unwrap(),
        name: "mgmt".into(),
        email: "m@example.com".into(),
        status: "ACTIVE".into(),
        parent_id: "r-bench".into(),
    });
    // RCPs: RCPFullAWSAccess everywhere and an identity perimeter on every third first-level
    // OU; Bedrock policies: an org-enforced guardrail at the root and an account-level
    // exclusion on every 200th account.
    let first_level: Vec<String> = ous.iter().filter(|o| o.parent_id == "r-bench").map(|o| o.id.clone()).collect();
    let mut everywhere: Vec<String> =
        std::iter::once("r-bench".to_owned()).chain(ous.iter().map(|o| o.id.clone())).collect();
    everywhere.extend(list.iter().map(|a| a.id.to_string()));
    let ous_for_rcps = vec![everywhere, first_level.iter().step_by(3).cloned().collect()];
    let excluded: Vec<String> = list.iter().step_by(200).map(|a| a.id.to_string()).collect();
    let ous_for_bedrock = vec![vec!["r-bench".to_owned()], excluded];
    let bedrock_policies = [bedrock_root(), BEDROCK_EXCLUDE.to_owned()];
    let policies = docs
        .iter()
        .zip(targets)
        .enumerate()
        .map(|(i, (content, targets))| ScpPolicy {
            id: if i == 0 { "p-FullAWSAccess".into() } else { format!("p-bench{i:02}") },
            name: format!("scp-{i}"),
            arn: format!("arn:aws:organizations::{MGMT}:policy/o-bench/service_control_policy/p-bench{i:02}"),
            aws_managed: i == 0,
            content: content.clone(),
            targets,
        })
        .collect();
    let org = OrgSnapshot {
        organization_id: "o-bench".into(),
        partition: bedrock_sweeper::domain::Partition::aws(),
        management_account_id: AccountId::parse(MGMT).unwrap(),
        roots: vec![OrgRoot {
            id: "r-bench".into(),
            name: "Root".into(),
            scp_enabled: true,
            rcp_enabled: true,
            bedrock_policy_enabled: true,
        }],
        ous,
        accounts: list,
        policies,
        management_trails: Ok(vec![]),
        management_kms_keys: Default::default(),
        rcps: organization_policies(RCPS, &ous_for_rcps),
        bedrock_policies: organization_policies(&bedrock_policies, &ous_for_bedrock),
        bedrock_effective: Default::default(),
        enforced_guardrails: [(format!("{GUARDRAIL}:1"), Ok(Some(enforced_guardrail())))].into_iter().collect(),
    };
    let params = ControlParameters {
        approved_regions: vec![Region::parse("eu-west-1").unwrap(), Region::parse("eu-central-1").unwrap()],
        approved_vpce_ids: vec!["vpce-0aaa1111bbbb2222c".into()],
        required_guardrail_arns: vec!["arn:aws:bedrock:eu-west-1:111122223333:guardrail/abc:1".into()],
        approved_models: vec!["anthropic.claude-3-haiku-20240307-v1:0".into()],
        ..ControlParameters::default()
    };
    let not_assessed = NotAssessed {
        role_arn: String::new(),
        kind: FailureKind::AccessDenied,
        code: "bench".into(),
        message: String::new(),
    };
    let controls: [fn(&AccountInput<'_>) -> Vec<Evaluation>; 9] = [
        scp::region_deny,
        scp::endpoint_only,
        scp::guardrail_required,
        scp::audit_protected,
        scp::approved_models_only,
        scp::api_keys_blocked,
        scp::org_guardrail_applies,
        scp::enforced_guardrails_usable,
        scp::data_perimeter,
    ];

    let start = Instant::now();
    let engine = ScpEngine::new(&org, catalog.regions(), &params);
    let built = start.elapsed();
    let mut counts = [0usize; 4];
    // Time in BR.ORG.1-6 (the SCP probe matrix) and in BR.ORG.8-10 (Bedrock policies, RCPs).
    let mut spent = [std::time::Duration::ZERO; 2];
    for account in &org.accounts {
        let input = AccountInput {
            org: &org,
            account,
            snapshot: Err(&not_assessed),
            params: &params,
            now: chrono::Utc::now(),
            scp: &engine,
        };
        for (i, c) in controls.iter().enumerate() {
            let t = Instant::now();
            let verdicts = c(&input);
            spent[usize::from(i >= 6)] += t.elapsed();
            for e in verdicts {
                counts[match e.status {
                    Status::Pass => 0,
                    Status::Fail => 1,
                    Status::Error => 2,
                    Status::NotApplicable => 3,
                }] += 1;
            }
        }
    }
    let total = start.elapsed();
    let n = org.accounts.len();
    println!(
        "accounts: {n}, OUs: {}, SCPs: {}, RCPs: {}, Bedrock policies: {}, OU levels: 5",
        org.ous.len(),
        org.policies.len(),
        org.rcps.len(),
        org.bedrock_policies.len()
    );
    println!("distinct policy paths evaluated: {}", engine.paths_evaluated());
    println!("verdicts: {} pass, {} fail, {} error, {} not_applicable", counts[0], counts[1], counts[2], counts[3]);
    println!("engine build (parse, lint, probe matrix): {:.3} s", built.as_secs_f64());
    println!("total (BR.ORG.1-6 and 8-10, all accounts): {:.3} s", total.as_secs_f64());
    println!("per 1,000 accounts: {:.3} s", total.as_secs_f64() * 1000.0 / n as f64);
    println!(
        "of which BR.ORG.1-6 (SCPs): {:.3} s, BR.ORG.8-10 (Bedrock policies, RCPs): {:.3} s",
        spent[0].as_secs_f64(),
        spent[1].as_secs_f64()
    );
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("peak RSS (VmHWM): {hwm}");
}
