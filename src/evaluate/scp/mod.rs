//! The `scp` and `trail` families: BR.ORG.1–9.
//!
//! BR.ORG.1–6 judge what the SCPs on a member account's path (root → OUs → account)
//! really deny, by evaluating the probe matrix of scp-semantics.md §8 (`probes.rs`) with
//! the `iam-policy` engine and turning the outcomes into verdicts (`controls.rs`). An
//! [`ScpEngine`], built once per sweep, parses every policy once and caches verdicts per
//! policy path, so accounts that share a path share the work (`cache.rs`).
//!
//! Order of judgement: the management account is `not_applicable` (SCPs never govern it);
//! a control whose parameter is missing is `not_applicable`; SCPs disabled on the root is
//! `fail`; a path that cannot be traced to a root, or a policy on it that does not parse,
//! is `error` naming the policy and the place — never `pass`. A decision that depends on a
//! key a probe cannot know is `fail` ("not proven"), with the keys named.
//!
//! BR.ORG.7 looks at the management account's trails and is reported once, on the
//! management account. BR.ORG.8–9 judge the Organizations Bedrock policies
//! (`bedrock_policy.rs`): the guardrail they enforce on each account and region, and whether
//! each enforced guardrail can be used at all.

mod bedrock_policy;
mod cache;
mod controls;
pub(crate) mod evidence;
mod matrix;
mod narrow;
mod probes;
mod rcp;

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Input::{ManagementTrails, TrailDetails};
    use Judge::Org;
    use Proof::Witness;
    use Regions::Swept;
    &[
        Control { id: ids::ORG_1, reads: ORG_ONLY, judge: Org(region_deny) },
        Control { id: ids::ORG_2, reads: ORG_ONLY, judge: Org(endpoint_only) },
        Control { id: ids::ORG_3, reads: ORG_ONLY, judge: Org(guardrail_required) },
        Control { id: ids::ORG_4, reads: ORG_ONLY, judge: Org(audit_protected) },
        Control { id: ids::ORG_5, reads: ORG_ONLY, judge: Org(approved_models_only) },
        Control { id: ids::ORG_6, reads: ORG_ONLY, judge: Org(api_keys_blocked) },
        // The Bedrock policies' effective-policy answers and guardrail reads are checked per
        // policy path in `bedrock_policy`: a failed read makes the verdicts of the accounts
        // it concerns `error` there, not every account's.
        Control { id: ids::ORG_8, reads: ORG_ONLY, judge: Org(bedrock_policy::org_guardrail_applies) },
        Control { id: ids::ORG_9, reads: ORG_ONLY, judge: Org(bedrock_policy::enforced_guardrails_usable) },
        // The account's resources only sharpen the probes (which bucket, which key); without
        // them generic resources stand in, so no collection gap can make it pass or fail.
        Control { id: ids::ORG_10, reads: ORG_ONLY, judge: Org(rcp::data_perimeter) },
        Control {
            id: ids::ORG_7,
            reads: reads(&[ManagementTrails, TrailDetails], Witness, Swept),
            judge: Org(organization_trail),
        },
    ]
};

#[cfg(test)]
mod test_policies;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_engine;
#[cfg(test)]
mod tests_rcp;
mod trail;

use std::collections::HashMap;
use std::sync::Arc;

use iam_policy::{Level, Lint, Policy, PolicyError, ScpOutcome, evaluate_scps, lint_policy, parse_policy};

pub use bedrock_policy::{enforced_guardrails_usable, org_guardrail_applies};
pub use evidence::{ControlEvidence, ProbeEvidence, ScpEvidence};
pub use probes::{Expect, Network, Principal};
pub use rcp::data_perimeter;
pub use trail::organization_trail;

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, ORG_ONLY, Proof, Regions, reads};
use crate::catalog::RegionInfo;
use crate::config::ControlParameters;
use crate::domain::{KnownControl, Status};
use crate::evaluate::ids;
use crate::snapshot::{OrgAccount, OrgSnapshot, TargetIndex};
use cache::{PathCache, PathKey, account_sensitive};
use controls::{PathVerdicts, summarize};
use narrow::{region_classes, relabel, specialize};
use probes::{CatalogRegion, Ctl, PLACEHOLDER_ACCOUNT, Probe, ProbeParams};

