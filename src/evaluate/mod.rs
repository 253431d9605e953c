//! Evaluation: pure, synchronous functions from the snapshots to verdicts. No I/O, no SDK
//! types, no async. One file per control family; `CONTROLS` is the registry the catalog
//! is checked against, and it declares what each control reads (`inputs`).
//!
//! Rules every evaluator keeps:
//! - a gap in the data it needs gives `error` naming the failed call, never `pass`;
//! - a control whose subject does not exist is `not_applicable`, and the control that
//!   requires the subject carries the failure (so one problem is reported once).

mod cloudtrail;
mod config_service;
mod coverage;

pub use inputs::gaps;
mod encryption;
mod guardrails;
mod iam;
pub mod inputs;
mod invocation;
mod network;
pub mod scp;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CatalogError};
use crate::config::ControlParameters;
use crate::domain::{AccountId, ControlId, Region, Status};
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
        control: &str,
        region: Option<&Region>,
        resource: &str,
        status: Status,
        detail: String,
    ) -> Evaluation {
        Evaluation {
            control_id: ControlId::parse(control).unwrap_or_else(|_| unreachable_control(control)),
            account_id: self.account.id.clone(),
            region: region.cloned(),
            resource_id: resource.to_owned(),
            status,
            detail,
        }
    }

    /// An account-wide verdict (resource = the account).
    fn account_verdict(&self, control: &str, status: Status, detail: String) -> Evaluation {
        self.verdict(control, None, self.account.id.as_str(), status, detail)
    }

    /// Runs `judge` for every approved region of the account, turning "region list
    /// unknown" into `error` and "approved region not swept" into `not_applicable`.
    fn per_approved_region(
        &self,
        snap: &AccountSnapshot,
        control: &str,
        judge: impl Fn(&RegionSnapshot) -> (Status, String),
    ) -> Vec<Evaluation> {
        let account = self.account.id.as_str();
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
                        .map(|r| self.verdict(control, Some(r), account, Status::Error, detail.clone()))
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
                    self.verdict(control, Some(region), account, status, detail)
                }
                None => self.verdict(
                    control,
                    Some(region),
                    account,
                    Status::NotApplicable,
                    format!("Approved region {region} is not enabled in this account (or not swept)."),
                ),
            })
            .collect()
    }
}

#[expect(clippy::panic, reason = "control ids in evaluators are literals checked by the catalog test")]
fn unreachable_control(control: &str) -> ControlId {
    panic!("evaluator uses malformed control id {control}")
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
    id: &'static str,
    reads: Reads,
    judge: Judge,
}

const fn reads(inputs: &'static [Input], proof: Proof, regions: Regions) -> Reads {
    Reads { inputs, proof, regions }
}

/// Judged from the organization snapshot, which discovery reads whole or not at all.
const ORG_ONLY: Reads = reads(&[], Proof::Exhaustive, Regions::Swept);

