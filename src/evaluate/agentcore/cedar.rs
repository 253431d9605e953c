//! What a gateway's Cedar policies really permit, tool by tool, decided by AWS's own Cedar
//! implementation (`cedar-policy`) the way AgentCore decides before each tool call: default
//! deny, forbid wins.
//!
//! Each tool is probed with two callers, as the SCP engine probes requests:
//! - *any authenticated caller*: a principal with no claims (tags) — an OAuth user the
//!   gateway's authorizer accepted, or an IAM principal of an ARN nobody named;
//! - *a caller with the claims the policies test*: every claim the policies read is present
//!   with an unknown value (an IAM caller's ARN unknown).
//!
//! The tool's input (`context.input`) is unknown in both. Cedar's partial evaluation gives
//! allow, deny, or the residual conditions the decision depends on, which are reported as
//! "depends on claim role, input amount". Tools are the ones the targets declare, the ones the
//! policies name, and for every target whose tools only its backend knows, "any tool" of it;
//! one tool no policy names tells whether a `permit` lets every caller call every tool.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision, Effect, Entities, Entity, EntityUid, Policy, PolicyId, PolicySet,
    Request, RestrictedExpression,
};

use crate::snapshot::{EnginePolicy, Gateway, PolicyDefinition};

/// The tool no policy names (a Cedar entity id, never a real tool: real names carry `___`).
const UNNAMED_TOOL: &str = "(a tool no policy names)";
/// The unknown standing for the tool's input.
const INPUT: &str = "input";
/// The prefix of the unknowns standing for claims.
const CLAIM: &str = "claim ";
/// The unknown standing for an IAM caller's ARN.
const CALLER_ARN: &str = "caller ARN";

/// Who may call one tool, for each probe caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolAccess {
    /// The tool's action id (`<target>___<tool>`), or "any tool of <target>".
    pub tool: String,
    /// For a caller with no claims.
    pub anyone: Outcome,
    /// For a caller with the claims the policies test.
    pub with_claims: Outcome,
}

/// One probe's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed whatever the unknowns are, by these permit policies.
    Allowed(Vec<String>),
    /// Denied whatever the unknowns are: by these forbid policies, or (empty) because no
    /// permit applies.
    Denied(Vec<String>),
    /// Decided by the unknowns: the claims and input fields named, and the policies that may
    /// decide.
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
    /// Only callers with certain claims (or ARNs), possibly for some inputs.
    Narrowed,
    /// Nobody.
    Nobody,
}

