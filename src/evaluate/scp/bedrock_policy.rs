//! Organizations Bedrock policies: organization-enforced guardrails (BR.ORG.8, BR.ORG.9),
//! and their share in BR.ORG.3 (a guardrail on every invocation).
//!
//! An account's effective Bedrock policy is computed from the policies on its path with the
//! management-policy inheritance rules (`management_policy`) and checked against what
//! Organizations itself answers (`DescribeEffectivePolicy`, read for one account of each
//! distinct policy path). When the two differ, Organizations' answer is used and the detail
//! says so; when the computation depends on the attach order (which no API tells) and no
//! answer could be read, the verdict is `error`, never a guess.

use std::collections::{BTreeMap, HashMap};

use iam_policy::{Caller, RequestContext, evaluate_resource_policy, parse_resource_policy, wildcard_match};
use serde_json::{Map, Value};

use crate::domain::{GuardrailRef, Region, ResourceKind, Status, named_guardrails};
use crate::evaluate::ids;
use crate::evaluate::management_policy::{Attached, effective};
use crate::evaluate::{AccountInput, Evaluation};
use crate::snapshot::{EnforcedGuardrail, OrgAccount, OrgSnapshot, TargetIndex};

/// An account's effective Bedrock policy, as far as it could be known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AccountPolicy {
    /// The BEDROCK_POLICY type is not enabled on the account's root.
    TypeDisabled(String),
    /// No Bedrock policy is attached anywhere on the account's path.
    NoneAttached,
    /// The effective policy, and where it comes from (a clause for the detail).
    Effective { policy: Value, source: String },
}

/// The Bedrock policies parsed, their targets, and which account Organizations was asked
/// about for each Bedrock-policy path (the keys of `OrgSnapshot::bedrock_effective`): built
/// once per sweep.
#[derive(Debug, Clone, Default)]
pub(crate) struct SampleIndex {
    targets: TargetIndex,
    /// Parallel to `OrgSnapshot::bedrock_policies`: the document, or why it is not JSON.
    parsed: Vec<Result<Value, String>>,
    samples: HashMap<Vec<Vec<usize>>, String>,
}

impl SampleIndex {
    pub(crate) fn of(org: &OrgSnapshot) -> Self {
        let targets = TargetIndex::of(&org.bedrock_policies);
        let by_id: HashMap<&str, &OrgAccount> = org.accounts.iter().map(|a| (a.id.as_str(), a)).collect();
        let mut samples = HashMap::new();
        for id in org.bedrock_effective.keys() {
            if let Some(account) = by_id.get(id.as_str()) {
                samples.entry(org.policy_path(&targets, account)).or_insert_with(|| id.clone());
            }
        }
        let parsed = org
            .bedrock_policies
            .iter()
            .map(|p| serde_json::from_str::<Value>(&p.content).map_err(|e| e.to_string()))
            .collect();
        Self { targets, parsed, samples }
    }

    /// The Bedrock policies on the account's path, per level.
    fn path(&self, org: &OrgSnapshot, account: &OrgAccount) -> Vec<Vec<usize>> {
        org.policy_path(&self.targets, account)
    }
}

