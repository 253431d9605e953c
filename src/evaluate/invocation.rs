//! The `invocation-logging` family: BR.INV.1 (logging on, text delivered to S3 or
//! CloudWatch Logs), BR.INV.2 (destinations encrypted with a CMK), BR.INV.3 (retention).

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::Status;
use crate::evaluate::ids;
use crate::snapshot::{AccountSnapshot, Collected, KmsKey};

/// BR.INV.1.
pub fn logging_enabled(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    input.per_approved_region(snap, ids::INV_1, |rs| match &rs.invocation_logging {
        Err(gap) => (Status::Error, format!("Could not read the invocation-logging configuration: {}.", gap.summary())),
        Ok(None) => (Status::Fail, "Model invocation logging is not configured.".into()),
        Ok(Some(cfg)) if !cfg.text_delivery => {
            (Status::Fail, "Model invocation logging does not deliver text prompts and responses.".into())
        }
        Ok(Some(cfg)) if cfg.s3_bucket.is_none() && cfg.log_group.is_none() => {
            (Status::Fail, "Model invocation logging has no S3 or CloudWatch Logs destination.".into())
        }
        Ok(Some(cfg)) => {
            let dest: Vec<String> = cfg
                .s3_bucket
                .iter()
                .map(|b| format!("s3://{b}"))
                .chain(cfg.log_group.iter().map(|g| format!("log group {g}")))
                .collect();
            (Status::Pass, format!("Model invocation logging delivers text to {}.", dest.join(" and ")))
        }
    })
}

fn key_verdict(
    keys: &std::collections::BTreeMap<String, Collected<KmsKey>>,
    key_ref: &str,
    what: &str,
) -> (Status, String) {
    match keys.get(key_ref) {
        Some(Ok(k)) if k.is_customer_managed() => {
            (Status::Pass, format!("{what} is encrypted with customer-managed key {}", k.arn))
        }
        Some(Ok(k)) => (Status::Fail, format!("{what} uses {}, which is not customer-managed", k.arn)),
        Some(Err(gap)) => (Status::Error, format!("could not describe the key of {what}: {}", gap.summary())),
        None => (Status::Error, format!("the key {key_ref} of {what} was not described")),
    }
}

/// BR.INV.2.
pub fn destinations_encrypted(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    input.per_approved_region(snap, ids::INV_2, |rs| {
        let cfg = match &rs.invocation_logging {
            Err(gap) => {
                return (
                    Status::Error,
                    format!("Could not read the invocation-logging configuration: {}.", gap.summary()),
                );
            }
            Ok(None) => {
                return (Status::NotApplicable, "Model invocation logging is not configured (see BR.INV.1).".into());
            }
            Ok(Some(cfg)) => cfg,
        };
        let mut parts: Vec<(Status, String)> = Vec::new();
        if let Some(bucket) = &cfg.s3_bucket {
            let what = format!("bucket {bucket}");
            parts.push(match snap.buckets.get(bucket) {
                None => (Status::Error, format!("the encryption of {what} was not read")),
                Some(Err(gap)) => {
                    (Status::Error, format!("could not read the encryption of {what}: {}", gap.summary()))
                }
                Some(Ok(enc)) => match (enc.algorithm.as_deref(), &enc.kms_key_id) {
                    (Some("aws:kms" | "aws:kms:dsse"), Some(key)) => key_verdict(&snap.kms_keys, key, &what),
                    (Some("aws:kms" | "aws:kms:dsse"), None) => {
                        (Status::Fail, format!("{what} uses the AWS-managed aws/s3 key"))
                    }
                    (Some(alg), _) => (Status::Fail, format!("{what} default encryption is {alg}, not a KMS CMK")),
                    (None, _) => (Status::Fail, format!("{what} has no default KMS encryption")),
                },
            });
        }
        if let Some(group) = &cfg.log_group {
            let what = format!("log group {group}");
            parts.push(match &rs.invocation_log_group {
                None => (Status::Error, format!("{what} was not read")),
                Some(Err(gap)) => (Status::Error, format!("could not read {what}: {}", gap.summary())),
                Some(Ok(g)) if !g.exists => (Status::Fail, format!("{what} does not exist")),
                Some(Ok(g)) => match &g.kms_key_id {
                    None => (Status::Fail, format!("{what} is not encrypted with a KMS key")),
                    Some(key) => key_verdict(&snap.kms_keys, key, &what),
                },
            });
        }
        if parts.is_empty() {
            return (Status::NotApplicable, "Invocation logging has no destination (see BR.INV.1).".into());
        }
        let worst = if parts.iter().any(|(s, _)| *s == Status::Fail) {
            Status::Fail
        } else if parts.iter().any(|(s, _)| *s == Status::Error) {
            Status::Error
        } else {
            Status::Pass
        };
        let text: Vec<String> = parts.into_iter().map(|(_, t)| t).collect();
        (worst, capitalise(&format!("{}.", text.join("; "))))
    })
}

