//! Reads only the dashboard makes: the OU tree's counts, what a sweep changed, an account's
//! collection gaps, a finding's Security Hub state, the evidence export as of a sweep, and the
//! search box's lookups; and the sessions ended by signing out. The API's reads are in the
//! aggregate files; these are kept apart because they shape data for pages, not for the JSON
//! contract.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::StoreError;
use crate::domain::{AccountId, EventKind, FindingId, Severity, Status, SweepId};

/// Accounts under one OU path (exactly that path, not below it).
#[derive(Debug, Clone)]
pub struct OuCount {
    /// The path by name, e.g. `Root/Workloads/Prod`.
    pub ou_path: String,
    /// Accounts directly in it.
    pub accounts: i64,
    /// Of those, with failing findings.
    pub failing: i64,
    /// Of those, not assessed by their last sweep (or never).
    pub not_assessed: i64,
}

/// Every OU path that holds accounts, with counts, by path.
pub async fn ou_counts(pool: &PgPool) -> Result<Vec<OuCount>, StoreError> {
    Ok(sqlx::query_as!(
        OuCount,
        r#"select ou_path as "ou_path!", count(*) as "accounts!",
                  count(*) filter (where failing_count > 0) as "failing!",
                  count(*) filter (where assessed is not true) as "not_assessed!"
           from accounts group by ou_path order by ou_path"#
    )
    .fetch_all(pool)
    .await?)
}

/// How many transitions of each kind `sweep` wrote.
pub async fn changes_of_sweep(pool: &PgPool, sweep: SweepId) -> Result<Vec<(EventKind, i64)>, StoreError> {
    let rows = sqlx::query!(
        r#"select kind as "kind: EventKind", count(*) as "n!" from finding_events where sweep_id = $1 group by kind"#,
        sweep.0
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.kind, r.n)).collect())
}

/// A finding a sweep moved.
#[derive(Debug, Clone)]
pub struct ChangedFinding {
    /// The finding.
    pub finding_id: FindingId,
    /// What happened to it.
    pub kind: EventKind,
    /// Its control.
    pub control_id: String,
    /// Its account.
    pub account_id: String,
    /// Its subject.
    pub resource_id: String,
    /// Its severity.
    pub severity: Severity,
}

/// Up to `limit` findings `sweep` opened, regressed, reopened or resolved: most severe first.
pub async fn moved_by_sweep(pool: &PgPool, sweep: SweepId, limit: i64) -> Result<Vec<ChangedFinding>, StoreError> {
    Ok(sqlx::query_as!(
        ChangedFinding,
        r#"select e.finding_id as "finding_id: FindingId", e.kind as "kind: EventKind", f.control_id,
                  f.account_id, f.resource_id, f.severity as "severity: Severity"
           from finding_events e join findings f on f.id = e.finding_id
           where e.sweep_id = $1 and e.kind in ('opened', 'regressed', 'reopened', 'resolved')
           order by f.severity_rank, e.kind, e.id
           limit $2"#,
        sweep.0,
        limit
    )
    .fetch_all(pool)
    .await?)
}

/// A collection that failed: what the account's findings could not look at.
#[derive(Debug, Clone)]
pub struct GapRow {
    /// The region, for regional calls.
    pub region: Option<String>,
    /// The AWS service.
    pub service: String,
    /// The operation.
    pub operation: String,
    /// The error code.
    pub code: String,
    /// The error message.
    pub message: String,
}

/// The collection gaps `sweep` recorded for `account`.
pub async fn gaps(pool: &PgPool, sweep: SweepId, account: &AccountId) -> Result<Vec<GapRow>, StoreError> {
    Ok(sqlx::query_as!(
        GapRow,
        "select region, service, operation, code, message from collection_gaps
         where sweep_id = $1 and account_id = $2 order by service, operation, region nulls first",
        sweep.0,
        account.as_str()
    )
    .fetch_all(pool)
    .await?)
}

