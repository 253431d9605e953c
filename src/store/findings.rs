//! Current findings and their transitions. `record_account` is the one write path: it
//! orchestrates, in one transaction, the writes of every aggregate an account's result
//! touches (its task, account row, evidence, findings, transitions, gaps, Security Hub queue
//! and totals), so a crash loses at most the account in flight.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use super::{StoreError, accounts, outbox, snapshots, sweeps, totals};
use crate::catalog::Catalog;
use crate::domain::{
    AccountId, ControlId, EventKind, FindingId, FindingRecord, Prior, Region, ResourceKind, Severity, Status, SweepId,
    transition, vanished,
};
use crate::evaluate::Evaluation;
use crate::evaluate::inputs::Incomplete;
use crate::snapshot::{Gap, OrgAccount};

/// Everything recorded for one account of one sweep.
pub struct AccountRecord<'a, E: Serialize> {
    /// The sweep.
    pub sweep: SweepId,
    /// The worker holding the task's lease.
    pub owner: &'a str,
    /// The account.
    pub account: &'a OrgAccount,
    /// Its OU path, for people.
    pub ou_path: String,
    /// Whether the role could be assumed.
    pub assessed: bool,
    /// The evidence: the snapshot, or why there is none.
    pub evidence: &'a E,
    /// The verdicts.
    pub evaluations: &'a [Evaluation],
    /// Where each control could not see everything it reads: none of its findings there is
    /// retired.
    pub incomplete: &'a Incomplete,
    /// What could not be read.
    pub gaps: Vec<&'a Gap>,
    /// Where findings go in Security Hub; `None` when delivery is off.
    pub security_hub: Option<&'a super::outbox::OutboxPolicy>,
}

/// The task was taken over by another worker (our lease expired): nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("lease on account {0} was lost to another worker")]
pub struct LeaseLost(pub AccountId);

/// What recording changed, for progress output.
#[derive(Debug, Default, Clone, Copy)]
pub struct RecordOutcome {
    /// Transitions written.
    pub events: usize,
    /// Findings queued for Security Hub.
    pub enqueued: usize,
}

/// The stored finding a new verdict is compared with.
struct Current {
    id: FindingId,
    control_id: ControlId,
    region: Option<Region>,
    status: Status,
    severity: Severity,
    detail: String,
    active: bool,
}

impl Current {
    fn prior(&self) -> Prior<'_> {
        Prior { status: self.status, severity: self.severity, detail: &self.detail, active: self.active }
    }
}

