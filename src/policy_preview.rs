//! Previewing an organization-policy change on the organization of the most recent
//! completed sweep (the pure judgement is `evaluate::preview`): what `POST /policy-previews`
//! and the `preview` command answer. No AWS call is made.

use std::sync::Arc;

use sqlx::PgPool;

use crate::catalog::Catalog;
use crate::store::{self, StoreError};

/// Previews `change` on the organization snapshot of the most recent completed sweep, with
/// `params`: what `POST /policy-previews` and the `preview` command answer.
pub async fn preview(
    pool: &PgPool,
    catalog: Arc<Catalog>,
    params: Arc<crate::config::ControlParameters>,
    change: crate::evaluate::preview::PolicyChange,
) -> Result<PolicyPreview, PreviewFailure> {
    let Some((sweep_id, finished_at, hash)) = store::sweeps::last_completed_org(pool).await? else {
        return Err(PreviewFailure::NoSweep);
    };
    let Some(org) = store::snapshots::get::<crate::snapshot::OrgSnapshot>(pool, &hash).await? else {
        return Err(PreviewFailure::NoSweep);
    };
    let preview = tokio::task::spawn_blocking(move || {
        crate::evaluate::preview::preview(&org, catalog.regions(), &params, &change)
    })
    .await
    .map_err(|e| PreviewFailure::Invalid(format!("the preview did not finish: {e}")))?
    .map_err(|e| PreviewFailure::Invalid(e.to_string()))?;
    Ok(PolicyPreview {
        sweep_id,
        swept_at: finished_at,
        org_snapshot_hash: hash,
        harmful: preview.is_harmful(),
        preview,
    })
}

/// A policy preview and the sweep it was judged on.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PolicyPreview {
    /// The completed sweep whose organization snapshot was used.
    #[schema(value_type = String, format = Uuid)]
    pub sweep_id: crate::domain::SweepId,
    /// When that sweep ended.
    pub swept_at: chrono::DateTime<chrono::Utc>,
    /// The organization snapshot.
    pub org_snapshot_hash: String,
    /// True when the change would open a fence (a `pass` verdict would no longer pass) or
    /// deny a call a control requires to stay allowed.
    pub harmful: bool,
    /// What would change.
    #[serde(flatten)]
    pub preview: crate::evaluate::preview::Preview,
}

/// Why a preview could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewFailure {
    /// No sweep has completed yet: there is no organization to judge on.
    #[error("no completed sweep has recorded the organization yet; run a sweep first")]
    NoSweep,
    /// The change cannot be applied.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
