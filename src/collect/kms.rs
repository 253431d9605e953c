//! KMS: who manages each referenced key and whether it rotates.

use std::collections::BTreeMap;

use crate::aws::AccountClients;
use crate::domain::{AccountId, Region};
use crate::snapshot::{Collected, Gap, KmsKey};

/// The IAM actions this collector calls (held against `deploy/member-role-policy.json`).
pub const ACTIONS: &[&str] = &["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus"];

/// What [`collect`] alone calls: discovery describes the management account's trail keys
/// with it, and reads no key policy there (that account's own sweep does).
pub const DESCRIBE_ACTIONS: &[&str] = &["kms:DescribeKey", "kms:GetKeyRotationStatus"];

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

/// The key policy of each described key in `wanted` that `account` owns, by key ARN. (KMS
/// answers GetKeyPolicy to the owning account only; another account's key is judged in its
/// own sweep.)
pub async fn key_policies(
    clients: &AccountClients,
    account: &AccountId,
    keys: &BTreeMap<String, Collected<KmsKey>>,
    wanted: &[String],
) -> BTreeMap<String, Collected<String>> {
    let mut out = BTreeMap::new();
    for key_ref in wanted {
        let Some(Ok(key)) = keys.get(key_ref) else { continue };
        if out.contains_key(&key.arn) || key.arn.split(':').nth(4) != Some(account.as_str()) {
            continue;
        }
        let Some(region) = arn_region(&key.arn) else { continue };
        let policy = key_policy(clients, &region, &key.arn).await;
        out.insert(key.arn.clone(), policy);
    }
    out
}

async fn key_policy(clients: &AccountClients, region: &Region, arn: &str) -> Collected<String> {
    let out = clients
        .kms(Some(region))
        .get_key_policy()
        .key_id(arn)
        // The only name a key policy has; said explicitly (older endpoints require it).
        .policy_name("default")
        .send()
        .await
        .map_err(|e| super::gap("kms", "GetKeyPolicy", Some(region), &e))?;
    out.policy.ok_or_else(|| {
        Gap::bad_response(
            "kms",
            "GetKeyPolicy",
            Some(region),
            "MissingPolicy",
            format!("GetKeyPolicy for {arn} answered without a policy"),
        )
    })
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
        return Err(Gap::bad_response(
            "kms",
            "DescribeKey",
            Some(region),
            "MissingKeyMetadata",
            format!("DescribeKey for {key_ref} answered without key metadata"),
        ));
    };
    // Who manages the key decides every verdict about it: an answer without it is no answer.
    let Some(manager) = meta.key_manager().map(|m| m.as_str().to_owned()) else {
        return Err(Gap::bad_response(
            "kms",
            "DescribeKey",
            Some(region),
            "MissingKeyManager",
            format!("DescribeKey for {key_ref} answered without KeyManager"),
        ));
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
