//! The `agentcore` family: Amazon Bedrock AgentCore, where agents act.
//! - BR.AGC.1: every gateway authenticates its callers (an inbound authorizer);
//! - BR.AGC.2: every gateway has a policy engine attached in `ENFORCE` mode;
//! - BR.AGC.3: no gateway returns detailed (`DEBUG`) errors to callers;
//! - BR.AGC.4: runtimes, browsers and code interpreters run in the account's VPC (or a code
//!   interpreter's sandbox), not on the public network, unless allowed by name;
//! - BR.AGC.5: gateways, policy engines and memories are encrypted with customer-managed keys;
//! - BR.AGC.6: what each gateway's Cedar policies permit, tool by tool (`cedar.rs`).

mod cedar;

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{Region, ResourceKind, Status};
use crate::evaluate::ids;
use crate::snapshot::{AccountSnapshot, AgentCoreRegion, Collected, Gap, Gateway, PolicyEngine, RegionSnapshot};
use cedar::Reach;

/// Each region's AgentCore, or the `error` its failed listing leaves; regions without
/// AgentCore are skipped.
fn each_region<'a, T>(
    input: &AccountInput<'_>,
    snap: &'a AccountSnapshot,
    control: crate::domain::KnownControl,
    what: &str,
    pick: impl Fn(&'a AgentCoreRegion) -> &'a Collected<Vec<T>>,
    out: &mut Vec<Evaluation>,
) -> Vec<(&'a RegionSnapshot, &'a [T])> {
    let mut found = Vec::new();
    for rs in &snap.per_region {
        let Some(ac) = &rs.agentcore else { continue };
        match pick(ac) {
            Ok(items) => found.push((rs, items.as_slice())),
            Err(gap) => out.push(input.listing_failed(control, &rs.region, what, gap)),
        }
    }
    found
}

/// The summary when nothing was judged: where AgentCore is, none of `what` exists.
fn none_found(input: &AccountInput<'_>, control: crate::domain::KnownControl, what: &str, out: &mut Vec<Evaluation>) {
    if out.is_empty() {
        out.push(input.account_verdict(
            control,
            Status::NotApplicable,
            format!("The account has no AgentCore {what} in the swept regions that offer AgentCore."),
        ));
    }
}

fn gateway_verdict(
    input: &AccountInput<'_>,
    control: crate::domain::KnownControl,
    region: &Region,
    g: &Gateway,
    (status, detail): (Status, String),
) -> Evaluation {
    input.verdict(control, Some(region), (&g.arn, ResourceKind::AgentCoreGateway), status, detail)
}

/// BR.AGC.1.
pub fn gateways_authenticate(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut out = Vec::new();
    for (rs, gateways) in each_region(input, snap, ids::AGC_1, "AgentCore gateways", |a| &a.gateways, &mut out) {
        for g in gateways {
            let judged = match g.authorizer_type.as_str() {
                "NONE" | "" => (
                    Status::Fail,
                    format!(
                        "Gateway {} has no inbound authorizer: anyone who reaches its URL can list and call its tools.",
                        g.name
                    ),
                ),
                "CUSTOM_JWT" => (
                    Status::Pass,
                    format!(
                        "Gateway {} accepts only callers with a JWT from {}.",
                        g.name,
                        g.jwt_discovery_url.as_deref().unwrap_or("its configured identity provider")
                    ),
                ),
                "AWS_IAM" => (Status::Pass, format!("Gateway {} accepts only SigV4-signed IAM callers.", g.name)),
                other => (
                    Status::Error,
                    format!("Gateway {} has authorizer type {other:?}, which the sweep cannot judge.", g.name),
                ),
            };
            out.push(gateway_verdict(input, ids::AGC_1, &rs.region, g, judged));
        }
    }
    none_found(input, ids::AGC_1, "gateways", &mut out);
    out
}

/// The policy engine a gateway names, among the region's engines.
fn engine_of<'a>(g: &Gateway, engines: &'a Collected<Vec<PolicyEngine>>) -> Result<Option<&'a PolicyEngine>, &'a Gap> {
    let Some(attached) = &g.policy_engine else { return Ok(None) };
    Ok(engines.as_ref()?.iter().find(|e| e.arn == attached.arn))
}