const CONTROL_IDS: [KnownControl; 6] = [ids::ORG_1, ids::ORG_2, ids::ORG_3, ids::ORG_4, ids::ORG_5, ids::ORG_6];

/// A parsed SCP with its lints and whether it can tell accounts apart.
#[derive(Debug)]
pub(crate) struct PolicyEntry {
    pub policy: Policy,
    pub lints: Vec<Lint>,
    pub account_sensitive: bool,
}

/// Shared SCP state for one sweep: the organization's policies parsed once, the probe
/// matrix for the control parameters, and verdicts cached per policy path.
///
/// Build it from the same [`OrgSnapshot`] and [`ControlParameters`] the [`AccountInput`]s
/// carry; an input with a different snapshot or parameters is still judged correctly, just
/// without the cache.
pub struct ScpEngine<'a> {
    org: OrgRef<'a>,
    params: ProbeParams,
    regions: Vec<CatalogRegion>,
    /// Parallel to `org.policies`.
    policies: Vec<Result<PolicyEntry, PolicyError>>,
    by_target: TargetIndex,
    probes: Vec<Probe>,
    cache: PathCache,
    /// Which account Organizations was asked about per Bedrock-policy path.
    bedrock_samples: bedrock_policy::SampleIndex,
    /// The RCPs, parsed, and where they are attached.
    rcps: rcp::Rcps,
}

/// The organization an engine judges: borrowed, or shared with the sweep's workers, which
/// run on tasks of their own and so need an engine that owns what it reads.
enum OrgRef<'a> {
    Borrowed(&'a OrgSnapshot),
    Shared(Arc<OrgSnapshot>),
}

impl std::ops::Deref for OrgRef<'_> {
    type Target = OrgSnapshot;

    fn deref(&self) -> &OrgSnapshot {
        match self {
            OrgRef::Borrowed(org) => org,
            OrgRef::Shared(org) => org,
        }
    }
}

impl std::fmt::Debug for ScpEngine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScpEngine")
            .field("organization_id", &self.org.organization_id)
            .field("policies", &self.policies.len())
            .field("probes", &self.probes.len())
            .field("paths_evaluated", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl ScpEngine<'static> {
    /// Like [`ScpEngine::new`], for an engine shared by the sweep's workers (each on its own
    /// task): it keeps `org` alive itself. The per-path verdict cache is shared the same way.
    pub fn shared(org: Arc<OrgSnapshot>, regions: &[RegionInfo], params: &ControlParameters) -> Self {
        Self::build(OrgRef::Shared(org), regions, params)
    }
}

impl<'a> ScpEngine<'a> {
    /// Parses and lints every policy of `org` and builds the probe matrix over the catalog's
    /// commercial `regions`.
    pub fn new(org: &'a OrgSnapshot, regions: &[RegionInfo], params: &ControlParameters) -> Self {
        Self::build(OrgRef::Borrowed(org), regions, params)
    }

    fn build(org: OrgRef<'a>, regions: &[RegionInfo], params: &ControlParameters) -> Self {
        let params = ProbeParams::of(params);
        let regions: Vec<CatalogRegion> =
            regions.iter().map(|r| CatalogRegion { name: r.name.as_str().to_owned(), bedrock: r.bedrock }).collect();
        let probes =
            probes::build(&params, &regions, org.partition.as_str(), &org.organization_id, PLACEHOLDER_ACCOUNT);
        let account_values = probes::account_values(&probes, PLACEHOLDER_ACCOUNT);
        let policies = org
            .policies
            .iter()
            .map(|p| {
                let policy = parse_policy(&p.id, &p.content)?;
                let sensitive = account_sensitive(&policy, &p.content, &account_values);
                Ok(PolicyEntry { lints: lint_policy(&policy), policy, account_sensitive: sensitive })
            })
            .collect();
        let by_target = TargetIndex::of(&org.policies);
        let bedrock_samples = bedrock_policy::SampleIndex::of(&org);
        let rcps = rcp::Rcps::of(&org);
        Self { org, params, regions, policies, by_target, probes, cache: PathCache::default(), bedrock_samples, rcps }
    }

    /// How many distinct policy paths have been evaluated so far.
    pub fn paths_evaluated(&self) -> usize {
        self.cache.len()
    }

