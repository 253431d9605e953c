//! Current findings and their transitions. `record_account` is the one write path: it
//! stores an account's evidence, findings, transitions and gaps, and closes its task, all
//! in one transaction, so a crash loses at most the account in flight.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{StoreError, snapshots, totals};
use crate::catalog::Catalog;
use crate::domain::{AccountId, ControlId, Region, Status, SweepId};
use crate::evaluate::Evaluation;
use crate::evaluate::inputs::Incomplete;
use crate::snapshot::{Gap, OrgAccount};

/// The stable id of a finding: control × account × region × resource.
pub fn finding_id(e: &Evaluation) -> String {
    let key =
        format!("{}|{}|{}|{}", e.control_id, e.account_id, e.region.as_ref().map_or("", Region::as_str), e.resource_id);
    hex::encode(&Sha256::digest(key.as_bytes())[..16])
}

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

#[derive(sqlx::FromRow)]
struct Current {
    id: String,
    control_id: String,
    region: Option<String>,
    status: String,
    severity: String,
    detail: String,
    active: bool,
}

/// Records one account. Returns `Ok(Err(LeaseLost))` when the task is no longer ours.
pub async fn record_account<E: Serialize>(
    pool: &PgPool,
    catalog: &Catalog,
    rec: &AccountRecord<'_, E>,
) -> Result<Result<RecordOutcome, LeaseLost>, StoreError> {
    let mut tx = pool.begin().await?;
    let ours: Option<(String,)> = sqlx::query_as(
        "select account_id from sweep_tasks
         where sweep_id = $1 and account_id = $2 and lease_owner = $3 and state = 'running' for update",
    )
    .bind(rec.sweep)
    .bind(&rec.account.id)
    .bind(rec.owner)
    .fetch_optional(&mut *tx)
    .await?;
    if ours.is_none() {
        return Ok(Err(LeaseLost(rec.account.id.clone())));
    }

    let hash = snapshots::put(&mut tx, "account", rec.evidence).await?;
    sqlx::query(
        "insert into accounts (id, name, email, status, parent_id, ou_path, last_sweep_id, last_assessed_at, assessed, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, case when $8 then now() end, $8, now())
         on conflict (id) do update set name = excluded.name, email = excluded.email, status = excluded.status,
           parent_id = excluded.parent_id, ou_path = excluded.ou_path, last_sweep_id = excluded.last_sweep_id,
           last_assessed_at = coalesce(excluded.last_assessed_at, accounts.last_assessed_at),
           assessed = excluded.assessed, updated_at = now()",
    )
    .bind(&rec.account.id)
    .bind(&rec.account.name)
    .bind(&rec.account.email)
    .bind(&rec.account.status)
    .bind(&rec.account.parent_id)
    .bind(&rec.ou_path)
    .bind(rec.sweep)
    .bind(rec.assessed)
    .execute(&mut *tx)
    .await?;

    let current: Vec<Current> = sqlx::query_as(
        // In id order, as every writer of findings rows locks them (`outbox::mark_sent`,
        // `workflow::mark_sent`): deliveries run beside sweeps, and a common order rules out
        // deadlocks between them.
        "select id, control_id, region, status, severity, detail, active from findings where account_id = $1
         order by id for update",
    )
    .bind(&rec.account.id)
    .fetch_all(&mut *tx)
    .await?;
    let current: HashMap<String, Current> = current.into_iter().map(|c| (c.id.clone(), c)).collect();
    // The account's active findings after this record, as (control, severity, status) by id:
    // the totals move by the difference from `current`.
    let mut after: HashMap<&str, (&str, &str, &str)> = current
        .values()
        .filter(|c| c.active)
        .map(|c| (c.id.as_str(), (c.control_id.as_str(), c.severity.as_str(), c.status.as_str())))
        .collect();
    let ids: Vec<String> = rec.evaluations.iter().map(finding_id).collect();

    let mut outcome = RecordOutcome::default();
    let mut seen = HashSet::new();
    for (e, id) in rec.evaluations.iter().zip(&ids) {
        if !seen.insert(id.clone()) {
            continue;
        }
        let control = catalog.control(&e.control_id);
        let severity = control.map_or("medium", |c| c.severity.as_str());
        let title = control.map_or(e.control_id.as_str(), |c| c.title.as_str());
        let status = e.status.as_str();
        let event = match current.get(id) {
            None => Some((if e.status == Status::Fail { "opened" } else { "first_seen" }, None)),
            Some(c) => transition(c, e.status, severity, &e.detail).map(|k| (k, Some(c.status.clone()))),
        };
        sqlx::query(
            "insert into findings (id, control_id, account_id, region, resource_id, status, severity, title, detail,
                                   active, first_seen_at, last_seen_at, status_since, last_sweep_id, snapshot_hash)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, now(), now(), now(), $10, $11)
             on conflict (id) do update set status = excluded.status, severity = excluded.severity,
               title = excluded.title, detail = excluded.detail, active = true, last_seen_at = now(),
               status_since = case when findings.status = excluded.status and findings.active
                                   then findings.status_since else now() end,
               last_sweep_id = excluded.last_sweep_id, snapshot_hash = excluded.snapshot_hash",
        )
        .bind(id)
        .bind(&e.control_id)
        .bind(&e.account_id)
        .bind(&e.region)
        .bind(&e.resource_id)
        .bind(status)
        .bind(severity)
        .bind(title)
        .bind(&e.detail)
        .bind(rec.sweep)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        if let Some((kind, old)) = event {
            insert_event(&mut tx, id, rec.sweep, kind, old.as_deref(), Some(status), &e.detail).await?;
            outcome.events += 1;
        }
        after.insert(id.as_str(), (e.control_id.as_str(), severity, status));
    }

    // Findings not produced this time: their subject is gone, but only if the sweep saw
    // everything their control reads, where they sit. Never in an account whose role could not
    // be assumed, never where a collection the control reads has a gap (`Incomplete`), and
    // never for a control that reported an error this time (it may not have seen its subjects).
    if rec.assessed {
        let errored: HashSet<&str> =
            rec.evaluations.iter().filter(|e| e.status == Status::Error).map(|e| e.control_id.as_str()).collect();
        for c in current.values().filter(|c| c.active && !seen.contains(&c.id)) {
            if errored.contains(c.control_id.as_str()) || !seen_whole(rec.incomplete, c) {
                continue;
            }
            sqlx::query("update findings set active = false, status_since = now(), last_sweep_id = $2 where id = $1")
                .bind(&c.id)
                .bind(rec.sweep)
                .execute(&mut *tx)
                .await?;
            let kind = if c.status == "fail" { "resolved" } else { "retired" };
            insert_event(&mut tx, &c.id, rec.sweep, kind, Some(&c.status), None, "no longer observed").await?;
            outcome.events += 1;
            after.remove(c.id.as_str());
        }
    }

    for g in &rec.gaps {
        sqlx::query(
            "insert into collection_gaps (sweep_id, account_id, region, service, operation, code, message)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(rec.sweep)
        .bind(&rec.account.id)
        .bind(&g.region)
        .bind(&g.service)
        .bind(&g.operation)
        .bind(&g.code)
        .bind(&g.message)
        .execute(&mut *tx)
        .await?;
    }

    if let Some(policy) = rec.security_hub {
        outcome.enqueued =
            super::outbox::reconcile_account(&mut tx, rec.account.id.as_str(), policy, Utc::now()).await?;
    }

    sqlx::query(
        "update sweep_tasks set state = 'done', assessed = $3, snapshot_hash = $4, finished_at = now(),
                lease_owner = null, lease_expires_at = null
         where sweep_id = $1 and account_id = $2",
    )
    .bind(rec.sweep)
    .bind(&rec.account.id)
    .bind(rec.assessed)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;

    let mut before_tally = totals::Tally::default();
    for c in current.values().filter(|c| c.active) {
        before_tally.add(&c.control_id, &c.severity, &c.status);
    }
    let mut after_tally = totals::Tally::default();
    for (control, severity, status) in after.values() {
        after_tally.add(control, severity, status);
    }
    // Last: it holds the shared total rows until the commit.
    totals::apply(&mut tx, rec.account.id.as_str(), &before_tally, &after_tally).await?;
    tx.commit().await?;
    Ok(Ok(outcome))
}

