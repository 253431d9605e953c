//! Evaluation: pure, synchronous functions from the snapshots to verdicts. No I/O, no SDK
//! types, no async. One file per control family; `EVALUATORS` is the registry the catalog
//! is checked against.
//!
//! Rules every evaluator keeps:
//! - a gap in the data it needs gives `error` naming the failed call, never `pass`;
//! - a control whose subject does not exist is `not_applicable`, and the control that
//!   requires the subject carries the failure (so one problem is reported once).

mod cloudtrail;
mod config_service;
mod coverage;

pub use coverage::gaps;
mod encryption;
mod guardrails;
mod iam;
mod invocation;
mod network;
pub mod scp;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::ControlParameters;
use crate::domain::{AccountId, ControlId, Region, Status};
use crate::snapshot::{AccountSnapshot, NotAssessed, OrgAccount, OrgSnapshot, RegionSnapshot};

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

/// Controls judged from the account's own snapshot.
const ACCOUNT_EVALUATORS: &[(&str, Evaluator)] = &[
    ("BR.NET.1", network::private_endpoint),
    ("BR.NET.2", network::endpoint_policies),
    ("BR.LOG.1", cloudtrail::trail_coverage),
    ("BR.LOG.2", cloudtrail::log_file_validation),
    ("BR.LOG.3", cloudtrail::trail_encryption),
    ("BR.LOG.4", cloudtrail::delivery_health),
    ("BR.LOG.5", cloudtrail::bedrock_data_events),
    ("BR.INV.1", invocation::logging_enabled),
    ("BR.INV.2", invocation::destinations_encrypted),
    ("BR.INV.3", invocation::log_retention),
    ("BR.ENC.1", encryption::custom_model_keys),
    ("BR.ENC.2", encryption::key_rotation),
    ("BR.GRD.1", guardrails::guardrail_in_place),
    ("BR.IAM.1", iam::no_broad_bedrock_grants),
    ("BR.CFG.1", config_service::recorder_on),
];

/// Controls judged from the organization snapshot (they need no access to the account).
const ORG_EVALUATORS: &[(&str, OrgEvaluator)] = &[
    ("BR.ORG.1", scp::region_deny),
    ("BR.ORG.2", scp::endpoint_only),
    ("BR.ORG.3", scp::guardrail_required),
    ("BR.ORG.4", scp::audit_protected),
    ("BR.ORG.5", scp::approved_models_only),
    ("BR.ORG.6", scp::api_keys_blocked),
    ("BR.ORG.7", scp::organization_trail),
    ("BR.COV.1", coverage::coverage),
];

/// Every control id that has an evaluator.
pub fn evaluated_controls() -> Vec<&'static str> {
    ACCOUNT_EVALUATORS.iter().map(|(id, _)| *id).chain(ORG_EVALUATORS.iter().map(|(id, _)| *id)).collect()
}

/// Evaluates every control for one account. An account that could not be assessed gets
/// `error` "account not assessed" for every control that needs its data.
pub fn account(input: &AccountInput<'_>) -> Vec<Evaluation> {
    let mut out: Vec<Evaluation> = ORG_EVALUATORS.iter().flat_map(|(_, f)| f(input)).collect();
    match input.snapshot {
        Ok(snap) => out.extend(ACCOUNT_EVALUATORS.iter().flat_map(|(_, f)| f(input, snap))),
        Err(na) => out.extend(ACCOUNT_EVALUATORS.iter().map(|(id, _)| {
            input.account_verdict(
                id,
                Status::Error,
                format!("Account not assessed: the role could not be assumed ({}).", na.code),
            )
        })),
    }
    out
}

#[cfg(test)]
pub(crate) mod fixtures;
