//! The `encryption` family: BR.ENC.1 (custom and imported models encrypted with a CMK) and BR.ENC.2
//! (rotation of the CMKs that protect Bedrock data: custom models and invocation-log
//! destinations).

use std::collections::BTreeSet;

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{ResourceKind, Status};
use crate::evaluate::ids;
use crate::snapshot::AccountSnapshot;

/// BR.ENC.1.
pub fn custom_model_keys(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut out = Vec::new();
    for rs in &snap.per_region {
        let models = match &rs.custom_models {
            Ok(m) => m,
            Err(gap) => {
                out.push(input.listing_failed(ids::ENC_1, &rs.region, "custom and imported models", gap));
                continue;
            }
        };
        for m in models {
            let (status, detail) = match &m.kms_key_arn {
                None => (Status::Fail, format!("{} {} is encrypted with an AWS-owned key.", m.kind_words(), m.name)),
                Some(k) => match snap.kms_keys.get(k) {
                    Some(Ok(key)) if key.is_customer_managed() => (
                        Status::Pass,
                        format!("{} {} is encrypted with customer-managed key {}.", m.kind_words(), m.name, key.arn),
                    ),
                    Some(Ok(key)) => (
                        Status::Fail,
                        format!("{} {} uses {}, not a customer-managed key.", m.kind_words(), m.name, key.arn),
                    ),
                    Some(Err(gap)) => {
                        (Status::Error, format!("Could not describe the key of {}: {}.", m.name, gap.summary()))
                    }
                    None => (Status::Error, format!("The key {k} of custom model {} was not described.", m.name)),
                },
            };
            out.push(input.verdict(ids::ENC_1, Some(&rs.region), (&m.arn, ResourceKind::CustomModel), status, detail));
        }
    }
    if out.is_empty() {
        out.push(input.account_verdict(
            ids::ENC_1,
            Status::NotApplicable,
            "The account has no custom or imported models.".into(),
        ));
    }
    out
}

/// BR.ENC.2.
pub fn key_rotation(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut refs = BTreeSet::new();
    for rs in &snap.per_region {
        if let Ok(models) = &rs.custom_models {
            refs.extend(models.iter().filter_map(|m| m.kms_key_arn.clone()));
        }
        if let Some(Ok(g)) = &rs.invocation_log_group {
            refs.extend(g.kms_key_id.clone());
        }
        if let Ok(Some(cfg)) = &rs.invocation_logging
            && let Some(Ok(b)) = cfg.s3_bucket.as_ref().and_then(|b| snap.buckets.get(b))
        {
            refs.extend(b.kms_key_id.clone());
        }
    }
    let mut out = Vec::new();
    for key_ref in refs {
        match snap.kms_keys.get(&key_ref) {
            Some(Ok(k)) if !k.is_customer_managed() => {}
            Some(Ok(k)) => {
                let (status, detail) = match k.rotation_enabled {
                    Some(true) => (Status::Pass, format!("Key {} rotates automatically.", k.arn)),
                    Some(false) => (Status::Fail, format!("Key {} does not rotate automatically.", k.arn)),
                    None => (
                        Status::NotApplicable,
                        format!("Key {} ({}) does not support automatic rotation.", k.arn, k.key_spec),
                    ),
                };
                out.push(input.verdict(ids::ENC_2, None, (&k.arn, ResourceKind::KmsKey), status, detail));
            }
            Some(Err(gap)) => out.push(input.verdict(
                ids::ENC_2,
                None,
                (&key_ref, ResourceKind::KmsKey),
                Status::Error,
                format!("Could not read key {key_ref}: {}.", gap.summary()),
            )),
            None => out.push(input.verdict(
                ids::ENC_2,
                None,
                (&key_ref, ResourceKind::KmsKey),
                Status::Error,
                format!("Key {key_ref} was not described."),
            )),
        }
    }
    if out.is_empty() {
        out.push(input.account_verdict(
            ids::ENC_2,
            Status::NotApplicable,
            "No customer-managed key protects Bedrock data in this account.".into(),
        ));
    }
    out
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Input::{Buckets, CustomModels, InvocationLogGroup, InvocationLogging, KmsKeys};
    use Judge::Account;
    use Proof::Exhaustive;
    use Regions::Swept;
    &[
        Control {
            id: ids::ENC_1,
            reads: reads(&[CustomModels, KmsKeys], Exhaustive, Swept),
            judge: Account(custom_model_keys),
        },
        Control {
            id: ids::ENC_2,
            reads: reads(&[CustomModels, InvocationLogging, InvocationLogGroup, Buckets, KmsKeys], Exhaustive, Swept),
            judge: Account(key_rotation),
        },
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::CustomModel;

    #[test]
    fn models_and_rotation() {
        let key = "arn:aws:kms:eu-west-1:111122223333:key/m".to_owned();
        let mut snap = account_snapshot();
        assert_eq!(statuses(&with_input(&snap, |i| custom_model_keys(i, &snap))), [Status::NotApplicable]);
        assert_eq!(statuses(&with_input(&snap, |i| key_rotation(i, &snap))), [Status::NotApplicable]);
        snap.per_region[0].custom_models = Ok(vec![
            CustomModel {
                arn: "arn:m1".into(),
                name: "m1".into(),
                kms_key_arn: None,
                imported: false,
                base_model: None,
            },
            CustomModel {
                arn: "arn:m2".into(),
                name: "m2".into(),
                kms_key_arn: Some(key.clone()),
                imported: false,
                base_model: None,
            },
            CustomModel {
                arn: "arn:m3".into(),
                name: "m3".into(),
                kms_key_arn: None,
                imported: true,
                base_model: None,
            },
        ]);
        snap.kms_keys.insert(key.clone(), Ok(cmk(&key, Some(false))));
        let out = with_input(&snap, |i| custom_model_keys(i, &snap));
        assert_eq!(statuses(&out), [Status::Fail, Status::Pass, Status::Fail]);
        assert!(out[2].detail.starts_with("Imported model m3"), "{}", out[2].detail);
        let out = with_input(&snap, |i| key_rotation(i, &snap));
        assert_eq!(statuses(&out), [Status::Fail]);
        assert_eq!(out[0].resource_id, key);
        snap.kms_keys.insert(key, Err(gap("kms", "DescribeKey")));
        assert_eq!(
            statuses(&with_input(&snap, |i| custom_model_keys(i, &snap))),
            [Status::Fail, Status::Error, Status::Fail]
        );
        assert_eq!(statuses(&with_input(&snap, |i| key_rotation(i, &snap))), [Status::Error]);
        snap.per_region[0].custom_models = Err(gap("bedrock", "ListCustomModels"));
        assert_eq!(statuses(&with_input(&snap, |i| custom_model_keys(i, &snap))), [Status::Error]);
    }
}