/// The account's effective Bedrock policy, or the verdict every Bedrock-policy control
/// gives when it cannot be known.
pub(crate) fn account_policy(
    org: &OrgSnapshot,
    samples: &SampleIndex,
    account: &OrgAccount,
) -> Result<AccountPolicy, (Status, String)> {
    let nodes = org.path_of(account);
    let Some(root) = nodes.first().and_then(|n| org.roots.iter().find(|r| r.id == n.id)) else {
        return Err((
            Status::Error,
            format!(
                "Could not trace the account's path to the organization root (parent {} is unknown).",
                account.parent_id
            ),
        ));
    };
    if !root.bedrock_policy_enabled {
        return Ok(AccountPolicy::TypeDisabled(root.id.clone()));
    }
    let path = samples.path(org, account);
    if path.is_empty() {
        return Ok(AccountPolicy::NoneAttached);
    }
    for &i in path.iter().flatten() {
        let p = &org.bedrock_policies[i];
        if let Err(e) = &samples.parsed[i] {
            return Err((
                Status::Error,
                format!(
                    "Bedrock policy {} ({}) on the account's path is not JSON ({e}), so its effective policy cannot be computed.",
                    p.id, p.name
                ),
            ));
        }
    }
    let levels: Vec<Vec<Attached<'_>>> = path
        .iter()
        .map(|level| {
            level
                .iter()
                .filter_map(|&i| {
                    let content = samples.parsed[i].as_ref().ok()?;
                    Some(Attached { policy_id: &org.bedrock_policies[i].id, content })
                })
                .collect()
        })
        .collect();
    let computed = effective(&levels);
    let ambiguous = computed.is_ambiguous();
    let conflicts = || computed.unresolved.join(", ");
    let sample = samples.samples.get(&path).and_then(|id| org.bedrock_effective.get_key_value(id));
    match sample {
        Some((sampled, Ok(answer))) => {
            let answered = match answer {
                Some(text) => match serde_json::from_str::<Value>(text) {
                    Ok(v) => v,
                    Err(_) if ambiguous => {
                        return Err((
                            Status::Error,
                            format!(
                                "Policies on one node of the path assign different values to {}, which one holds depends on the attach order, and Organizations' effective policy for account {sampled} is not JSON.",
                                conflicts()
                            ),
                        ));
                    }
                    Err(_) => {
                        return Ok(AccountPolicy::Effective {
                            policy: computed.policy,
                            source: format!(
                                "computed from the Bedrock policies on the path (Organizations' answer for account {sampled} is not JSON)"
                            ),
                        });
                    }
                },
                None => Value::Object(Map::new()),
            };
            let source = if !ambiguous && answered == computed.policy {
                format!(
                    "computed from the Bedrock policies on the path and confirmed by DescribeEffectivePolicy for account {sampled}"
                )
            } else if ambiguous {
                format!(
                    "as DescribeEffectivePolicy answers for account {sampled}: policies on one node assign different values to {}",
                    conflicts()
                )
            } else {
                format!(
                    "as DescribeEffectivePolicy answers for account {sampled}, which differs from the policy computed from the path"
                )
            };
            Ok(AccountPolicy::Effective { policy: answered, source })
        }
        Some((sampled, Err(gap))) if ambiguous => Err((
            Status::Error,
            format!(
                "Policies on one node of the path assign different values to {}; which one holds depends on the attach order, and DescribeEffectivePolicy for account {sampled} failed: {}.",
                conflicts(),
                gap.summary()
            ),
        )),
        None if ambiguous => Err((
            Status::Error,
            format!(
                "Policies on one node of the path assign different values to {}; which one holds depends on the attach order, and Organizations' effective policy was not read for this path.",
                conflicts()
            ),
        )),
        Some((sampled, Err(gap))) => Ok(AccountPolicy::Effective {
            policy: computed.policy,
            source: format!(
                "computed from the Bedrock policies on the path (not confirmed: DescribeEffectivePolicy for account {sampled} failed: {})",
                gap.summary()
            ),
        }),
        None => Ok(AccountPolicy::Effective {
            policy: computed.policy,
            source: "computed from the Bedrock policies on the path (Organizations' answer was not read for this path)"
                .into(),
        }),
    }
}

/// One guardrail configuration of an effective policy for a region.
#[derive(Debug, Clone)]
struct EnforcedConfig {
    name: String,
    identifier: Option<String>,
    /// `None`: every model (no `model_enforcement`, or `ALL` / empty included list).
    included: Option<Vec<String>>,
    excluded: Vec<String>,
}

