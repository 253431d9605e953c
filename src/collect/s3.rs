//! S3: default encryption of the buckets model-invocation logging writes to.

use std::collections::BTreeMap;

use crate::aws::AccountClients;
use crate::aws::errors::is_not_found;
use crate::domain::Region;
use crate::snapshot::{BucketEncryption, Collected, RegionSnapshot};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
/// GetBucketEncryption is authorized by `s3:GetEncryptionConfiguration`.
pub const ACTIONS: &[&str] = &["s3:GetEncryptionConfiguration"];

/// Default encryption of every bucket named as an invocation-logging destination.
pub async fn collect_invocation_buckets(
    clients: &AccountClients,
    per_region: &[RegionSnapshot],
) -> BTreeMap<String, Collected<BucketEncryption>> {
    let mut out = BTreeMap::new();
    for r in per_region {
        let Ok(Some(logging)) = &r.invocation_logging else { continue };
        let Some(bucket) = &logging.s3_bucket else { continue };
        if out.contains_key(bucket) {
            continue;
        }
        out.insert(bucket.clone(), bucket_encryption(clients, &r.region, bucket).await);
    }
    out
}

async fn bucket_encryption(clients: &AccountClients, region: &Region, bucket: &str) -> Collected<BucketEncryption> {
    match clients.s3(Some(region)).get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => {
            let rule = out
                .server_side_encryption_configuration
                .and_then(|c| c.rules.into_iter().find_map(|r| r.apply_server_side_encryption_by_default));
            Ok(BucketEncryption {
                bucket: bucket.to_owned(),
                algorithm: rule.as_ref().map(|r| r.sse_algorithm.as_str().to_owned()),
                kms_key_id: rule.and_then(|r| r.kms_master_key_id).filter(|k| !k.is_empty()),
            })
        }
        // No default-encryption rule: data, not a gap.
        Err(e) if is_not_found(&e) => {
            Ok(BucketEncryption { bucket: bucket.to_owned(), algorithm: None, kms_key_id: None })
        }
        Err(e) => Err(super::gap("s3", "GetBucketEncryption", Some(region), &e)),
    }
}