    fn serves(&self, input: &AccountInput<'_>) -> bool {
        std::ptr::eq(&*self.org, input.org) && self.params == ProbeParams::of(input.params)
    }

    /// The verdicts of BR.ORG.1–6 for the input's account, rendered for it.
    fn verdicts(&self, input: &AccountInput<'_>) -> Result<Vec<(Status, String)>, (Status, String)> {
        let path = self.resolve(input.account)?;
        let sensitive = path.policies.iter().flatten().any(|&i| self.entry(i).is_some_and(|e| e.account_sensitive));
        let account = input.account.id.as_str();
        let key = PathKey { levels: path.policies.clone(), account: sensitive.then(|| account.to_owned()) };
        let verdicts = self.cache.get_or_compute(key, || {
            self.run(&path, sensitive.then_some(account), |probes, entries, outcomes| {
                summarize(probes, outcomes, entries)
            })
        });
        Ok(render(&verdicts, &path.labels, (!sensitive).then_some(account)))
    }

    /// The Bedrock-policy sample index for the input's organization.
    fn bedrock_samples(&self, input: &AccountInput<'_>) -> std::borrow::Cow<'_, bedrock_policy::SampleIndex> {
        if std::ptr::eq(&*self.org, input.org) {
            std::borrow::Cow::Borrowed(&self.bedrock_samples)
        } else {
            std::borrow::Cow::Owned(bedrock_policy::SampleIndex::of(input.org))
        }
    }

    /// The parsed RCPs of the input's organization.
    fn rcps(&self, input: &AccountInput<'_>) -> std::borrow::Cow<'_, rcp::Rcps> {
        if std::ptr::eq(&*self.org, input.org) {
            std::borrow::Cow::Borrowed(&self.rcps)
        } else {
            std::borrow::Cow::Owned(rcp::Rcps::of(input.org))
        }
    }

    fn entry(&self, i: usize) -> Option<&PolicyEntry> {
        self.policies.get(i).and_then(|r| r.as_ref().ok())
    }

    /// Evaluates every probe on `path` and hands probes, policies and outcomes to `f`; with
    /// `account`, probes are rebuilt for that account instead of the placeholder.
    fn run<R>(
        &self,
        path: &ResolvedPath,
        account: Option<&str>,
        f: impl FnOnce(&[Probe], &[&PolicyEntry], &[ScpOutcome]) -> R,
    ) -> R {
        let own;
        let probes: &[Probe] = match account {
            Some(a) => {
                own = probes::build(
                    &self.params,
                    &self.regions,
                    self.org.partition.as_str(),
                    &self.org.organization_id,
                    a,
                );
                &own
            }
            None => &self.probes,
        };
        let entries: Vec<&PolicyEntry> = path.policies.iter().flatten().filter_map(|&i| self.entry(i)).collect();
        let levels: Vec<Level> = path
            .policies
            .iter()
            .enumerate()
            .map(|(n, ixs)| Level {
                label: token(n),
                policies: ixs.iter().filter_map(|&i| self.entry(i)).map(|e| e.policy.clone()).collect(),
            })
            .collect();
        let policies: Vec<&Policy> = entries.iter().map(|e| &e.policy).collect();
        let mut region_names: Vec<&str> = Vec::new();
        for p in probes.iter().filter(|p| p.ctl == Ctl::Region && p.region != probes::UNSPECIFIED) {
            if !region_names.contains(&p.region.as_str()) {
                region_names.push(&p.region);
            }
        }
        let classes = region_classes(&policies, &region_names);
        let mut by_action: HashMap<&str, Vec<Level>> = HashMap::new();
        let mut done: HashMap<(&str, Principal, Network, &str), usize> = HashMap::new();
        let mut outcomes: Vec<ScpOutcome> = Vec::with_capacity(probes.len());
        for (i, p) in probes.iter().enumerate() {
            let rep = if p.ctl == Ctl::Region { classes.get(p.region.as_str()).copied() } else { None };
            let shared =
                rep.and_then(|rep| done.get(&(p.ctx.action.as_str(), p.principal, p.network, rep)).map(|&j| (rep, j)));
            let outcome = match shared {
                Some((rep, j)) if rep != p.region => relabel(&outcomes[j], rep, &p.region),
                _ => {
                    let lv =
                        by_action.entry(p.ctx.action.as_str()).or_insert_with(|| specialize(&levels, &p.ctx.action));
                    evaluate_scps(lv, &p.ctx)
                }
            };
            if p.ctl == Ctl::Region {
                done.entry((p.ctx.action.as_str(), p.principal, p.network, p.region.as_str())).or_insert(i);
            }
            outcomes.push(outcome);
        }
        f(probes, &entries, &outcomes)
    }

    /// The account's path with the policies attached at each level, or the verdict that
    /// applies to every SCP control when it cannot be evaluated.
    fn resolve(&self, account: &OrgAccount) -> Result<ResolvedPath, (Status, String)> {
        let nodes = self.org.path_of(account);
        let Some(root) = nodes.first().and_then(|n| self.org.roots.iter().find(|r| r.id == n.id)) else {
            return Err((
                Status::Error,
                format!(
                    "Could not trace the account's path to the organization root (parent {} is unknown), so its SCPs cannot be evaluated.",
                    account.parent_id
                ),
            ));
        };
        if !root.scp_enabled {
            return Err((
                Status::Fail,
                format!(
                    "Service control policies are not enabled on root {}, so no SCP is enforced on this account.",
                    root.id
                ),
            ));
        }
        let last = nodes.len() - 1;
        let mut labels = Vec::with_capacity(nodes.len());
        let mut policies = Vec::with_capacity(nodes.len());
        for (n, node) in nodes.iter().enumerate() {
            let label = match n {
                0 => format!("root {}", node.id),
                n if n == last => format!("account {}", node.id),
                _ => format!("OU {}", node.name),
            };
            let ixs = self.by_target.at(&node.id).to_vec();
            for &i in &ixs {
                if let Some(Err(e)) = self.policies.get(i) {
                    let name = &self.org.policies[i].name;
                    return Err((
                        Status::Error,
                        format!(
                            "SCP {} ({name}) attached to {label} cannot be evaluated: {e}.",
                            self.org.policies[i].id
                        ),
                    ));
                }
            }
            labels.push(label);
            policies.push(ixs);
        }
        Ok(ResolvedPath { labels, policies })
    }

    /// Full per-probe evidence for the input's account (not cached; for inspection).
    pub fn evidence(&self, input: &AccountInput<'_>) -> Result<ScpEvidence, String> {
        if !self.serves(input) {
            return ScpEngine::new(input.org, &self.catalog_regions(), input.params).evidence(input);
        }
        let path = self.resolve(input.account).map_err(|(_, d)| d)?;
        let account = input.account.id.as_str();
        let labels = path.labels.clone();
        self.run(&path, Some(account), |probes, entries, outcomes| {
            let verdicts = summarize(probes, outcomes, entries);
            let rendered = render(&verdicts, &labels, None);
            let fill = |s: String| fill_tokens(&s, &labels, None);
            let controls = CONTROL_IDS
                .iter()
                .enumerate()
                .map(|(i, id)| ControlEvidence {
                    control_id: id.as_str().to_owned(),
                    status: rendered[i].0,
                    detail: rendered[i].1.clone(),
                    probes: probes
                        .iter()
                        .zip(outcomes)
                        .filter(|(p, _)| p.ctl as usize == i)
                        .map(|(p, o)| {
                            let mut e = ProbeEvidence::new(p, o);
                            e.deciding = e.deciding.map(fill);
                            e.near_misses = e.near_misses.into_iter().map(fill).collect();
                            e
                        })
                        .collect(),
                })
                .collect();
            let lints = entries
                .iter()
                .flat_map(|e| e.lints.iter().map(move |l| format!("SCP {}: {}", e.policy.id, l.message)))
                .collect();
            Ok(ScpEvidence { account_id: account.to_owned(), path: labels.clone(), controls, lints })
        })
    }

    fn catalog_regions(&self) -> Vec<RegionInfo> {
        self.regions
            .iter()
            .filter_map(|r| {
                crate::domain::Region::parse(&r.name).ok().map(|name| RegionInfo {
                    name,
                    bedrock: r.bedrock,
                    opt_in: false,
                    agentcore: false,
                })
            })
            .collect()
    }
}

/// An account's path: level labels and policy indices per level, root first.
struct ResolvedPath {
    labels: Vec<String>,
    policies: Vec<Vec<usize>>,
}

fn token(level: usize) -> String {
    format!("{{{{L{level}}}}}")
}

/// Replaces level tokens by labels, and the placeholder account by the real one.
fn fill_tokens(text: &str, labels: &[String], account: Option<&str>) -> String {
    let mut out = text.to_owned();
    for (i, l) in labels.iter().enumerate() {
        let t = token(i);
        if out.contains(&t) {
            out = out.replace(&t, l);
        }
    }
    if let Some(a) = account {
        out = out.replace(PLACEHOLDER_ACCOUNT, a);
    }
    out
}

fn render(v: &PathVerdicts, labels: &[String], account: Option<&str>) -> Vec<(Status, String)> {
    v.controls.iter().map(|c| (c.status, fill_tokens(&c.detail, labels, account))).collect()
}

/// Judges one SCP control for the input's account.
fn scp_control(input: &AccountInput<'_>, ctl: Ctl) -> Vec<Evaluation> {
    let id = CONTROL_IDS[ctl as usize];
    let verdict = |status, detail: String| vec![input.account_verdict(id, status, detail)];
    if input.is_management() {
        return verdict(
            Status::NotApplicable,
            "Service control policies never apply to the management account.".into(),
        );
    }
    if ctl == Ctl::Region && input.params.approved_regions.is_empty() {
        return verdict(Status::NotApplicable, "No approved region list is configured (controls.approved_regions), so there is no region outside it to deny.".into());
    }
    if ctl == Ctl::Models && input.params.approved_models.is_empty() {
        return verdict(
            Status::NotApplicable,
            "No approved model list is configured (controls.approved_models).".into(),
        );
    }
    let result = if input.scp.serves(input) {
        input.scp.verdicts(input)
    } else {
        ScpEngine::new(input.org, &input.scp.catalog_regions(), input.params).verdicts(input)
    };
    match result {
        Ok(v) => verdict(v[ctl as usize].0, v[ctl as usize].1.clone()),
        Err((status, detail)) => verdict(status, detail),
    }
}

/// BR.ORG.1: Bedrock denied outside approved regions.
pub fn region_deny(input: &AccountInput<'_>) -> Vec<Evaluation> {
    scp_control(input, Ctl::Region)
}

/// BR.ORG.2: Bedrock runtime only through (approved) VPC endpoints.
pub fn endpoint_only(input: &AccountInput<'_>) -> Vec<Evaluation> {
    scp_control(input, Ctl::Endpoint)
}

/// BR.ORG.3: no model invocation without a guardrail: an SCP denies it, or an
/// organization-enforced guardrail (Bedrock policy) applies in every judged region.
pub fn guardrail_required(input: &AccountInput<'_>) -> Vec<Evaluation> {
    let mut verdicts = scp_control(input, Ctl::Guardrail);
    if input.is_management() {
        return verdicts;
    }
    let enforced = bedrock_policy::covers_every_region(input);
    for v in &mut verdicts {
        match (&enforced, v.status) {
            (Some(by_org), Status::Pass) => {
                v.detail = format!("{} An organization-enforced guardrail applies too: {by_org}", v.detail);
            }
            (Some(by_org), _) => {
                v.detail = format!(
                    "An organization-enforced guardrail (Organizations Bedrock policy) applies to every invocation: {by_org} The SCPs alone would not hold: {}",
                    v.detail
                );
                v.status = Status::Pass;
            }
            (None, _) => {}
        }
    }
    verdicts
}

/// BR.ORG.4: CloudTrail and invocation logging protected from change.
pub fn audit_protected(input: &AccountInput<'_>) -> Vec<Evaluation> {
    scp_control(input, Ctl::Audit)
}

/// BR.ORG.5: only approved models.
pub fn approved_models_only(input: &AccountInput<'_>) -> Vec<Evaluation> {
    scp_control(input, Ctl::Models)
}

/// BR.ORG.6: long-term Bedrock API keys blocked.
pub fn api_keys_blocked(input: &AccountInput<'_>) -> Vec<Evaluation> {
    scp_control(input, Ctl::ApiKeys)
}