fn configs(policy: &Value, region: &str) -> Vec<EnforcedConfig> {
    let Some(configs) =
        policy.pointer("/bedrock/guardrail_inference").and_then(|g| g.get(region)).and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let list = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    configs
        .iter()
        .map(|(name, c)| {
            let enforcement = c.get("model_enforcement");
            let included = list(enforcement.and_then(|m| m.get("included_models")));
            EnforcedConfig {
                name: name.clone(),
                identifier: c.get("identifier").and_then(Value::as_str).map(str::to_owned),
                included: (!included.is_empty() && !included.iter().any(|m| m == "ALL")).then_some(included),
                excluded: list(enforcement.and_then(|m| m.get("excluded_models"))),
            }
        })
        .collect()
}

/// A guardrail that can be enforced: its name for people, and what BR.ORG.9 checks further.
struct Usable<'a> {
    name: String,
    facts: &'a EnforcedGuardrail,
    /// Its resource-based policy document.
    resource_policy: &'a str,
}

/// Whether the guardrail `identifier` can be enforced in `region`: `Ok`, the reason it
/// cannot (`Err(Fail, ..)`), or why that could not be told (`Err(Error, ..)`).
fn usable<'a>(org: &'a OrgSnapshot, identifier: &str, region: &str) -> Result<Usable<'a>, (Status, String)> {
    let fail = |why: String| Err((Status::Fail, why));
    let g = match GuardrailRef::parse(identifier) {
        Ok(g) => g,
        Err(why) => return fail(format!("identifier `{identifier}` {why}")),
    };
    if g.region.as_str() != region {
        return fail(format!(
            "guardrail {} is in {}, but is enforced in {region}, where it does not exist",
            g.arn, g.region
        ));
    }
    if g.account != org.management_account_id {
        return fail(format!(
            "guardrail {} belongs to account {}, not the management account {}",
            g.arn, g.account, org.management_account_id
        ));
    }
    let facts = match org.enforced_guardrails.get(identifier) {
        None => return Err((Status::Error, format!("guardrail {} was not read in the management account", g.arn))),
        Some(Err(gap)) => {
            return Err((Status::Error, format!("guardrail {} could not be read: {}", g.arn, gap.summary())));
        }
        Some(Ok(None)) => return fail(format!("guardrail {} version {} does not exist", g.arn, g.version)),
        Some(Ok(Some(facts))) => facts,
    };
    if facts.status != "READY" {
        return fail(format!("guardrail {} version {} is {}, not READY", g.arn, g.version, facts.status));
    }
    if facts.automated_reasoning {
        return fail(format!(
            "guardrail {} version {} has an automated-reasoning policy, which organization-level enforcement does not support",
            g.arn, g.version
        ));
    }
    match &facts.resource_policy {
        Err(gap) => Err((
            Status::Error,
            format!("the resource-based policy of guardrail {} could not be read: {}", g.arn, gap.summary()),
        )),
        Ok(None) => fail(format!(
            "guardrail {} has no resource-based policy, so member accounts may not apply it and their calls are denied",
            g.arn
        )),
        Ok(Some(doc)) => {
            Ok(Usable { name: format!("guardrail {} version {}", g.arn, g.version), facts, resource_policy: doc })
        }
    }
}

/// Whether the guardrail's resource-based policy (`policy`, of the guardrail `arn`) lets
/// `account` call ApplyGuardrail on it, as a role of that account would.
fn lets_apply(org: &OrgSnapshot, policy: &iam_policy::Policy, arn: &str, account: &OrgAccount) -> bool {
    let principal = format!("arn:{}:iam::{}:role/any-caller", org.partition.as_str(), account.id);
    let nodes = org.path_of(account);
    let org_path = format!(
        "{}/{}/",
        org.organization_id,
        nodes[..nodes.len().saturating_sub(1)].iter().map(|n| n.id.as_str()).collect::<Vec<_>>().join("/")
    );
    let ctx = RequestContext::new("bedrock:ApplyGuardrail", arn)
        .with_value("aws:PrincipalArn", principal.clone())
        .with_value("aws:PrincipalAccount", account.id.as_str())
        .with_value("aws:PrincipalOrgID", org.organization_id.clone())
        .with_value("aws:PrincipalOrgPaths", org_path)
        .with_value("aws:PrincipalType", "AssumedRole")
        .with_value("aws:PrincipalIsAWSService", "false")
        .with_value("aws:SecureTransport", "true");
    evaluate_resource_policy(policy, &Caller { arn: &principal, account: account.id.as_str() }, &ctx).is_allowed()
}

