//! The `network` family: BR.NET.1 (a private bedrock-runtime endpoint in every approved
//! region), BR.NET.2 (no Bedrock endpoint whose policy lets principals from outside the
//! organization through), judged with `iam-policy` on probe requests, and BR.NET.3 (a
//! private endpoint for every other Bedrock API the region's resources are called through).

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{Partition, Region, ResourceKind, Status};
use crate::evaluate::ids;
use crate::snapshot::{AccountSnapshot, Collected, RegionSnapshot, VpcEndpoint};

/// BR.NET.1.
pub fn private_endpoint(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    input.per_approved_region(snap, ids::NET_1, |rs| {
        let endpoints = match &rs.vpc_endpoints {
            Ok(e) => e,
            Err(gap) => return (Status::Error, format!("Could not list VPC endpoints: {}.", gap.summary())),
        };
        let service = format!("com.amazonaws.{}.bedrock-runtime", rs.region);
        let runtime: Vec<&VpcEndpoint> =
            endpoints.iter().filter(|e| e.service_name == service && e.endpoint_type == "Interface").collect();
        if let Some(ok) = runtime.iter().find(|e| e.state == "available" && e.private_dns_enabled) {
            return (
                Status::Pass,
                format!("Interface endpoint {} for {service} is available with private DNS.", ok.id),
            );
        }
        match runtime.first() {
            None => (Status::Fail, format!("No interface VPC endpoint for {service} exists.")),
            Some(e) if e.state != "available" => {
                (Status::Fail, format!("Endpoint {} for {service} is {}, not available.", e.id, e.state))
            }
            Some(e) => (Status::Fail, format!("Endpoint {} for {service} has private DNS disabled.", e.id)),
        }
    })
}

/// One Bedrock API a region's resources are called through, and who makes it needed.
struct ApiInUse {
    /// The endpoint's service part (`bedrock-agent-runtime`).
    service: &'static str,
    /// The resources that need it, named for the detail.
    users: Vec<String>,
}

/// Each item of a listing in words (`agent helper`); a failed listing is named in `gaps`.
fn names<T>(c: &Collected<Vec<T>>, words: impl Fn(&T) -> String, gaps: &mut Vec<String>) -> Vec<String> {
    match c {
        Ok(items) => items.iter().map(words).collect(),
        Err(gap) => {
            gaps.push(gap.summary());
            Vec::new()
        }
    }
}

/// The Bedrock APIs beyond bedrock-runtime (BR.NET.1's) that the region's resources are
/// called through: agents, knowledge bases and flows are invoked through bedrock-agent-runtime
/// (InvokeAgent, Retrieve, InvokeFlow); AgentCore runtimes, tools and memories through
/// bedrock-agentcore, its gateways through bedrock-agentcore.gateway. With `control_planes`, also the control planes that
/// manage them: bedrock-agent for agents, knowledge bases, flows and prompts; bedrock for
/// guardrails, custom models and jobs. `Err` names the listings that failed: whether an API
/// is in use is then unknown.
fn apis_in_use(rs: &RegionSnapshot, control_planes: bool) -> Result<Vec<ApiInUse>, Vec<String>> {
    let mut gaps = Vec::new();
    let agents = names(&rs.agents, |a| format!("agent {}", a.name), &mut gaps);
    let kbs = names(&rs.knowledge_bases, |k| format!("knowledge base {}", k.name), &mut gaps);
    let flows = names(&rs.flows, |f| format!("flow {}", f.name), &mut gaps);
    let runtime_users: Vec<String> = agents.iter().chain(&kbs).chain(&flows).cloned().collect();
    let mut out = vec![ApiInUse { service: "bedrock-agent-runtime", users: runtime_users.clone() }];
    // AgentCore: runtimes, browsers, code interpreters and memories are called through the
    // bedrock-agentcore data plane, gateways' tools through the gateway endpoint.
    if let Some(ac) = &rs.agentcore {
        let compute = names(&ac.compute, |c| format!("{} {}", c.kind.words(), c.name), &mut gaps);
        let memories = names(&ac.memories, |m| format!("AgentCore memory {}", m.name), &mut gaps);
        let gateways = names(&ac.gateways, |g| format!("AgentCore gateway {}", g.name), &mut gaps);
        out.push(ApiInUse { service: "bedrock-agentcore", users: compute.into_iter().chain(memories).collect() });
        out.push(ApiInUse { service: "bedrock-agentcore.gateway", users: gateways });
    }
    if control_planes {
        let prompts = names(&rs.prompts, |p| format!("prompt {}", p.name), &mut gaps);
        let agent_plane = runtime_users.into_iter().chain(prompts).collect();
        let bedrock_plane = names(&rs.guardrails, |g| format!("guardrail {}", g.name), &mut gaps)
            .into_iter()
            .chain(names(&rs.custom_models, |m| format!("custom model {}", m.name), &mut gaps))
            .chain(names(&rs.jobs, |j| format!("job {}", j.name), &mut gaps))
            .collect();
        out.push(ApiInUse { service: "bedrock-agent", users: agent_plane });
        out.push(ApiInUse { service: "bedrock", users: bedrock_plane });
    }
    if !gaps.is_empty() {
        return Err(gaps);
    }
    out.retain(|api| !api.users.is_empty());
    Ok(out)
}