/// BR.INV.3.
pub fn log_retention(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let min = input.params.min_log_retention_days;
    input.per_approved_region(snap, ids::INV_3, |rs| match (&rs.invocation_logging, &rs.invocation_log_group) {
        (Err(gap), _) => {
            (Status::Error, format!("Could not read the invocation-logging configuration: {}.", gap.summary()))
        }
        (Ok(None), _) | (Ok(Some(_)), None) => {
            (Status::NotApplicable, "Invocation logging writes to no CloudWatch log group.".into())
        }
        (Ok(Some(_)), Some(Err(gap))) => (Status::Error, format!("Could not read the log group: {}.", gap.summary())),
        (Ok(Some(_)), Some(Ok(g))) if !g.exists => (Status::Fail, format!("Log group {} does not exist.", g.name)),
        (Ok(Some(_)), Some(Ok(g))) => match g.retention_days {
            None => (Status::Pass, format!("Log group {} never expires events.", g.name)),
            Some(days) if days >= min => (Status::Pass, format!("Log group {} keeps events {days} days.", g.name)),
            Some(days) => (Status::Fail, format!("Log group {} keeps events {days} days, less than {min}.", g.name)),
        },
    })
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = {
    use Input::{Buckets, InvocationLogGroup, InvocationLogging, KmsKeys};
    use Judge::Account;
    use Proof::Exhaustive;
    use Regions::Approved;
    &[
        Control {
            id: ids::INV_1,
            reads: reads(&[InvocationLogging], Exhaustive, Approved),
            judge: Account(logging_enabled),
        },
        Control {
            id: ids::INV_2,
            reads: reads(&[InvocationLogging, InvocationLogGroup, Buckets, KmsKeys], Exhaustive, Approved),
            judge: Account(destinations_encrypted),
        },
        Control {
            id: ids::INV_3,
            reads: reads(&[InvocationLogging, InvocationLogGroup], Exhaustive, Approved),
            judge: Account(log_retention),
        },
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::{BucketEncryption, InvocationLogging, LogGroup};

    fn logging(bucket: Option<&str>, group: Option<&str>, text: bool) -> InvocationLogging {
        InvocationLogging {
            text_delivery: text,
            image_delivery: false,
            embedding_delivery: false,
            s3_bucket: bucket.map(str::to_owned),
            s3_key_prefix: None,
            log_group: group.map(str::to_owned),
            large_data_bucket: None,
            large_data_key_prefix: None,
        }
    }

    #[test]
    fn inv1_cases() {
        let cases = [
            (Ok(None), Status::Fail),
            (Ok(Some(logging(Some("b"), None, true))), Status::Pass),
            (Ok(Some(logging(Some("b"), None, false))), Status::Fail),
            (Ok(Some(logging(None, None, true))), Status::Fail),
            (Err(gap("bedrock", "GetModelInvocationLoggingConfiguration")), Status::Error),
        ];
        for (cfg, status) in cases {
            let mut snap = account_snapshot();
            snap.per_region[0].invocation_logging = cfg;
            assert_eq!(statuses(&with_input(&snap, |i| logging_enabled(i, &snap))), [status]);
        }
    }

    #[test]
    fn inv2_and_inv3_cases() {
        let key = "arn:aws:kms:eu-west-1:111122223333:key/k".to_owned();
        let mut snap = account_snapshot();
        // Not configured: not applicable (BR.INV.1 carries the failure).
        assert_eq!(statuses(&with_input(&snap, |i| destinations_encrypted(i, &snap))), [Status::NotApplicable]);
        assert_eq!(statuses(&with_input(&snap, |i| log_retention(i, &snap))), [Status::NotApplicable]);

        snap.per_region[0].invocation_logging = Ok(Some(logging(Some("b"), Some("g"), true)));
        snap.buckets.insert(
            "b".into(),
            Ok(BucketEncryption {
                bucket: "b".into(),
                algorithm: Some("aws:kms".into()),
                kms_key_id: Some(key.clone()),
            }),
        );
        snap.kms_keys.insert(key.clone(), Ok(cmk(&key, Some(true))));
        snap.per_region[0].invocation_log_group = Some(Ok(LogGroup {
            name: "g".into(),
            exists: true,
            kms_key_id: Some(key.clone()),
            retention_days: Some(400),
        }));
        assert_eq!(statuses(&with_input(&snap, |i| destinations_encrypted(i, &snap))), [Status::Pass]);
        assert_eq!(statuses(&with_input(&snap, |i| log_retention(i, &snap))), [Status::Pass]);

        snap.per_region[0].invocation_log_group =
            Some(Ok(LogGroup { name: "g".into(), exists: true, kms_key_id: None, retention_days: Some(30) }));
        let out = with_input(&snap, |i| destinations_encrypted(i, &snap));
        assert_eq!(out[0].status, Status::Fail);
        assert!(out[0].detail.contains("log group g is not encrypted"), "{}", out[0].detail);
        let out = with_input(&snap, |i| log_retention(i, &snap));
        assert_eq!(out[0].status, Status::Fail);
        assert!(out[0].detail.contains("30 days, less than 365"), "{}", out[0].detail);

        snap.buckets.insert("b".into(), Err(gap("s3", "GetBucketEncryption")));
        snap.per_region[0].invocation_log_group =
            Some(Ok(LogGroup { name: "g".into(), exists: true, kms_key_id: Some(key), retention_days: None }));
        assert_eq!(statuses(&with_input(&snap, |i| destinations_encrypted(i, &snap))), [Status::Error]);
        snap.buckets.insert(
            "b".into(),
            Ok(BucketEncryption { bucket: "b".into(), algorithm: Some("AES256".into()), kms_key_id: None }),
        );
        assert_eq!(statuses(&with_input(&snap, |i| destinations_encrypted(i, &snap))), [Status::Fail]);
    }
}