/// Where a finding stands in Security Hub, as this service last set it and what it still
/// has to send.
#[derive(Debug, Clone, Default)]
pub struct HubState {
    /// The record state of the last accepted import (`ACTIVE`, `ARCHIVED`); none: never imported.
    pub record_state: Option<String>,
    /// Its compliance status then.
    pub compliance: Option<String>,
    /// When it was accepted.
    pub sent_at: Option<DateTime<Utc>>,
    /// The account and region holding it.
    pub target: Option<(String, String)>,
    /// The workflow status this service last set (`SUPPRESSED`, `NEW`).
    pub workflow: Option<String>,
    /// The exception behind a suppression.
    pub workflow_exception: Option<uuid::Uuid>,
    /// An import waiting to be sent: `pending` or `failed`, attempts, last error.
    pub import_queued: Option<(String, i32, Option<String>)>,
    /// A workflow update waiting to be sent: the status, `pending` or `failed`, last error.
    pub workflow_queued: Option<(String, String, Option<String>)>,
}

/// The Security Hub state of `finding`, or `None` when there is no such finding.
pub async fn security_hub_state(pool: &PgPool, finding: &FindingId) -> Result<Option<HubState>, StoreError> {
    let row = sqlx::query!(
        r#"select f.sh_record_state, f.sh_compliance, f.sh_sent_at, f.sh_target_account, f.sh_target_region,
                  f.sh_workflow, f.sh_workflow_exception,
                  o.state as "import_state?", o.attempts as "import_attempts?", o.last_error as "import_error?",
                  w.workflow as "queued_workflow?", w.state as "workflow_state?", w.last_error as "workflow_error?"
           from findings f
           left join security_hub_outbox o on o.finding_id = f.id
           left join security_hub_workflow_outbox w on w.finding_id = f.id
           where f.id = $1"#,
        finding.as_str()
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| HubState {
        record_state: r.sh_record_state,
        compliance: r.sh_compliance,
        sent_at: r.sh_sent_at,
        target: r.sh_target_account.zip(r.sh_target_region),
        workflow: r.sh_workflow,
        workflow_exception: r.sh_workflow_exception,
        import_queued: r.import_state.zip(r.import_attempts).map(|(s, a)| (s, a, r.import_error)),
        workflow_queued: r.queued_workflow.zip(r.workflow_state).map(|(w, s)| (w, s, r.workflow_error)),
    }))
}

/// The organization snapshot `sweep` judged on, if it recorded one.
pub async fn org_snapshot_of(pool: &PgPool, sweep: SweepId) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar!("select org_snapshot_hash from sweeps where id = $1", sweep.0)
        .fetch_optional(pool)
        .await?
        .flatten())
}

/// One line of the evidence export: a finding as it stood after a sweep.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvidenceLine {
    /// The control.
    pub control_id: String,
    /// The account.
    pub account_id: String,
    /// The region; none for account-wide subjects.
    pub region: Option<String>,
    /// The subject.
    pub resource_id: String,
    /// The verdict then.
    pub status: Status,
    /// Why, as recorded then.
    pub detail: Option<String>,
    /// When it was first observed.
    #[serde(serialize_with = "crate::domain::rfc3339")]
    pub first_seen_at: DateTime<Utc>,
    /// The SHA-256 of the account snapshot the sweep judged (the stored evidence).
    pub evidence_hash: Option<String>,
}

