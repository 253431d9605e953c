//! The `guardrails` family: BR.GRD.1, a guardrail with a sensitive-information policy
//! and a strong enough prompt-attack filter in every approved region; BR.GRD.2, every
//! guardrail in an approved region filters each harmful-content category strongly enough on
//! prompts and responses, is encrypted with a customer-managed key, has a published version,
//! and (when required) checks contextual grounding.

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{FilterStrength, ResourceKind, Status};
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

/// The harmful-content categories a guardrail's content policy can filter.
const HARMFUL_CATEGORIES: [&str; 5] = ["HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT"];

/// What one guardrail lacks, for BR.GRD.2.
fn shortfalls(g: &crate::snapshot::Guardrail, min: FilterStrength, grounding: bool) -> Vec<String> {
    let mut out = Vec::new();
    let weak = |s: Option<FilterStrength>| s.is_none_or(|s| s < min);
    for category in HARMFUL_CATEGORIES {
        match g.content_filters.iter().find(|f| f.category == category) {
            None => out.push(format!("no {category} filter")),
            Some(f) if weak(f.input) || weak(f.output) => out.push(format!(
                "{category} filter {:?} on prompts and {:?} on responses, below {min:?}",
                f.input.unwrap_or(FilterStrength::None),
                f.output.unwrap_or(FilterStrength::None)
            )),
            Some(_) => {}
        }
    }
    if grounding {
        for kind in ["GROUNDING", "RELEVANCE"] {
            if !g.contextual_grounding.iter().any(|k| k == kind) {
                out.push(format!("no contextual {} check", kind.to_ascii_lowercase()));
            }
        }
    }
    if g.kms_key_arn.is_none() {
        out.push("it is encrypted with an AWS-owned key, not a customer-managed one".into());
    }
    if g.numbered_versions.is_empty() {
        out.push("it has no published version (only the working draft, which callers should not pin)".into());
    }
    out
}

/// BR.GRD.2.
pub fn guardrails_in_depth(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let (min, grounding) = (input.params.min_content_filter_strength, input.params.require_contextual_grounding);
    let approved = &input.params.approved_regions;
    let mut out = Vec::new();
    for rs in snap.per_region.iter().filter(|r| approved.is_empty() || approved.contains(&r.region)) {
        let guardrails = match &rs.guardrails {
            Ok(g) => g,
            Err(gap) => {
                out.push(input.listing_failed(ids::GRD_2, &rs.region, "guardrails", gap));
                continue;
            }
        };
        for g in guardrails {
            let missing = shortfalls(g, min, grounding);
            let (status, detail) = if missing.is_empty() {
                let versions = g.numbered_versions.join(", ");
                (
                    Status::Pass,
                    format!(
                        "Guardrail {} filters every harmful-content category at {min:?} or stronger both ways, is encrypted with {} and has published version(s) {versions}.",
                        g.name,
                        g.kms_key_arn.as_deref().unwrap_or_default()
                    ),
                )
            } else {
                (Status::Fail, format!("Guardrail {}: {}.", g.name, missing.join("; ")))
            };
            out.push(input.verdict(ids::GRD_2, Some(&rs.region), (&g.arn, ResourceKind::Guardrail), status, detail));
        }
    }
    if out.is_empty() {
        out.push(input.account_verdict(
            ids::GRD_2,
            Status::NotApplicable,
            "No guardrail exists in an approved region (BR.GRD.1 reports the missing guardrail).".into(),
        ));
    }
    out
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Input::Guardrails;
    use Judge::Account;
    use Proof::{Exhaustive, Witness};
    use Regions::Approved;
    &[
        Control { id: ids::GRD_1, reads: reads(&[Guardrails], Witness, Approved), judge: Account(guardrail_in_place) },
        Control {
            id: ids::GRD_2,
            reads: reads(&[Guardrails], Exhaustive, Approved),
            judge: Account(guardrails_in_depth),
        },
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
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
            content_filters: Vec::new(),
            contextual_grounding: Vec::new(),
            kms_key_arn: None,
            numbered_versions: Vec::new(),
        }
    }

    /// A guardrail right on everything BR.GRD.2 asks.
    fn thorough() -> Guardrail {
        let mut g = guardrail(2, Some(FilterStrength::High));
        g.content_filters = HARMFUL_CATEGORIES
            .iter()
            .map(|c| crate::snapshot::ContentFilter {
                category: (*c).into(),
                input: Some(FilterStrength::High),
                output: Some(FilterStrength::Medium),
            })
            .collect();
        g.contextual_grounding = vec!["GROUNDING".into(), "RELEVANCE".into()];
        g.kms_key_arn = Some("arn:aws:kms:eu-west-1:111122223333:key/k".into());
        g.numbered_versions = vec!["1".into(), "2".into()];
        g
    }

    fn in_depth(g: Vec<Guardrail>, params: crate::config::ControlParameters) -> Vec<Evaluation> {
        let mut snap = account_snapshot();
        snap.per_region[0].guardrails = Ok(g);
        with_params(&snap, params, |i| guardrails_in_depth(i, &snap))
    }

    #[test]
    fn every_guardrail_is_judged_in_depth() {
        let params = crate::config::ControlParameters::default;
        let out = in_depth(vec![thorough()], params());
        assert_eq!(statuses(&out), vec![Status::Pass], "{out:?}");
        assert!(
            out[0].detail.contains("versions 1, 2") || out[0].detail.contains("version(s) 1, 2"),
            "{}",
            out[0].detail
        );

        let mut weak = thorough();
        weak.content_filters.retain(|f| f.category != "MISCONDUCT");
        weak.content_filters[0].output = Some(FilterStrength::Low);
        weak.kms_key_arn = None;
        weak.numbered_versions.clear();
        let out = in_depth(vec![thorough(), weak], params());
        assert_eq!(statuses(&out), vec![Status::Pass, Status::Fail]);
        let d = &out[1].detail;
        for want in [
            "no MISCONDUCT filter",
            "HATE filter High on prompts and Low on responses",
            "AWS-owned key",
            "no published version",
        ] {
            assert!(d.contains(want), "{want}: {d}");
        }

        let mut ungrounded = thorough();
        ungrounded.contextual_grounding.clear();
        assert_eq!(statuses(&in_depth(vec![ungrounded.clone()], params())), vec![Status::Pass]);
        let strict = crate::config::ControlParameters { require_contextual_grounding: true, ..params() };
        let out = in_depth(vec![ungrounded], strict);
        assert_eq!(statuses(&out), vec![Status::Fail]);
        assert!(out[0].detail.contains("no contextual grounding check"), "{}", out[0].detail);

        assert_eq!(statuses(&in_depth(vec![], params())), vec![Status::NotApplicable]);
        let mut snap = account_snapshot();
        snap.per_region[0].guardrails = Err(gap("bedrock", "ListGuardrails"));
        assert_eq!(statuses(&with_input(&snap, |i| guardrails_in_depth(i, &snap))), vec![Status::Error]);
        // Regions outside the approved list are not judged.
        let elsewhere = approved(&["us-east-1"]);
        assert_eq!(statuses(&in_depth(vec![thorough()], elsewhere)), vec![Status::NotApplicable]);
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
