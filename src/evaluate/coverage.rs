//! BR.COV.1: the sweep could look at the whole account. A role that could not be
//! assumed, or any collector that failed, fails this control and names what was not read.

use super::{AccountInput, Evaluation};
use crate::domain::Status;
use crate::snapshot::{AccountSnapshot, Gap};

/// Every gap in the snapshot.
pub fn gaps(snap: &AccountSnapshot) -> Vec<&Gap> {
    let mut gaps = Vec::new();
    gaps.extend(snap.regions.as_ref().err());
    gaps.extend(snap.iam.as_ref().err());
    match &snap.trails {
        Ok(trails) => {
            for t in trails {
                gaps.extend(t.status.as_ref().err());
                gaps.extend(t.event_selectors.as_ref().err());
            }
        }
        Err(g) => gaps.push(g),
    }
    for r in &snap.per_region {
        gaps.extend(r.vpc_endpoints.as_ref().err());
        gaps.extend(r.invocation_logging.as_ref().err());
        gaps.extend(r.invocation_log_group.as_ref().and_then(|g| g.as_ref().err()));
        gaps.extend(r.guardrails.as_ref().err());
        gaps.extend(r.custom_models.as_ref().err());
        gaps.extend(r.config_recorders.as_ref().err());
    }
    gaps.extend(snap.kms_keys.values().filter_map(|k| k.as_ref().err()));
    gaps.extend(snap.buckets.values().filter_map(|b| b.as_ref().err()));
    gaps
}

/// BR.COV.1.
pub fn coverage(input: &AccountInput<'_>) -> Vec<Evaluation> {
    let (status, detail) = match input.snapshot {
        Err(na) => (
            Status::Fail,
            format!("The account could not be assessed: assuming {} failed with {}.", na.role_arn, na.code),
        ),
        Ok(snap) => {
            let gaps = gaps(snap);
            if gaps.is_empty() {
                (Status::Pass, format!("Every collector returned data ({} regions swept).", snap.per_region.len()))
            } else {
                let shown: Vec<String> = gaps.iter().take(5).map(|g| g.summary()).collect();
                let more = if gaps.len() > 5 { format!(" and {} more", gaps.len() - 5) } else { String::new() };
                (Status::Fail, format!("{} collections failed: {}{more}.", gaps.len(), shown.join(", ")))
            }
        }
    };
    vec![input.account_verdict("BR.COV.1", status, detail)]
}