/// Whether everything the finding's control reads was collected where the finding sits. A
/// stored id or region that no longer parses is treated as unseen: keep the finding.
fn seen_whole(incomplete: &Incomplete, c: &Current) -> bool {
    let Ok(control) = ControlId::parse(&c.control_id) else { return false };
    let region = match c.region.as_deref().map(Region::parse) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(_)) => return false,
    };
    !incomplete.covers(&control, region.as_ref())
}

/// The transition from the stored finding to the new verdict, if any.
fn transition(current: &Current, new: Status, severity: &str, detail: &str) -> Option<&'static str> {
    let old = current.status.as_str();
    let new = new.as_str();
    if !current.active {
        return Some(if new == "fail" { "reopened" } else { "first_seen" });
    }
    match (old, new) {
        (o, n) if o == n => (current.detail != detail || current.severity != severity).then_some("changed"),
        ("fail", "pass" | "not_applicable") => Some("resolved"),
        ("pass" | "not_applicable", "fail") => Some("regressed"),
        _ => Some("changed"),
    }
}

async fn insert_event(
    conn: &mut sqlx::PgConnection,
    finding: &str,
    sweep: SweepId,
    kind: &str,
    old: Option<&str>,
    new: Option<&str>,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into finding_events (finding_id, sweep_id, kind, old_status, new_status, detail)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(finding)
    .bind(sweep)
    .bind(kind)
    .bind(old)
    .bind(new)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// A finding as the CLI and API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FindingRow {
    /// Stable id.
    pub id: String,
    /// The control.
    pub control_id: String,
    /// The account.
    pub account_id: String,
    /// The region; `None` for account- or organization-wide controls.
    pub region: Option<String>,
    /// The resource.
    pub resource_id: String,
    /// `pass`, `fail`, `error`, `not_applicable`.
    pub status: String,
    /// The control's severity.
    pub severity: String,
    /// The control's title.
    pub title: String,
    /// One sentence.
    pub detail: String,
    /// First observed.
    pub first_seen_at: DateTime<Utc>,
    /// Last observed.
    pub last_seen_at: DateTime<Utc>,
}

