//! BR.ORG.7: an organization trail that is multi-region and logging, judged from the
//! management account's trails and reported once, on the management account.

use crate::domain::{ResourceKind, Status};
use crate::evaluate::ids;
use crate::evaluate::{AccountInput, Evaluation};
use crate::snapshot::Trail;

/// BR.ORG.7: a multi-region, logging organization trail exists. Reported on the
/// management account only.
pub fn organization_trail(input: &AccountInput<'_>) -> Vec<Evaluation> {
    if !input.is_management() {
        return Vec::new();
    }
    let org_id = input.org.organization_id.as_str();
    let verdict =
        |status, detail| vec![input.verdict(ids::ORG_7, None, (org_id, ResourceKind::Organization), status, detail)];
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
