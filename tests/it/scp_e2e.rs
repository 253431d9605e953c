//! BR.ORG.1–6 end to end: service control policies attached at root, OU and account level
//! in the emulator, discovered through the Organizations API and judged account by account.

use aws_sdk_organizations::types::PolicyType;

use super::helpers::{Moto, test_db};
use super::seed::Org;
use super::sweep_e2e::deps;
use bedrock_sweeper::domain::Status;

const REGION_DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyBedrockOutsideApproved","Effect":"Deny",
  "Action":["bedrock:*","bedrock-mantle:*","bedrock-agentcore:*"],"Resource":"*",
  "Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1"]}}}]}"#;

/// A region deny that fences Bedrock but forgets AgentCore's own service prefix.
const REGION_DENY_WITHOUT_AGENTCORE: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyBedrockOutsideApproved","Effect":"Deny",
  "Action":["bedrock:*","bedrock-mantle:*"],"Resource":"*",
  "Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1"]}}}]}"#;

/// A region deny whose NotAction list exempts Bedrock: Bedrock stays open everywhere.
const REGION_DENY_EXEMPTING_BEDROCK: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"RegionDeny","Effect":"Deny",
  "NotAction":["iam:*","organizations:*","sts:*","support:*","bedrock:*","bedrock-mantle:*"],"Resource":"*",
  "Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1"]}}}]}"#;

const ENDPOINT_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyBedrockOutsideVpce","Effect":"Deny",
  "Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream","bedrock:InvokeAgent","bedrock:Retrieve",
            "bedrock:RetrieveAndGenerate","bedrock:ApplyGuardrail","bedrock-mantle:CreateInference",
            "bedrock-agentcore:InvokeAgentRuntime","bedrock-agentcore:InvokeGateway","bedrock-agentcore:CreateEvent",
            "bedrock-agentcore:RetrieveMemoryRecords","bedrock-agentcore:InvokeCodeInterpreter"],
  "Resource":"*",
  "Condition":{"Null":{"aws:SourceVpce":"true"},"BoolIfExists":{"aws:ViaAWSService":"false"}}}]}"#;

const REQUIRE_GUARDRAIL: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"RequireGuardrail","Effect":"Deny",
  "Action":["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],"Resource":"*",
  "Condition":{"Null":{"bedrock:GuardrailIdentifier":"true"}}}]}"#;

const PROTECT_AUDIT: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ProtectAudit","Effect":"Deny",
  "Action":["cloudtrail:StopLogging","cloudtrail:DeleteTrail","cloudtrail:UpdateTrail","cloudtrail:PutEventSelectors",
            "bedrock:DeleteModelInvocationLoggingConfiguration","bedrock:PutModelInvocationLoggingConfiguration",
            "bedrock-agentcore:UpdateGateway","bedrock-agentcore:DeleteGateway","bedrock-agentcore:UpdatePolicyEngine",
            "bedrock-agentcore:DeletePolicyEngine","bedrock-agentcore:UpdatePolicy","bedrock-agentcore:DeletePolicy"],
  "Resource":"*",
  "Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/SecurityAdmin"}}}]}"#;

const NO_API_KEYS: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"NoBedrockKeys","Effect":"Deny","Action":"iam:CreateServiceSpecificCredential","Resource":"*",
   "Condition":{"StringEquals":{"iam:ServiceSpecificCredentialServiceName":"bedrock.amazonaws.com"}}},
  {"Sid":"NoBearerTokens","Effect":"Deny","Action":["bedrock:CallWithBearerToken","bedrock-mantle:CallWithBearerToken"],"Resource":"*"}]}"#;

/// A deny-list SCP attached where FullAWSAccess was detached: nothing is allowed below it.
const DENY_LIST_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoLeaving","Effect":"Deny",
  "Action":"organizations:LeaveOrganization","Resource":"*"}]}"#;