/// The active findings last written by `sweep`.
pub async fn of_sweep(pool: &PgPool, sweep: SweepId) -> Result<Vec<FindingRow>, StoreError> {
    Ok(sqlx::query_as(
        "select id, control_id, account_id, region, resource_id, status, severity, title, detail, first_seen_at, last_seen_at
         from findings where last_sweep_id = $1 and active
         order by control_id, account_id, region nulls first, resource_id",
    )
    .bind(sweep)
    .fetch_all(pool)
    .await?)
}

/// A transition as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventRow {
    /// The finding.
    pub finding_id: String,
    /// The sweep.
    pub sweep_id: SweepId,
    /// What happened.
    pub kind: String,
    /// Before.
    pub old_status: Option<String>,
    /// After.
    pub new_status: Option<String>,
}

/// The transitions written by `sweep`.
pub async fn events_of_sweep(pool: &PgPool, sweep: SweepId) -> Result<Vec<EventRow>, StoreError> {
    Ok(sqlx::query_as(
        "select finding_id, sweep_id, kind, old_status, new_status from finding_events where sweep_id = $1 order by id",
    )
    .bind(sweep)
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
    pub ou: Option<String>,
}

/// A listed finding and the exception that suppresses it, if any.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FindingListRow {
    /// The finding.
    #[sqlx(flatten)]
    pub finding: FindingRow,
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
    Id(String),
    /// After this (severity rank, id); rank 0 is critical.
    Severity(i16, String),
    /// After this (first seen, id), oldest first.
    FirstSeen(DateTime<Utc>, String),
    /// Before this (first seen, id), newest first.
    FirstSeenDesc(DateTime<Utc>, String),
}

