//! BR.COV.1: the sweep could look at the whole account. A role that could not be
//! assumed, or any collector that failed, fails this control and names what was not read
//! (for the management account, also what discovery could not read of it).

use super::inputs::coverage_gaps;
use super::{AccountInput, Evaluation};
use super::{Control, Judge, ORG_ONLY};
use crate::domain::Status;
use crate::evaluate::ids;

/// BR.COV.1.
pub fn coverage(input: &AccountInput<'_>) -> Vec<Evaluation> {
    let (status, detail) = match input.snapshot {
        Err(na) => (
            Status::Fail,
            format!("The account could not be assessed: assuming {} failed with {}.", na.role_arn, na.code),
        ),
        Ok(snap) => {
            let gaps = coverage_gaps(input.org, &input.account.id, snap);
            if gaps.is_empty() {
                (Status::Pass, format!("Every collector returned data ({} regions swept).", snap.per_region.len()))
            } else {
                let shown: Vec<String> = gaps.iter().take(5).map(|g| g.summary()).collect();
                let more = if gaps.len() > 5 { format!(" and {} more", gaps.len() - 5) } else { String::new() };
                (Status::Fail, format!("{} collections failed: {}{more}.", gaps.len(), shown.join(", ")))
            }
        }
    };
    vec![input.account_verdict(ids::COV_1, status, detail)]
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Judge::Org;
    &[Control { id: ids::COV_1, reads: ORG_ONLY, judge: Org(coverage) }]
};