/// Every finding as it stood once `sweep` had recorded it (the last transition written by
/// that sweep or an earlier one: transitions are written only on a change), subjects gone by
/// then left out; by control, account, region and resource.
///
/// A verdict is only as of `sweep` where `sweep` judged it. For an account `sweep` could not
/// assess, what it still judged (BR.COV.1, the organization-policy controls, read from the
/// organization) stands; any other line says `error` and names the last verdict made (it is
/// not carried forward as current). Which lines `sweep` judged is known exactly for the
/// newest sweep (`findings.last_sweep_id`) and, for older ones, where its verdict changed
/// (the transition it wrote); an older sweep's unchanged verdicts there say `error` too. The evidence hash is that sweep's record of the
/// account; retention removes old sweeps' records, so it is empty for those.
pub async fn evidence_as_of(pool: &PgPool, sweep: SweepId) -> Result<Vec<EvidenceLine>, StoreError> {
    Ok(sqlx::query_as!(
        EvidenceLine,
        r#"with chosen as (select started_at from sweeps where id = $1),
                latest as (
                  select distinct on (e.finding_id) e.finding_id, e.new_status, e.detail, e.sweep_id,
                         min(e.at) over (partition by e.finding_id) as first_at
                  from finding_events e join sweeps es on es.id = e.sweep_id, chosen
                  where es.started_at <= chosen.started_at
                  order by e.finding_id, e.id desc)
           select f.control_id, f.account_id, f.region, f.resource_id,
                  case when t.assessed is false and l.sweep_id <> $1 and f.last_sweep_id <> $1
                       then 'error' else l.new_status end as "status!: Status",
                  case when t.assessed is false and l.sweep_id <> $1 and f.last_sweep_id <> $1
                       then 'The account was not assessed by this sweep; the last verdict made was '
                            || l.new_status || ': ' || coalesce(l.detail, '')
                       else l.detail end as "detail",
                  l.first_at as "first_seen_at!", t.snapshot_hash as "evidence_hash?"
           from latest l
           join findings f on f.id = l.finding_id
           left join sweep_tasks t on t.sweep_id = $1 and t.account_id = f.account_id
           where l.new_status is not null
           order by f.control_id, f.account_id, f.region nulls first, f.resource_id"#,
        sweep.0
    )
    .fetch_all(pool)
    .await?)
}

/// The most recent completed sweeps, newest first: (id, started, accounts recorded).
pub async fn completed_sweeps(pool: &PgPool, limit: i64) -> Result<Vec<(SweepId, DateTime<Utc>, i32)>, StoreError> {
    let rows = sqlx::query!(
        r#"select id as "id: SweepId", started_at, accounts_total from sweeps
           where status = 'completed' order by started_at desc limit $1"#,
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.started_at, r.accounts_total)).collect())
}

/// Records that the session with `nonce` was signed out (until `expires_at`, when its cookie
/// stops being accepted anyway), and forgets sessions whose cookies have expired.
pub async fn revoke_session(pool: &PgPool, nonce: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query!("delete from revoked_sessions where expires_at < now()").execute(&mut *tx).await?;
    sqlx::query!(
        "insert into revoked_sessions (nonce, expires_at) values ($1, $2) on conflict (nonce) do nothing",
        nonce,
        expires_at
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the session with `nonce` was signed out.
pub async fn session_revoked(pool: &PgPool, nonce: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar!(r#"select exists (select 1 from revoked_sessions where nonce = $1) as "revoked!""#, nonce)
        .fetch_one(pool)
        .await?)
}

/// Accounts whose name contains `text` (any case) or whose id is `text`: id, name, OU path.
pub async fn accounts_matching(
    pool: &PgPool,
    text: &str,
    limit: i64,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut pattern = String::from("%");
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    let rows = sqlx::query!(
        r"select id, name, ou_path from accounts where id = $1 or name ilike $2 escape '\' order by name, id limit $3",
        text,
        pattern,
        limit
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name, r.ou_path)).collect())
}

/// A finding about a resource, for the search box.
#[derive(Debug, Clone)]
pub struct ResourceFinding {
    /// The finding.
    pub id: FindingId,
    /// Its control.
    pub control_id: String,
    /// Its account.
    pub account_id: String,
    /// Its verdict.
    pub status: Status,
}

/// The active findings whose subject is `resource` exactly.
pub async fn findings_on_resource(
    pool: &PgPool,
    resource: &str,
    limit: i64,
) -> Result<Vec<ResourceFinding>, StoreError> {
    Ok(sqlx::query_as!(
        ResourceFinding,
        r#"select id as "id: FindingId", control_id, account_id, status as "status: Status"
           from findings where resource_id = $1 and active order by control_id, account_id limit $2"#,
        resource,
        limit
    )
    .fetch_all(pool)
    .await?)
}