/// The rank `findings.severity_rank` stores: 0 for critical up to 4 for informational.
pub fn severity_rank(severity: &str) -> i16 {
    match severity {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    }
}

impl FindingCursor {
    /// The cursor that continues after `row` in `sort` order.
    pub fn after(sort: FindingSort, row: &FindingRow) -> Self {
        match sort {
            FindingSort::Id => FindingCursor::Id(row.id.clone()),
            FindingSort::Severity => FindingCursor::Severity(severity_rank(&row.severity), row.id.clone()),
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
/// (a generic `$n is null or ...` plan cannot use the indexes).
pub async fn page(
    pool: &PgPool,
    filter: &FindingFilter,
    sort: FindingSort,
    after: Option<&FindingCursor>,
    limit: i64,
) -> Result<Vec<FindingListRow>, StoreError> {
    let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(format!(
        "select f.id, f.control_id, f.account_id, f.region, f.resource_id, f.status, f.severity, f.title, f.detail,
                f.first_seen_at, f.last_seen_at, {} as suppressed_by
         from findings f
         where f.active",
        super::exceptions::SUPPRESSED_BY.as_str()
    ));
    if let Some(status) = filter.status {
        q.push(" and f.status = ").push_bind(status.as_str());
    }
    if let Some(control) = &filter.control_id {
        q.push(" and f.control_id = ").push_bind(control.as_str().to_owned());
    }
    if let Some(account) = &filter.account_id {
        q.push(" and f.account_id = ").push_bind(account.as_str().to_owned());
    }
    if let Some(region) = &filter.region {
        q.push(" and f.region = ").push_bind(region.as_str().to_owned());
    }
    if let Some(severity) = filter.severity {
        q.push(" and f.severity = ").push_bind(severity.as_str());
    }
    if let Some(ou) = &filter.ou {
        q.push(" and exists (select 1 from accounts a where a.id = f.account_id and (a.ou_path = ")
            .push_bind(ou.clone())
            .push(" or a.ou_path like ")
            .push_bind(super::accounts::under_ou_pattern(ou))
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

/// A finding with what the API's detail view adds to the listing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FindingDetailRow {
    /// The listing fields.
    #[sqlx(flatten)]
    pub finding: FindingRow,
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
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransitionRow {
    /// When.
    pub at: DateTime<Utc>,
    /// The sweep that observed it.
    pub sweep_id: SweepId,
    /// `opened`, `resolved`, `regressed`, ...
    pub kind: String,
    /// Before.
    pub old_status: Option<String>,
    /// After.
    pub new_status: Option<String>,
    /// The finding's detail at that time.
    pub detail: Option<String>,
}

/// One finding (active or not) with its evidence and its transitions, oldest first.
pub async fn detail(pool: &PgPool, id: &str) -> Result<Option<(FindingDetailRow, Vec<TransitionRow>)>, StoreError> {
    let Some(row) = sqlx::query_as::<_, FindingDetailRow>(sqlx::AssertSqlSafe(format!(
        "select f.id, f.control_id, f.account_id, f.region, f.resource_id, f.status, f.severity, f.title, f.detail,
                f.first_seen_at, f.last_seen_at, f.active, f.status_since, f.last_sweep_id, s.content as evidence,
                {} as suppressed_by
         from findings f left join snapshots s on s.hash = f.snapshot_hash
         where f.id = $1",
        super::exceptions::SUPPRESSED_BY.as_str()
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let history = sqlx::query_as::<_, TransitionRow>(
        "select at, sweep_id, kind, old_status, new_status, detail from finding_events where finding_id = $1 order by id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(Some((row, history)))
}