/// BR.AGC.2.
pub fn gateways_enforce_policy(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut out = Vec::new();
    for (rs, gateways) in each_region(input, snap, ids::AGC_2, "AgentCore gateways", |a| &a.gateways, &mut out) {
        let engines = rs.agentcore.as_ref().map(|a| &a.policy_engines);
        for g in gateways {
            let judged = match (&g.policy_engine, engines.map(|e| engine_of(g, e))) {
                (None, _) => (
                    Status::Fail,
                    format!("Gateway {} has no policy engine: every authenticated caller may call every tool.", g.name),
                ),
                (Some(p), _) if p.mode != "ENFORCE" => (
                    Status::Fail,
                    format!(
                        "Gateway {}'s policy engine {} is in {} mode: its decisions are only logged, every tool call goes through.",
                        g.name, p.arn, p.mode
                    ),
                ),
                (Some(p), Some(Err(gap))) => (
                    Status::Error,
                    format!(
                        "Gateway {} enforces policy engine {}, which could not be read: {}.",
                        g.name,
                        p.arn,
                        gap.summary()
                    ),
                ),
                (Some(p), Some(Ok(None)) | None) => (
                    Status::Error,
                    format!(
                        "Gateway {} enforces policy engine {}, which is not among the region's policy engines.",
                        g.name, p.arn
                    ),
                ),
                (Some(p), Some(Ok(Some(e)))) => {
                    let deciding = e.policies.iter().filter(|p| p.decides()).count();
                    (
                        Status::Pass,
                        format!(
                            "Gateway {} enforces policy engine {} ({}): {deciding} policies decide, default deny.",
                            g.name, e.name, p.arn
                        ),
                    )
                }
            };
            out.push(gateway_verdict(input, ids::AGC_2, &rs.region, g, judged));
        }
    }
    none_found(input, ids::AGC_2, "gateways", &mut out);
    out
}

/// BR.AGC.3.
pub fn gateways_hide_errors(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut out = Vec::new();
    for (rs, gateways) in each_region(input, snap, ids::AGC_3, "AgentCore gateways", |a| &a.gateways, &mut out) {
        for g in gateways {
            let judged = match g.exception_level.as_deref() {
                Some("DEBUG") => (
                    Status::Fail,
                    format!("Gateway {} returns DEBUG exceptions: callers see its targets' detailed errors.", g.name),
                ),
                None => (Status::Pass, format!("Gateway {} returns generic errors to callers.", g.name)),
                Some(other) => (
                    Status::Error,
                    format!("Gateway {} has exception level {other:?}, which the sweep cannot judge.", g.name),
                ),
            };
            out.push(gateway_verdict(input, ids::AGC_3, &rs.region, g, judged));
        }
    }
    none_found(input, ids::AGC_3, "gateways", &mut out);
    out
}

/// BR.AGC.4.
pub fn compute_private(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let allowed = &input.params.agentcore_public_network_allowed;
    let mut out = Vec::new();
    let listed = each_region(input, snap, ids::AGC_4, "AgentCore runtimes and tools", |a| &a.compute, &mut out);
    for (rs, compute) in listed {
        for c in compute {
            let what = format!("{} {}", c.kind.words(), c.name);
            let exempt = allowed
                .iter()
                .find(|p| iam_policy::wildcard_match(p, &c.name) || iam_policy::wildcard_match(p, &c.arn));
            let judged = match (c.network_mode.as_str(), exempt) {
                ("VPC", _) => (Status::Pass, format!("{what} runs in the account's VPC.")),
                ("SANDBOX", _) => (Status::Pass, format!("{what} runs in an isolated sandbox without network access.")),
                ("PUBLIC", Some(p)) => (
                    Status::Pass,
                    format!(
                        "{what} runs on the public network, allowed by controls.agentcore_public_network_allowed ({p})."
                    ),
                ),
                ("PUBLIC", None) => (
                    Status::Fail,
                    format!(
                        "{what} runs on the public network: it reaches and is reached outside the account's VPC controls."
                    ),
                ),
                (other, _) => {
                    (Status::Error, format!("{what} reports network mode {other:?}, which the sweep does not know."))
                }
            };
            out.push(input.verdict(
                ids::AGC_4,
                Some(&rs.region),
                (&c.arn, ResourceKind::AgentCoreCompute),
                judged.0,
                judged.1,
            ));
        }
    }
    none_found(input, ids::AGC_4, "runtimes, browsers or code interpreters", &mut out);
    out
}