/// The account's active findings, as (control, severity, status) by id: what the totals count.
type Active<'a> = HashMap<&'a FindingId, (&'a ControlId, Severity, Status)>;

fn tally(active: &Active<'_>) -> totals::Tally {
    let mut t = totals::Tally::default();
    for (control, severity, status) in active.values() {
        t.add(control, *severity, *status);
    }
    t
}

/// Records one account: its task, account row, evidence, findings and their transitions,
/// gaps, Security Hub queue and the totals, in one transaction. Returns `Ok(Err(LeaseLost))`
/// (nothing written) when the task is no longer ours.
pub async fn record_account<E: Serialize>(
    pool: &PgPool,
    catalog: &Catalog,
    rec: &AccountRecord<'_, E>,
) -> Result<Result<RecordOutcome, LeaseLost>, StoreError> {
    let mut tx = pool.begin().await?;
    if !sweeps::hold_task(&mut tx, rec.sweep, &rec.account.id, rec.owner).await? {
        return Ok(Err(LeaseLost(rec.account.id.clone())));
    }
    let hash = snapshots::put(&mut tx, "account", rec.evidence).await?;
    accounts::upsert(&mut tx, rec.account, &rec.ou_path, rec.sweep, rec.assessed).await?;

    let current = lock_current(&mut tx, &rec.account.id).await?;
    let mut active: Active<'_> =
        current.values().filter(|c| c.active).map(|c| (&c.id, (&c.control_id, c.severity, c.status))).collect();
    let before = tally(&active);
    let verdicts = verdicts(catalog, rec.evaluations);
    let mut outcome = RecordOutcome::default();
    for v in &verdicts {
        outcome.events += write_verdict(&mut tx, rec.sweep, &hash, v, current.get(&v.id)).await?;
        active.insert(&v.id, (&v.evaluation.control_id, v.severity, v.evaluation.status));
    }
    if rec.assessed {
        let seen: HashSet<&FindingId> = verdicts.iter().map(|v| &v.id).collect();
        for gone in vanished_findings(rec, &current, &seen) {
            outcome.events += retire(&mut tx, rec.sweep, gone).await?;
            active.remove(&gone.id);
        }
    }
    sweeps::record_gaps(&mut tx, rec.sweep, &rec.account.id, &rec.gaps).await?;
    if let Some(policy) = rec.security_hub {
        outcome.enqueued = outbox::reconcile_account(&mut tx, rec.account.id.as_str(), policy, Utc::now()).await?;
    }
    sweeps::close_task(&mut tx, rec.sweep, &rec.account.id, rec.assessed, &hash).await?;
    // Last: it holds the shared total rows until the commit.
    totals::apply(&mut tx, rec.account.id.as_str(), &before, &tally(&active)).await?;
    tx.commit().await?;
    Ok(Ok(outcome))
}

/// The account's stored findings, locked, by id.
async fn lock_current(conn: &mut PgConnection, account: &AccountId) -> Result<HashMap<FindingId, Current>, StoreError> {
    // In id order, as every writer of findings rows locks them (`outbox::mark_sent`,
    // `workflow::mark_sent`): deliveries run beside sweeps, and a common order rules out
    // deadlocks between them.
    let rows = sqlx::query_as!(
        Current,
        r#"select id as "id: FindingId", control_id as "control_id: ControlId", region as "region: Region",
                  status as "status: Status", severity as "severity: Severity", detail, active
           from findings where account_id = $1
           order by id for update"#,
        account.as_str(),
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|c| (c.id.clone(), c)).collect())
}

/// One evaluation with its id and what the catalog says of its control.
struct Verdict<'a> {
    id: FindingId,
    evaluation: &'a Evaluation,
    severity: Severity,
    title: &'a str,
}

/// The evaluations as findings, the first of each id only.
fn verdicts<'a>(catalog: &'a Catalog, evaluations: &'a [Evaluation]) -> Vec<Verdict<'a>> {
    let mut seen = HashSet::new();
    evaluations
        .iter()
        .filter_map(|e| {
            let id = FindingId::of(&e.control_id, &e.account_id, e.region.as_ref(), &e.resource_id);
            let control = catalog.control(&e.control_id);
            seen.insert(id.clone()).then(|| Verdict {
                id,
                evaluation: e,
                severity: control.map_or(Severity::Medium, |c| c.severity),
                title: control.map_or(e.control_id.as_str(), |c| c.title.as_str()),
            })
        })
        .collect()
}

/// Writes one verdict and its transition from `current`; returns the events written (0 or 1).
async fn write_verdict(
    conn: &mut PgConnection,
    sweep: SweepId,
    snapshot_hash: &str,
    v: &Verdict<'_>,
    current: Option<&Current>,
) -> Result<usize, StoreError> {
    let e = v.evaluation;
    sqlx::query!(
        "insert into findings (id, control_id, account_id, region, resource_id, status, severity, title, detail,
                               active, first_seen_at, last_seen_at, status_since, last_sweep_id, snapshot_hash,
                               resource_kind)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, now(), now(), now(), $10, $11, $12)
         on conflict (id) do update set status = excluded.status, severity = excluded.severity,
           resource_kind = excluded.resource_kind,
           title = excluded.title, detail = excluded.detail, active = true, last_seen_at = now(),
           status_since = case when findings.status = excluded.status and findings.active
                               then findings.status_since else now() end,
           last_sweep_id = excluded.last_sweep_id, snapshot_hash = excluded.snapshot_hash",
        v.id.as_str(),
        e.control_id.as_str(),
        e.account_id.as_str(),
        e.region.as_ref().map(Region::as_str),
        &e.resource_id,
        e.status.as_str(),
        v.severity.as_str(),
        v.title,
        &e.detail,
        sweep.0,
        snapshot_hash,
        e.resource_kind as ResourceKind,
    )
    .execute(&mut *conn)
    .await?;
    let Some(kind) = transition(current.map(Current::prior), e.status, v.severity, &e.detail) else { return Ok(0) };
    insert_event(conn, &v.id, sweep, kind, current.map(|c| c.status), Some(e.status), &e.detail).await?;
    Ok(1)
}