impl ToolAccess {
    /// The tool's reach.
    pub fn reach(&self) -> Reach {
        match (&self.anyone, &self.with_claims) {
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
        format!(
            "{}: {reach} [no claims: {}; with claims: {}]",
            self.tool,
            self.anyone.words(),
            self.with_claims.words()
        )
    }
}

/// The analysis of one gateway's policy set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayAccess {
    /// Every probed tool, the unnamed one last.
    pub tools: Vec<ToolAccess>,
    /// Permit policies that let a caller with no claims call a tool no policy names: every
    /// principal, every tool.
    pub permit_all: Vec<String>,
    /// Forbid policies, with the probed tools they deny to a caller with the claims.
    pub forbids: Vec<(String, Vec<String>)>,
    /// Policies only logged, or not in force, which decide nothing.
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
        match Policy::parse(Some(PolicyId::new(&p.id)), text) {
            Ok(policy) => {
                if let Ok(j) = policy.to_json() {
                    json.insert(p.id.clone(), j);
                }
                if let Err(e) = set.add(policy) {
                    problems.push(format!("policy {} cannot join the set: {e}", p.id));
                }
            }
            Err(e) => problems.push(format!("policy {} does not parse as Cedar: {}", p.id, first_line(&e.to_string()))),
        }
    }
    if !problems.is_empty() {
        return Err(Unjudgeable(problems.join("; ")));
    }
    let claims: BTreeSet<String> = json.values().flat_map(tag_keys).collect();
    let tools = tools_to_probe(gateway, &set);
    let iam = gateway.authorizer_type == "AWS_IAM";
    let resource = uid("Gateway", &gateway.arn)?;
    let mut out = Vec::with_capacity(tools.len());
    for (tool, parents) in &tools {
        let action = uid("Action", tool)?;
        let decide = |with_claims: bool| -> Result<Outcome, Unjudgeable> {
            let (principal, entity) = caller(iam, with_claims, &claims)?;
            let mut entities = vec![entity, Entity::new_no_attrs(resource.clone(), Default::default())];
            let parent_uids = parents.iter().map(|p| uid("Action", p)).collect::<Result<Vec<_>, _>>()?;
            for p in &parent_uids {
                entities.push(Entity::new_no_attrs(p.clone(), Default::default()));
            }
            entities.push(Entity::new_no_attrs(action.clone(), parent_uids.into_iter().collect()));
            let entities = Entities::from_entities(entities, None).map_err(|e| Unjudgeable(e.to_string()))?;
            let context = Context::from_pairs([(INPUT.to_owned(), RestrictedExpression::new_unknown(INPUT))])
                .map_err(|e| Unjudgeable(e.to_string()))?;
            let request = Request::new(principal, action.clone(), resource.clone(), context, None)
                .map_err(|e| Unjudgeable(e.to_string()))?;
            Ok(outcome(&Authorizer::new().is_authorized_partial(&request, &set, &entities), &json))
        };
        out.push(ToolAccess { tool: display_tool(tool), anyone: decide(false)?, with_claims: decide(true)? });
    }
    let permit_all = out
        .iter()
        .filter(|t| t.tool == UNNAMED_TOOL)
        .filter_map(|t| match &t.anyone {
            Outcome::Allowed(by) => Some(by.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let mut forbids: Vec<(String, Vec<String>)> = Vec::new();
    for policy in set.policies().filter(|p| p.effect() == Effect::Forbid) {
        let id = policy.id().to_string();
        let takes: Vec<String> = out
            .iter()
            .filter(|t| matches!(&t.with_claims, Outcome::Denied(by) if by.contains(&id)))
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
    EntityUid::from_str(&format!("AgentCore::{kind}::{quoted}")).map_err(|e| Unjudgeable(e.to_string()))
}

/// The probe caller and its entity.
fn caller(iam: bool, with_claims: bool, claims: &BTreeSet<String>) -> Result<(EntityUid, Entity), Unjudgeable> {
    let fail = |e: &dyn std::fmt::Display| Unjudgeable(e.to_string());
    if iam {
        let arn = "arn:aws:iam::000000000000:role/probe-caller";
        let principal = uid("IamEntity", arn)?;
        let id = if with_claims {
            RestrictedExpression::new_unknown(CALLER_ARN)
        } else {
            RestrictedExpression::new_string(arn.to_owned())
        };
        let entity =
            Entity::new(principal.clone(), [("id".to_owned(), id)].into(), Default::default()).map_err(|e| fail(&e))?;
        return Ok((principal, entity));
    }
    let principal = uid("OAuthUser", "probe-caller")?;
    let tags: Vec<(String, RestrictedExpression)> = if with_claims {
        claims.iter().map(|k| (k.clone(), RestrictedExpression::new_unknown(format!("{CLAIM}{k}")))).collect()
    } else {
        Vec::new()
    };
    let attrs = [("id".to_owned(), RestrictedExpression::new_string("probe-caller".to_owned()))];
    let entity = Entity::new_with_tags(principal.clone(), attrs, [], tags).map_err(|e| fail(&e))?;
    Ok((principal, entity))
}

/// The tools to probe, each with its parent action groups (its target): the targets' declared
/// tools, the tools the policies name, "any tool" of each target whose tools are not declared,
/// and the tool no policy names.
fn tools_to_probe(gateway: &Gateway, set: &PolicySet) -> Vec<(String, Vec<String>)> {
    let mut tools: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |tool: String| {
        let parents = tool.split_once("___").map(|(target, _)| vec![target.to_owned()]).unwrap_or_default();
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
            // A tool (`<target>___<tool>`); a bare target name is a group, probed through its tools.
            if id.contains("___") {
                add(id);
            }
        }
    }
    let mut out: Vec<(String, Vec<String>)> = tools.into_iter().collect();
    out.push((UNNAMED_TOOL.to_owned(), Vec::new()));
    out
}

/// "any tool of <target>" for a target's stand-in, the tool's name otherwise.
fn display_tool(tool: &str) -> String {
    match tool.strip_suffix("___*") {
        Some(target) => format!("any tool of {target}"),
        None => tool.to_owned(),
    }
}

/// A probe's partial response, as an outcome.
fn outcome(response: &cedar_policy::PartialResponse, json: &BTreeMap<String, serde_json::Value>) -> Outcome {
    let ids = |policies: Vec<Policy>, effect: Effect| -> Vec<String> {
        let mut ids: Vec<String> =
            policies.into_iter().filter(|p| p.effect() == effect).map(|p| p.id().to_string()).collect();
        ids.sort();
        ids
    };
    match response.decision() {
        Some(Decision::Allow) => Outcome::Allowed(ids(response.definitely_satisfied().collect(), Effect::Permit)),
        Some(Decision::Deny) => Outcome::Denied(ids(response.definitely_satisfied().collect(), Effect::Forbid)),
        None => {
            let deciding: Vec<Policy> = response.may_be_determining().collect();
            let mut on = BTreeSet::new();
            for residual in response.nontrivial_residuals() {
                let text = residual.to_string();
                for claim in unknown_names(&text).into_iter().filter_map(|n| n.strip_prefix(CLAIM).map(str::to_owned)) {
                    on.insert(format!("claim {claim}"));
                }
                if text.contains(&format!("unknown(\"{CALLER_ARN}\")")) {
                    on.insert("the caller's ARN".to_owned());
                }
                if text.contains(&format!("unknown(\"{INPUT}\")")) {
                    let fields: BTreeSet<String> =
                        json.get(&residual.id().to_string()).map(input_fields).unwrap_or_default();
                    if fields.is_empty() {
                        on.insert("the tool input".to_owned());
                    }
                    on.extend(fields.into_iter().map(|f| format!("input {f}")));
                }
            }
            let mut policies: Vec<String> = deciding.iter().map(|p| p.id().to_string()).collect();
            policies.sort();
            policies.dedup();
            Outcome::Depends { on: on.into_iter().collect(), policies }
        }
    }
}

/// The names of `unknown("…")` in a residual's text.
fn unknown_names(text: &str) -> Vec<String> {
    text.split("unknown(\"")
        .skip(1)
        .filter_map(|rest| rest.split_once("\")").map(|(name, _)| name.to_owned()))
        .collect()
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
mod tests {
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

    fn policy(id: &str, text: &str) -> EnginePolicy {
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
        match &refund.with_claims {
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
        assert!(
            matches!(&lookup.with_claims, Outcome::Depends { on, .. } if on == &["the caller's ARN"]),
            "{lookup:?}"
        );
        assert_eq!(access(&a, "any tool of Crm").reach(), Reach::Nobody);
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
            Ok(a) => proptest::prop_assert!(a.tools.iter().any(|t| t.tool == UNNAMED_TOOL), "{a:?}"),
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
