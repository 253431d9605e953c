//! The `guardrails` family: BR.GRD.1, a guardrail with a sensitive-information policy
//! and a strong enough prompt-attack filter in every approved region.

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::Status;
use crate::evaluate::ids;
use crate::snapshot::AccountSnapshot;

/// BR.GRD.1.
pub fn guardrail_in_place(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let min = input.params.min_prompt_attack_strength;
    input.per_approved_region(snap, ids::GRD_1, |rs| {
        let guardrails = match &rs.guardrails {
            Ok(g) => g,
            Err(gap) => return (Status::Error, format!("Could not read guardrails: {}.", gap.summary())),
        };
        if guardrails.is_empty() {
            return (Status::Fail, "No guardrail exists.".into());
        }
        if let Some(g) = guardrails
            .iter()
            .find(|g| g.pii_entities + g.regexes > 0 && g.prompt_attack_strength.is_some_and(|s| s >= min))
        {
            return (Status::Pass, format!("Guardrail {} filters sensitive information and prompt attacks.", g.name));
        }
        let why: Vec<String> = guardrails
            .iter()
            .map(|g| {
                let mut missing = Vec::new();
                if g.pii_entities + g.regexes == 0 {
                    missing.push("no sensitive-information policy".to_owned());
                }
                match g.prompt_attack_strength {
                    None => missing.push("no prompt-attack filter".to_owned()),
                    Some(s) if s < min => missing.push(format!("prompt-attack filter {s:?} below {min:?}")),
                    Some(_) => {}
                }
                format!("{} has {}", g.name, missing.join(" and "))
            })
            .collect();
        (Status::Fail, format!("No guardrail qualifies: {}.", why.join("; ")))
    })
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Input::Guardrails;
    use Judge::Account;
    use Proof::Witness;
    use Regions::Approved;
    &[Control { id: ids::GRD_1, reads: reads(&[Guardrails], Witness, Approved), judge: Account(guardrail_in_place) }]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FilterStrength;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::Guardrail;

    fn guardrail(pii: usize, strength: Option<FilterStrength>) -> Guardrail {
        Guardrail {
            id: "g1".into(),
            arn: "arn:aws:bedrock:eu-west-1:111122223333:guardrail/g1".into(),
            name: "g1".into(),
            status: "READY".into(),
            pii_entities: pii,
            regexes: 0,
            prompt_attack_strength: strength,
        }
    }

    #[test]
    fn cases() {
        let cases = [
            (Ok(vec![]), Status::Fail, "No guardrail exists"),
            (Ok(vec![guardrail(2, Some(FilterStrength::High))]), Status::Pass, "g1"),
            (Ok(vec![guardrail(0, Some(FilterStrength::High))]), Status::Fail, "no sensitive-information policy"),
            (Ok(vec![guardrail(2, Some(FilterStrength::Medium))]), Status::Fail, "below High"),
            (Ok(vec![guardrail(2, None)]), Status::Fail, "no prompt-attack filter"),
            (Err(gap("bedrock", "ListGuardrails")), Status::Error, "ListGuardrails"),
        ];
        for (g, status, words) in cases {
            let mut snap = account_snapshot();
            snap.per_region[0].guardrails = g;
            let out = with_input(&snap, |i| guardrail_in_place(i, &snap));
            assert_eq!(out[0].status, status, "{}", out[0].detail);
            assert!(out[0].detail.contains(words), "{}", out[0].detail);
        }
    }
}