/// Active findings not produced this time whose subject is really gone: only when the sweep
/// saw everything their control reads where they sit. Never in an account whose role could
/// not be assumed (the caller checks), never where a collection the control reads has a gap
/// (`Incomplete`), and never for a control that reported an error this time (it may not have
/// seen its subjects).
fn vanished_findings<'c, E: Serialize>(
    rec: &AccountRecord<'_, E>,
    current: &'c HashMap<FindingId, Current>,
    seen: &HashSet<&FindingId>,
) -> Vec<&'c Current> {
    let errored: HashSet<&ControlId> =
        rec.evaluations.iter().filter(|e| e.status == Status::Error).map(|e| &e.control_id).collect();
    current
        .values()
        .filter(|c| c.active && !seen.contains(&c.id))
        .filter(|c| !errored.contains(&c.control_id) && !rec.incomplete.covers(&c.control_id, c.region.as_ref()))
        .collect()
}

/// Marks a finding whose subject is gone inactive, with its transition; returns the events written.
async fn retire(conn: &mut PgConnection, sweep: SweepId, gone: &Current) -> Result<usize, StoreError> {
    sqlx::query!(
        "update findings set active = false, status_since = now(), last_sweep_id = $2 where id = $1",
        gone.id.as_str(),
        sweep.0,
    )
    .execute(&mut *conn)
    .await?;
    insert_event(conn, &gone.id, sweep, vanished(gone.status), Some(gone.status), None, "no longer observed").await?;
    Ok(1)
}

async fn insert_event(
    conn: &mut PgConnection,
    finding: &FindingId,
    sweep: SweepId,
    kind: EventKind,
    old: Option<Status>,
    new: Option<Status>,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query!(
        "insert into finding_events (finding_id, sweep_id, kind, old_status, new_status, detail)
         values ($1, $2, $3, $4, $5, $6)",
        finding.as_str(),
        sweep.0,
        kind.as_str(),
        old.map(Status::as_str),
        new.map(Status::as_str),
        detail,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The active findings last written by `sweep`.
pub async fn of_sweep(pool: &PgPool, sweep: SweepId) -> Result<Vec<FindingRecord>, StoreError> {
    use futures::TryStreamExt;
    sweeps::stream_findings(pool, sweep).try_collect().await
}

/// A transition as stored.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    /// The finding.
    pub finding_id: FindingId,
    /// The sweep.
    pub sweep_id: SweepId,
    /// What happened.
    pub kind: EventKind,
    /// Before.
    pub old_status: Option<Status>,
    /// After.
    pub new_status: Option<Status>,
}

/// The transitions written by `sweep`.
pub async fn events_of_sweep(pool: &PgPool, sweep: SweepId) -> Result<Vec<EventRow>, StoreError> {
    Ok(sqlx::query_as!(
        EventRow,
        r#"select finding_id as "finding_id: FindingId", sweep_id as "sweep_id: SweepId", kind as "kind: EventKind",
                  old_status as "old_status: Status", new_status as "new_status: Status"
           from finding_events where sweep_id = $1 order by id"#,
        sweep.0,
    )
    .fetch_all(pool)
    .await?)
}

/// Which findings to list; `None` means any. Only active findings are listed.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Verdict.
    pub status: Option<Status>,
    /// Control.
    pub control_id: Option<crate::domain::ControlId>,
    /// Account.
    pub account_id: Option<AccountId>,
    /// Region.
    pub region: Option<Region>,
    /// Severity of the control.
    pub severity: Option<crate::domain::Severity>,
    /// OU path prefix by name (see `accounts::AccountFilter::ou`).
    pub ou: Option<crate::domain::OuPath>,
}

/// A listed finding and the exception that suppresses it, if any.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FindingListRow {
    /// The finding.
    #[sqlx(flatten)]
    pub finding: FindingRecord,
    /// The live exception that matches it.
    pub suppressed_by: Option<uuid::Uuid>,
}

