//! What a gateway's Cedar policies really permit, tool by tool, decided by AWS's own Cedar
//! implementation (`cedar-policy`) the way AgentCore decides before each tool call: default
//! deny, forbid wins.
//!
//! Each tool is probed with two callers, as the SCP engine probes requests:
//! - *any authenticated caller*: a principal carrying only the claims every token has (`sub`,
//!   `iss`, `aud`, `exp`, …, with values nobody named), or an IAM principal of an ARN nobody
//!   named;
//! - *some caller*: a principal Cedar knows nothing about (partial evaluation's unknown
//!   principal): which claims it holds, their values, its id and which principal it is are all
//!   left open.
//!
//! The tool's input (`context.input`) is unknown in both. Cedar's partial evaluation gives
//! allow, deny, or the residual conditions the decision depends on, reported by what the
//! deciding policies read: "depends on claim role, input amount". Tools are the ones the
//! targets declare, every tool the policies name (in their scope or their conditions), "any
//! tool" of each target whose tools only its backend knows, and one tool no policy names, which
//! tells whether a `permit` lets every caller call every tool. Tool actions belong to their
//! target's action group and to `CallTool`, which belongs to `Mcp`, as AgentCore's schema has it.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision, Effect, Entities, Entity, EntityTypeName, EntityUid, Policy,
    PolicyId, PolicySet, Request, RestrictedExpression,
};

use crate::snapshot::{EnginePolicy, Gateway, PolicyDefinition};

/// The tool no policy names (a Cedar entity id, never a real tool: real names carry `___`).
const UNNAMED_TOOL: &str = "(a tool no policy names)";
/// The unknown standing for the tool's input.
const INPUT: &str = "input";
/// The action group every tool belongs to, and its parent.
const CALL_TOOL: &str = "CallTool";
const MCP: &str = "Mcp";
/// The claims every JWT an authorizer accepts carries (RFC 7519 registered claims and the
/// usual identity-provider ones): present for "any authenticated caller", with values no
/// policy can have named.
const EVERY_TOKEN_HAS: &[&str] =
    &["sub", "iss", "aud", "exp", "iat", "nbf", "jti", "client_id", "token_use", "auth_time"];

/// Who may call one tool, for each probe caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolAccess {
    /// The tool's action id (`<target>___<tool>`), or "any tool of <target>".
    pub tool: String,
    /// For any authenticated caller.
    pub anyone: Outcome,
    /// For some caller (claims, id and identity unknown).
    pub someone: Outcome,
    /// The permits certainly satisfied for any authenticated caller, whatever a forbid's
    /// residual leaves open.
    pub anyone_permits: Vec<String>,
}

/// One probe's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed whatever the unknowns are, by these permit policies.
    Allowed(Vec<String>),
    /// Denied whatever the unknowns are: by these forbid policies, or (empty) because no
    /// permit applies.
    Denied(Vec<String>),
    /// Decided by the unknowns: what the deciding policies read, and those policies.
    Depends { on: Vec<String>, policies: Vec<String> },
}

impl Outcome {
    fn words(&self) -> String {
        match self {
            Outcome::Allowed(by) => format!("allowed ({})", by.join(", ")),
            Outcome::Denied(by) if by.is_empty() => "denied (no permit applies)".to_owned(),
            Outcome::Denied(by) => format!("denied ({})", by.join(", ")),
            Outcome::Depends { on, policies } => format!("depends on {} ({})", on.join(", "), policies.join(", ")),
        }
    }
}

/// Who may call a tool, in a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Any authenticated caller, whatever the input.
    Anyone,
    /// Any authenticated caller, for some inputs.
    AnyoneForSomeInput,
    /// Only certain callers (claims, ids, principals), possibly for some inputs.
    Narrowed,
    /// Nobody.
    Nobody,
}

impl ToolAccess {
    /// The tool's reach.
    pub fn reach(&self) -> Reach {
        match (&self.anyone, &self.someone) {
            (Outcome::Allowed(_), _) => Reach::Anyone,
            (Outcome::Depends { .. }, _) => Reach::AnyoneForSomeInput,
            (Outcome::Denied(_), Outcome::Denied(_)) => Reach::Nobody,
            (Outcome::Denied(_), _) => Reach::Narrowed,
        }
    }