/// Whether `config` covers `model` (an approved-model entry: an id, an ARN or a pattern).
fn covers(config: &EnforcedConfig, model: &str) -> bool {
    let id = model.rsplit_once("foundation-model/").map_or(model, |(_, id)| id);
    let included = config.included.as_ref().is_none_or(|list| list.iter().any(|m| m == id));
    let excluded = config.excluded.iter().any(|m| m == id || wildcard_match(id, m));
    included && !excluded
}

/// The regions BR.ORG.8 judges: the approved list, else every region the account was swept in.
fn judged_regions(input: &AccountInput<'_>) -> Result<Vec<Region>, String> {
    if !input.params.approved_regions.is_empty() {
        return Ok(input.params.approved_regions.clone());
    }
    match input.snapshot {
        Ok(snap) => match &snap.regions {
            Ok(regions) => Ok(regions.clone()),
            Err(gap) => Err(format!("Could not tell which regions to check: {}.", gap.summary())),
        },
        Err(na) => Err(format!(
            "No approved region list is configured and the account was not assessed ({}), so the regions to check are unknown.",
            na.code
        )),
    }
}

/// BR.ORG.8: in each approved region, an organization-enforced guardrail applies to the
/// account and to the models in use.
pub fn org_guardrail_applies(input: &AccountInput<'_>) -> Vec<Evaluation> {
    let id = ids::ORG_8;
    let regions = match judged_regions(input) {
        Ok(r) => r,
        Err(detail) => return vec![input.account_verdict(id, Status::Error, detail)],
    };
    let state = account_policy(input.org, &input.scp.bedrock_samples(input), input.account);
    regions
        .iter()
        .map(|region| {
            let (status, mut detail) = match &state {
                Err((status, detail)) => (*status, detail.clone()),
                Ok(policy) => judge_region(input, policy, region),
            };
            detail.push_str(&account_level(input, region));
            input.verdict(id, Some(region), input.this_account(), status, detail)
        })
        .collect()
}

/// The guardrails the account enforces on itself in `region`, for the evidence (they apply
/// too, but the organization cannot rely on them: the account's administrators set them).
fn account_level(input: &AccountInput<'_>, region: &Region) -> String {
    let Ok(snap) = input.snapshot else { return String::new() };
    let Some(rs) = snap.per_region.iter().find(|r| &r.region == region) else { return String::new() };
    match &rs.enforced_guardrails {
        Ok(list) if list.is_empty() => " The account enforces no guardrail of its own there.".into(),
        Ok(list) => {
            let named: Vec<String> = list
                .iter()
                .map(|g| {
                    let except = if g.excluded_models.is_empty() {
                        String::new()
                    } else {
                        format!(", except {}", g.excluded_models.join(", "))
                    };
                    format!("{} version {}{except}", g.guardrail_arn, g.guardrail_version)
                })
                .collect();
            format!(" The account also enforces, at account level: {}.", named.join("; "))
        }
        Err(gap) => format!(" The account's own enforced guardrails could not be read ({}).", gap.summary()),
    }
}