/// The identity perimeter of the AWS data-perimeter examples (an RCP), for organization `org`.
fn perimeter(org_id: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"EnforceOrgIdentities","Effect":"Deny","Principal":"*",
  "Action":["s3:*","sts:AssumeRole","kms:*"],"Resource":"*",
  "Condition":{{"StringNotEqualsIfExists":{{"aws:PrincipalOrgID":"{org_id}"}},"BoolIfExists":{{"aws:PrincipalIsAWSService":"false"}}}}}}]}}"#
    )
}

/// Creates an SCP and attaches it to `targets`; its id.
pub(crate) async fn policy(org: &Org, name: &str, content: &str, targets: &[&str]) -> String {
    typed_policy(org, PolicyType::ServiceControlPolicy, name, content, targets).await
}

async fn typed_policy(org: &Org, kind: PolicyType, name: &str, content: &str, targets: &[&str]) -> String {
    let id = org
        .orgs()
        .create_policy()
        .name(name)
        .description(name)
        .r#type(kind)
        .content(content)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .policy_summary
        .unwrap()
        .id
        .unwrap();
    for t in targets {
        org.orgs().attach_policy().policy_id(&id).target_id(*t).send().await.unwrap();
    }
    id
}

#[track_caller]
fn verdict<'a>(r: &'a crate::helpers::Swept, control: &str, account: &str) -> (Status, &'a str) {
    let f = r.findings.iter().find(|f| f.control_id == control && f.account_id == account).unwrap();
    (f.status, f.detail.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scps_on_every_level_are_judged_per_account() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    let governed_ou = org.ou(&org.root, "Governed").await;
    let sandbox_ou = org.ou(&org.root, "Sandbox").await;
    let locked_ou = org.ou(&org.root, "Locked").await;
    let agent_gap_ou = org.ou(&org.root, "AgentGap").await;
    let governed = org.account("governed", &governed_ou).await;
    let agent_gap = org.account("agentgap", &agent_gap_ou).await;
    let sandbox = org.account("sandbox", &sandbox_ou).await;
    let locked = org.account("locked", &locked_ou).await;
    let broken = org.account("broken", &org.root).await;

    // Governed: every control in place, spread over OU and account level.
    policy(&org, "region-deny", REGION_DENY, &[&governed_ou]).await;
    policy(&org, "endpoint-only", ENDPOINT_ONLY, &[&governed_ou]).await;
    policy(&org, "require-guardrail", REQUIRE_GUARDRAIL, &[&governed]).await;
    policy(&org, "protect-audit", PROTECT_AUDIT, &[&governed_ou]).await;
    policy(&org, "no-api-keys", NO_API_KEYS, &[&governed]).await;
    // Sandbox: a region deny that exempts Bedrock.
    let exempting = policy(&org, "sandbox-region-deny", REGION_DENY_EXEMPTING_BEDROCK, &[&sandbox_ou]).await;
    // Locked: FullAWSAccess detached, only a deny-list SCP left.
    policy(&org, "deny-list-only", DENY_LIST_ONLY, &[&locked_ou]).await;
    org.orgs().detach_policy().policy_id("p-FullAWSAccess").target_id(&locked_ou).send().await.unwrap();
    // AgentGap: Bedrock fenced outside the approved region, AgentCore forgotten.
    policy(&org, "region-deny-no-agentcore", REGION_DENY_WITHOUT_AGENTCORE, &[&agent_gap_ou]).await;
    // Resource control policies: an identity perimeter on the governed OU, none elsewhere.
    org.orgs()
        .enable_policy_type()
        .root_id(&org.root)
        .policy_type(PolicyType::ResourceControlPolicy)
        .send()
        .await
        .unwrap();
    let org_id = org.orgs().describe_organization().send().await.unwrap().organization.unwrap().id.unwrap();
    typed_policy(&org, PolicyType::ResourceControlPolicy, "identity-perimeter", &perimeter(&org_id), &[&governed_ou])
        .await;
    // Broken: a policy that is not JSON (the emulator does not validate content).
    let malformed = policy(&org, "malformed", "{ this is not json", &[&broken]).await;

    let (pool, _) = test_db().await;
    let r = crate::helpers::run_sweep(&deps(&moto.endpoint(), pool).await, "test").await.unwrap();

    if std::env::var("SCP_E2E_DEBUG").is_ok() {
        for f in r.findings.iter().filter(|f| f.control_id.starts_with("BR.ORG")) {
            eprintln!("{} {} {} {}", f.control_id, f.account_id, f.status, f.detail);
        }
        eprintln!("Organizations calls: {:?}", r.aws_calls["Organizations"]);
    }
    // Discovery grows with OUs and policies: 5 OUs + the root listed twice each (OUs and
    // accounts), one ListPolicies per enabled type, one DescribePolicy and one
    // ListTargetsForPolicy per policy; no per-account call.
    let org_calls = &r.aws_calls["Organizations"];
    assert!(!org_calls.contains_key("ListParents") && !org_calls.contains_key("ListPoliciesForTarget"));
    assert_eq!(org_calls["ListPolicies"].calls, 2, "SCPs and RCPs: {org_calls:?}");
    for control in ["BR.ORG.1", "BR.ORG.2", "BR.ORG.3", "BR.ORG.4", "BR.ORG.6"] {
        let (status, detail) = verdict(&r, control, &governed);
        assert_eq!(status, Status::Pass, "{control} governed: {detail}");
    }
    assert_eq!(verdict(&r, "BR.ORG.5", &governed).0, Status::NotApplicable, "no approved model list configured");

    let (status, detail) = verdict(&r, "BR.ORG.1", &sandbox);
    assert_eq!(status, Status::Fail, "{detail}");
    assert!(
        detail.contains(&exempting) || detail.contains("sandbox-region-deny"),
        "names the exempting policy: {detail}"
    );
    assert!(detail.contains("Sandbox"), "names the OU: {detail}");
    for control in ["BR.ORG.2", "BR.ORG.3", "BR.ORG.4", "BR.ORG.6"] {
        assert_eq!(verdict(&r, control, &sandbox).0, Status::Fail, "{control} sandbox");
    }

    let (status, detail) = verdict(&r, "BR.ORG.10", &governed);
    assert_eq!(status, Status::Pass, "{detail}");
    assert!(detail.contains("EnforceOrgIdentities") && detail.contains("Governed"), "names the statement: {detail}");
    let (status, detail) = verdict(&r, "BR.ORG.10", &sandbox);
    assert_eq!(status, Status::Fail, "{detail}");
    assert!(detail.contains("no RCP on the path denies it"), "{detail}");
    assert_eq!(verdict(&r, "BR.ORG.10", &org.management_account).0, Status::NotApplicable);

    let (status, detail) = verdict(&r, "BR.ORG.1", &agent_gap);
    assert_eq!(status, Status::Fail, "{detail}");
    assert!(detail.contains("bedrock-agentcore:InvokeAgentRuntime"), "names the open AgentCore actions: {detail}");
    assert!(!detail.contains("bedrock:InvokeModel"), "the Bedrock actions are denied: {detail}");

    // Everything implicitly denied: no region is open, but neither is the approved path.
    assert_eq!(verdict(&r, "BR.ORG.1", &locked).0, Status::Pass, "{}", verdict(&r, "BR.ORG.1", &locked).1);
    let (status, detail) = verdict(&r, "BR.ORG.2", &locked);
    assert_eq!(status, Status::Fail, "{detail}");

    for control in ["BR.ORG.1", "BR.ORG.2", "BR.ORG.3", "BR.ORG.4", "BR.ORG.6"] {
        let (status, detail) = verdict(&r, control, &broken);
        assert_eq!(status, Status::Error, "{control} broken: {detail}");
        assert!(detail.contains(&malformed), "{control} names the policy: {detail}");
    }

    for control in ["BR.ORG.1", "BR.ORG.2", "BR.ORG.3", "BR.ORG.4", "BR.ORG.5", "BR.ORG.6"] {
        assert_eq!(verdict(&r, control, &org.management_account).0, Status::NotApplicable, "{control} management");
    }
}