/// "a, b, c" or "a, b, c and 4 more".
fn some_of(users: &[String]) -> String {
    const SHOWN: usize = 3;
    if users.len() <= SHOWN {
        users.join(", ")
    } else {
        format!("{} and {} more", users[..SHOWN].join(", "), users.len() - SHOWN)
    }
}

/// BR.NET.3.
pub fn private_endpoints_in_use(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    input.per_approved_region(snap, ids::NET_3, |rs| {
        let endpoints = match &rs.vpc_endpoints {
            Ok(e) => e,
            Err(gap) => return (Status::Error, format!("Could not list VPC endpoints: {}.", gap.summary())),
        };
        let apis = match apis_in_use(rs, input.params.require_control_plane_endpoints) {
            Ok(apis) => apis,
            Err(gaps) => {
                return (
                    Status::Error,
                    format!("Could not tell which Bedrock APIs the region uses: {}.", gaps.join(", ")),
                );
            }
        };
        if apis.is_empty() {
            return (
                Status::NotApplicable,
                "No agent, knowledge base, flow or AgentCore resource in the region is called through a Bedrock API beyond bedrock-runtime (BR.NET.1)."
                    .into(),
            );
        }
        let (mut covered, mut missing) = (Vec::new(), Vec::new());
        for api in &apis {
            let interface: Vec<&VpcEndpoint> = endpoints
                .iter()
                .filter(|e| e.service() == Some(api.service) && e.endpoint_type == "Interface" && e.is_live())
                .collect();
            let used_by = some_of(&api.users);
            match interface.iter().find(|e| e.state == "available" && e.private_dns_enabled) {
                Some(e) => covered.push(format!("{} through {} (used by {used_by})", api.service, e.id)),
                None => missing.push(match interface.first() {
                    None => format!("no interface endpoint for {}, which {used_by} use", api.service),
                    Some(e) if e.state != "available" => {
                        format!("endpoint {} for {} is {}, not available ({used_by} use it)", e.id, api.service, e.state)
                    }
                    Some(e) => format!(
                        "endpoint {} for {} has private DNS disabled, so the public name still resolves ({used_by} use it)",
                        e.id, api.service
                    ),
                }),
            }
        }
        if missing.is_empty() {
            (Status::Pass, format!("Private interface endpoints with private DNS: {}.", covered.join("; ")))
        } else {
            let also = if covered.is_empty() { String::new() } else { format!(" Covered: {}.", covered.join("; ")) };
            (Status::Fail, format!("{}.{also}", capitalised(&missing.join("; "))))
        }
    })
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// Bedrock actions a caller could make through a Bedrock endpoint: model invocation first
/// (what an outsider would come for), then agents, knowledge bases, jobs and the control plane.
const PROBED_ACTIONS: &[&str] = &[
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:InvokeAgent",
    "bedrock:InvokeInlineAgent",
    "bedrock:Retrieve",
    "bedrock:RetrieveAndGenerate",
    "bedrock:ApplyGuardrail",
    "bedrock:CreateModelInvocationJob",
    "bedrock:CreateModelCustomizationJob",
    "bedrock:GetFoundationModel",
    "bedrock:ListFoundationModels",
    "bedrock:DeleteGuardrail",
    "bedrock:PutModelInvocationLoggingConfiguration",
];

/// An account id no organization of ours holds, for the outside caller.
const OUTSIDER_ACCOUNT: &str = "000000000000";

/// BR.NET.2: may a principal outside the organization use the endpoint? And, for the
/// evidence, may every principal inside it call every probed action?
pub fn endpoint_policies(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut out = Vec::new();
    for rs in &snap.per_region {
        let endpoints = match &rs.vpc_endpoints {
            Ok(e) => e,
            Err(gap) => {
                out.push(input.listing_failed(ids::NET_2, &rs.region, "VPC endpoints", gap));
                continue;
            }
        };
        for e in endpoints.iter().filter(|e| e.is_bedrock() && e.is_live()) {
            let (status, detail) = judge_endpoint_policy(input, &rs.region, e);
            out.push(input.verdict(ids::NET_2, Some(&rs.region), (&e.id, ResourceKind::VpcEndpoint), status, detail));
        }
    }
    if out.is_empty() {
        out.push(input.account_verdict(
            ids::NET_2,
            Status::NotApplicable,
            "The account has no Bedrock VPC endpoints in the swept regions.".into(),
        ));
    }
    out
}

/// One probe caller: who, and the request keys it brings.
struct Probe<'a> {
    who: String,
    caller: iam_policy::Caller<'a>,
    org_id: Option<&'a str>,
}

