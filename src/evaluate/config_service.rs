//! The `config` family: BR.CFG.1, an AWS Config recorder recording in every approved region.

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::Status;
use crate::evaluate::ids;
use crate::snapshot::AccountSnapshot;

/// BR.CFG.1.
pub fn recorder_on(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    input.per_approved_region(snap, ids::CFG_1, |rs| match &rs.config_recorders {
        Err(gap) => (Status::Error, format!("Could not read AWS Config recorders: {}.", gap.summary())),
        Ok(r) if r.is_empty() => (Status::Fail, "No AWS Config recorder exists.".into()),
        Ok(r) => match r.iter().find(|r| r.recording) {
            Some(on) => (Status::Pass, format!("AWS Config recorder {} is recording.", on.name)),
            None => (Status::Fail, format!("AWS Config recorder {} exists but is not recording.", r[0].name)),
        },
    })
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Input::ConfigRecorders;
    use Judge::Account;
    use Proof::Witness;
    use Regions::Approved;
    &[Control { id: ids::CFG_1, reads: reads(&[ConfigRecorders], Witness, Approved), judge: Account(recorder_on) }]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::ConfigRecorder;

    #[test]
    fn cases() {
        let rec = |on| ConfigRecorder { name: "default".into(), recording: on, last_status: None };
        for (r, status) in [
            (Ok(vec![]), Status::Fail),
            (Ok(vec![rec(false)]), Status::Fail),
            (Ok(vec![rec(true)]), Status::Pass),
            (Err(gap("config", "DescribeConfigurationRecorders")), Status::Error),
        ] {
            let mut snap = account_snapshot();
            snap.per_region[0].config_recorders = r;
            assert_eq!(statuses(&with_input(&snap, |i| recorder_on(i, &snap))), [status]);
        }
    }
}