fn judge_region(input: &AccountInput<'_>, policy: &AccountPolicy, region: &Region) -> (Status, String) {
    let (policy, source) = match policy {
        AccountPolicy::TypeDisabled(root) => {
            return (
                Status::Fail,
                format!(
                    "The Bedrock policy type is not enabled on root {root}, so no guardrail is enforced by the organization."
                ),
            );
        }
        AccountPolicy::NoneAttached => {
            return (Status::Fail, "No Organizations Bedrock policy is attached on the account's path, so no guardrail is enforced by the organization.".into());
        }
        AccountPolicy::Effective { policy, source } => (policy, source),
    };
    let configs = configs(policy, region.as_str());
    if configs.is_empty() {
        let elsewhere: Vec<String> = policy
            .pointer("/bedrock/guardrail_inference")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let also = if elsewhere.is_empty() { String::new() } else { format!(" (it does in {})", elsewhere.join(", ")) };
        return (
            Status::Fail,
            format!("The effective Bedrock policy ({source}) enforces no guardrail in {region}{also}."),
        );
    }
    let mut usable_configs = Vec::new();
    let mut problems = Vec::new();
    let mut unknown = Vec::new();
    for c in &configs {
        let Some(identifier) = &c.identifier else {
            problems.push(format!("configuration {} names no guardrail identifier", c.name));
            continue;
        };
        match usable(input.org, identifier, region.as_str()) {
            Ok(u) => usable_configs.push((c, u.name)),
            Err((Status::Error, why)) => unknown.push(why),
            Err((_, why)) => problems.push(format!("{why} (see BR.ORG.9)")),
        }
    }
    if usable_configs.is_empty() {
        if !unknown.is_empty() && problems.is_empty() {
            return (
                Status::Error,
                format!("Could not tell whether the guardrail enforced in {region} is usable: {}.", unknown.join("; ")),
            );
        }
        let all: Vec<String> = problems.into_iter().chain(unknown).collect();
        return (
            Status::Fail,
            format!("The guardrail the organization enforces in {region} is not usable: {}.", all.join("; ")),
        );
    }
    let models = &input.params.approved_models;
    let names: Vec<&str> = usable_configs.iter().map(|(_, n)| n.as_str()).collect();
    let excluded: Vec<String> = usable_configs.iter().flat_map(|(c, _)| c.excluded.clone()).collect();
    if models.is_empty() {
        let all_models = usable_configs.iter().any(|(c, _)| c.included.is_none());
        if !all_models {
            let listed: Vec<String> =
                usable_configs.iter().flat_map(|(c, _)| c.included.clone().unwrap_or_default()).collect();
            return (
                Status::Fail,
                format!(
                    "The organization enforces {} in {region} only on {} ({source}); with no approved model list configured (controls.approved_models) the sweep cannot tell that it covers the models in use.",
                    names.join(" and "),
                    listed.join(", ")
                ),
            );
        }
        let except = if excluded.is_empty() { String::new() } else { format!(" except {}", excluded.join(", ")) };
        return (
            Status::Pass,
            format!("The organization enforces {} in {region} on every model{except} ({source}).", names.join(" and ")),
        );
    }
    let uncovered: Vec<&String> = models.iter().filter(|m| !usable_configs.iter().any(|(c, _)| covers(c, m))).collect();
    if !uncovered.is_empty() {
        let list: Vec<&str> = uncovered.iter().map(|m| m.as_str()).collect();
        return (
            Status::Fail,
            format!(
                "The organization enforces {} in {region}, but not on the approved model(s) {}: model_enforcement leaves them out ({source}).",
                names.join(" and "),
                list.join(", ")
            ),
        );
    }
    let also = if excluded.is_empty() { String::new() } else { format!("; it leaves out {}", excluded.join(", ")) };
    (
        Status::Pass,
        format!(
            "The organization enforces {} in {region} on every approved model{also} ({source}).",
            names.join(" and ")
        ),
    )
}

