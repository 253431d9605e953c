//! The Security Hub outbox: what must be sent, decided in the same transaction that
//! records the findings, so a crash or an outage loses nothing.
//!
//! `reconcile_account` compares each finding's desired Security Hub state with the last
//! state Security Hub accepted (`findings.sh_*`) and enqueues the difference: new failing
//! findings, changed ones, resolved or vanished ones (PASSED + ARCHIVED), regressions
//! (ACTIVE again), and unchanged active findings whose heartbeat is due.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::{Executor, PgConnection, PgPool};

use super::StoreError;
use crate::domain::{
    AccountId, ComplianceStatus, ControlId, ExportFinding, FindingId, RecordState, Region, ResourceKind, Severity,
    Status, SweepId,
};

/// Where and how often findings are delivered.
#[derive(Debug, Clone)]
pub struct OutboxPolicy {
    /// The hub region.
    pub region: String,
    /// `None`: each finding goes to its own account's hub; `Some`: the central account's.
    pub central_account: Option<String>,
    /// Re-send unchanged active findings this often, so Security Hub never ages them out.
    pub heartbeat: Duration,
}

struct Row {
    id: FindingId,
    account_id: String,
    status: Status,
    active: bool,
    severity: Severity,
    title: String,
    detail: String,
    sh_record_state: Option<RecordState>,
    sh_compliance: Option<ComplianceStatus>,
    sh_content_hash: Option<String>,
    sh_updated_at: Option<DateTime<Utc>>,
    sh_sent_at: Option<DateTime<Utc>>,
    o_record_state: Option<RecordState>,
    o_compliance: Option<ComplianceStatus>,
    o_content_hash: Option<String>,
    o_updated_at: Option<DateTime<Utc>>,
}

fn content_hash(r: &Row) -> String {
    let text = format!("{}|{}|{}|{}", r.status, r.severity, r.title, r.detail);
    hex::encode(&Sha256::digest(text.as_bytes())[..12])
}

/// What Security Hub should hold for a finding, given what it holds now.
fn desired(r: &Row) -> Option<(RecordState, ComplianceStatus)> {
    let sent_active = r.sh_record_state == Some(RecordState::Active);
    match (r.active, r.status) {
        (true, Status::Fail) => Some((RecordState::Active, ComplianceStatus::Failed)),
        (true, Status::Error) => Some((RecordState::Active, ComplianceStatus::NotAvailable)),
        // Fixed, not applicable any more, or its subject is gone: resolve what we sent.
        _ if sent_active => Some((RecordState::Archived, ComplianceStatus::Passed)),
        _ => None,
    }
}

