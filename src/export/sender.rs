//! What both Security Hub deliveries share (the imports in `security_hub`, the workflow
//! updates in `workflow`): the sender and its counters, the batch limit, the pacing per
//! target and how a failed call is recorded against the target's hub.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sqlx::PgPool;

use crate::aws::AwsContext;
use crate::catalog::Catalog;
use crate::domain::AccountId;
use crate::store::workflow::DefaultTarget;

/// BatchImportFindings accepts at most 100 findings...
pub const MAX_BATCH: usize = 100;
/// ...and 6 MB per request.
pub const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;
/// Sustained requests per second per account and region.
pub const RATE_PER_SECOND: u32 = 10;
/// Burst.
pub const BURST: u32 = 30;

/// Counters since the process started (they become metrics with the API).
#[derive(Debug, Default)]
pub struct Counters {
    /// Findings Security Hub accepted.
    pub imported: AtomicU64,
    /// Findings rejected for good (InvalidInput or our own validation).
    pub failed: AtomicU64,
    /// Findings deferred to a later attempt.
    pub retried: AtomicU64,
}

/// What a drain needs.
#[derive(Clone)]
pub struct Sender {
    /// The database.
    pub pool: PgPool,
    /// AWS access.
    pub aws: AwsContext,
    /// The catalog (titles, remediation, mappings).
    pub catalog: Arc<Catalog>,
    /// The management account (reached with own credentials when configured so).
    pub management_account: Option<AccountId>,
    /// The hub region, and the central account when findings go to one (reached with own
    /// credentials).
    pub hub: DefaultTarget,
    /// Targets handled at once.
    pub concurrency: usize,
    /// Base delay of the backoff for deferred findings.
    pub retry_base: chrono::Duration,
    /// Stop after this many requests (tests use it to stop a drain in the middle).
    pub max_requests: Option<u64>,
    /// Process-wide counters.
    pub counters: Arc<Counters>,
}

/// Paces the requests to one account and region at [`RATE_PER_SECOND`] with [`BURST`]
/// (the GCRA of `governor`).
pub(crate) struct Pacer(DefaultDirectRateLimiter);

impl Pacer {
    pub(crate) fn new() -> Self {
        let rate = NonZeroU32::new(RATE_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(BURST).unwrap_or(NonZeroU32::MIN);
        Self(RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)))
    }

    /// Waits until the next request may go.
    pub(crate) async fn take(&self) {
        self.0.until_ready().await;
    }
}

/// What a failed Security Hub call says about the target's hub, as `security_hub_targets`
/// records it: `not_enabled`, `access_denied` or `error`.
pub(crate) fn hub_status(failure: &crate::aws::errors::Failure) -> &'static str {
    match (failure.kind, failure.code.as_str()) {
        (_, "InvalidAccessException") | (crate::aws::errors::FailureKind::NotEnabled, _) => "not_enabled",
        (crate::aws::errors::FailureKind::AccessDenied, _) => "access_denied",
        _ => "error",
    }
}
