//! Collection: turns AWS answers into the plain snapshot structs of `snapshot/`, one file
//! per service. This module owns the fan-out within an account (regions, bounded by
//! `sweep.region_concurrency`); the fan-out over accounts is the sweep's.
//!
//! Every failed call becomes a [`Gap`] in place of the data, never an empty list. "Not
//! found" answers that mean "nothing configured" (no invocation logging, no bucket
//! encryption rule) are data, not gaps.

pub mod bedrock;
pub mod cloudtrail;
pub mod config_service;
pub mod iam;
pub mod kms;
pub mod logs;
pub mod regions;
pub mod s3;
pub mod vpc_endpoints;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::StreamExt;
use tracing::instrument;

use crate::aws::AccountClients;
use crate::aws::errors::classify;
use crate::config::SweepSettings;
use crate::domain::{AccountId, Region};
use crate::snapshot::{AccountSnapshot, Gap, RegionSnapshot};

/// Turns an SDK error into a gap for `service:operation` in `region`.
pub(crate) fn gap<E, R>(service: &str, operation: &str, region: Option<&Region>, err: &SdkError<E, R>) -> Gap
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    Gap::from_failure(service, operation, region, classify(err))
}

/// Collects everything the controls need from one account.
#[instrument(skip_all, fields(account.id = %account))]
pub async fn account(
    clients: &AccountClients,
    account: &AccountId,
    settings: &SweepSettings,
    bedrock_regions: &[Region],
    home_region: &Region,
) -> AccountSnapshot {
    let regions = if settings.regions.is_empty() {
        regions::enabled_bedrock_regions(clients, home_region, bedrock_regions).await
    } else {
        Ok(settings.regions.clone())
    };
    let swept: Vec<Region> = regions.clone().unwrap_or_default();

    let iam = iam::collect(clients).await;
    // Without the region list, the home region still shows every multi-region trail;
    // controls that read the trail list report the missing regions (`evaluate::inputs`).
    let trail_regions = if swept.is_empty() { std::slice::from_ref(home_region) } else { &swept };
    let trails = cloudtrail::collect(clients, Some(account), trail_regions).await;

    // The futures are made before they are streamed: a closure over `&Region` held across
    // the await would keep this future from being provably `Send` (rust-lang/rust#102211),
    // and the sweep spawns its workers.
    let regional: Vec<_> = swept.iter().map(|region| collect_region(clients, region)).collect();
    let mut per_region: Vec<RegionSnapshot> =
        futures::stream::iter(regional).buffer_unordered(settings.region_concurrency).collect().await;
    per_region.sort_by(|a, b| a.region.cmp(&b.region));

    let buckets = s3::collect_invocation_buckets(clients, &per_region).await;
    // Asked in the region of the resource that names a key, when the reference is no ARN.
    let key_refs = crate::snapshot::key_references(&trails, &per_region, &buckets)
        .into_iter()
        .map(|r| (r.key, r.region))
        .collect();
    let kms_keys = kms::collect(clients, key_refs, home_region).await;

    AccountSnapshot { account_id: account.clone(), regions, iam, trails, per_region, kms_keys, buckets }
}

async fn collect_region(clients: &AccountClients, region: &Region) -> RegionSnapshot {
    let (vpc_endpoints, invocation_logging, guardrails, custom_models, config_recorders) = tokio::join!(
        vpc_endpoints::collect(clients, region),
        bedrock::invocation_logging(clients, region),
        bedrock::guardrails(clients, region),
        bedrock::custom_models(clients, region),
        config_service::recorders(clients, region),
    );
    let invocation_log_group = match &invocation_logging {
        Ok(Some(cfg)) => match &cfg.log_group {
            Some(name) => Some(logs::log_group(clients, region, name).await),
            None => None,
        },
        _ => None,
    };
    RegionSnapshot {
        region: region.clone(),
        vpc_endpoints,
        invocation_logging,
        invocation_log_group,
        guardrails,
        custom_models,
        config_recorders,
    }
}