/// BR.AGC.5.
pub fn encrypted_with_cmk(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut out = Vec::new();
    let mut judge = |region: &Region, (arn, kind): (&str, ResourceKind), what: String, key: &Option<String>| {
        let (status, detail) = match key {
            Some(k) => (Status::Pass, format!("{what} is encrypted with {k}.")),
            None => (Status::Fail, format!("{what} is encrypted with an AWS-owned key.")),
        };
        out.push(input.verdict(ids::AGC_5, Some(region), (arn, kind), status, detail));
    };
    let mut failed = Vec::new();
    for rs in &snap.per_region {
        let Some(ac) = &rs.agentcore else { continue };
        match &ac.gateways {
            Ok(gs) => gs.iter().for_each(|g| {
                judge(
                    &rs.region,
                    (&g.arn, ResourceKind::AgentCoreGateway),
                    format!("Gateway {}", g.name),
                    &g.kms_key_arn,
                );
            }),
            Err(gap) => failed.push((&rs.region, "AgentCore gateways", gap)),
        }
        match &ac.policy_engines {
            Ok(es) => es.iter().for_each(|e| {
                judge(
                    &rs.region,
                    (&e.arn, ResourceKind::AgentCorePolicyEngine),
                    format!("Policy engine {}", e.name),
                    &e.kms_key_arn,
                );
            }),
            Err(gap) => failed.push((&rs.region, "AgentCore policy engines", gap)),
        }
        match &ac.memories {
            Ok(ms) => ms.iter().for_each(|m| {
                judge(
                    &rs.region,
                    (&m.arn, ResourceKind::AgentCoreMemory),
                    format!("Memory {}", m.name),
                    &m.kms_key_arn,
                );
            }),
            Err(gap) => failed.push((&rs.region, "AgentCore memories", gap)),
        }
    }
    for (region, what, gap) in failed {
        if !out.iter().any(|e| e.region.as_ref() == Some(region) && e.resource_id == input.account.id.as_str()) {
            out.push(input.listing_failed(ids::AGC_5, region, what, gap));
        }
    }
    none_found(input, ids::AGC_5, "gateways, policy engines or memories", &mut out);
    out
}

/// BR.AGC.6.
pub fn gateway_policies_permit(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut out = Vec::new();
    for (rs, gateways) in each_region(input, snap, ids::AGC_6, "AgentCore gateways", |a| &a.gateways, &mut out) {
        let engines = rs.agentcore.as_ref().map(|a| &a.policy_engines);
        for g in gateways {
            let judged = judge_gateway_policies(g, engines);
            out.push(gateway_verdict(input, ids::AGC_6, &rs.region, g, judged));
        }
    }
    none_found(input, ids::AGC_6, "gateways", &mut out);
    out
}

