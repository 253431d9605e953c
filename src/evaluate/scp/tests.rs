//! Table-driven tests of BR.ORG.1–6 on hand-built organizations: each row attaches SCPs at
//! the root, an OU or the account and states the expected status and words of the detail.

#![allow(clippy::unwrap_used)]

use super::test_policies::*;
use super::*;
use crate::config::ControlParameters;
use crate::domain::{AccountId, Status};
use crate::evaluate::fixtures::{MANAGEMENT, MEMBER, account_snapshot, now, region};
use crate::snapshot::{OrgAccount, OrgRoot, OrgUnit, ScpPolicy};

pub(super) const OTHER: &str = "444455556666";

/// Root r-ab12 → OU Workloads → OU Sandbox → MEMBER and OTHER; the management account
/// sits under the root. `scps` are (id, document, targets); FullAWSAccess is attached to
/// every node unless `detach` names the node.
pub(super) fn org(scps: &[(&str, &str, &[&str])], detach: &[&str], scp_enabled: bool) -> OrgSnapshot {
    let account = |id: &str, name: &str, parent: &str| OrgAccount {
        id: AccountId::parse(id).unwrap(),
        name: name.into(),
        email: format!("{name}@example.com"),
        status: "ACTIVE".into(),
        parent_id: parent.into(),
    };
    let nodes = ["r-ab12", "ou-ab12-work", "ou-ab12-sand", MEMBER, OTHER, MANAGEMENT];
    let full_targets: Vec<String> = nodes.iter().filter(|n| !detach.contains(n)).map(|n| (*n).to_owned()).collect();
    let mut policies = vec![ScpPolicy {
        id: "p-FullAWSAccess".into(),
        name: "FullAWSAccess".into(),
        arn: "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess".into(),
        aws_managed: true,
        content: FULL.into(),
        targets: full_targets,
    }];
    policies.extend(scps.iter().map(|(id, content, targets)| ScpPolicy {
        id: (*id).into(),
        name: format!("{id}-name"),
        arn: format!("arn:aws:organizations::{MANAGEMENT}:policy/o-example/service_control_policy/{id}"),
        aws_managed: false,
        content: (*content).into(),
        targets: targets.iter().map(|t| (*t).to_owned()).collect(),
    }));
    OrgSnapshot {
        organization_id: "o-example".into(),
        partition: crate::domain::Partition::aws(),
        management_account_id: AccountId::parse(MANAGEMENT).unwrap(),
        roots: vec![OrgRoot {
            id: "r-ab12".into(),
            name: "Root".into(),
            scp_enabled,
            rcp_enabled: false,
            bedrock_policy_enabled: false,
        }],
        ous: vec![
            OrgUnit { id: "ou-ab12-work".into(), name: "Workloads".into(), parent_id: "r-ab12".into() },
            OrgUnit { id: "ou-ab12-sand".into(), name: "Sandbox".into(), parent_id: "ou-ab12-work".into() },
        ],
        accounts: vec![
            account(MEMBER, "member", "ou-ab12-sand"),
            account(OTHER, "other", "ou-ab12-sand"),
            account(MANAGEMENT, "management", "r-ab12"),
        ],
        policies,
        management_trails: Ok(vec![]),
        management_kms_keys: Default::default(),
        rcps: Vec::new(),
        bedrock_policies: Vec::new(),
        bedrock_effective: Default::default(),
        enforced_guardrails: Default::default(),
    }
}

pub(super) fn params() -> ControlParameters {
    ControlParameters {
        approved_regions: vec![region("eu-west-1"), region("eu-central-1")],
        approved_vpce_ids: vec!["vpce-0aaa1111bbbb2222c".into()],
        ..ControlParameters::default()
    }
}

