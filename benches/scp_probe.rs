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
use bedrock_sweeper::snapshot::{NotAssessed, OrgAccount, OrgRoot, OrgSnapshot, OrgUnit, ScpPolicy};

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
            rcp_enabled: false,
            bedrock_policy_enabled: false,
        }],
        ous,
        accounts: list,
        policies,
        management_trails: Ok(vec![]),
        management_kms_keys: Default::default(),
        rcps: Vec::new(),
        bedrock_policies: Vec::new(),
        bedrock_effective: Default::default(),
        enforced_guardrails: Default::default(),
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
    let controls: [fn(&AccountInput<'_>) -> Vec<Evaluation>; 6] = [
        scp::region_deny,
        scp::endpoint_only,
        scp::guardrail_required,
        scp::audit_protected,
        scp::approved_models_only,
        scp::api_keys_blocked,
    ];

    let start = Instant::now();
    let engine = ScpEngine::new(&org, catalog.regions(), &params);
    let built = start.elapsed();
    let mut counts = [0usize; 4];
    for account in &org.accounts {
        let input = AccountInput {
            org: &org,
            account,
            snapshot: Err(&not_assessed),
            params: &params,
            now: chrono::Utc::now(),
            scp: &engine,
        };
        for c in controls {
            for e in c(&input) {
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
    println!("accounts: {n}, OUs: {}, SCPs: {}, OU levels: 5", org.ous.len(), org.policies.len());
    println!("distinct policy paths evaluated: {}", engine.paths_evaluated());
    println!("verdicts: {} pass, {} fail, {} error, {} not_applicable", counts[0], counts[1], counts[2], counts[3]);
    println!("engine build (parse, lint, probe matrix): {:.3} s", built.as_secs_f64());
    println!("total (BR.ORG.1-6, all accounts): {:.3} s", total.as_secs_f64());
    println!("per 1,000 accounts: {:.3} s", total.as_secs_f64() * 1000.0 / n as f64);
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("peak RSS (VmHWM): {hwm}");
}