fn judge_endpoint_policy(input: &AccountInput<'_>, region: &Region, e: &VpcEndpoint) -> (Status, String) {
    let what = format!("Endpoint {} ({})", e.id, e.service_name);
    let Some(doc) = e.policy_document.as_deref() else {
        return (Status::Fail, format!("{what} has the default full-access policy: any principal, any action."));
    };
    let policy = match iam_policy::parse_resource_policy(&e.id, doc) {
        Ok(p) => p,
        Err(err) => return (Status::Error, format!("{what}: the endpoint policy cannot be judged: {err}.")),
    };
    let partition = &input.org.partition;
    let insider_arn = partition.arn("iam", "", input.account.id.as_str(), "role/inside-caller");
    let callers = outside_callers(&policy, input, partition);
    let mut actions: Vec<String> = PROBED_ACTIONS.iter().map(|a| (*a).to_owned()).collect();
    // Whatever an Allow statement names is tried too (a pattern matches itself): another
    // Bedrock action, or another service behind the endpoint.
    for stmt in policy.statements.iter().filter(|s| s.effect == iam_policy::Effect::Allow) {
        if let iam_policy::ActionSpec::Action(list) = &stmt.action {
            for a in list {
                if a != "*" && !actions.contains(a) {
                    actions.push(a.clone());
                }
            }
        }
    }
    for (account, arn, named) in &callers {
        // An outsider may belong to another organization or to none; either may be the way in.
        let caller = iam_policy::Caller { arn, account };
        let outsiders = [
            Probe { who: format!("{named} of another organization"), caller, org_id: Some("o-outsider00") },
            Probe { who: format!("{named} outside any organization"), caller, org_id: None },
        ];
        for probe in &outsiders {
            for action in &actions {
                for resource in probe_resources(&policy, partition, region, action) {
                    let ctx = context(probe, e, action, &resource);
                    match iam_policy::evaluate_resource_policy(&policy, &probe.caller, &ctx) {
                        iam_policy::Access::Allowed { by } => {
                            return (
                                Status::Fail,
                                format!(
                                    "{what} lets {} call {action} on {resource} ({by} of the endpoint policy).",
                                    probe.who
                                ),
                            );
                        }
                        iam_policy::Access::Depends(keys) => {
                            return (
                                Status::Fail,
                                format!(
                                    "{what} may let {} call {action}: it depends only on {}, which the caller \
                                     sets itself.",
                                    probe.who,
                                    keys.join(", ")
                                ),
                            );
                        }
                        iam_policy::Access::Denied { .. } | iam_policy::Access::NotAllowed => {}
                    }
                }
            }
        }
    }
    let insider = Probe {
        who: "a principal of the organization".to_owned(),
        caller: iam_policy::Caller { arn: &insider_arn, account: input.account.id.as_str() },
        org_id: Some(input.org.organization_id.as_str()),
    };
    let open_inside = PROBED_ACTIONS.iter().all(|action| {
        let ctx = context(&insider, e, action, &generic_resource(partition, region, action));
        iam_policy::evaluate_resource_policy(&policy, &insider.caller, &ctx).is_allowed()
    });
    let inside = if open_inside {
        "any principal of the organization may call every probed Bedrock action through it"
    } else {
        "principals of the organization are narrowed by principal, action, resource or condition"
    };
    (Status::Pass, format!("{what} admits no principal from outside the organization; {inside}."))
}