fn judge_gateway_policies(g: &Gateway, engines: Option<&Collected<Vec<PolicyEngine>>>) -> (Status, String) {
    let Some(attached) = &g.policy_engine else {
        return (Status::NotApplicable, format!("Gateway {} has no policy engine (BR.AGC.2).", g.name));
    };
    if attached.mode != "ENFORCE" {
        return (
            Status::NotApplicable,
            format!("Gateway {}'s policies are only logged ({}), not enforced (BR.AGC.2).", g.name, attached.mode),
        );
    }
    let engine = match engines.map(|e| engine_of(g, e)) {
        Some(Ok(Some(e))) => e,
        Some(Err(gap)) => {
            return (Status::Error, format!("Policy engine {} could not be read: {}.", attached.arn, gap.summary()));
        }
        Some(Ok(None)) | None => {
            return (
                Status::Error,
                format!("Policy engine {} is not among the region's policy engines.", attached.arn),
            );
        }
    };
    let access = match cedar::analyse(g, &engine.policies) {
        Ok(a) => a,
        Err(why) => return (Status::Error, format!("Gateway {}: its policies cannot be judged: {}.", g.name, why.0)),
    };
    let rows: Vec<String> = access.tools.iter().map(cedar::ToolAccess::row).collect();
    let forbids: Vec<String> = access
        .forbids
        .iter()
        .map(|(id, tools)| {
            if tools.is_empty() {
                format!("forbid {id} takes away none of the probed tools")
            } else {
                format!("forbid {id} takes away {}", tools.join(", "))
            }
        })
        .collect();
    let logged = if access.not_deciding.is_empty() {
        String::new()
    } else {
        format!(" Not deciding: {}.", access.not_deciding.join(", "))
    };
    let forbids = if forbids.is_empty() { String::new() } else { format!(" {}.", forbids.join("; ")) };
    let table = format!("Tools: {}.{forbids}{logged}", rows.join("; "));
    if !access.permit_all.is_empty() {
        return (
            Status::Fail,
            format!(
                "Gateway {}: {} lets every authenticated caller call every tool, even one no policy names. {table}",
                g.name,
                access.permit_all.iter().map(|p| format!("permit {p}")).collect::<Vec<_>>().join(", ")
            ),
        );
    }
    let count = |reach: Reach| access.tools.iter().filter(|t| t.reach() == reach).count();
    (
        Status::Pass,
        format!(
            "Gateway {}: no policy permits every caller every tool; of {} probed tools {} open to any authenticated caller, {} to any caller for some inputs, {} narrowed, {} callable by nobody. {table}",
            g.name,
            access.tools.len(),
            count(Reach::Anyone),
            count(Reach::AnyoneForSomeInput),
            count(Reach::Narrowed),
            count(Reach::Nobody)
        ),
    )
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Input::{AgentCoreCompute, AgentCoreGateways, AgentCoreMemories, AgentCorePolicyEngines};
    use Judge::Account;
    use Proof::Exhaustive;
    use Regions::Swept;
    &[
        Control {
            id: ids::AGC_1,
            reads: reads(&[AgentCoreGateways], Exhaustive, Swept),
            judge: Account(gateways_authenticate),
        },
        Control {
            id: ids::AGC_2,
            reads: reads(&[AgentCoreGateways, AgentCorePolicyEngines], Exhaustive, Swept),
            judge: Account(gateways_enforce_policy),
        },
        Control {
            id: ids::AGC_3,
            reads: reads(&[AgentCoreGateways], Exhaustive, Swept),
            judge: Account(gateways_hide_errors),
        },
        Control {
            id: ids::AGC_4,
            reads: reads(&[AgentCoreCompute], Exhaustive, Swept),
            judge: Account(compute_private),
        },
        Control {
            id: ids::AGC_5,
            reads: reads(&[AgentCoreGateways, AgentCorePolicyEngines, AgentCoreMemories], Exhaustive, Swept),
            judge: Account(encrypted_with_cmk),
        },
        Control {
            id: ids::AGC_6,
            reads: reads(&[AgentCoreGateways, AgentCorePolicyEngines], Exhaustive, Swept),
            judge: Account(gateway_policies_permit),
        },
    ]
};

#[cfg(test)]
mod tests {
    use super::cedar::tests::policy as cedar;
    use super::*;
    use crate::config::ControlParameters;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::{
        AgentCoreCompute, AgentCoreMemory, AttachedPolicyEngine, ComputeKind, EnginePolicy, GatewayTarget,
    };

    const ENGINE: &str = "arn:aws:bedrock-agentcore:eu-west-1:111122223333:policy-engine/refunds-0123456789";
    const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/k";