/// BR.ORG.9: every guardrail an effective Bedrock policy enforces is usable. Reported once,
/// on the management account, per identifier and region; a guardrail that cannot be used
/// makes every Bedrock call of the accounts it is enforced on fail.
pub fn enforced_guardrails_usable(input: &AccountInput<'_>) -> Vec<Evaluation> {
    if !input.is_management() {
        return Vec::new();
    }
    let id = ids::ORG_9;
    let org = input.org;
    // (identifier, region) → the accounts it is enforced on.
    let mut enforced: BTreeMap<(String, String), Vec<&OrgAccount>> = BTreeMap::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut unknown_ids: BTreeMap<(String, String), String> = BTreeMap::new();
    let samples = input.scp.bedrock_samples(input);
    for account in org.accounts.iter().filter(|a| a.is_active()) {
        match account_policy(org, &samples, account) {
            Ok(AccountPolicy::Effective { policy, .. }) => {
                let regions = policy
                    .pointer("/bedrock/guardrail_inference")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for (region, _) in regions {
                    for c in configs(&policy, &region) {
                        let identifier = c.identifier.unwrap_or_else(|| "(none)".into());
                        enforced.entry((identifier, region.clone())).or_default().push(account);
                    }
                }
            }
            Ok(_) => {}
            Err((_, why)) => {
                unknown.push(format!("account {}: {why}", account.id));
                // The guardrails the policies on its path name keep a verdict (an error, not
                // silence), so an earlier finding about them is not retired for want of data.
                for &i in samples.path(org, account).iter().flatten() {
                    if let Ok(doc) = &samples.parsed[i] {
                        for (region, identifier) in named_guardrails(doc) {
                            unknown_ids.entry((identifier, region)).or_insert_with(|| account.id.to_string());
                        }
                    }
                }
            }
        }
    }
    let mut out: Vec<Evaluation> = enforced
        .iter()
        .map(|((identifier, region), accounts)| {
            let (status, detail) = judge_guardrail(org, identifier, region, accounts);
            let region = Region::parse(region).ok();
            input.verdict(id, region.as_ref(), (identifier, ResourceKind::Guardrail), status, detail)
        })
        .collect();
    for ((identifier, region), account) in unknown_ids.iter().filter(|(k, _)| !enforced.contains_key(k)) {
        let detail = format!(
            "Could not tell whether this guardrail is enforced, or on how many accounts: the effective Bedrock policy of account {account}, below a policy that names it, could not be told."
        );
        let region = Region::parse(region).ok();
        out.push(input.verdict(id, region.as_ref(), (identifier, ResourceKind::Guardrail), Status::Error, detail));
    }
    if !unknown.is_empty() {
        out.push(input.verdict(id, None, (org.organization_id.as_str(), ResourceKind::Organization), Status::Error, format!("The effective Bedrock policy of {} account(s) could not be told, so the guardrails enforced on them are unknown: {}.", unknown.len(), unknown.iter().take(3).cloned().collect::<Vec<_>>().join("; "))));
    }
    if out.is_empty() {
        out.push(input.verdict(
            id,
            None,
            (org.organization_id.as_str(), ResourceKind::Organization),
            Status::NotApplicable,
            "No Organizations Bedrock policy enforces a guardrail on any account.".into(),
        ));
    }
    out
}

