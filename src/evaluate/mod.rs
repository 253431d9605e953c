//! Evaluation: pure, synchronous functions from the snapshots to verdicts. No I/O, no SDK
//! types, no async. One file per control family, each with its `CONTROLS`: the
//! registry (`FAMILIES`) the catalog is checked against, declaring what each control reads
//! (`inputs`) and naming it by its constant in `ids` (generated from the catalog's files).
//!
//! Rules every evaluator keeps:
//! - a gap in the data it needs gives `error` naming the failed call, never `pass`;
//! - a control whose subject does not exist is `not_applicable`, and the control that
//!   requires the subject carries the failure (so one problem is reported once).

mod agentcore;
mod agents;
mod cloudtrail;
mod config_service;
mod coverage;

pub use inputs::gaps;
mod encryption;
mod evidence_access;
mod flows;
mod guardrails;
mod iam;
pub mod ids;
pub mod inputs;
mod invocation;
mod jobs;
mod knowledge_bases;
pub mod management_policy;
mod models;
mod network;
pub mod preview;
mod prompts;
pub mod scp;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CatalogError};
use crate::config::ControlParameters;
use crate::domain::{AccountId, ControlId, KnownControl, Region, ResourceKind, Status};
use crate::snapshot::{AccountSnapshot, NotAssessed, OrgAccount, OrgSnapshot, RegionSnapshot};
use inputs::{Incomplete, Input, Proof, Reads, Regions};

/// One verdict: a control, for one account, region and resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The control.
    pub control_id: ControlId,
    /// The account it is about.
    pub account_id: AccountId,
    /// The region, for regional subjects.
    pub region: Option<Region>,
    /// What it is about: a resource id or ARN, or the account id.
    pub resource_id: String,
    /// The kind of that subject (the ASFF resource type comes from it).
    pub resource_kind: ResourceKind,
    /// The verdict.
    pub status: Status,
    /// One sentence a person understands.
    pub detail: String,
}

/// Everything an evaluator may look at for one account.
#[derive(Debug, Clone, Copy)]
pub struct AccountInput<'a> {
    /// The organization.
    pub org: &'a OrgSnapshot,
    /// The account.
    pub account: &'a OrgAccount,
    /// Its snapshot, or why it could not be assessed.
    pub snapshot: Result<&'a AccountSnapshot, &'a NotAssessed>,
    /// Control parameters.
    pub params: &'a ControlParameters,
    /// The evaluation time (delivery-age checks compare against it).
    pub now: DateTime<Utc>,
    /// Parsed SCPs and verdicts shared across the accounts of a sweep (BR.ORG.1–6); build
    /// it once from the same `org` and `params`.
    pub scp: &'a scp::ScpEngine<'a>,
}

impl AccountInput<'_> {
    fn is_management(&self) -> bool {
        self.account.id == self.org.management_account_id
    }

    fn verdict(
        &self,
        control: KnownControl,
        region: Option<&Region>,
        (resource, kind): (&str, ResourceKind),
        status: Status,
        detail: String,
    ) -> Evaluation {
        Evaluation {
            control_id: control.id(),
            account_id: self.account.id.clone(),
            region: region.cloned(),
            resource_id: resource.to_owned(),
            resource_kind: kind,
            status,
            detail,
        }
    }

    /// The account as a verdict's subject.
    fn this_account(&self) -> (&str, ResourceKind) {
        (self.account.id.as_str(), ResourceKind::Account)
    }

    /// The `error` a regional listing that failed leaves in its region: "Could not list
    /// `what`: the call and error."
    fn listing_failed(
        &self,
        control: KnownControl,
        region: &Region,
        what: &str,
        gap: &crate::snapshot::Gap,
    ) -> Evaluation {
        self.verdict(
            control,
            Some(region),
            self.this_account(),
            Status::Error,
            format!("Could not list {what}: {}.", gap.summary()),
        )
    }

    /// An account-wide verdict (resource = the account).
    fn account_verdict(&self, control: KnownControl, status: Status, detail: String) -> Evaluation {
        self.verdict(control, None, self.this_account(), status, detail)
    }

    /// Runs `judge` for every approved region of the account, turning "region list
    /// unknown" into `error` and "approved region not swept" into `not_applicable`.
    fn per_approved_region(
        &self,
        snap: &AccountSnapshot,
        control: KnownControl,
        judge: impl Fn(&RegionSnapshot) -> (Status, String),
    ) -> Vec<Evaluation> {
        let swept = match &snap.regions {
            Ok(r) => r,
            Err(gap) => {
                let detail = format!("Could not tell which regions to check: {}.", gap.summary());
                return if self.params.approved_regions.is_empty() {
                    vec![self.account_verdict(control, Status::Error, detail)]
                } else {
                    self.params
                        .approved_regions
                        .iter()
                        .map(|r| self.verdict(control, Some(r), self.this_account(), Status::Error, detail.clone()))
                        .collect()
                };
            }
        };
        let approved: Vec<&Region> = if self.params.approved_regions.is_empty() {
            swept.iter().collect()
        } else {
            self.params.approved_regions.iter().collect()
        };
        if approved.is_empty() {
            return vec![self.account_verdict(
                control,
                Status::NotApplicable,
                "No approved region is enabled in this account.".into(),
            )];
        }
        approved
            .into_iter()
            .map(|region| match snap.per_region.iter().find(|r| &r.region == region) {
                Some(rs) => {
                    let (status, detail) = judge(rs);
                    self.verdict(control, Some(region), self.this_account(), status, detail)
                }
                None => self.verdict(
                    control,
                    Some(region),
                    self.this_account(),
                    Status::NotApplicable,
                    format!("Approved region {region} is not enabled in this account (or not swept)."),
                ),
            })
            .collect()
    }
}