    /// One row of the evidence: the tool, who may call it, and the deciding policies.
    pub fn row(&self) -> String {
        let reach = match self.reach() {
            Reach::Anyone => "any authenticated caller",
            Reach::AnyoneForSomeInput => "any authenticated caller, for some inputs",
            Reach::Narrowed => "narrowed",
            Reach::Nobody => "nobody",
        };
        format!("{}: {reach} [any caller: {}; some caller: {}]", self.tool, self.anyone.words(), self.someone.words())
    }
}

/// The analysis of one gateway's policy set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayAccess {
    /// Every probed tool, the unnamed one last.
    pub tools: Vec<ToolAccess>,
    /// Permit policies certainly satisfied for any authenticated caller calling a tool no
    /// policy names: every principal, every tool (a forbid may still take some away).
    pub permit_all: Vec<String>,
    /// Forbid policies, with the probed tools they certainly deny to any authenticated caller.
    pub forbids: Vec<(String, Vec<String>)>,
    /// Policies not in force or only logged, which decide nothing.
    pub not_deciding: Vec<String>,
}

/// Why a gateway's policies cannot be judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unjudgeable(pub String);

/// Judges the policies of `gateway`'s engine.
pub fn analyse(gateway: &Gateway, policies: &[EnginePolicy]) -> Result<GatewayAccess, Unjudgeable> {
    let mut set = PolicySet::new();
    let mut problems = Vec::new();
    let mut not_deciding = Vec::new();
    let mut json: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for p in policies {
        if !p.decides() {
            not_deciding.push(format!("{} ({}, {})", p.id, p.status, p.enforcement_mode));
            continue;
        }
        let text = match &p.definition {
            PolicyDefinition::Cedar(text) => text,
            PolicyDefinition::Other(kind) => {
                problems.push(format!("policy {} is a {kind}, not a Cedar statement the sweep can evaluate", p.id));
                continue;
            }
        };
        let parsed = match Policy::parse(Some(PolicyId::new(&p.id)), text) {
            Ok(policy) => policy,
            Err(e) => {
                problems.push(format!("policy {} does not parse as Cedar: {}", p.id, first_line(&e.to_string())));
                continue;
            }
        };
        match parsed.to_json() {
            Ok(j) => {
                json.insert(p.id.clone(), j);
            }
            Err(e) => problems.push(format!("policy {} cannot be read back: {e}", p.id)),
        }
        if let Err(e) = set.add(parsed) {
            problems.push(format!("policy {} cannot join the set: {e}", p.id));
        }
    }
    let tools = tools_to_probe(gateway, &set, &json);
    let groups = action_groups(gateway, &tools);
    for (id, policy) in &json {
        for named in action_literals(policy).into_iter().filter(|a| !a.contains("___") && !groups.contains(a)) {
            problems.push(format!(
                "policy {id} names the action group {named:?}, which is none of the gateway's targets, {CALL_TOOL} or {MCP}"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Unjudgeable(problems.join("; ")));
    }
    let iam = gateway.authorizer_type == "AWS_IAM";
    let resource = uid("Gateway", &gateway.arn)?;
    let mut out = Vec::with_capacity(tools.len());
    for (tool, parents) in &tools {
        let action = uid("Action", tool)?;
        // The tool and every group it belongs to, for the scope of residual policies.
        let mut actions: Vec<String> = vec![tool.clone(), MCP.to_owned()];
        actions.extend(parents.iter().cloned());
        let mut entities = vec![Entity::new_no_attrs(resource.clone(), Default::default())];
        entities.push(Entity::new_no_attrs(uid("Action", MCP)?, Default::default()));
        entities.push(Entity::new_no_attrs(uid("Action", CALL_TOOL)?, [uid("Action", MCP)?].into()));
        for group in groups.iter().filter(|g| *g != MCP && *g != CALL_TOOL) {
            entities.push(Entity::new_no_attrs(uid("Action", group)?, Default::default()));
        }
        let parent_uids = parents.iter().map(|p| uid("Action", p)).collect::<Result<_, _>>()?;
        entities.push(Entity::new_no_attrs(action.clone(), parent_uids));
        let context = || {
            Context::from_pairs([(INPUT.to_owned(), RestrictedExpression::new_unknown(INPUT))])
                .map_err(|e| Unjudgeable(e.to_string()))
        };
        let fail = |e: &dyn std::fmt::Display| Unjudgeable(format!("probing {tool}: {e}"));

        // Any authenticated caller: a concrete principal with only the claims every token has.
        let (principal, caller) = anyone(iam)?;
        let mut with_caller = entities.clone();
        with_caller.push(caller);
        let known = Entities::from_entities(with_caller, None).map_err(|e| fail(&e))?;
        let request =
            Request::new(principal, action.clone(), resource.clone(), context()?, None).map_err(|e| fail(&e))?;
        let response = Authorizer::new().is_authorized_partial(&request, &set, &known);
        let anyone_permits = satisfied(&response, Effect::Permit);
        let anyone_outcome = outcome(&response, &set, (&actions, &gateway.arn), &json);

        // Some caller: Cedar knows nothing of the principal but its type.
        let kind = EntityTypeName::from_str(if iam { "AgentCore::IamEntity" } else { "AgentCore::OAuthUser" })
            .map_err(|e| fail(&e))?;
        let without_caller = Entities::from_entities(entities, None).map_err(|e| fail(&e))?;
        let request = Request::builder()
            .unknown_principal_with_type(kind)
            .action(action.clone())
            .resource(resource.clone())
            .context(context()?)
            .build();
        let someone = outcome(
            &Authorizer::new().is_authorized_partial(&request, &set, &without_caller),
            &set,
            (&actions, &gateway.arn),
            &json,
        );

        out.push(ToolAccess { tool: display_tool(tool), anyone: anyone_outcome, someone, anyone_permits });
    }
    let permit_all = out.iter().filter(|t| t.tool == UNNAMED_TOOL).flat_map(|t| t.anyone_permits.clone()).collect();
    let mut forbids: Vec<(String, Vec<String>)> = Vec::new();
    for policy in set.policies().filter(|p| p.effect() == Effect::Forbid) {
        let id = policy.id().to_string();
        let takes: Vec<String> = out
            .iter()
            .filter(|t| matches!(&t.anyone, Outcome::Denied(by) if by.contains(&id)))
            .map(|t| t.tool.clone())
            .collect();
        forbids.push((id, takes));
    }
    Ok(GatewayAccess { tools: out, permit_all, forbids, not_deciding })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn uid(kind: &str, id: &str) -> Result<EntityUid, Unjudgeable> {
    let quoted = serde_json::to_string(id).map_err(|e| Unjudgeable(e.to_string()))?;
    EntityUid::from_str(&format!("AgentCore::{kind}::{quoted}"))
        .map_err(|e| Unjudgeable(format!("{kind} {id:?} is no Cedar entity: {e}")))
}

/// Any authenticated caller and its entity: an OAuth user with only the claims every token
/// carries, or an IAM principal of an ARN nobody named.
fn anyone(iam: bool) -> Result<(EntityUid, Entity), Unjudgeable> {
    let fail = |e: &dyn std::fmt::Display| Unjudgeable(e.to_string());
    if iam {
        let arn = "arn:aws:iam::000000000000:role/probe-caller";
        let principal = uid("IamEntity", arn)?;
        let id = [("id".to_owned(), RestrictedExpression::new_string(arn.to_owned()))];
        let entity = Entity::new(principal.clone(), id.into(), Default::default()).map_err(|e| fail(&e))?;
        return Ok((principal, entity));
    }
    let principal = uid("OAuthUser", "probe-caller")?;
    let tags =
        EVERY_TOKEN_HAS.iter().map(|k| ((*k).to_owned(), RestrictedExpression::new_string(format!("probe-{k}"))));
    let id = [("id".to_owned(), RestrictedExpression::new_string("probe-caller".to_owned()))];
    let entity = Entity::new_with_tags(principal.clone(), id, [], tags).map_err(|e| fail(&e))?;
    Ok((principal, entity))
}

/// The tools to probe, each with its parent action groups (its target and `CallTool`): the
/// targets' declared tools, every tool the policies name, "any tool" of each target whose
/// tools are not declared, and the tool no policy names.
fn tools_to_probe(
    gateway: &Gateway,
    set: &PolicySet,
    json: &BTreeMap<String, serde_json::Value>,
) -> Vec<(String, Vec<String>)> {
    let mut tools: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |tool: String| {
        let mut parents: Vec<String> =
            tool.split_once("___").map(|(target, _)| vec![target.to_owned()]).unwrap_or_default();
        parents.push(CALL_TOOL.to_owned());
        tools.entry(tool).or_insert(parents);
    };
    for t in &gateway.targets {
        match &t.tools {
            Some(names) => names.iter().for_each(|n| add(format!("{}___{n}", t.name))),
            None => add(format!("{}___*", t.name)),
        }
    }
    for policy in set.policies() {
        let named = match policy.action_constraint() {
            ActionConstraint::Eq(a) => vec![a],
            ActionConstraint::In(list) => list,
            ActionConstraint::Any => vec![],
        };
        for a in named {
            let id = a.id().unescaped().to_owned();
            if id.contains("___") {
                add(id);
            }
        }
    }
    // Tools a condition names (`when { action == AgentCore::Action::"Crm___delete" }`).
    for policy in json.values() {
        action_literals(policy).into_iter().filter(|a| a.contains("___")).for_each(&mut add);
    }
    let mut out: Vec<(String, Vec<String>)> = tools.into_iter().collect();
    out.push((UNNAMED_TOOL.to_owned(), vec![CALL_TOOL.to_owned()]));
    out
}

/// The action groups a tool can belong to: the gateway's targets (and those the probed tools'
/// names imply), `CallTool` and `Mcp`.
fn action_groups(gateway: &Gateway, tools: &[(String, Vec<String>)]) -> BTreeSet<String> {
    let mut groups: BTreeSet<String> = gateway.targets.iter().map(|t| t.name.clone()).collect();
    groups.extend(tools.iter().flat_map(|(_, parents)| parents.iter().cloned()));
    groups.insert(CALL_TOOL.to_owned());
    groups.insert(MCP.to_owned());
    groups
}

/// "any tool of <target>" for a target's stand-in, the tool's name otherwise.
fn display_tool(tool: &str) -> String {
    match tool.strip_suffix("___*") {
        Some(target) => format!("any tool of {target}"),
        None => tool.to_owned(),
    }
}

/// The ids of the policies of `effect` certainly satisfied, sorted.
fn satisfied(response: &cedar_policy::PartialResponse, effect: Effect) -> Vec<String> {
    let mut ids: Vec<String> =
        response.definitely_satisfied().filter(|p| p.effect() == effect).map(|p| p.id().to_string()).collect();
    ids.sort();
    ids
}

/// A probe's partial response, as an outcome. Partial evaluation keeps a policy whose scope
/// names another tool or gateway as a residual when its principal is unknown (`unknown ==
/// alice && false` is not simplified, for Cedar's error semantics); such a policy can never
/// apply to this request and is set aside before the residuals are read.
fn outcome(
    response: &cedar_policy::PartialResponse,
    set: &PolicySet,
    request: (&[String], &str),
    json: &BTreeMap<String, serde_json::Value>,
) -> Outcome {
    if let Some(decision) = response.decision() {
        return match decision {
            Decision::Allow => Outcome::Allowed(satisfied(response, Effect::Permit)),
            Decision::Deny => Outcome::Denied(satisfied(response, Effect::Forbid)),
        };
    }
    let live: Vec<Policy> = response
        .nontrivial_residuals()
        .filter(|r| set.policy(r.id()).is_none_or(|p| scope_may_match(p, request)))
        .collect();
    let forbids = satisfied(response, Effect::Forbid);
    if !forbids.is_empty() {
        return Outcome::Denied(forbids);
    }
    if live.is_empty() {
        let permits = satisfied(response, Effect::Permit);
        return if permits.is_empty() { Outcome::Denied(Vec::new()) } else { Outcome::Allowed(permits) };
    }
    let mut on = BTreeSet::new();
    let mut policies = BTreeSet::new();
    for residual in &live {
        let id = residual.id().to_string();
        if let Some(policy) = json.get(&id) {
            on.extend(what_it_reads(policy));
        }
        policies.insert(id);
    }
    Outcome::Depends { on: on.into_iter().collect(), policies: policies.into_iter().collect() }
}

/// Whether a policy's scope can match a call of one of `actions` (the tool and its groups)
/// on the gateway `gateway_arn`.
fn scope_may_match(policy: &Policy, (actions, gateway_arn): (&[String], &str)) -> bool {
    let names = |uid: &EntityUid| actions.iter().any(|a| a.as_str() == uid.id().unescaped());
    let action = match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(a) => names(&a),
        ActionConstraint::In(list) => list.iter().any(names),
    };
    let resource = match policy.resource_constraint() {
        cedar_policy::ResourceConstraint::Eq(r) => r.id().unescaped() == gateway_arn,
        _ => true,
    };
    action && resource
}

/// What a policy's decision can turn on, in words: the principal it names, the claims and
/// caller attributes it reads, and the fields of the tool input.
fn what_it_reads(policy: &serde_json::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(scope) = policy.get("principal")
        && let Some(op @ ("==" | "in")) = scope.get("op").and_then(|o| o.as_str())
        && let Some(entity) = scope.get("entity").and_then(entity_id)
    {
        let verb = if op == "==" { "being" } else { "being in" };
        out.insert(format!("{verb} {entity}"));
    }
    out.extend(tag_keys(policy).into_iter().map(|k| format!("claim {k}")));
    out.extend(principal_attrs(policy).into_iter().map(|a| format!("the caller's {a}")));
    out.extend(input_fields(policy).into_iter().map(|f| format!("input {f}")));
    if out.is_empty() {
        out.insert("who the caller is".to_owned());
    }
    out
}

/// `{"type": "AgentCore::OAuthUser", "id": "alice"}` (or its `__entity` form) in words.
fn entity_id(v: &serde_json::Value) -> Option<String> {
    let e = v.get("__entity").unwrap_or(v);
    Some(format!("{}::{:?}", e.get("type")?.as_str()?, e.get("id")?.as_str()?))
}

/// Every `AgentCore::Action` entity a policy names anywhere (scope or conditions), by id.
fn action_literals(policy: &serde_json::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(policy, &mut |obj| {
        let entity = obj.get("__entity").unwrap_or(&serde_json::Value::Null);
        let (kind, id) = match (obj.get("type"), obj.get("id"), entity.get("type"), entity.get("id")) {
            (Some(k), Some(i), _, _) | (_, _, Some(k), Some(i)) => (k, i),
            _ => return,
        };
        if kind.as_str() == Some("AgentCore::Action")
            && let Some(id) = id.as_str()
        {
            out.insert(id.to_owned());
        }
    });
    out
}

/// Every claim (tag key) a policy reads with `hasTag` or `getTag`, from its JSON form.
fn tag_keys(policy: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(policy, &mut |obj| {
        for op in ["hasTag", "getTag"] {
            // `principal.hasTag("role")` is `{"hasTag": {"left": principal, "right": {"Value": "role"}}}`.
            if let Some(key) =
                obj.get(op).and_then(|call| call.get("right")).and_then(|t| t.get("Value")).and_then(|v| v.as_str())
            {
                out.push(key.to_owned());
            }
        }
    });
    out
}

/// Every attribute of the principal a policy reads (`principal.id`).
fn principal_attrs(policy: &serde_json::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(policy, &mut |obj| {
        for op in [".", "has"] {
            if let Some(access) = obj.get(op)
                && access.get("left").and_then(|l| l.get("Var")).and_then(|v| v.as_str()) == Some("principal")
                && let Some(attr) = access.get("attr").and_then(|a| a.as_str())
            {
                out.insert(attr.to_owned());
            }
        }
    });
    out
}

/// Every field of `context.input` a policy reads, from its JSON form.
fn input_fields(policy: &serde_json::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let is_input = |v: &serde_json::Value| {
        v.get(".").is_some_and(|d| {
            d.get("attr").and_then(|a| a.as_str()) == Some(INPUT)
                && d.get("left").and_then(|l| l.get("Var")).and_then(|v| v.as_str()) == Some("context")
        })
    };
    walk(policy, &mut |obj| {
        for op in [".", "has"] {
            if let Some(access) = obj.get(op)
                && access.get("left").is_some_and(is_input)
                && let Some(field) = access.get("attr").and_then(|a| a.as_str())
            {
                out.insert(field.to_owned());
            }
        }
    });
    out
}

fn walk(v: &serde_json::Value, f: &mut impl FnMut(&serde_json::Map<String, serde_json::Value>)) {
    match v {
        serde_json::Value::Object(obj) => {
            f(obj);
            obj.values().for_each(|child| walk(child, f));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|child| walk(child, f)),
        _ => {}
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::snapshot::GatewayTarget;

    const GATEWAY: &str = "arn:aws:bedrock-agentcore:us-west-2:123456789012:gateway/refund-gateway";

    fn gateway(authorizer: &str) -> Gateway {
        Gateway {
            id: "refund-gateway".into(),
            arn: GATEWAY.into(),
            name: "refund".into(),
            authorizer_type: authorizer.into(),
            jwt_discovery_url: None,
            policy_engine: None,
            exception_level: None,
            kms_key_arn: None,
            role_arn: String::new(),
            targets: vec![
                GatewayTarget {
                    id: "t1".into(),
                    name: "RefundTool".into(),
                    kind: "lambda".into(),
                    tools: Some(vec!["process_refund".into(), "lookup_order".into()]),
                },
                GatewayTarget { id: "t2".into(), name: "Crm".into(), kind: "openApiSchema".into(), tools: None },
            ],
        }
    }

    /// A Cedar policy in force (the family's tests share it).
    pub(in crate::evaluate::agentcore) fn policy(id: &str, text: &str) -> EnginePolicy {
        EnginePolicy {
            id: id.into(),
            name: id.into(),
            status: "ACTIVE".into(),
            enforcement_mode: "ACTIVE".into(),
            definition: PolicyDefinition::Cedar(text.into()),
        }
    }

    /// The AgentCore documentation's refund example: a refund under 500 for one user.
    fn refund_under_500() -> EnginePolicy {
        policy(
            "refund_limit",
            &format!(
                r#"permit(principal is AgentCore::OAuthUser, action == AgentCore::Action::"RefundTool___process_refund",
                   resource == AgentCore::Gateway::"{GATEWAY}")
                   when {{ principal.hasTag("username") && principal.getTag("username") == "refund-agent" && context.input.amount < 500 }};"#
            ),
        )
    }

    fn access<'a>(a: &'a GatewayAccess, tool: &str) -> &'a ToolAccess {
        a.tools.iter().find(|t| t.tool == tool).unwrap_or_else(|| panic!("{tool} not probed: {a:#?}"))
    }

    #[test]
    fn the_refund_example_is_narrowed_to_a_claim_and_an_amount_and_nothing_else_is_open() {
        let a = analyse(&gateway("CUSTOM_JWT"), &[refund_under_500()]).unwrap();
        let refund = access(&a, "RefundTool___process_refund");
        assert_eq!(refund.reach(), Reach::Narrowed, "{refund:?}");
        assert_eq!(refund.anyone, Outcome::Denied(vec![]));
        match &refund.someone {
            Outcome::Depends { on, policies } => {
                assert_eq!(on, &["claim username", "input amount"]);
                assert_eq!(policies, &["refund_limit"]);
            }
            other => panic!("{other:?}"),
        }
        // Default deny: the other declared tool, the undeclared CRM tools and a tool nobody
        // named are callable by nobody.
        for tool in ["RefundTool___lookup_order", "any tool of Crm", UNNAMED_TOOL] {
            assert_eq!(access(&a, tool).reach(), Reach::Nobody, "{tool}");
        }
        assert!(a.permit_all.is_empty());
    }

    #[test]
    fn a_permit_all_on_the_gateway_is_found_and_a_forbid_carves_out_one_tool() {
        let all = policy("open", "permit(principal, action, resource is AgentCore::Gateway);");
        let carve = policy(
            "no_refunds",
            &format!(
                r#"forbid(principal, action == AgentCore::Action::"RefundTool___process_refund", resource == AgentCore::Gateway::"{GATEWAY}");"#
            ),
        );
        let a = analyse(&gateway("CUSTOM_JWT"), &[all, carve]).unwrap();
        assert_eq!(a.permit_all, ["open"]);
        assert_eq!(access(&a, "RefundTool___lookup_order").reach(), Reach::Anyone);
        assert_eq!(access(&a, "any tool of Crm").anyone, Outcome::Allowed(vec!["open".into()]));
        let refund = access(&a, "RefundTool___process_refund");
        assert_eq!(refund.reach(), Reach::Nobody);
        assert_eq!(refund.anyone, Outcome::Denied(vec!["no_refunds".into()]));
        assert_eq!(a.forbids, [("no_refunds".to_owned(), vec!["RefundTool___process_refund".to_owned()])]);
    }

    #[test]
    fn a_target_group_and_an_iam_caller_pattern_are_evaluated() {
        let group = policy(
            "crm_for_admins",
            &format!(
                r#"permit(principal is AgentCore::IamEntity, action in AgentCore::Action::"RefundTool", resource == AgentCore::Gateway::"{GATEWAY}")
                   when {{ principal.id like "arn:aws:iam::123456789012:role/Admin*" }};"#
            ),
        );
        let a = analyse(&gateway("AWS_IAM"), &[group]).unwrap();
        let lookup = access(&a, "RefundTool___lookup_order");
        assert_eq!(lookup.reach(), Reach::Narrowed, "{lookup:?}");
        assert!(matches!(&lookup.someone, Outcome::Depends { on, .. } if on == &["the caller's id"]), "{lookup:?}");
        assert_eq!(access(&a, "any tool of Crm").reach(), Reach::Nobody);
    }

    #[test]
    fn a_principal_singled_out_by_name_is_probed_as_itself() {
        let alice = policy(
            "alice_refunds",
            &format!(
                r#"permit(principal == AgentCore::OAuthUser::"alice", action == AgentCore::Action::"RefundTool___process_refund", resource == AgentCore::Gateway::"{GATEWAY}");"#
            ),
        );
        let by_subject = policy(
            "bob_lookups",
            &format!(
                r#"permit(principal is AgentCore::OAuthUser, action == AgentCore::Action::"RefundTool___lookup_order", resource == AgentCore::Gateway::"{GATEWAY}")
                   when {{ principal.id == "bob" }};"#
            ),
        );
        let a = analyse(&gateway("CUSTOM_JWT"), &[alice, by_subject]).unwrap();
        let refund = access(&a, "RefundTool___process_refund");
        assert_eq!(refund.reach(), Reach::Narrowed, "{refund:?}");
        assert!(
            refund.row().contains(r#"depends on being AgentCore::OAuthUser::"alice" (alice_refunds)"#),
            "{}",
            refund.row()
        );
        let lookup = access(&a, "RefundTool___lookup_order");
        assert_eq!(lookup.reach(), Reach::Narrowed, "{lookup:?}");
        assert!(lookup.row().contains("depends on the caller's id (bob_lookups)"), "{}", lookup.row());
    }

    /// What a false "nobody" would hide: every way a policy can let a caller in that a fixed
    /// probe principal would miss.
    #[test]
    fn groups_conditions_and_claims_every_token_has_are_not_mistaken_for_nobody() {
        let refund = |text: &str| policy("p", &text.replace("GW", GATEWAY));
        // Every tool through the CallTool group: a permit-all.
        let a = analyse(
            &gateway("CUSTOM_JWT"),
            &[refund(
                r#"permit(principal, action in AgentCore::Action::"CallTool", resource == AgentCore::Gateway::"GW");"#,
            )],
        )
        .unwrap();
        assert_eq!(a.permit_all, ["p"]);
        // Gated only on a claim every token carries: a permit-all.
        let a = analyse(
            &gateway("CUSTOM_JWT"),
            &[refund(r#"permit(principal, action, resource is AgentCore::Gateway) when { principal.hasTag("sub") };"#)],
        )
        .unwrap();
        assert_eq!(a.permit_all, ["p"]);
        // A permit-all that a forbid narrows on the input is still a permit-all.
        let guard = policy(
            "guard",
            "forbid(principal, action, resource is AgentCore::Gateway) when { context.input has amount && context.input.amount > 1000 };",
        );
        let a = analyse(
            &gateway("CUSTOM_JWT"),
            &[refund("permit(principal, action, resource is AgentCore::Gateway);"), guard],
        )
        .unwrap();
        assert_eq!(a.permit_all, ["p"]);
        assert_eq!(access(&a, UNNAMED_TOOL).reach(), Reach::AnyoneForSomeInput);
        // Everyone is forbidden unless they are the break-glass user: that user gets in.
        let all = policy("all", "permit(principal, action, resource is AgentCore::Gateway);");
        let unless = policy(
            "breakglass",
            r#"forbid(principal, action, resource is AgentCore::Gateway) unless { principal == AgentCore::OAuthUser::"breakglass" };"#,
        );
        let a = analyse(&gateway("CUSTOM_JWT"), &[all, unless]).unwrap();
        let refund_tool = access(&a, "RefundTool___process_refund");
        assert_eq!(refund_tool.reach(), Reach::Narrowed, "{refund_tool:?}");
        // A claim whose mere presence a forbid tests: callers without it get in.
        let role = refund(
            r#"permit(principal, action == AgentCore::Action::"RefundTool___process_refund", resource == AgentCore::Gateway::"GW") when { principal.hasTag("role") && principal.getTag("role") == "refunds" };"#,
        );
        let contractor = policy(
            "contractor",
            r#"forbid(principal, action, resource is AgentCore::Gateway) when { principal.hasTag("contractor") };"#,
        );
        let a = analyse(&gateway("CUSTOM_JWT"), &[role, contractor]).unwrap();
        let refund_tool = access(&a, "RefundTool___process_refund");
        assert_eq!(refund_tool.reach(), Reach::Narrowed, "{refund_tool:?}");
        assert!(
            refund_tool.row().contains("claim contractor") && refund_tool.row().contains("claim role"),
            "{}",
            refund_tool.row()
        );
        // A tool of an undeclared target named only in a condition is probed by name.
        let delete = policy(
            "crm",
            r#"permit(principal, action, resource is AgentCore::Gateway) when { action == AgentCore::Action::"Crm___deleteCustomer" };"#,
        );
        let a = analyse(&gateway("CUSTOM_JWT"), &[delete]).unwrap();
        assert_eq!(access(&a, "Crm___deleteCustomer").reach(), Reach::Anyone);
        assert!(a.permit_all.is_empty());
        // An action group the sweep cannot resolve makes the gateway unjudgeable.
        let err = analyse(
            &gateway("CUSTOM_JWT"),
            &[policy(
                "odd",
                r#"permit(principal, action in AgentCore::Action::"Billing", resource is AgentCore::Gateway);"#,
            )],
        )
        .unwrap_err();
        assert!(err.0.contains("policy odd names the action group \"Billing\""), "{err:?}");
    }

    #[test]
    fn input_alone_keeps_a_tool_open_to_anyone_for_some_inputs() {
        let small = policy(
            "small_refunds",
            &format!(
                r#"permit(principal, action == AgentCore::Action::"RefundTool___process_refund", resource == AgentCore::Gateway::"{GATEWAY}")
                   when {{ context.input.amount < 50 }};"#
            ),
        );
        let a = analyse(&gateway("CUSTOM_JWT"), &[small]).unwrap();
        let refund = access(&a, "RefundTool___process_refund");
        assert_eq!(refund.reach(), Reach::AnyoneForSomeInput, "{refund:?}");
        assert!(refund.row().contains("depends on input amount (small_refunds)"), "{}", refund.row());
    }

    #[test]
    fn unparseable_or_foreign_policies_make_the_gateway_unjudgeable_and_log_only_ones_decide_nothing() {
        let err =
            analyse(&gateway("CUSTOM_JWT"), &[policy("broken", "permit(principal, action resource);")]).unwrap_err();
        assert!(err.0.contains("policy broken does not parse as Cedar"), "{err:?}");
        let mut other = refund_under_500();
        other.definition = PolicyDefinition::Other("policy statement".into());
        let err = analyse(&gateway("CUSTOM_JWT"), &[other]).unwrap_err();
        assert!(err.0.contains("is a policy statement"), "{err:?}");

        let mut logged = policy("open", "permit(principal, action, resource is AgentCore::Gateway);");
        logged.enforcement_mode = "LOG_ONLY".into();
        let a = analyse(&gateway("CUSTOM_JWT"), &[logged]).unwrap();
        assert!(a.permit_all.is_empty());
        assert_eq!(a.not_deciding, ["open (ACTIVE, LOG_ONLY)"]);
        assert!(a.tools.iter().all(|t| t.reach() == Reach::Nobody));
    }

    /// Any text is either judged (every tool probed, the unnamed one included) or refused
    /// with a reason naming the policy: never a panic, never a silent nothing.
    fn judged_or_explained(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        match analyse(&gateway("CUSTOM_JWT"), &[policy("p", text)]) {
            Ok(a) => {
                for t in &a.tools {
                    proptest::prop_assert!(t.row().starts_with(&t.tool), "{t:?}");
                }
                // A permit-all is a permit the caller with no claims satisfies on the unnamed tool.
                let unnamed = a.tools.iter().find(|t| t.tool == UNNAMED_TOOL);
                proptest::prop_assert_eq!(
                    a.permit_all.clone(),
                    unnamed.map(|t| t.anyone_permits.clone()).unwrap_or_default()
                );
            }
            Err(why) => proptest::prop_assert!(why.0.contains("policy p"), "{why:?}"),
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_policy_text_never_panics(text in "\\PC{0,200}") {
            judged_or_explained(&text)?;
        }

        #[test]
        fn arbitrary_cedar_shaped_text_never_panics(
            effect in "(permit|forbid)",
            cond in "(principal\\.hasTag\\(\"[a-z]{1,4}\"\\)|context\\.input\\.[a-z]{1,4} [<>=]{1,2} [0-9]{1,3}|true|principal\\.getTag\\(\"r\"\\) == \"x\")",
        ) {
            let text = format!("{effect}(principal, action, resource is AgentCore::Gateway) when {{ {cond} }};");
            judged_or_explained(&text)?;
        }
    }
}
