//! Organization policies beyond SCPs, end to end: Organizations Bedrock policies
//! (BR.ORG.8, BR.ORG.9 and their share in BR.ORG.3).
//!
//! moto 5.2.5 has no BEDROCK_POLICY type, no DescribeEffectivePolicy and no Bedrock
//! guardrail or resource-policy APIs, so the proxy answers those calls with bodies shaped as
//! the Organizations and Bedrock API references show; the tree, the accounts and the SCPs
//! stay in the emulator. The effective policies the proxy answers are the ones the
//! Organizations inheritance rules give for the policies below (worked out by hand), except
//! for one path where it answers "no effective policy": the sweep must use Organizations'
//! answer there and say that it differs from its own computation.

use serde_json::{Value, json};

use super::helpers::{Moto, test_db};
use super::proxy::{Proxy, Reply};
use super::seed::Org;
use super::sweep_e2e::{deps_with, settings};
use bedrock_sweeper::config::ControlParameters;
use bedrock_sweeper::domain::{FindingRecord, Region, Severity, Status};

const APPROVED_MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const EMBEDDING_MODEL: &str = "amazon.titan-embed-text-v2:0";

/// A Bedrock policy as the proxy serves it.
struct BedrockPolicy {
    id: &'static str,
    name: &'static str,
    content: Value,
    targets: Vec<(String, &'static str)>,
}

fn organizations_error(code: &str, message: &str) -> Reply {
    Reply {
        status: 400,
        content_type: "application/x-amz-json-1.1",
        body: json!({"__type": code, "Message": message}).to_string(),
    }
}

fn bedrock_error(status: u16, code: &str, message: &str) -> Reply {
    Reply { status, content_type: "application/json", body: json!({"__type": code, "message": message}).to_string() }
}

fn body(req: &super::proxy::Req) -> Value {
    serde_json::from_slice(&req.body).unwrap_or(Value::Null)
}

/// The Organizations calls moto cannot answer for Bedrock policies: the root's enabled
/// policy types, the Bedrock policies, their targets, and DescribeEffectivePolicy (from
/// `effective`, by account id; absent: EffectivePolicyNotFoundException).
fn serve_bedrock_policies(proxy: &Proxy, root: Value, policies: Vec<BedrockPolicy>, effective: Vec<(String, Value)>) {
    proxy.rule(move |req| {
        let action = req.headers.get("x-amz-target")?.strip_prefix("AWSOrganizationsV20161128.")?.to_owned();
        let b = body(req);
        let summary = |p: &BedrockPolicy| {
            json!({"Id": p.id, "Arn": format!("arn:aws:organizations::000000000000:policy/o-x/bedrock_policy/{}", p.id),
                   "Name": p.name, "Description": p.name, "Type": "BEDROCK_POLICY", "AwsManaged": false})
        };
        let policy = |b: &Value| policies.iter().find(|p| Some(p.id) == b["PolicyId"].as_str());
        match action.as_str() {
            "ListRoots" => Some(Reply::json(json!({"Roots": [root.clone()]}))),
            "ListPolicies" if b["Filter"] == "BEDROCK_POLICY" => {
                Some(Reply::json(json!({"Policies": policies.iter().map(summary).collect::<Vec<_>>()})))
            }
            "DescribePolicy" => policy(&b).map(|p| {
                Reply::json(json!({"Policy": {"PolicySummary": summary(p), "Content": p.content.to_string()}}))
            }),
            "ListTargetsForPolicy" => policy(&b).map(|p| {
                let targets: Vec<Value> = p
                    .targets
                    .iter()
                    .map(|(id, kind)| json!({"TargetId": id, "Arn": format!("arn:aws:organizations::000000000000:{id}"), "Name": id, "Type": kind}))
                    .collect();
                Reply::json(json!({"Targets": targets}))
            }),
            "DescribeEffectivePolicy" => {
                assert_eq!(b["PolicyType"], "BEDROCK_POLICY");
                let target = b["TargetId"].as_str().unwrap_or_default();
                Some(match effective.iter().find(|(a, _)| a == target) {
                    Some((_, policy)) => Reply::json(json!({"EffectivePolicy": {
                        "PolicyContent": policy.to_string(), "LastUpdatedTimestamp": 1.7e9,
                        "TargetId": target, "PolicyType": "BEDROCK_POLICY"}})),
                    None => organizations_error("EffectivePolicyNotFoundException", "no effective policy of this type"),
                })
            }
            _ => None,
        }
    });
}

/// GetGuardrail and GetResourcePolicy in the management account: `guardrail` exists in
/// version 1 with `resource_policy`; any other guardrail does not.
fn serve_management_guardrail(proxy: &Proxy, guardrail_arn: String, resource_policy: Value) {
    proxy.rule(move |req| {
        let path = req.path.replace("%3A", ":").replace("%2F", "/");
        let arn_id = guardrail_arn.rsplit('/').next().unwrap_or_default().to_owned();
        if let Some(rest) = path.strip_prefix("/resource-policy/") {
            return Some(if rest.contains(&arn_id) {
                Reply::json(json!({"resourcePolicy": resource_policy.to_string()}))
            } else {
                bedrock_error(404, "ResourceNotFoundException", "no such resource")
            });
        }
        let rest = path.strip_prefix("/guardrails/")?;
        if !rest.contains(":guardrail/") {
            return None;
        }
        if !(rest.contains(&arn_id) && rest.contains("guardrailVersion=1")) {
            return Some(bedrock_error(404, "ResourceNotFoundException", "The guardrail was not found."));
        }
        Some(Reply::json(json!({
            "name": "org-default", "guardrailId": arn_id, "guardrailArn": guardrail_arn, "version": "1",
            "status": "READY", "createdAt": "2026-11-01T00:00:00Z", "updatedAt": "2026-11-01T00:00:00Z",
            "blockedInputMessaging": "blocked", "blockedOutputsMessaging": "blocked",
            "contentPolicy": {"filters": [{"type": "PROMPT_ATTACK", "inputStrength": "HIGH", "outputStrength": "NONE"}]}
        })))
    });
}

#[track_caller]
fn one<'a>(findings: &'a [FindingRecord], control: &str, account: &str, resource: Option<&str>) -> &'a FindingRecord {
    let matching: Vec<&FindingRecord> = findings
        .iter()
        .filter(|f| f.control_id == control && f.account_id == account && resource.is_none_or(|r| f.resource_id == r))
        .collect();
    assert_eq!(matching.len(), 1, "{control} {account} {resource:?}: {matching:#?}");
    matching[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bedrock_policies_are_inherited_checked_against_organizations_and_judged() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    let org_id = org.orgs().describe_organization().send().await.unwrap().organization.unwrap().id.unwrap();
    let mgmt = org.management_account.clone();
    let guarded_ou = org.ou(&org.root, "Guarded").await;
    let dangling_ou = org.ou(&org.root, "Dangling").await;
    let excluding_ou = org.ou(&org.root, "Excluding").await;
    let drifted_ou = org.ou(&org.root, "Drifted").await;
    let plain_ou = org.ou(&org.root, "Plain").await;
    let guarded = org.account("guarded", &guarded_ou).await;
    let dangling = org.account("dangling", &dangling_ou).await;
    let excluding = org.account("excluding", &excluding_ou).await;
    let drifted = org.account("drifted", &drifted_ou).await;
    let plain = org.account("plain", &plain_ou).await;

    let good = format!("arn:aws:bedrock:us-east-1:{mgmt}:guardrail/orgguard0001");
    let missing = format!("arn:aws:bedrock:us-east-1:{mgmt}:guardrail/doesnotexist:1");
    let config = |identifier: &str| {
        json!({"bedrock": {"guardrail_inference": {"us-east-1": {"org_default": {
            "identifier": {"@@assign": identifier},
            "model_enforcement": {
                "included_models": {"@@assign": ["ALL"]},
                "excluded_models": {"@@operators_allowed_for_child_policies": ["@@append"], "@@assign": [EMBEDDING_MODEL]}}}}}}})
    };
    let policies = vec![
        BedrockPolicy {
            id: "p-bedrock0001",
            name: "org-guardrail",
            content: config(&format!("{good}:1")),
            targets: vec![(guarded_ou.clone(), "ORGANIZATIONAL_UNIT"), (excluding_ou.clone(), "ORGANIZATIONAL_UNIT")],
        },
        // The same content under another id: a path of its own, for which Organizations
        // (the proxy) answers differently from the computation.
        BedrockPolicy {
            id: "p-bedrock0004",
            name: "org-guardrail-copy",
            content: config(&format!("{good}:1")),
            targets: vec![(drifted_ou.clone(), "ORGANIZATIONAL_UNIT")],
        },
        BedrockPolicy {
            id: "p-bedrock0002",
            name: "dangling-guardrail",
            content: config(&missing),
            targets: vec![(dangling_ou.clone(), "ORGANIZATIONAL_UNIT")],
        },
        // On the account below an OU with the first policy: appends the approved model to the
        // excluded list (allowed: the OU's policy lets children append), and tries to swap the
        // guardrail, which the OU's policy did not forbid either.
        BedrockPolicy {
            id: "p-bedrock0003",
            name: "exclude-haiku",
            content: json!({"bedrock": {"guardrail_inference": {"us-east-1": {"org_default": {
                "model_enforcement": {"excluded_models": {"@@append": [APPROVED_MODEL]}}}}}}}),
            targets: vec![(excluding.clone(), "ACCOUNT")],
        },
    ];
    let effective = |identifier: &str, excluded: &[&str]| {
        json!({"bedrock": {"guardrail_inference": {"us-east-1": {"org_default": {
            "identifier": identifier,
            "model_enforcement": {"included_models": ["ALL"], "excluded_models": excluded}}}}}})
    };
    let answers = vec![
        (guarded.clone(), effective(&format!("{good}:1"), &[EMBEDDING_MODEL])),
        (dangling.clone(), effective(&missing, &[EMBEDDING_MODEL])),
        (excluding.clone(), effective(&format!("{good}:1"), &[EMBEDDING_MODEL, APPROVED_MODEL])),
        // drifted: Organizations reports no effective policy, unlike the computation.
    ];
    let root = org.orgs().list_roots().send().await.unwrap().roots.unwrap().remove(0);
    let root_json = json!({"Id": root.id.clone().unwrap(), "Arn": root.arn.clone().unwrap(), "Name": root.name.clone().unwrap(),
        "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}, {"Type": "BEDROCK_POLICY", "Status": "ENABLED"}]});

    let proxy = Proxy::start(moto.port).await;
    serve_bedrock_policies(&proxy, root_json, policies, answers);
    let org_may_apply = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": ["bedrock:ApplyGuardrail", "bedrock:GetGuardrail"], "Resource": good,
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}}}]});
    serve_management_guardrail(&proxy, good.clone(), org_may_apply);

    let mut settings = settings();
    settings.controls = ControlParameters { approved_models: vec![APPROVED_MODEL.into()], ..settings.controls };
    let (pool, _) = test_db().await;
    let r = crate::helpers::run_sweep(&deps_with(&proxy.endpoint(), pool, settings).await, "test").await.unwrap();
    let f = &r.findings;
    if std::env::var("ORG_E2E_DEBUG").is_ok() {
        for x in f.iter().filter(|x| ["BR.ORG.3", "BR.ORG.8", "BR.ORG.9"].contains(&x.control_id.as_str())) {
            eprintln!("{} {} {:?} {} {} {}", x.control_id, x.account_id, x.region, x.resource_id, x.status, x.detail);
        }
    }
    let us_east_1 = Region::parse("us-east-1").unwrap();

    // Guarded: the OU's policy, computed, confirmed by Organizations, and usable.
    let g = one(f, "BR.ORG.8", &guarded, None);
    assert_eq!((g.status, g.region.as_ref()), (Status::Pass, Some(&us_east_1)), "{}", g.detail);
    assert!(g.detail.contains("confirmed by DescribeEffectivePolicy"), "{}", g.detail);
    assert!(g.detail.contains(EMBEDDING_MODEL), "names what it leaves out: {}", g.detail);
    let g3 = one(f, "BR.ORG.3", &guarded, None);
    assert_eq!(g3.status, Status::Pass, "no SCP requires a guardrail, the Bedrock policy does: {}", g3.detail);
    assert!(g3.detail.contains("organization-enforced guardrail"), "{}", g3.detail);

    // Excluding: inherited from the OU, the account's own policy appends the approved model.
    let e = one(f, "BR.ORG.8", &excluding, None);
    assert_eq!(e.status, Status::Fail, "{}", e.detail);
    assert!(e.detail.contains(APPROVED_MODEL) && e.detail.contains("confirmed"), "{}", e.detail);
    assert_eq!(one(f, "BR.ORG.3", &excluding, None).status, Status::Fail);

    // Dangling: the guardrail does not exist; the organization-level finding is critical.
    let d = one(f, "BR.ORG.8", &dangling, None);
    assert_eq!(d.status, Status::Fail, "{}", d.detail);
    assert!(d.detail.contains("does not exist"), "{}", d.detail);
    let usable = one(f, "BR.ORG.9", &mgmt, Some(&format!("{good}:1")));
    assert_eq!(usable.status, Status::Pass, "{}", usable.detail);
    let broken = one(f, "BR.ORG.9", &mgmt, Some(&missing));
    assert_eq!((broken.status, broken.severity), (Status::Fail, Severity::Critical), "{}", broken.detail);
    assert!(
        broken.detail.contains("every Bedrock model call in 1 account(s) in us-east-1 will fail"),
        "{}",
        broken.detail
    );

    // Drifted: Organizations says there is no effective policy; its answer wins, and says so.
    let x = one(f, "BR.ORG.8", &drifted, None);
    assert_eq!(x.status, Status::Fail, "{}", x.detail);
    assert!(x.detail.contains("differs from the policy computed"), "{}", x.detail);

    // Plain: nothing attached.
    let p = one(f, "BR.ORG.8", &plain, None);
    assert_eq!(p.status, Status::Fail, "{}", p.detail);
    assert!(p.detail.contains("No Organizations Bedrock policy is attached"), "{}", p.detail);

    if std::env::var("SCP_E2E_DEBUG").is_ok() {
        eprintln!("Organizations calls: {:?}", r.aws_calls["Organizations"]);
    }
    // One DescribeEffectivePolicy per distinct Bedrock-policy path, none for plain.
    let describes = r.aws_calls["Organizations"].get("DescribeEffectivePolicy").map_or(0, |c| c.calls);
    assert_eq!(describes, 4, "guarded, dangling, excluding, drifted");
}