type Evaluator = fn(&AccountInput<'_>, &AccountSnapshot) -> Vec<Evaluation>;
type OrgEvaluator = fn(&AccountInput<'_>) -> Vec<Evaluation>;

/// How a control is judged.
#[derive(Clone, Copy)]
enum Judge {
    /// From the account's own snapshot (needs the role in the account).
    Account(Evaluator),
    /// From the organization snapshot alone.
    Org(OrgEvaluator),
}

/// One registered control: its id, what it reads, and its evaluator.
struct Control {
    id: KnownControl,
    reads: Reads,
    judge: Judge,
}

const fn reads(inputs: &'static [Input], proof: Proof, regions: Regions) -> Reads {
    Reads { inputs, proof, regions }
}

/// Judged from the organization snapshot, which discovery reads whole or not at all.
const ORG_ONLY: Reads = reads(&[], Proof::Exhaustive, Regions::Swept);

/// The registry: every control with an evaluator, family by family (each family's file
/// lists its own, with the collections each reads; see `inputs` for what a gap in them does).
const FAMILIES: &[&[Control]] = &[
    network::CONTROLS,
    cloudtrail::CONTROLS,
    invocation::CONTROLS,
    encryption::CONTROLS,
    evidence_access::CONTROLS,
    guardrails::CONTROLS,
    iam::CONTROLS,
    agents::CONTROLS,
    agentcore::CONTROLS,
    knowledge_bases::CONTROLS,
    flows::CONTROLS,
    prompts::CONTROLS,
    models::CONTROLS,
    jobs::CONTROLS,
    config_service::CONTROLS,
    scp::CONTROLS,
    coverage::CONTROLS,
];

/// Every registered control, in registry order.
fn controls() -> impl Iterator<Item = &'static Control> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

/// Every control id that has an evaluator.
pub fn evaluated_controls() -> Vec<&'static str> {
    controls().map(|c| c.id.as_str()).collect()
}

/// Checks that every control of `catalog` has an evaluator and every evaluator a control:
/// run at start-up (a catalog entry nothing evaluates would never be reported) and in a test.
pub fn check_catalog(catalog: &Catalog) -> Result<(), CatalogError> {
    catalog_matches(catalog, &evaluated_controls())
}

fn catalog_matches(catalog: &Catalog, evaluated: &[&str]) -> Result<(), CatalogError> {
    let controls = catalog.controls();
    let missing: Vec<_> =
        controls.iter().filter(|c| !evaluated.contains(&c.id.as_str())).map(|c| c.id.to_string()).collect();
    let unlisted: Vec<_> =
        evaluated.iter().filter(|id| !controls.iter().any(|c| c.id.as_str() == **id)).copied().collect();
    if missing.is_empty() && unlisted.is_empty() {
        return Ok(());
    }
    Err(CatalogError::Evaluators(format!(
        "no evaluator for [{}]; no catalog entry for [{}]",
        missing.join(", "),
        unlisted.join(", ")
    )))
}

/// The verdicts for one account, and where they could not see everything.
#[derive(Debug, Clone, Default)]
pub struct AccountVerdicts {
    /// One verdict per control × region × resource.
    pub evaluations: Vec<Evaluation>,
    /// Per control, the scopes with a gap in what it reads: none of its findings there may
    /// be retired.
    pub incomplete: Incomplete,
}

/// Evaluates every control for one account. An account that could not be assessed gets
/// `error` "account not assessed" for every control that needs its data.
pub fn account(input: &AccountInput<'_>) -> AccountVerdicts {
    let mut gaps = inputs::org_gaps(input.org);
    if let Ok(snap) = input.snapshot {
        gaps.extend(inputs::account_gaps(snap));
    }
    let mut out = AccountVerdicts::default();
    for control in controls() {
        let id = control.id.id();
        let mut verdicts = match (control.judge, input.snapshot) {
            (Judge::Org(f), _) => f(input),
            (Judge::Account(f), Ok(snap)) => f(input, snap),
            (Judge::Account(_), Err(na)) => vec![input.account_verdict(
                control.id,
                Status::Error,
                format!("Account not assessed: the role could not be assumed ({}).", na.code),
            )],
        };
        inputs::enforce(
            &id,
            &control.reads,
            &gaps,
            &input.params.approved_regions,
            &input.account.id,
            &mut verdicts,
            &mut out.incomplete,
        );
        out.evaluations.extend(verdicts);
    }
    out
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod catalog_check {
    use super::*;

    #[test]
    fn every_control_of_the_catalog_has_an_evaluator_and_every_evaluator_a_control() {
        let catalog = Catalog::embedded().unwrap();
        check_catalog(&catalog).unwrap_or_else(|e| panic!("{e}"));

        let mut extra = evaluated_controls();
        extra.push("BR.NET.99");
        let err = catalog_matches(&catalog, &extra).unwrap_err().to_string();
        assert!(err.contains("no catalog entry for [BR.NET.99]"), "{err}");
        let fewer: Vec<&str> = evaluated_controls().into_iter().filter(|id| *id != "BR.LOG.1").collect();
        let err = catalog_matches(&catalog, &fewer).unwrap_err().to_string();
        assert!(err.contains("no evaluator for [BR.LOG.1]"), "{err}");
    }
}