fn judge_guardrail(org: &OrgSnapshot, identifier: &str, region: &str, accounts: &[&OrgAccount]) -> (Status, String) {
    let n = accounts.len();
    let consequence = format!("every Bedrock model call in {n} account(s) in {region} will fail");
    match usable(org, identifier, region) {
        Err((Status::Error, why)) => {
            (Status::Error, format!("Could not tell whether the enforced guardrail is usable: {why}."))
        }
        Err((_, why)) => (Status::Fail, format!("The Bedrock policy's {why}: {consequence}.")),
        Ok(Usable { name, facts, resource_policy }) => {
            let policy = match parse_resource_policy(&facts.arn, resource_policy) {
                Ok(p) => p,
                Err(e) => {
                    return (
                        Status::Fail,
                        format!(
                            "The resource-based policy of {name} does not parse ({e}), so member accounts may not apply it: {consequence}."
                        ),
                    );
                }
            };
            let refused: Vec<String> = accounts
                .iter()
                .filter(|a| !lets_apply(org, &policy, &facts.arn, a))
                .map(|a| a.id.to_string())
                .collect();
            if refused.is_empty() {
                (
                    Status::Pass,
                    format!(
                        "The {name} is a READY version owned by the management account, has no automated-reasoning policy, and its resource-based policy lets all {n} account(s) it is enforced on in {region} apply it."
                    ),
                )
            } else {
                let shown: Vec<&str> = refused.iter().take(5).map(String::as_str).collect();
                (
                    Status::Fail,
                    format!(
                        "The resource-based policy of {name} does not let {} of the {n} account(s) it is enforced on call bedrock:ApplyGuardrail ({}{}): their Bedrock model calls in {region} will fail.",
                        refused.len(),
                        shown.join(", "),
                        if refused.len() > shown.len() { ", ..." } else { "" }
                    ),
                )
            }
        }
    }
}

/// BR.ORG.3's second way to hold: an organization-enforced guardrail covers the account in
/// every judged region. `Some(detail)` when it does.
pub(crate) fn covers_every_region(input: &AccountInput<'_>) -> Option<String> {
    let regions = judged_regions(input).ok()?;
    let policy = account_policy(input.org, &input.scp.bedrock_samples(input), input.account).ok()?;
    let mut names = Vec::new();
    for region in &regions {
        let (status, detail) = judge_region(input, &policy, region);
        if status != Status::Pass {
            return None;
        }
        names.push(detail);
    }
    (!regions.is_empty()).then(|| names.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ControlParameters;
    use crate::evaluate::fixtures::{MANAGEMENT, account_snapshot, now, org_snapshot};
    use crate::snapshot::ScpPolicy;

    fn assigning(id: &str, guardrail: &str) -> ScpPolicy {
        ScpPolicy {
            id: id.into(),
            name: id.into(),
            arn: String::new(),
            aws_managed: false,
            content: format!(
                r#"{{"bedrock":{{"guardrail_inference":{{"us-east-1":{{"c":{{"identifier":{{"@@assign":"{guardrail}"}}}}}}}}}}}}"#
            ),
            targets: vec!["r-ab12".into()],
        }
    }

    /// Two policies on the root assign different guardrails (the attach order decides, and no
    /// API tells it) and Organizations' answer was not read: the guardrails keep an `error`
    /// verdict each, so their earlier findings are not retired for want of data.
    #[test]
    fn guardrails_of_unknowable_effective_policies_keep_an_error_verdict() {
        let mut org = org_snapshot();
        org.roots[0].bedrock_policy_enabled = true;
        let (a, b) = (
            "arn:aws:bedrock:us-east-1:999988887777:guardrail/aaa:1",
            "arn:aws:bedrock:us-east-1:999988887777:guardrail/bbb:1",
        );
        org.bedrock_policies = vec![assigning("p-a", a), assigning("p-b", b)];
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        let params = ControlParameters::default();
        let engine = super::super::ScpEngine::new(&org, catalog.regions(), &params);
        let snap = account_snapshot();
        let management = org.account(&crate::domain::AccountId::parse(MANAGEMENT).unwrap()).unwrap();
        let input = AccountInput {
            org: &org,
            account: management,
            snapshot: Ok(&snap),
            params: &params,
            now: now(),
            scp: &engine,
        };
        let out = enforced_guardrails_usable(&input);
        for id in [a, b] {
            let v: Vec<&Evaluation> = out.iter().filter(|e| e.resource_id == id).collect();
            assert_eq!(v.len(), 1, "{out:#?}");
            assert_eq!(v[0].status, Status::Error, "{}", v[0].detail);
        }
        assert!(out.iter().all(|e| e.status != Status::Pass), "{out:#?}");
    }
}
