//! Retention (`database.retention_days`): what grows with every sweep is pruned once it is
//! older than the retention and nothing current needs it.
//!
//! Pruned: the tasks and collection gaps of finished sweeps older than the retention
//! (the sweep rows stay, with their totals, for `GET /sweeps`), the evidence link of findings
//! retired before it, and then snapshots no sweep produced within it and nothing refers to.
//! Kept whatever their age: the newest completed sweep and everything of a sweep an active
//! finding was last recorded by, and every snapshot a finding, task or sweep refers to.
//! Finding transitions and posture points are the history: they are not pruned.
//!
//! Safe beside a running sweep: a running sweep's rows are never candidates, and every
//! step is its own statement, so no lock is held across steps. A snapshot a sweep produces
//! again while it is being pruned is either refreshed first (its `last_seen_at` is then
//! recent, and the delete re-checks it and skips it) or deleted first (the sweep's insert
//! then stores it anew).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::StoreError;

/// What one run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Snapshot rows deleted.
    pub snapshots: u64,
    /// Collection-gap rows deleted.
    pub gaps: u64,
    /// Sweep-task rows deleted.
    pub sweep_tasks: u64,
    /// Retired findings whose evidence link was dropped (their transitions stay).
    pub evidence_detached: u64,
}

/// `$sql!(head... <finished sweeps older than `$1` that nothing current needs> tail...)`:
/// the one definition of a prunable sweep, for the three statements below (a shared piece of
/// SQL: see the store's module documentation).
macro_rules! prunable_sweeps {
    ($($sql:ident)::+!($($head:tt)*) ($($tail:tt)*)) => {
        $($sql)::+!($($head)*
            "select s.id from sweeps s
             where s.status <> 'running' and coalesce(s.finished_at, s.started_at) < $1
               and s.id is distinct from (select id from sweeps where status = 'completed' order by started_at desc limit 1)
               and not exists (select 1 from findings f where f.active and f.last_sweep_id = s.id)"
            $($tail)*)
    };
}

/// Prunes what is older than `keep` (see the module documentation).
pub async fn prune(pool: &PgPool, keep: chrono::Duration) -> Result<Pruned, StoreError> {
    prune_before(pool, Utc::now() - keep).await
}

/// Prunes what is older than `cutoff`.
pub async fn prune_before(pool: &PgPool, cutoff: DateTime<Utc>) -> Result<Pruned, StoreError> {
    let gaps = prunable_sweeps!(sqlx::query!("delete from collection_gaps where sweep_id in (" +)(+ ")", cutoff))
        .execute(pool)
        .await?
        .rows_affected();
    let sweep_tasks = prunable_sweeps!(sqlx::query!("delete from sweep_tasks where sweep_id in (" +)(+ ")", cutoff))
        .execute(pool)
        .await?
        .rows_affected();
    prunable_sweeps!(sqlx::query!(
        "update sweeps set org_snapshot_hash = null where org_snapshot_hash is not null and id in (" +
    )(+ ")", cutoff))
    .execute(pool)
    .await?;
    // In id order, as every writer of findings rows locks them (see `findings::record_account`).
    let evidence_detached = sqlx::query!(
        "update findings set snapshot_hash = null where id in (
             select id from findings
             where not active and snapshot_hash is not null and status_since < $1
             order by id for update)",
        cutoff,
    )
    .execute(pool)
    .await?
    .rows_affected();
    let snapshots = sqlx::query!(
        "delete from snapshots n where n.last_seen_at < $1
           and not exists (select 1 from findings f where f.snapshot_hash = n.hash)
           and not exists (select 1 from sweep_tasks t where t.snapshot_hash = n.hash)
           and not exists (select 1 from sweeps s where s.org_snapshot_hash = n.hash)",
        cutoff,
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(Pruned { snapshots, gaps, sweep_tasks, evidence_detached })
}