    fn gateway(name: &str) -> Gateway {
        Gateway {
            id: name.into(),
            arn: format!("arn:aws:bedrock-agentcore:eu-west-1:{MEMBER}:gateway/{name}"),
            name: name.into(),
            authorizer_type: "CUSTOM_JWT".into(),
            jwt_discovery_url: Some("https://idp.example.com/.well-known/openid-configuration".into()),
            policy_engine: Some(AttachedPolicyEngine { arn: ENGINE.into(), mode: "ENFORCE".into() }),
            exception_level: None,
            kms_key_arn: Some(KEY.into()),
            role_arn: String::new(),
            targets: vec![GatewayTarget {
                id: "t".into(),
                name: "RefundTool".into(),
                kind: "lambda".into(),
                tools: Some(vec!["process_refund".into()]),
            }],
        }
    }

    fn engine(policies: Vec<EnginePolicy>) -> PolicyEngine {
        PolicyEngine {
            id: "refunds".into(),
            arn: ENGINE.into(),
            name: "refunds".into(),
            kms_key_arn: Some(KEY.into()),
            policies,
        }
    }

    fn snapshot(gateways: Vec<Gateway>, engines: Collected<Vec<PolicyEngine>>) -> AccountSnapshot {
        let mut snap = account_snapshot();
        snap.per_region[0].agentcore = Some(AgentCoreRegion {
            gateways: Ok(gateways),
            policy_engines: engines,
            compute: Ok(vec![]),
            memories: Ok(vec![]),
        });
        snap
    }