/// The order of a findings listing. Every order ends with the id, so it is total and pages
/// are stable; each has an index that serves it (migration 0004).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FindingSort {
    /// By id (the default).
    #[default]
    Id,
    /// Most severe first.
    Severity,
    /// Oldest first-seen first.
    FirstSeen,
    /// Newest first-seen first.
    FirstSeenDesc,
}

/// Where a page starts: the sort key of the last finding of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingCursor {
    /// After this id.
    Id(FindingId),
    /// After this (severity rank, id); rank 0 is critical.
    Severity(i16, FindingId),
    /// After this (first seen, id), oldest first.
    FirstSeen(DateTime<Utc>, FindingId),
    /// Before this (first seen, id), newest first.
    FirstSeenDesc(DateTime<Utc>, FindingId),
}

/// The rank `findings.severity_rank` stores: 0 for critical up to 4 for informational.
pub fn severity_rank(severity: Severity) -> i16 {
    match severity {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
        Severity::Informational => 4,
    }
}

impl FindingCursor {
    /// The cursor that continues after `row` in `sort` order.
    pub fn after(sort: FindingSort, row: &FindingRecord) -> Self {
        match sort {
            FindingSort::Id => FindingCursor::Id(row.id.clone()),
            FindingSort::Severity => FindingCursor::Severity(severity_rank(row.severity), row.id.clone()),
            FindingSort::FirstSeen => FindingCursor::FirstSeen(row.first_seen_at, row.id.clone()),
            FindingSort::FirstSeenDesc => FindingCursor::FirstSeenDesc(row.first_seen_at, row.id.clone()),
        }
    }

    /// Whether this cursor belongs to a listing in `sort` order.
    pub fn fits(&self, sort: FindingSort) -> bool {
        matches!(
            (self, sort),
            (FindingCursor::Id(_), FindingSort::Id)
                | (FindingCursor::Severity(..), FindingSort::Severity)
                | (FindingCursor::FirstSeen(..), FindingSort::FirstSeen)
                | (FindingCursor::FirstSeenDesc(..), FindingSort::FirstSeenDesc)
        )
    }
}

/// Up to `limit` active findings after `after`, filtered, in `sort` order.
///
/// The SQL holds only the conditions that are set, so each combination gets its own plan
/// (a generic `$n is null or ...` plan cannot use the indexes). Hence a runtime query, the
/// one the query macros cannot check: the integration tests run every filter and order.
pub async fn page(
    pool: &PgPool,
    filter: &FindingFilter,
    sort: FindingSort,
    after: Option<&FindingCursor>,
    limit: i64,
) -> Result<Vec<FindingListRow>, StoreError> {
    let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(format!(
        "select {}, {} as suppressed_by
         from findings f
         where f.active",
        FindingRecord::select_list("f"),
        super::exceptions::SUPPRESSED_BY
    ));
    if let Some(status) = filter.status {
        q.push(" and f.status = ").push_bind(status);
    }
    if let Some(control) = &filter.control_id {
        q.push(" and f.control_id = ").push_bind(control.clone());
    }
    if let Some(account) = &filter.account_id {
        q.push(" and f.account_id = ").push_bind(account.clone());
    }
    if let Some(region) = &filter.region {
        q.push(" and f.region = ").push_bind(region.clone());
    }
    if let Some(severity) = filter.severity {
        q.push(" and f.severity = ").push_bind(severity);
    }
    if let Some(ou) = &filter.ou {
        q.push(" and exists (select 1 from accounts a where a.id = f.account_id and (a.ou_path = ")
            .push_bind(ou.clone())
            .push(" or a.ou_path like ")
            .push_bind(ou.like_pattern())
            .push(" escape '\\'))");
    }
    match after {
        None => {}
        Some(FindingCursor::Id(id)) => {
            q.push(" and f.id > ").push_bind(id.clone());
        }
        Some(FindingCursor::Severity(rank, id)) => {
            q.push(" and (f.severity_rank, f.id) > (").push_bind(*rank).push(", ").push_bind(id.clone()).push(")");
        }
        Some(FindingCursor::FirstSeen(at, id)) => {
            q.push(" and (f.first_seen_at, f.id) > (").push_bind(*at).push(", ").push_bind(id.clone()).push(")");
        }
        Some(FindingCursor::FirstSeenDesc(at, id)) => {
            q.push(" and (f.first_seen_at, f.id) < (").push_bind(*at).push(", ").push_bind(id.clone()).push(")");
        }
    }
    q.push(match sort {
        FindingSort::Id => " order by f.id",
        FindingSort::Severity => " order by f.severity_rank, f.id",
        FindingSort::FirstSeen => " order by f.first_seen_at, f.id",
        FindingSort::FirstSeenDesc => " order by f.first_seen_at desc, f.id desc",
    });
    q.push(" limit ").push_bind(limit);
    Ok(q.build_query_as::<FindingListRow>().fetch_all(pool).await?)
}

