//! S3: default encryption of the buckets model-invocation logging writes to, and who may
//! read the buckets the account's evidence (invocation logs, trails) is written to.

use std::collections::BTreeMap;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::AccountClients;
use crate::aws::errors::is_not_found;
use crate::domain::Region;
use crate::snapshot::{
    BucketAccess, BucketEncryption, Collected, EvidenceBucket, EvidenceBucketReference, PublicAccessBlock,
    RegionSnapshot,
};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
/// GetBucketEncryption is authorized by `s3:GetEncryptionConfiguration`, ListBuckets by
/// `s3:ListAllMyBuckets`, GetPublicAccessBlock by `s3:GetBucketPublicAccessBlock`.
pub const ACTIONS: &[&str] = &[
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetEncryptionConfiguration",
    "s3:ListAllMyBuckets",
];

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

/// The policy and Block Public Access settings of every evidence bucket the account owns.
/// Ownership comes from the account's own bucket list (one `ListBuckets`, only when some
/// evidence bucket is named): a bucket it does not list belongs to another account, whose
/// sweep judges it. Without the list, every bucket is a gap, not a guess.
pub async fn collect_evidence_buckets(
    clients: &AccountClients,
    home_region: &Region,
    refs: &[EvidenceBucketReference],
) -> BTreeMap<String, Collected<EvidenceBucket>> {
    let mut out = BTreeMap::new();
    if refs.is_empty() {
        return out;
    }
    let owned = owned_buckets(clients, home_region).await;
    for r in refs {
        if out.contains_key(&r.bucket) {
            continue;
        }
        let access = match &owned {
            Err(gap) => Err(gap.clone()),
            Ok(owned) => match owned.get(&r.bucket) {
                None => Ok(EvidenceBucket::OwnedElsewhere),
                // Asked where the bucket lives (S3 answers a call elsewhere with a redirect).
                Some(region) => {
                    let region = region.clone().or_else(|| r.region.clone()).unwrap_or_else(|| home_region.clone());
                    bucket_access(clients, &region, &r.bucket).await.map(EvidenceBucket::Owned)
                }
            },
        };
        out.insert(r.bucket.clone(), access);
    }
    out
}

/// The account's buckets with their regions (where S3 says).
async fn owned_buckets(clients: &AccountClients, home_region: &Region) -> Collected<BTreeMap<String, Option<Region>>> {
    let buckets: Vec<_> = clients
        .s3(Some(home_region))
        .list_buckets()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::gap("s3", "ListBuckets", Some(home_region), &e))?;
    Ok(buckets
        .into_iter()
        .filter_map(|b| {
            let region = b.bucket_region().and_then(|r| Region::parse(r).ok());
            b.name.map(|n| (n, region))
        })
        .collect())
}

async fn bucket_access(clients: &AccountClients, region: &Region, bucket: &str) -> Collected<BucketAccess> {
    let s3 = clients.s3(Some(region));
    let policy = match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => out.policy.filter(|p| !p.trim().is_empty()),
        // No policy at all: data (nothing granted by one), not a gap.
        Err(e) if e.code() == Some("NoSuchBucketPolicy") => None,
        Err(e) => return Err(super::gap("s3", "GetBucketPolicy", Some(region), &e)),
    };
    let public_access_block = match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => out
            .public_access_block_configuration
            .map(|c| PublicAccessBlock {
                block_public_acls: c.block_public_acls.unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
                block_public_policy: c.block_public_policy.unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
            })
            .unwrap_or_default(),
        Err(e) if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => PublicAccessBlock::default(),
        Err(e) => return Err(super::gap("s3", "GetPublicAccessBlock", Some(region), &e)),
    };
    let object_ownership = match s3.get_bucket_ownership_controls().bucket(bucket).send().await {
        Ok(out) => out
            .ownership_controls
            .and_then(|c| c.rules.into_iter().next())
            .map(|r| r.object_ownership.as_str().to_owned()),
        // Never configured: ACLs are in force (the ObjectWriter behaviour).
        Err(e) if e.code() == Some("OwnershipControlsNotFoundError") => None,
        Err(e) => return Err(super::gap("s3", "GetBucketOwnershipControls", Some(region), &e)),
    };
    Ok(BucketAccess { policy, public_access_block, object_ownership })
}