/// The registry: every control with an evaluator, and the collections it reads (see
/// `inputs` for what a gap in them does).
const CONTROLS: &[Control] = {
    use Input::{
        Buckets, ConfigRecorders, CustomModels, Guardrails, Iam, InvocationLogGroup, InvocationLogging, KmsKeys,
        ManagementKmsKeys, ManagementTrails, TrailDetails, Trails, VpcEndpoints,
    };
    use Judge::{Account, Org};
    use Proof::{Exhaustive, Witness};
    use Regions::{Approved, Swept};
    const TRAILS: &[Input] = &[Trails, ManagementTrails];
    const TRAILS_AND_DETAILS: &[Input] = &[Trails, TrailDetails, ManagementTrails];
    &[
        Control {
            id: "BR.NET.1",
            reads: reads(&[VpcEndpoints], Witness, Approved),
            judge: Account(network::private_endpoint),
        },
        Control {
            id: "BR.NET.2",
            reads: reads(&[VpcEndpoints], Exhaustive, Swept),
            judge: Account(network::endpoint_policies),
        },
        Control {
            id: "BR.LOG.1",
            reads: reads(TRAILS_AND_DETAILS, Witness, Swept),
            judge: Account(cloudtrail::trail_coverage),
        },
        Control {
            id: "BR.LOG.2",
            reads: reads(TRAILS, Exhaustive, Swept),
            judge: Account(cloudtrail::log_file_validation),
        },
        Control {
            id: "BR.LOG.3",
            reads: reads(&[Trails, ManagementTrails, KmsKeys, ManagementKmsKeys], Exhaustive, Swept),
            judge: Account(cloudtrail::trail_encryption),
        },
        Control {
            id: "BR.LOG.4",
            reads: reads(TRAILS_AND_DETAILS, Exhaustive, Swept),
            judge: Account(cloudtrail::delivery_health),
        },
        Control {
            id: "BR.LOG.5",
            reads: reads(TRAILS_AND_DETAILS, Witness, Swept),
            judge: Account(cloudtrail::bedrock_data_events),
        },
        Control {
            id: "BR.INV.1",
            reads: reads(&[InvocationLogging], Exhaustive, Approved),
            judge: Account(invocation::logging_enabled),
        },
        Control {
            id: "BR.INV.2",
            reads: reads(&[InvocationLogging, InvocationLogGroup, Buckets, KmsKeys], Exhaustive, Approved),
            judge: Account(invocation::destinations_encrypted),
        },
        Control {
            id: "BR.INV.3",
            reads: reads(&[InvocationLogging, InvocationLogGroup], Exhaustive, Approved),
            judge: Account(invocation::log_retention),
        },
        Control {
            id: "BR.ENC.1",
            reads: reads(&[CustomModels, KmsKeys], Exhaustive, Swept),
            judge: Account(encryption::custom_model_keys),
        },
        Control {
            id: "BR.ENC.2",
            reads: reads(&[CustomModels, InvocationLogging, InvocationLogGroup, Buckets, KmsKeys], Exhaustive, Swept),
            judge: Account(encryption::key_rotation),
        },
        Control {
            id: "BR.GRD.1",
            reads: reads(&[Guardrails], Witness, Approved),
            judge: Account(guardrails::guardrail_in_place),
        },
        Control {
            id: "BR.IAM.1",
            reads: reads(&[Iam], Exhaustive, Swept),
            judge: Account(iam::no_broad_bedrock_grants),
        },
        Control {
            id: "BR.CFG.1",
            reads: reads(&[ConfigRecorders], Witness, Approved),
            judge: Account(config_service::recorder_on),
        },
        Control { id: "BR.ORG.1", reads: ORG_ONLY, judge: Org(scp::region_deny) },
        Control { id: "BR.ORG.2", reads: ORG_ONLY, judge: Org(scp::endpoint_only) },
        Control { id: "BR.ORG.3", reads: ORG_ONLY, judge: Org(scp::guardrail_required) },
        Control { id: "BR.ORG.4", reads: ORG_ONLY, judge: Org(scp::audit_protected) },
        Control { id: "BR.ORG.5", reads: ORG_ONLY, judge: Org(scp::approved_models_only) },
        Control { id: "BR.ORG.6", reads: ORG_ONLY, judge: Org(scp::api_keys_blocked) },
        Control {
            id: "BR.ORG.7",
            reads: reads(&[ManagementTrails, TrailDetails], Witness, Swept),
            judge: Org(scp::organization_trail),
        },
        // Judged from the gaps themselves.
        Control { id: "BR.COV.1", reads: ORG_ONLY, judge: Org(coverage::coverage) },
    ]
};

/// Every control id that has an evaluator.
pub fn evaluated_controls() -> Vec<&'static str> {
    CONTROLS.iter().map(|c| c.id).collect()
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
    for control in CONTROLS {
        let id = ControlId::parse(control.id).unwrap_or_else(|_| unreachable_control(control.id));
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
