//! The `scp` and `trail` families: BR.ORG.1–7.
//!
//! BR.ORG.1–6 judge the semantics of the SCPs on the account's path. Until the policy
//! engine is wired in they evaluate to `error` (never `pass`); the management account is
//! `not_applicable` because SCPs never govern it. BR.ORG.7 looks at the management
//! account's trails and is reported once, on the management account.

use super::{AccountInput, Evaluation};
use crate::domain::Status;
use crate::snapshot::Trail;

fn scp_control(input: &AccountInput<'_>, control: &str) -> Vec<Evaluation> {
    if input.is_management() {
        return vec![input.account_verdict(
            control,
            Status::NotApplicable,
            "Service control policies never apply to the management account.".into(),
        )];
    }
    vec![input.account_verdict(control, Status::Error, "SCP evaluation is not implemented yet.".into())]
}

/// BR.ORG.1: Bedrock denied outside approved regions.
pub fn region_deny(input: &AccountInput<'_>) -> Vec<Evaluation> {
    scp_control(input, "BR.ORG.1")
}

/// BR.ORG.2: Bedrock runtime only through (approved) VPC endpoints.
pub fn endpoint_only(input: &AccountInput<'_>) -> Vec<Evaluation> {
    scp_control(input, "BR.ORG.2")
}

/// BR.ORG.3: invocation without a guardrail denied.
pub fn guardrail_required(input: &AccountInput<'_>) -> Vec<Evaluation> {
    scp_control(input, "BR.ORG.3")
}

/// BR.ORG.4: CloudTrail and invocation logging protected from change.
pub fn audit_protected(input: &AccountInput<'_>) -> Vec<Evaluation> {
    scp_control(input, "BR.ORG.4")
}

/// BR.ORG.5: only approved models.
pub fn approved_models_only(input: &AccountInput<'_>) -> Vec<Evaluation> {
    if !input.is_management() && input.params.approved_models.is_empty() {
        return vec![input.account_verdict(
            "BR.ORG.5",
            Status::NotApplicable,
            "No approved model list is configured (controls.approved_models).".into(),
        )];
    }
    scp_control(input, "BR.ORG.5")
}

/// BR.ORG.6: long-term Bedrock API keys blocked.
pub fn api_keys_blocked(input: &AccountInput<'_>) -> Vec<Evaluation> {
    scp_control(input, "BR.ORG.6")
}

/// BR.ORG.7: a multi-region, logging organization trail exists. Reported on the
/// management account only.
pub fn organization_trail(input: &AccountInput<'_>) -> Vec<Evaluation> {
    if !input.is_management() {
        return Vec::new();
    }
    let org_id = input.org.organization_id.as_str();
    let verdict = |status, detail| vec![input.verdict("BR.ORG.7", None, org_id, status, detail)];
    let trails = match &input.org.management_trails {
        Ok(t) => t,
        Err(gap) => {
            return verdict(
                Status::Error,
                format!("Could not list the management account's trails: {}.", gap.summary()),
            );
        }
    };
    let org_trails: Vec<&Trail> = trails.iter().filter(|t| t.is_organization_trail).collect();
    if org_trails.is_empty() {
        return verdict(Status::Fail, "The organization has no organization trail.".into());
    }
    let mut reasons = Vec::new();
    for t in &org_trails {
        match (&t.status, t.is_multi_region) {
            (Ok(s), true) if s.is_logging => {
                return verdict(Status::Pass, format!("Organization trail {} is multi-region and logging.", t.name));
            }
            (Ok(_), true) => reasons.push(format!("{} is not logging", t.name)),
            (Ok(_), false) => reasons.push(format!("{} is single-region", t.name)),
            (Err(gap), _) => reasons.push(format!("status of {} unknown ({})", t.name, gap.summary())),
        }
    }
    let status = if org_trails.iter().all(|t| t.status.is_err()) { Status::Error } else { Status::Fail };
    verdict(status, format!("No organization trail is both multi-region and logging: {}.", reasons.join("; ")))
}