/// The request keys a call through this endpoint carries. Principal tags are the caller's
/// own to set, so they are unknowable here.
fn context(probe: &Probe<'_>, e: &VpcEndpoint, action: &str, resource: &str) -> iam_policy::RequestContext {
    let mut ctx = iam_policy::RequestContext::new(action, resource)
        .with_value("aws:PrincipalArn", probe.caller.arn)
        .with_value("aws:PrincipalAccount", probe.caller.account)
        .with_value("aws:PrincipalType", "AssumedRole")
        .with_value("aws:PrincipalIsAWSService", "false")
        .with_value("aws:SourceVpce", e.id.as_str())
        .with_value("aws:SourceVpc", e.vpc_id.as_str())
        .with_value("aws:SecureTransport", "true")
        // The caller picks its own session and user names, and its tags.
        .with_unknown("aws:userid")
        .with_unknown("aws:username")
        .with_tag_keys_unknown();
    if let Some(org) = probe.org_id {
        ctx = ctx.with_value("aws:PrincipalOrgID", org);
    }
    ctx
}

/// Outside callers to try, as (account, principal ARN, how to name it): a made-up account, and
/// every account or principal the policy names — in `Principal`, or in a condition on the
/// caller's account or ARN — that is not one of the organization's. Wildcards in a named ARN
/// are the caller's to fill (an outsider names its role to match), so they become literal
/// text, and a wildcard account becomes the made-up one.
fn outside_callers(
    policy: &iam_policy::Policy,
    input: &AccountInput<'_>,
    partition: &Partition,
) -> Vec<(String, String, String)> {
    let ours = |account: &str| input.org.accounts.iter().any(|a| a.id.as_str() == account);
    let generic = partition.arn("iam", "", OUTSIDER_ACCOUNT, "role/outside-caller");
    let mut out = vec![(OUTSIDER_ACCOUNT.to_owned(), generic, "a principal".to_owned())];
    let add = |account: &str, arn: String, out: &mut Vec<(String, String, String)>| {
        if !ours(account) && !out.iter().any(|(_, a, _)| *a == arn) {
            out.push((account.to_owned(), arn.clone(), arn));
        }
    };
    for stmt in &policy.statements {
        if let Some(iam_policy::PrincipalSpec::Principal(ids)) = &stmt.principal {
            for id in ids {
                match id {
                    iam_policy::PrincipalId::Account(a) => {
                        add(a, partition.arn("iam", "", a, "role/outside-caller"), &mut out);
                    }
                    iam_policy::PrincipalId::Arn(arn) => {
                        if let Some(a) = arn.split(':').nth(4) {
                            add(a, arn.clone(), &mut out);
                        }
                    }
                    iam_policy::PrincipalId::Anyone | iam_policy::PrincipalId::Other(_) => {}
                }
            }
        }
        for cond in &stmt.conditions {
            let key = cond.key.to_ascii_lowercase();
            for value in cond.values.iter().filter(|v| !v.contains("${")) {
                if key == "aws:principalaccount" && value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
                    add(value, partition.arn("iam", "", value, "role/outside-caller"), &mut out);
                } else if key == "aws:principalarn" {
                    let parts: Vec<&str> = value.splitn(6, ':').collect();
                    if let [_, _, service, _, account, resource] = parts.as_slice() {
                        let literal = |s: &str| s.replace(['*', '?'], "x");
                        let account = if account.bytes().all(|b| b.is_ascii_digit()) && account.len() == 12 {
                            (*account).to_owned()
                        } else {
                            OUTSIDER_ACCOUNT.to_owned()
                        };
                        let arn = partition.arn(&literal(service), "", &account, &literal(resource));
                        add(&account, arn, &mut out);
                    }
                }
            }
        }
    }
    out
}