    fn run(snap: &AccountSnapshot, f: fn(&AccountInput<'_>, &AccountSnapshot) -> Vec<Evaluation>) -> Vec<Evaluation> {
        with_input(snap, |i| f(i, snap))
    }

    #[test]
    fn a_correct_gateway_passes_every_gateway_control() {
        let narrowed = cedar(
            "refund_limit",
            &format!(
                r#"permit(principal is AgentCore::OAuthUser, action == AgentCore::Action::"RefundTool___process_refund", resource == AgentCore::Gateway::"arn:aws:bedrock-agentcore:eu-west-1:{MEMBER}:gateway/good")
                   when {{ principal.hasTag("role") && principal.getTag("role") == "refunds" && context.input.amount < 500 }};"#
            ),
        );
        let snap = snapshot(vec![gateway("good")], Ok(vec![engine(vec![narrowed])]));
        for f in [
            gateways_authenticate,
            gateways_enforce_policy,
            gateways_hide_errors,
            encrypted_with_cmk,
            gateway_policies_permit,
        ] {
            let out = run(&snap, f);
            assert!(out.iter().all(|e| e.status == Status::Pass), "{out:?}");
        }
        let out = run(&snap, gateway_policies_permit);
        assert_eq!(out[0].resource_kind, ResourceKind::AgentCoreGateway);
        assert!(
            out[0].detail.contains("RefundTool___process_refund: narrowed")
                && out[0].detail.contains("depends on claim role, input amount (refund_limit)"),
            "{}",
            out[0].detail
        );
    }

    #[test]
    fn every_gateway_fault_fails_its_control() {
        let mut bad = gateway("bad");
        bad.authorizer_type = "NONE".into();
        bad.exception_level = Some("DEBUG".into());
        bad.kms_key_arn = None;
        let open = cedar("open", "permit(principal, action, resource is AgentCore::Gateway);");
        let snap = snapshot(vec![bad.clone()], Ok(vec![engine(vec![open])]));
        assert_eq!(statuses(&run(&snap, gateways_authenticate)), [Status::Fail]);
        assert_eq!(statuses(&run(&snap, gateways_hide_errors)), [Status::Fail]);
        let enc = run(&snap, encrypted_with_cmk);
        assert_eq!(statuses(&enc), [Status::Fail, Status::Pass], "gateway without a key, engine with one: {enc:?}");
        let cedar_out = run(&snap, gateway_policies_permit);
        assert_eq!(statuses(&cedar_out), [Status::Fail]);
        assert!(
            cedar_out[0].detail.contains("permit open lets every authenticated caller call every tool"),
            "{}",
            cedar_out[0].detail
        );

        bad.policy_engine.as_mut().unwrap().mode = "LOG_ONLY".into();
        let snap = snapshot(vec![bad.clone()], Ok(vec![engine(vec![])]));
        let out = run(&snap, gateways_enforce_policy);
        assert_eq!(statuses(&out), [Status::Fail]);
        assert!(out[0].detail.contains("LOG_ONLY mode"), "{}", out[0].detail);
        assert_eq!(statuses(&run(&snap, gateway_policies_permit)), [Status::NotApplicable]);
        bad.policy_engine = None;
        let snap = snapshot(vec![bad], Ok(vec![]));
        assert_eq!(statuses(&run(&snap, gateways_enforce_policy)), [Status::Fail]);
    }

    #[test]
    fn what_could_not_be_read_or_parsed_is_an_error() {
        let snap = snapshot(vec![gateway("g")], Err(gap("bedrock-agentcore", "ListPolicyEngines")));
        assert_eq!(statuses(&run(&snap, gateways_enforce_policy)), [Status::Error]);
        assert_eq!(statuses(&run(&snap, gateway_policies_permit)), [Status::Error]);
        let snap = snapshot(vec![gateway("g")], Ok(vec![]));
        assert_eq!(statuses(&run(&snap, gateway_policies_permit)), [Status::Error], "an engine that is not there");
        let snap = snapshot(vec![gateway("g")], Ok(vec![engine(vec![cedar("broken", "permit(principal,")])]));
        let out = run(&snap, gateway_policies_permit);
        assert_eq!(statuses(&out), [Status::Error]);
        assert!(out[0].detail.contains("policy broken does not parse"), "{}", out[0].detail);

        let mut snap = snapshot(vec![], Ok(vec![]));
        snap.per_region[0].agentcore.as_mut().unwrap().gateways = Err(gap("bedrock-agentcore", "ListGateways"));
        for f in [gateways_authenticate, gateways_enforce_policy, gateways_hide_errors, gateway_policies_permit] {
            assert_eq!(statuses(&run(&snap, f)), [Status::Error]);
        }
    }

    #[test]
    fn compute_must_be_private_unless_allowed_and_memories_need_a_key() {
        let compute = |kind, name: &str, mode: &str| AgentCoreCompute {
            kind,
            id: name.into(),
            arn: format!("arn:aws:bedrock-agentcore:eu-west-1:{MEMBER}:runtime/{name}"),
            name: name.into(),
            network_mode: mode.into(),
        };
        let mut snap = snapshot(vec![], Ok(vec![]));
        let ac = snap.per_region[0].agentcore.as_mut().unwrap();
        ac.compute = Ok(vec![
            compute(ComputeKind::Runtime, "private", "VPC"),
            compute(ComputeKind::Runtime, "exposed", "PUBLIC"),
            compute(ComputeKind::CodeInterpreter, "sandboxed", "SANDBOX"),
            compute(ComputeKind::Browser, "research-browser", "PUBLIC"),
        ]);
        ac.memories =
            Ok(vec![AgentCoreMemory { id: "m".into(), arn: "arn:m".into(), name: "chat".into(), kms_key_arn: None }]);
        let out = run(&snap, compute_private);
        assert_eq!(statuses(&out), [Status::Pass, Status::Fail, Status::Pass, Status::Fail]);
        assert!(out[3].detail.starts_with("Browser research-browser runs on the public network"), "{}", out[3].detail);
        let params = ControlParameters {
            agentcore_public_network_allowed: vec!["research-*".into()],
            ..ControlParameters::default()
        };
        let out = with_params(&snap, params, |i| compute_private(i, &snap));
        assert_eq!(out[3].status, Status::Pass, "{}", out[3].detail);
        assert_eq!(statuses(&run(&snap, encrypted_with_cmk)), [Status::Fail]);
    }

    #[test]
    fn regions_without_agentcore_and_accounts_without_resources_are_not_applicable() {
        let mut snap = account_snapshot();
        snap.per_region[0].agentcore = None;
        assert_eq!(statuses(&run(&snap, gateways_authenticate)), [Status::NotApplicable]);
        let snap = snapshot(vec![], Ok(vec![]));
        assert_eq!(statuses(&run(&snap, gateway_policies_permit)), [Status::NotApplicable]);
        assert_eq!(statuses(&run(&snap, compute_private)), [Status::NotApplicable]);
    }
}