/// Removes the unsent outbox row of `r`, if it has one.
async fn drop_pending(conn: &mut PgConnection, r: &Row) -> Result<(), StoreError> {
    if r.o_updated_at.is_some() {
        sqlx::query!("delete from security_hub_outbox where finding_id = $1", r.id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Enqueues what must change in Security Hub for `account`'s findings. Returns how many
/// findings were enqueued.
pub async fn reconcile_account(
    conn: &mut PgConnection,
    account: &str,
    policy: &OutboxPolicy,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let rows = sqlx::query_as!(
        Row,
        r#"select f.id as "id: FindingId", f.account_id, f.status as "status: Status", f.active,
                  f.severity as "severity: Severity", f.title, f.detail,
                  f.sh_record_state as "sh_record_state: RecordState", f.sh_compliance as "sh_compliance: ComplianceStatus",
                  f.sh_content_hash, f.sh_updated_at, f.sh_sent_at,
                  o.record_state as "o_record_state?: RecordState", o.compliance as "o_compliance?: ComplianceStatus",
                  o.content_hash as "o_content_hash?", o.updated_at as "o_updated_at?"
           from findings f left join security_hub_outbox o on o.finding_id = f.id
           where f.account_id = $1"#,
        account,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut enqueued = 0;
    for r in rows {
        let hash = content_hash(&r);
        let Some((state, compliance)) = desired(&r) else {
            // It failed and was fixed before we sent anything: nothing to tell Security Hub.
            drop_pending(conn, &r).await?;
            continue;
        };
        let same_as_pending = r.o_record_state == Some(state)
            && r.o_compliance == Some(compliance)
            && r.o_content_hash.as_deref() == Some(hash.as_str());
        if same_as_pending {
            continue;
        }
        let same_as_sent = r.sh_record_state == Some(state)
            && r.sh_compliance == Some(compliance)
            && (state == RecordState::Archived || r.sh_content_hash.as_deref() == Some(hash.as_str()));
        let heartbeat_due = state == RecordState::Active && r.sh_sent_at.is_none_or(|t| now - t >= policy.heartbeat);
        if same_as_sent && !heartbeat_due {
            // A pending change was undone before it was sent.
            drop_pending(conn, &r).await?;
            continue;
        }
        let reason = match (r.sh_record_state, state) {
            (None, _) => "new",
            (Some(RecordState::Archived), RecordState::Active) => "reopened",
            (Some(_), RecordState::Archived) => "resolved",
            _ if same_as_sent => "heartbeat",
            _ => "changed",
        };
        // Strictly later than anything sent or queued before: Security Hub ignores an
        // update whose UpdatedAt is not later than the stored one.
        let floor =
            [r.sh_updated_at, r.o_updated_at].into_iter().flatten().max().map(|t| t + Duration::milliseconds(1));
        let updated_at = floor.map_or(now, |f| f.max(now));
        let target = policy.central_account.clone().unwrap_or_else(|| r.account_id.clone());
        sqlx::query!(
            "insert into security_hub_outbox (finding_id, target_account, target_region, record_state, compliance,
                                              content_hash, updated_at, reason, state, attempts, next_attempt_at, last_error)
             values ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, now(), null)
             on conflict (finding_id) do update set target_account = excluded.target_account,
               target_region = excluded.target_region, record_state = excluded.record_state,
               compliance = excluded.compliance, content_hash = excluded.content_hash,
               updated_at = excluded.updated_at, reason = excluded.reason, state = 'pending',
               attempts = 0, next_attempt_at = now(), last_error = null, enqueued_at = now()",
            r.id.as_str(),
            &target,
            &policy.region,
            state.as_str(),
            compliance.as_str(),
            &hash,
            updated_at,
            reason,
        )
        .execute(&mut *conn)
        .await?;
        enqueued += 1;
    }
    Ok(enqueued)
}

/// One item due for delivery, with the finding it is about.
#[derive(Debug, Clone)]
pub struct DueItem {
    /// The finding and its export fields.
    pub finding: ExportFinding,
    /// Target account.
    pub target_account: String,
    /// Target region.
    pub target_region: String,
    /// Record state to send.
    pub record_state: RecordState,
    /// Compliance to send.
    pub compliance: ComplianceStatus,
    /// Content hash of what is sent.
    pub content_hash: String,
    /// UpdatedAt to send.
    pub updated_at: DateTime<Utc>,
    /// Attempts so far.
    pub attempts: i32,
}

/// Pending items whose time has come, ordered by target so they batch well.
pub async fn due(pool: &PgPool, limit: i64) -> Result<Vec<DueItem>, StoreError> {
    Ok(sqlx::query!(
        r#"select f.id as "id: FindingId", f.control_id as "control_id: ControlId",
                  f.account_id as "account_id: AccountId", f.region as "region: Region", f.resource_id,
                  f.resource_kind as "resource_kind: ResourceKind", f.status as "status: Status", f.severity as "severity: Severity", f.title, f.detail,
                  f.first_seen_at, f.last_seen_at,
                  f.last_sweep_id as "last_sweep_id: SweepId", f.snapshot_hash, a.ou_path as "ou_path?",
                  o.target_account, o.target_region, o.record_state as "record_state: RecordState",
                  o.compliance as "compliance: ComplianceStatus", o.content_hash, o.updated_at, o.attempts
           from security_hub_outbox o
           join findings f on f.id = o.finding_id
           left join accounts a on a.id = f.account_id
           where o.state = 'pending' and o.next_attempt_at <= now()
           order by o.target_account, o.target_region, o.finding_id
           limit $1"#,
        limit,
    )
    .map(|r| DueItem {
        finding: ExportFinding {
            record: finding_record!(r),
            last_sweep_id: r.last_sweep_id,
            snapshot_hash: r.snapshot_hash,
            ou_path: r.ou_path,
        },
        target_account: r.target_account,
        target_region: r.target_region,
        record_state: r.record_state,
        compliance: r.compliance,
        content_hash: r.content_hash,
        updated_at: r.updated_at,
        attempts: r.attempts,
    })
    .fetch_all(pool)
    .await?)
}

/// Security Hub accepted these items: remember what it holds, and drop their outbox rows
/// unless a newer change replaced one meanwhile. One transaction for the whole batch.
pub async fn mark_sent(pool: &PgPool, items: &[&DueItem]) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = items.iter().map(|i| i.finding.record.id.as_str()).collect();
    let states: Vec<&str> = items.iter().map(|i| i.record_state.as_str()).collect();
    let compliance: Vec<&str> = items.iter().map(|i| i.compliance.as_str()).collect();
    let hashes: Vec<&str> = items.iter().map(|i| i.content_hash.as_str()).collect();
    let updated: Vec<DateTime<Utc>> = items.iter().map(|i| i.updated_at).collect();
    let accounts: Vec<&str> = items.iter().map(|i| i.target_account.as_str()).collect();
    let regions: Vec<&str> = items.iter().map(|i| i.target_region.as_str()).collect();
    let mut tx = pool.begin().await?;
    lock_in_id_order(&mut tx, &ids).await?;
    // A finding coming back (ARCHIVED to ACTIVE) may be a new one in Security Hub (it deletes
    // archived findings after 30 days), with its workflow reset: forget which exception we
    // suppressed it for, so a live one is sent again.
    sqlx::query!(
        "update findings f set sh_record_state = s.state, sh_compliance = s.compliance, sh_content_hash = s.hash,
                sh_updated_at = s.updated_at, sh_sent_at = now(), sh_target_account = s.account,
                sh_target_region = s.region,
                sh_workflow_exception = case when f.sh_record_state = 'ARCHIVED' and s.state = 'ACTIVE'
                                             then null else f.sh_workflow_exception end
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[])
              as s(id, state, compliance, hash, updated_at, account, region)
         where f.id = s.id and (f.sh_updated_at is null or f.sh_updated_at < s.updated_at)",
        ids.as_slice() as &[&str],
        states.as_slice() as &[&str],
        compliance.as_slice() as &[&str],
        hashes.as_slice() as &[&str],
        &updated,
        accounts.as_slice() as &[&str],
        regions.as_slice() as &[&str],
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from security_hub_outbox o using unnest($1::text[], $2::timestamptz[]) as s(id, updated_at)
         where o.finding_id = s.id and o.updated_at = s.updated_at",
        ids.as_slice() as &[&str],
        &updated,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Locks these findings rows in id order, the order `findings::record_account` uses, so a
/// delivery beside a sweep cannot deadlock with it.
pub(crate) async fn lock_in_id_order(conn: &mut PgConnection, ids: &[&str]) -> Result<(), StoreError> {
    // Executed, not fetched: the rows are locked and their ids dropped.
    conn.execute(sqlx::query_scalar!(
        "select id from findings where id = any($1) order by id for update",
        ids as &[&str]
    ))
    .await?;
    Ok(())
}

/// How long a deferred Security Hub request waits after `attempts` earlier tries: doubling
/// from `base`, at most a day. Shared by the import and the workflow outboxes.
pub(crate) fn retry_delay(attempts: i32, base: Duration) -> Duration {
    let exp = attempts.clamp(0, 10) as u32;
    (base * 2_i32.pow(exp)).min(Duration::hours(24))
}

/// A failure that will not heal by retrying (InvalidInput): kept, visible, not retried.
pub async fn mark_failed(pool: &PgPool, item: &DueItem, error: &str) -> Result<(), StoreError> {
    sqlx::query!(
        "update security_hub_outbox set state = 'failed', attempts = attempts + 1, last_error = $3
         where finding_id = $1 and updated_at = $2",
        item.finding.record.id.as_str(),
        item.updated_at,
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Try again later (throttled out, hub not enabled, a 5xx): exponential backoff, capped.
pub async fn defer(pool: &PgPool, item: &DueItem, error: &str, base: Duration) -> Result<(), StoreError> {
    let delay = retry_delay(item.attempts, base);
    sqlx::query!(
        "update security_hub_outbox set attempts = attempts + 1, last_error = $3, next_attempt_at = now() + $4
         where finding_id = $1 and updated_at = $2",
        item.finding.record.id.as_str(),
        item.updated_at,
        error,
        delay as Duration,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Records whether a target's hub is usable.
pub async fn set_target_status(
    pool: &PgPool,
    account: &str,
    region: &str,
    status: &str,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query!(
        "insert into security_hub_targets (account_id, region, status, detail, checked_at) values ($1, $2, $3, $4, now())
         on conflict (account_id, region) do update set status = excluded.status, detail = excluded.detail, checked_at = now()",
        account,
        region,
        status,
        detail,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// (pending, failed) outbox rows.
pub async fn backlog(pool: &PgPool) -> Result<(i64, i64), StoreError> {
    Ok(sqlx::query!(
        r#"select count(*) filter (where state = 'pending') as "pending!", count(*) filter (where state = 'failed') as "failed!"
           from security_hub_outbox"#
    )
    .map(|r| (r.pending, r.failed))
    .fetch_one(pool)
    .await?)
}

/// Targets whose hub is not usable, as (account, region, status).
pub async fn unusable_targets(pool: &PgPool) -> Result<Vec<(String, String, String)>, StoreError> {
    Ok(sqlx::query!("select account_id, region, status from security_hub_targets where status <> 'ok' order by 1, 2")
        .map(|r| (r.account_id, r.region, r.status))
        .fetch_all(pool)
        .await?)
}