pub(super) type Control = fn(&AccountInput<'_>) -> Vec<Evaluation>;

/// Runs `control` for `account` with an engine built for `org` and `params`.
pub(super) fn judge(org: &OrgSnapshot, account: &str, params: &ControlParameters, control: Control) -> Evaluation {
    let catalog = crate::catalog::Catalog::embedded().unwrap();
    let engine = ScpEngine::new(org, catalog.regions(), params);
    let snap = account_snapshot();
    let account = org.account(&AccountId::parse(account).unwrap()).unwrap();
    let input = AccountInput { org, account, snapshot: Ok(&snap), params, now: now(), scp: &engine };
    let mut out = control(&input);
    assert_eq!(out.len(), 1, "one verdict per account");
    out.remove(0)
}

struct Case {
    name: &'static str,
    scps: Vec<(&'static str, String, &'static [&'static str])>,
    detach: &'static [&'static str],
    scp_enabled: bool,
    account: &'static str,
    params: ControlParameters,
    control: Control,
    want: Status,
    /// Phrases the detail must contain.
    says: &'static [&'static str],
    /// Phrases it must not contain.
    not_says: &'static [&'static str],
}

fn case(
    name: &'static str,
    scps: Vec<(&'static str, String, &'static [&'static str])>,
    control: Control,
    want: Status,
) -> Case {
    Case {
        name,
        scps,
        detach: &[],
        scp_enabled: true,
        account: MEMBER,
        params: params(),
        control,
        want,
        says: &[],
        not_says: &[],
    }
}

fn run(cases: Vec<Case>) {
    assert!(!cases.is_empty());
    for c in cases {
        let scps: Vec<(&str, &str, &[&str])> = c.scps.iter().map(|(i, j, t)| (*i, j.as_str(), *t)).collect();
        let org = org(&scps, c.detach, c.scp_enabled);
        let e = judge(&org, c.account, &c.params, c.control);
        assert_eq!(e.status, c.want, "{}: {}", c.name, e.detail);
        for s in c.says {
            assert!(e.detail.contains(s), "{}: detail lacks {s:?}: {}", c.name, e.detail);
        }
        for s in c.not_says {
            assert!(!e.detail.contains(s), "{}: detail has {s:?}: {}", c.name, e.detail);
        }
        assert!(!e.detail.contains("{{L"), "{}: unreplaced level token: {}", c.name, e.detail);
    }
}

fn scp(id: &'static str, json: &str, at: &'static [&'static str]) -> (&'static str, String, &'static [&'static str]) {
    (id, json.to_owned(), at)
}

#[test]
fn region_deny_br_org_1() {
    run(vec![
        Case {
            says: &[
                "Bedrock is open in",
                "outside the approved list",
                "SCP p-regions (Sid DenyOutsideRegions) on OU Sandbox",
                "NotAction exempts",
                "bedrock:*",
                "us-east-1",
            ],
            not_says: &["bedrock-mantle:CreateInference"],
            ..case(
                "region deny exempting bedrock:*",
                vec![scp("p-regions", REGION_EXEMPTS_BEDROCK, &["ou-ab12-sand"])],
                region_deny,
                Status::Fail,
            )
        },
        Case {
            says: &[
                "denied in all",
                "global cross-region inference",
                "SCP p-ct (Sid GRREGIONDENY) on root r-ab12",
                "AWSControlTowerExecution",
            ],
            ..case(
                "Control Tower GRREGIONDENY",
                vec![scp("p-ct", GRREGIONDENY, &["r-ab12"])],
                region_deny,
                Status::Pass,
            )
        },
        Case {
            says: &["denied in all", "missing Allow at OU Workloads"],
            detach: &["ou-ab12-work"],
            ..case(
                "FullAWSAccess detached at an OU",
                vec![scp("p-leave", DENY_LEAVE, &["ou-ab12-work"])],
                region_deny,
                Status::Pass,
            )
        },
        Case {
            says: &["Bedrock is open", "because no SCP on the path denies it"],
            ..case("no region deny at all", vec![], region_deny, Status::Fail)
        },
        Case {
            says: &["not proven denied", "depends on aws:ResourceTag/allow-anywhere", "p-tag"],
            ..case(
                "deny that depends on a resource tag",
                vec![scp("p-tag", REGION_DEPENDS_ON_TAG, &["r-ab12"])],
                region_deny,
                Status::Fail,
            )
        },
        Case {
            says: &["global cross-region inference"],
            params: ControlParameters { approved_regions: vec![region("eu-west-1")], ..ControlParameters::default() },
            ..case(
                "only unspecified left open",
                vec![scp(
                    "p-ct",
                    &GRREGIONDENY.replace(r#""eu-west-1","eu-central-1""#, r#""eu-west-1","unspecified""#),
                    &["r-ab12"],
                )],
                region_deny,
                Status::Fail,
            )
        },
        Case {
            says: &["No approved region list"],
            params: ControlParameters::default(),
            ..case("no approved list", vec![], region_deny, Status::NotApplicable)
        },
    ]);
}

#[test]
fn exclusions_and_errors_apply_to_every_scp_control() {
    let controls: [Control; 6] =
        [region_deny, endpoint_only, guardrail_required, audit_protected, approved_models_only, api_keys_blocked];
    let with_models =
        ControlParameters { approved_models: vec!["anthropic.claude-3-haiku-20240307-v1:0".into()], ..params() };
    for control in controls {
        run(vec![
            Case {
                says: &["never apply to the management account"],
                account: MANAGEMENT,
                ..case(
                    "management account",
                    vec![scp("p-ct", GRREGIONDENY, &[MANAGEMENT, "r-ab12"])],
                    control,
                    Status::NotApplicable,
                )
            },
            Case {
                says: &["not enabled on root r-ab12"],
                scp_enabled: false,
                params: with_models.clone(),
                ..case("SCPs disabled", vec![scp("p-ct", GRREGIONDENY, &["r-ab12"])], control, Status::Fail)
            },
            Case {
                says: &["SCP p-broken", "OU Workloads", "Statement[0]"],
                params: with_models.clone(),
                ..case("malformed policy", vec![scp("p-broken", MALFORMED, &["ou-ab12-work"])], control, Status::Error)
            },
        ]);
    }
}

#[test]
fn endpoint_guardrail_audit_keys_models_br_org_2_to_6() {
    let guard = ControlParameters { required_guardrail_arns: vec![GUARDRAIL_ARN.into()], ..params() };
    let models =
        ControlParameters { approved_models: vec!["anthropic.claude-3-haiku-20240307-v1:0".into()], ..params() };
    run(vec![
        Case {
            says: &[
                "denied from the public internet and through unapproved endpoints",
                "SCP p-vpce",
                "note: calls made by AWS services",
            ],
            ..case(
                "endpoint-only SCP with ViaAWSService exemption",
                vec![scp("p-vpce", VPCE, &["r-ab12"])],
                endpoint_only,
                Status::Pass,
            )
        },
        Case {
            says: &[
                "Bedrock runtime calls from the public internet are not denied",
                "bedrock-agentcore:InvokeAgentRuntime",
                "bedrock-agentcore:InvokeGateway",
            ],
            not_says: &["bedrock:InvokeModel,"],
            ..case(
                "endpoint-only SCP as published, without AgentCore",
                vec![scp("p-vpce", &vpce_without_agentcore(), &["r-ab12"])],
                endpoint_only,
                Status::Fail,
            )
        },
        Case {
            says: &["Bedrock runtime calls from the public internet are not denied", "no SCP on the path denies it"],
            ..case("no endpoint SCP", vec![], endpoint_only, Status::Fail)
        },
        Case {
            says: &["through the approved VPC endpoint are denied too", "missing Allow at OU Workloads"],
            detach: &["ou-ab12-work"],
            ..case(
                "FullAWSAccess detached at an OU",
                vec![scp("p-leave", DENY_LEAVE, &["ou-ab12-work"])],
                endpoint_only,
                Status::Fail,
            )
        },
        Case {
            says: &[
                "without a guardrail is denied and invocation with the required guardrail is not",
                "DenyInferenceWithoutApprovedGuardrail",
            ],
            params: guard.clone(),
            ..case(
                "require guardrail",
                vec![scp("p-guard", GUARDRAIL, &["ou-ab12-work"])],
                guardrail_required,
                Status::Pass,
            )
        },
        Case {
            says: &["without a guardrail is not denied"],
            params: guard,
            ..case("no guardrail SCP", vec![], guardrail_required, Status::Fail)
        },
        Case {
            says: &[
                "is denied for a generic role and the root user",
                "exempt arn:aws:iam::*:role/AWSControlTowerExecution",
            ],
            ..case(
                "protect audit, narrow exemption",
                vec![scp("p-audit", &protect_audit("arn:aws:iam::*:role/AWSControlTowerExecution"), &["r-ab12"])],
                audit_protected,
                Status::Pass,
            )
        },
        Case {
            says: &[
                "Changing audit logging or AgentCore policy enforcement is not denied",
                "as a generic role",
                "arn:aws:iam::*:role/*",
                "exempts every role",
            ],
            ..case(
                "protect audit, broad exemption",
                vec![scp("p-audit", &protect_audit("arn:aws:iam::*:role/*"), &["r-ab12"])],
                audit_protected,
                Status::Fail,
            )
        },
        Case {
            says: &[
                "Changing audit logging or AgentCore policy enforcement is not denied",
                "bedrock-agentcore:UpdateGateway",
                "bedrock-agentcore:DeletePolicyEngine",
            ],
            not_says: &["cloudtrail:StopLogging"],
            ..case(
                "protect audit without AgentCore",
                vec![scp(
                    "p-audit",
                    &protect_audit("arn:aws:iam::*:role/AWSControlTowerExecution").replace(
                        r#","bedrock-agentcore:UpdateGateway",
    "bedrock-agentcore:DeleteGateway","bedrock-agentcore:UpdatePolicyEngine","bedrock-agentcore:DeletePolicyEngine",
    "bedrock-agentcore:UpdatePolicy","bedrock-agentcore:DeletePolicy""#,
                        "",
                    ),
                    &["r-ab12"],
                )],
                audit_protected,
                Status::Fail,
            )
        },
        Case {
            says: &[
                "Creating Bedrock API keys and calling Bedrock with long-term keys are denied",
                "DenyBearerTokens",
                "note: long-term API keys on the Mantle endpoint",
            ],
            ..case("block API keys", vec![scp("p-keys", API_KEYS, &[MEMBER])], api_keys_blocked, Status::Pass)
        },
        Case {
            says: &["Creating Bedrock API keys (iam:CreateServiceSpecificCredential) is not denied"],
            ..case("no API key SCP", vec![], api_keys_blocked, Status::Fail)
        },
        Case {
            says: &[
                "Invoking models outside the approved list",
                "is denied and approved models are not",
                "SCP p-models",
            ],
            params: models.clone(),
            ..case(
                "approved models",
                vec![scp("p-models", APPROVED_MODELS, &["ou-ab12-sand"])],
                approved_models_only,
                Status::Pass,
            )
        },
        Case {
            says: &["is not denied", "bedrock-mantle:CreateInference", "no SCP on the path denies it"],
            params: models,
            ..case(
                "approved models without Mantle",
                vec![scp("p-models", APPROVED_MODELS_NO_MANTLE, &["ou-ab12-sand"])],
                approved_models_only,
                Status::Fail,
            )
        },
        Case {
            says: &["No approved model list"],
            ..case(
                "no approved models configured",
                vec![scp("p-models", APPROVED_MODELS, &["ou-ab12-sand"])],
                approved_models_only,
                Status::NotApplicable,
            )
        },
    ]);
}

/// Probes are built in the organization's partition: an exemption written for commercial
/// role ARNs does not exempt anyone in GovCloud, and one written for GovCloud does.
#[test]
fn probes_are_built_in_the_organizations_partition() {
    let deny_exempting = |pattern: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"DenyOutside","Effect":"Deny","Action":"*","Resource":"*",
              "Condition":{{"StringNotEquals":{{"aws:RequestedRegion":["eu-west-1","eu-central-1"]}},
                            "ArnNotLike":{{"aws:PrincipalArn":"{pattern}"}}}}}}]}}"#
        )
    };
    let verdict = |partition: &str, pattern: &str| {
        let mut o = org(&[("p-regions", &deny_exempting(pattern), &["r-ab12"])], &[], true);
        o.partition = crate::domain::Partition::parse(partition).unwrap();
        judge(&o, MEMBER, &params(), region_deny).status
    };
    // Every role is exempt, in the partition the pattern names.
    assert_eq!(verdict("aws", "arn:aws:iam::*:role/*"), Status::Fail);
    assert_eq!(verdict("aws-us-gov", "arn:aws:iam::*:role/*"), Status::Pass);
    assert_eq!(verdict("aws-us-gov", "arn:aws-us-gov:iam::*:role/*"), Status::Fail);
}
