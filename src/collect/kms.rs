//! KMS: who manages each referenced key and whether it rotates.

use std::collections::BTreeMap;

use crate::aws::AccountClients;
use crate::domain::Region;
use crate::snapshot::{Collected, KmsKey};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
pub const ACTIONS: &[&str] = &["kms:DescribeKey", "kms:GetKeyRotationStatus"];

/// Describes each referenced key (ARN, key id or alias) once. A reference that is an
/// ARN is asked in the ARN's region; otherwise in the region given with it, or `fallback`.
pub async fn collect(
    clients: &AccountClients,
    refs: Vec<(String, Option<Region>)>,
    fallback: &Region,
) -> BTreeMap<String, Collected<KmsKey>> {
    let mut out = BTreeMap::new();
    for (key_ref, region) in refs {
        if out.contains_key(&key_ref) {
            continue;
        }
        let region = arn_region(&key_ref).or(region).unwrap_or_else(|| fallback.clone());
        let key = describe(clients, &region, &key_ref).await;
        out.insert(key_ref, key);
    }
    out
}

fn arn_region(key_ref: &str) -> Option<Region> {
    let mut parts = key_ref.splitn(6, ':');
    if parts.next() != Some("arn") {
        return None;
    }
    let region = parts.nth(2)?;
    Region::parse(region).ok()
}

async fn describe(clients: &AccountClients, region: &Region, key_ref: &str) -> Collected<KmsKey> {
    let client = clients.kms(Some(region));
    let meta = client
        .describe_key()
        .key_id(key_ref)
        .send()
        .await
        .map_err(|e| super::gap("kms", "DescribeKey", Some(region), &e))?
        .key_metadata;
    let Some(meta) = meta else {
        return Err(crate::snapshot::Gap {
            service: "kms".into(),
            operation: "DescribeKey".into(),
            region: Some(region.clone()),
            kind: crate::aws::errors::FailureKind::BadResponse,
            code: "MissingKeyMetadata".into(),
            message: format!("DescribeKey for {key_ref} answered without key metadata"),
        });
    };
    // Who manages the key decides every verdict about it: an answer without it is no answer.
    let Some(manager) = meta.key_manager().map(|m| m.as_str().to_owned()) else {
        return Err(crate::snapshot::Gap {
            service: "kms".into(),
            operation: "DescribeKey".into(),
            region: Some(region.clone()),
            kind: crate::aws::errors::FailureKind::BadResponse,
            code: "MissingKeyManager".into(),
            message: format!("DescribeKey for {key_ref} answered without KeyManager"),
        });
    };
    let key_spec = meta.key_spec().map(|s| s.as_str().to_owned()).unwrap_or_default();
    // Rotation applies to customer-managed symmetric keys only; AWS-managed keys rotate yearly by themselves.
    let rotation_enabled = if manager == "CUSTOMER" && key_spec == "SYMMETRIC_DEFAULT" {
        let rotation = client
            .get_key_rotation_status()
            .key_id(meta.key_id())
            .send()
            .await
            .map_err(|e| super::gap("kms", "GetKeyRotationStatus", Some(region), &e))?;
        Some(rotation.key_rotation_enabled)
    } else {
        None
    };
    Ok(KmsKey {
        arn: meta.arn().unwrap_or_default().to_owned(),
        manager,
        state: meta.key_state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        key_spec,
        rotation_enabled,
    })
}