fn generic_resource(partition: &Partition, region: &Region, action: &str) -> String {
    if action.starts_with("bedrock:Invoke") && action.contains("Model") {
        partition.arn("bedrock", region.as_str(), "", "foundation-model/probe.any-model-v1")
    } else {
        "*".to_owned()
    }
}

/// Resources to try an action on: a generic one, and every resource an Allow statement
/// names for that action (an outsider who may invoke only one model may still invoke it).
fn probe_resources(policy: &iam_policy::Policy, partition: &Partition, region: &Region, action: &str) -> Vec<String> {
    let mut out = vec![generic_resource(partition, region, action)];
    for stmt in policy.statements.iter().filter(|s| s.effect == iam_policy::Effect::Allow) {
        if let iam_policy::ResourceSpec::Resource(list) = &stmt.resource {
            for r in list {
                if !out.contains(r) {
                    out.push(r.clone());
                }
            }
        }
    }
    out
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Input::VpcEndpoints;
    use Judge::Account;
    use Proof::{Exhaustive, Witness};
    use Regions::{Approved, Swept};
    &[
        Control { id: ids::NET_1, reads: reads(&[VpcEndpoints], Witness, Approved), judge: Account(private_endpoint) },
        Control { id: ids::NET_2, reads: reads(&[VpcEndpoints], Exhaustive, Swept), judge: Account(endpoint_policies) },
        Control {
            id: ids::NET_3,
            // The control planes' users (prompts, guardrails, custom models, jobs) matter only
            // with `require_control_plane_endpoints`; the evaluator itself makes a gap in them
            // `error` then (one verdict per region, so no finding can be retired unseen).
            reads: reads(
                &[
                    VpcEndpoints,
                    Input::Agents,
                    Input::KnowledgeBases,
                    Input::Flows,
                    Input::AgentCoreGateways,
                    Input::AgentCoreCompute,
                    Input::AgentCoreMemories,
                ],
                Exhaustive,
                Approved,
            ),
            judge: Account(private_endpoints_in_use),
        },
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ControlParameters;
    use crate::evaluate::fixtures::*;

    fn endpoint(service: &str, state: &str, dns: bool, policy: Option<&str>) -> VpcEndpoint {
        VpcEndpoint {
            id: "vpce-0123".into(),
            vpc_id: "vpc-1".into(),
            service_name: service.into(),
            endpoint_type: "Interface".into(),
            state: state.into(),
            private_dns_enabled: dns,
            policy_document: policy.map(str::to_owned),
        }
    }

    #[test]
    fn runtime_endpoint_must_be_available_with_private_dns() {
        let svc = "com.amazonaws.eu-west-1.bedrock-runtime";
        let cases = [
            (vec![endpoint(svc, "available", true, None)], Status::Pass, "available"),
            (vec![], Status::Fail, "No interface"),
            (vec![endpoint(svc, "pending", true, None)], Status::Fail, "pending"),
            (vec![endpoint(svc, "available", false, None)], Status::Fail, "private DNS disabled"),
            (vec![endpoint("com.amazonaws.eu-west-1.bedrock", "available", true, None)], Status::Fail, "No interface"),
        ];
        for (endpoints, status, words) in cases {
            let mut snap = account_snapshot();
            snap.per_region[0].vpc_endpoints = Ok(endpoints);
            let out = with_input(&snap, |input| private_endpoint(input, &snap));
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].status, status, "{}", out[0].detail);
            assert!(out[0].detail.contains(words), "{}", out[0].detail);
        }
    }

    /// eu-west-1 with one agent (and so a need for bedrock-agent-runtime), its endpoints as given.
    fn with_agent(endpoints: Vec<VpcEndpoint>) -> AccountSnapshot {
        let mut snap = account_snapshot();
        snap.per_region[0].vpc_endpoints = Ok(endpoints);
        snap.per_region[0].agents = Ok(vec![crate::snapshot::Agent {
            id: "a".into(),
            arn: "arn:aws:bedrock:eu-west-1:111122223333:agent/a".into(),
            name: "helper".into(),
            status: "PREPARED".into(),
            guardrail: None,
            kms_key_arn: None,
            role_arn: String::new(),
            idle_session_ttl_seconds: 600,
            aliases: vec![],
            foundation_model: None,
            versions: vec![],
        }]);
        snap
    }

    #[test]
    fn every_api_the_region_uses_needs_its_own_private_endpoint() {
        let agent_rt = "com.amazonaws.eu-west-1.bedrock-agent-runtime";
        let cases = [
            (
                vec![endpoint(agent_rt, "available", true, None)],
                Status::Pass,
                "bedrock-agent-runtime through vpce-0123 (used by agent helper)",
            ),
            (vec![], Status::Fail, "No interface endpoint for bedrock-agent-runtime, which agent helper use"),
            (
                vec![endpoint("com.amazonaws.eu-west-1.bedrock-runtime", "available", true, None)],
                Status::Fail,
                "No interface",
            ),
            (vec![endpoint(agent_rt, "pending", true, None)], Status::Fail, "is pending"),
            (vec![endpoint(agent_rt, "available", false, None)], Status::Fail, "private DNS disabled"),
        ];
        for (endpoints, status, words) in cases {
            let snap = with_agent(endpoints);
            let out = with_input(&snap, |input| private_endpoints_in_use(input, &snap));
            assert_eq!(statuses(&out), vec![status], "{words}: {out:?}");
            assert!(out[0].detail.contains(words), "{words}: {}", out[0].detail);
        }
        // Nothing in the region is called through another API.
        let snap = account_snapshot();
        let out = with_input(&snap, |input| private_endpoints_in_use(input, &snap));
        assert_eq!(statuses(&out), vec![Status::NotApplicable]);
    }

    #[test]
    fn control_planes_are_required_on_request_and_their_unread_resources_are_errors() {
        let agent_rt = endpoint("com.amazonaws.eu-west-1.bedrock-agent-runtime", "available", true, None);
        let mut snap = with_agent(vec![agent_rt.clone()]);
        let planes = ControlParameters { require_control_plane_endpoints: true, ..ControlParameters::default() };
        let out = with_params(&snap, planes.clone(), |input| private_endpoints_in_use(input, &snap));
        assert_eq!(statuses(&out), vec![Status::Fail]);
        assert!(
            out[0].detail.contains("No interface endpoint for bedrock-agent, which agent helper use"),
            "{}",
            out[0].detail
        );
        assert!(!out[0].detail.contains("for bedrock,"), "no guardrail, model or job needs bedrock: {}", out[0].detail);

        let mut agent_plane = agent_rt.clone();
        agent_plane.service_name = "com.amazonaws.eu-west-1.bedrock-agent".into();
        snap.per_region[0].vpc_endpoints = Ok(vec![agent_rt, agent_plane]);
        let out = with_params(&snap, planes.clone(), |input| private_endpoints_in_use(input, &snap));
        assert_eq!(statuses(&out), vec![Status::Pass], "{out:?}");
        // Without the parameter the guardrail listing is not read; with it, its gap is an error.
        snap.per_region[0].guardrails = Err(gap("bedrock", "ListGuardrails"));
        let out = with_input(&snap, |input| private_endpoints_in_use(input, &snap));
        assert_eq!(statuses(&out), vec![Status::Pass]);
        let out = with_params(&snap, planes, |input| private_endpoints_in_use(input, &snap));
        assert_eq!(statuses(&out), vec![Status::Error]);
        assert!(out[0].detail.contains("ListGuardrails"), "{}", out[0].detail);

        // An agent listing that failed hides whether bedrock-agent-runtime is needed.
        let mut snap = with_agent(vec![]);
        snap.per_region[0].agents = Err(gap("bedrock", "ListAgents"));
        let out = with_input(&snap, |input| private_endpoints_in_use(input, &snap));
        assert_eq!(statuses(&out), vec![Status::Error]);
    }

    #[test]
    fn could_not_look_is_an_error_and_unswept_approved_region_not_applicable() {
        let mut snap = account_snapshot();
        snap.per_region[0].vpc_endpoints = Err(gap("ec2", "DescribeVpcEndpoints"));
        let out = with_input(&snap, |input| private_endpoint(input, &snap));
        assert_eq!(out[0].status, Status::Error);
        assert!(out[0].detail.contains("AccessDenied"));

        let out = with_params(&snap, approved(&["eu-west-1", "ap-south-1"]), |input| private_endpoint(input, &snap));
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].status, Status::NotApplicable);

        snap.regions = Err(gap("ec2", "DescribeRegions"));
        let out = with_input(&snap, |input| private_endpoint(input, &snap));
        assert_eq!(out[0].status, Status::Error);
    }

    #[test]
    fn endpoint_policies_are_judged_by_who_gets_through() {
        let svc = "com.amazonaws.eu-west-1.bedrock-runtime";
        let org = "o-example"; // fixtures::org_snapshot
        let allow_all = r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#;
        let stmt = |s: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{s}]}}"#);
        let cases: Vec<(&str, Option<String>, Status, &str)> = vec![
            ("default policy", None, Status::Fail, "default full-access"),
            ("full access", Some(stmt(allow_all)), Status::Fail, "another organization call bedrock:InvokeModel"),
            (
                "full access, AWS * form",
                Some(stmt(r#"{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["*"],"Resource":"*"}"#)),
                Status::Fail,
                "call bedrock:InvokeModel",
            ),
            (
                "allow all plus an unrelated deny",
                Some(stmt(&format!(
                    r#"{allow_all},{{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}"#
                ))),
                Status::Fail,
                "call bedrock:InvokeModel",
            ),
            (
                "bedrock:* for everyone",
                Some(stmt(
                    r#"{"Sid":"AllBedrock","Effect":"Allow","Principal":"*","Action":"bedrock:*","Resource":"*"}"#,
                )),
                Status::Fail,
                "Sid AllBedrock",
            ),
            (
                "one model for everyone",
                Some(stmt(
                    r#"{"Effect":"Allow","Principal":"*","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-text-v1"}"#,
                )),
                Status::Fail,
                "amazon.titan-text-v1",
            ),
            (
                "principal-scoped to a role of the account",
                Some(stmt(&format!(
                    r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{MEMBER}:role/app"}},"Action":"bedrock:InvokeModel","Resource":"*"}}"#
                ))),
                Status::Pass,
                "narrowed",
            ),
            (
                "scoped to the organization",
                Some(stmt(&format!(
                    r#"{{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"{org}"}}}}}}"#
                ))),
                Status::Pass,
                "any principal of the organization may call every probed Bedrock action",
            ),
            (
                "organization deny with a negated condition",
                Some(stmt(&format!(
                    r#"{allow_all},{{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{{"StringNotEquals":{{"aws:PrincipalOrgID":"{org}"}}}}}}"#
                ))),
                Status::Pass,
                "admits no principal from outside",
            ),
            (
                "NotPrincipal allow lets everyone else in",
                Some(stmt(&format!(
                    r#"{{"Effect":"Allow","NotPrincipal":{{"AWS":"arn:aws:iam::{MEMBER}:root"}},"Action":"*","Resource":"*"}}"#
                ))),
                Status::Fail,
                "call bedrock:InvokeModel",
            ),
            (
                "NotPrincipal deny keeps everyone else out",
                Some(stmt(&format!(
                    r#"{allow_all},{{"Effect":"Deny","NotPrincipal":{{"AWS":"{MEMBER}"}},"Action":"*","Resource":"*"}}"#
                ))),
                Status::Pass,
                "admits no principal from outside",
            ),
            (
                "principal tag the caller sets itself",
                Some(stmt(
                    r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"ml"}}}"#,
                )),
                Status::Fail,
                "aws:PrincipalTag/team",
            ),
            (
                "an account outside the organization, named",
                Some(stmt(
                    r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999900001111:root"},"Action":"bedrock:*","Resource":"*"}"#,
                )),
                Status::Fail,
                "arn:aws:iam::999900001111:role/outside-caller",
            ),
            (
                "a role name any account can take",
                Some(stmt(
                    r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app"}}}"#,
                )),
                Status::Fail,
                "arn:aws:iam::000000000000:role/app",
            ),
            (
                "a role of the account only, by ARN condition",
                Some(stmt(&format!(
                    r#"{{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{{"ArnLike":{{"aws:PrincipalArn":"arn:aws:iam::{MEMBER}:role/*"}}}}}}"#
                ))),
                Status::Pass,
                "admits no principal from outside",
            ),
            (
                "an action we do not list, for everyone",
                Some(stmt(r#"{"Effect":"Allow","Principal":"*","Action":"bedrock:InvokeFlow","Resource":"*"}"#)),
                Status::Fail,
                "bedrock:InvokeFlow",
            ),
            (
                "a session name the caller picks",
                Some(stmt(
                    r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:userid":"*:ml-*"}}}"#,
                )),
                Status::Fail,
                "aws:userid",
            ),
            ("not JSON", Some("{not json".to_owned()), Status::Error, "cannot be judged"),
            (
                "not a policy",
                Some(stmt(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#)),
                Status::Error,
                "missing Principal",
            ),
        ];
        for (name, policy, status, words) in cases {
            let mut snap = account_snapshot();
            snap.per_region[0].vpc_endpoints = Ok(vec![endpoint(svc, "available", true, policy.as_deref())]);
            let out = with_input(&snap, |input| endpoint_policies(input, &snap));
            assert_eq!(out.len(), 1, "{name}");
            assert_eq!(out[0].status, status, "{name}: {}", out[0].detail);
            assert!(out[0].detail.contains(words), "{name}: {}", out[0].detail);
            assert_eq!(out[0].resource_id, "vpce-0123");
        }
        let snap = account_snapshot();
        let out = with_input(&snap, |input| endpoint_policies(input, &snap));
        assert_eq!(out[0].status, Status::NotApplicable);
    }
}