/// The active findings of one account, by control, region and resource.
pub async fn of_account(pool: &PgPool, account: &AccountId) -> Result<Vec<FindingListRow>, StoreError> {
    Ok(super::exceptions::suppressed_by!(sqlx::query!(
        r#"select f.id as "id: FindingId", f.control_id as "control_id: ControlId",
                  f.account_id as "account_id: AccountId", f.region as "region: Region", f.resource_id,
                  f.resource_kind as "resource_kind: ResourceKind", f.status as "status: Status", f.severity as "severity: Severity", f.title, f.detail,
                  f.first_seen_at, f.last_seen_at, "# +
    )(+ r#" as "suppressed_by?"
           from findings f where f.account_id = $1 and f.active
           order by f.control_id, f.region nulls first, f.resource_id"#,
        account.as_str(),
    ))
    .map(|r| FindingListRow { finding: finding_record!(r), suppressed_by: r.suppressed_by })
    .fetch_all(pool)
    .await?)
}

/// A finding with what the API's detail view adds to the listing.
#[derive(Debug, Clone)]
pub struct FindingDetailRow {
    /// The listing fields.
    pub finding: FindingRecord,
    /// False once its subject is no longer observed.
    pub active: bool,
    /// When it entered its current status.
    pub status_since: DateTime<Utc>,
    /// The last sweep that wrote it.
    pub last_sweep_id: SweepId,
    /// The evidence: the account snapshot (or why there is none) it was judged on.
    pub evidence: Option<serde_json::Value>,
    /// The live exception that matches it.
    pub suppressed_by: Option<uuid::Uuid>,
}

/// One stored transition of a finding.
#[derive(Debug, Clone)]
pub struct TransitionRow {
    /// When.
    pub at: DateTime<Utc>,
    /// The sweep that observed it.
    pub sweep_id: SweepId,
    /// What happened.
    pub kind: EventKind,
    /// Before.
    pub old_status: Option<Status>,
    /// After.
    pub new_status: Option<Status>,
    /// The finding's detail at that time.
    pub detail: Option<String>,
}

/// One finding (active or not) with its evidence and its transitions, oldest first.
pub async fn detail(
    pool: &PgPool,
    id: &FindingId,
) -> Result<Option<(FindingDetailRow, Vec<TransitionRow>)>, StoreError> {
    let Some(row) = super::exceptions::suppressed_by!(sqlx::query!(
        r#"select f.id as "id: FindingId", f.control_id as "control_id: ControlId",
                  f.account_id as "account_id: AccountId", f.region as "region: Region", f.resource_id,
                  f.resource_kind as "resource_kind: ResourceKind", f.status as "status: Status", f.severity as "severity: Severity", f.title, f.detail,
                  f.first_seen_at, f.last_seen_at,
                  f.active, f.status_since, f.last_sweep_id as "last_sweep_id: SweepId", s.content as "evidence?", "# +
    )(+ r#" as "suppressed_by?"
           from findings f left join snapshots s on s.hash = f.snapshot_hash
           where f.id = $1"#,
        id.as_str(),
    ))
    .map(|r| FindingDetailRow {
        finding: finding_record!(r),
        active: r.active,
        status_since: r.status_since,
        last_sweep_id: r.last_sweep_id,
        evidence: r.evidence,
        suppressed_by: r.suppressed_by,
    })
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let history = sqlx::query_as!(
        TransitionRow,
        r#"select at, sweep_id as "sweep_id: SweepId", kind as "kind: EventKind", old_status as "old_status: Status",
                  new_status as "new_status: Status", detail
           from finding_events where finding_id = $1 order by id"#,
        id.as_str(),
    )
    .fetch_all(pool)
    .await?;
    Ok(Some((row, history)))
}
