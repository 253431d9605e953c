//! Exceptions in Security Hub: the workflow outbox.
//!
//! A finding Security Hub holds that a live exception suppresses should have
//! Workflow.Status = SUPPRESSED, with a note naming the exception; once the exception expires
//! or is withdrawn it goes back to NEW. Security Hub resets a suppressed workflow on nothing
//! (only NOTIFIED and RESOLVED go back to NEW on a regression), so a lifted exception must be
//! sent, or the finding would stay hidden for good.
//!
//! [`reconcile`] decides what must change and writes it here; `export::workflow` sends it with
//! BatchUpdateFindings and calls [`mark_sent`] for what Security Hub processed. Only workflows
//! this service set are ever changed back: a customer's own triage (NOTIFIED, RESOLVED) of a
//! finding no exception covers is left alone. Expiry needs no job: every reconcile compares
//! against the exceptions live at that moment.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::StoreError;
use crate::domain::{RecordState, truncate};

/// BatchUpdateFindings limits Note.Text to 512 characters.
const MAX_NOTE: usize = 512;

/// A workflow status this service sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workflow {
    /// Hidden as an accepted risk.
    Suppressed,
    /// Back to untriaged.
    New,
}

impl Workflow {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Workflow::Suppressed => "SUPPRESSED",
            Workflow::New => "NEW",
        }
    }
}

/// What Security Hub holds for one finding, and the exception that covers it now.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The finding.
    pub id: String,
    /// Its account.
    pub account_id: String,
    /// The record state Security Hub last accepted.
    pub sh_record_state: RecordState,
    /// Where Security Hub holds it (null before migration 0005 recorded it).
    pub sh_target_account: Option<String>,
    /// Its hub region.
    pub sh_target_region: Option<String>,
    /// The workflow we last set.
    pub sh_workflow: Option<String>,
    /// The exception behind the suppression we last set.
    pub sh_workflow_exception: Option<uuid::Uuid>,
    /// The live exception that suppresses it now.
    pub exception_id: Option<uuid::Uuid>,
    /// That exception's reason.
    pub exception_reason: Option<String>,
    /// That exception's expiry.
    pub exception_expires_at: Option<DateTime<Utc>>,
}

/// The update one finding needs, if any: (workflow, exception, note).
///
/// Only findings Security Hub shows as ACTIVE are updated: an archived one is hidden anyway,
/// and may already be deleted (after 30 days), so an update could never be processed. Its
/// workflow is settled when it comes back: the import that reopens it forgets the exception
/// it was suppressed for (`outbox::mark_sent`), and the same delivery then suppresses it
/// again or lifts the suppression.
pub fn decide(c: &Candidate) -> Option<(Workflow, Option<uuid::Uuid>, String)> {
    if c.sh_record_state != RecordState::Active {
        return None;
    }
    let suppressed_by_us = c.sh_workflow.as_deref() == Some("SUPPRESSED");
    match c.exception_id {
        Some(exception) if suppressed_by_us && c.sh_workflow_exception == Some(exception) => None,
        Some(exception) => {
            let until = c.exception_expires_at.map_or_else(String::new, |t| {
                format!(" until {}", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            });
            let reason = c.exception_reason.as_deref().unwrap_or("");
            let note =
                truncate(&format!("Accepted risk: bedrock-sweeper exception {exception}{until}: {reason}"), MAX_NOTE);
            Some((Workflow::Suppressed, Some(exception), note))
        }
        None if suppressed_by_us => {
            let was = c.sh_workflow_exception.map_or_else(String::new, |e| format!(" {e}"));
            let note = format!(
                "bedrock-sweeper exception{was} no longer applies (expired, withdrawn or narrowed): not suppressed any more"
            );
            Some((Workflow::New, None, truncate(&note, MAX_NOTE)))
        }
        // Never suppressed by us: the customer's own workflow is left alone.
        None => None,
    }
}

/// Where the hub of a finding is, when Security Hub's answer did not record it: the same
/// place the import outbox would send it to.
#[derive(Debug, Clone)]
pub struct DefaultTarget {
    /// The hub region.
    pub region: String,
    /// The central account, if findings go to one.
    pub central_account: Option<String>,
}

/// Enqueues the workflow changes that the live exceptions call for. Returns how many.
pub async fn reconcile(pool: &PgPool, target: &DefaultTarget) -> Result<usize, StoreError> {
    // Candidates: findings in Security Hub that we suppressed, or of a control that has a
    // live exception; each with the oldest live exception covering it (one join, not a
    // lookup per finding: broad exceptions can cover a large share of the findings).
    let candidates = super::exceptions::covers!(
        "a.ou_path",
        sqlx::query_as!(
            Candidate,
            r#"select distinct on (f.id) f.id, f.account_id, f.sh_record_state as "sh_record_state!: RecordState",
                      f.sh_target_account, f.sh_target_region, f.sh_workflow, f.sh_workflow_exception,
                      x.id as "exception_id?", x.reason as "exception_reason?", x.expires_at as "exception_expires_at?"
               from findings f
               left join accounts a on a.id = f.account_id
               left join exceptions x on "# +
        )(+ r#"
               where f.sh_record_state is not null
                 and (f.sh_workflow = 'SUPPRESSED'
                      or f.control_id in (select control_id from exceptions where deleted_at is null and expires_at > now()))
               order by f.id, x.created_at, x.id"#)
    )
    .fetch_all(pool)
    .await?;
    let mut tx = pool.begin().await?;
    let mut enqueued = 0;
    let mut wanted: Vec<&str> = Vec::new();
    for c in &candidates {
        let Some((workflow, exception, note)) = decide(c) else { continue };
        wanted.push(&c.id);
        let account = c
            .sh_target_account
            .clone()
            .or_else(|| target.central_account.clone())
            .unwrap_or_else(|| c.account_id.clone());
        let region = c.sh_target_region.clone().unwrap_or_else(|| target.region.clone());
        // Replaces an older unsent decision; an identical pending one keeps its attempts.
        let written = sqlx::query!(
            "insert into security_hub_workflow_outbox (finding_id, target_account, target_region, workflow, exception_id, note)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (finding_id) do update set target_account = excluded.target_account,
               target_region = excluded.target_region, workflow = excluded.workflow,
               exception_id = excluded.exception_id, note = excluded.note, state = 'pending', attempts = 0,
               next_attempt_at = now(), last_error = null, enqueued_at = clock_timestamp()
             where (security_hub_workflow_outbox.workflow, security_hub_workflow_outbox.exception_id,
                    security_hub_workflow_outbox.note)
                   is distinct from (excluded.workflow, excluded.exception_id, excluded.note)",
            &c.id,
            &account,
            &region,
            workflow.as_str(),
            exception,
            &note,
        )
        .execute(&mut *tx)
        .await?;
        enqueued += usize::try_from(written.rows_affected()).unwrap_or(0);
    }
    // An unsent decision that no longer holds (say, an exception withdrawn before its
    // suppression was sent) must not be sent.
    sqlx::query!(
        "delete from security_hub_workflow_outbox where not (finding_id = any($1))",
        wanted.as_slice() as &[&str],
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(enqueued)
}

/// One update due for delivery.
#[derive(Debug, Clone)]
pub struct DueUpdate {
    /// The finding.
    pub finding_id: String,
    /// The account whose hub holds it.
    pub target_account: String,
    /// The hub region.
    pub target_region: String,
    /// `SUPPRESSED` or `NEW`.
    pub workflow: String,
    /// The exception behind a suppression.
    pub exception_id: Option<uuid::Uuid>,
    /// Note.Text to send.
    pub note: String,
    /// Attempts so far.
    pub attempts: i32,
    /// The version of the decision (a newer one replaces the row).
    pub enqueued_at: DateTime<Utc>,
}

/// Pending updates whose time has come, ordered so that equal updates batch together.
pub async fn due(pool: &PgPool, limit: i64) -> Result<Vec<DueUpdate>, StoreError> {
    Ok(sqlx::query_as!(
        DueUpdate,
        "select finding_id, target_account, target_region, workflow, exception_id, note, attempts, enqueued_at
         from security_hub_workflow_outbox
         where state = 'pending' and next_attempt_at <= now()
         order by target_account, target_region, workflow, exception_id, note, finding_id
         limit $1",
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// Security Hub processed these updates: remember the workflow, drop the rows (unless a
/// newer decision replaced one meanwhile). One transaction.
pub async fn mark_sent(pool: &PgPool, updates: &[&DueUpdate]) -> Result<(), StoreError> {
    if updates.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = updates.iter().map(|u| u.finding_id.as_str()).collect();
    let workflows: Vec<&str> = updates.iter().map(|u| u.workflow.as_str()).collect();
    let exceptions: Vec<Option<uuid::Uuid>> = updates.iter().map(|u| u.exception_id).collect();
    let versions: Vec<DateTime<Utc>> = updates.iter().map(|u| u.enqueued_at).collect();
    let mut tx = pool.begin().await?;
    super::outbox::lock_in_id_order(&mut tx, &ids).await?;
    sqlx::query!(
        "update findings f set sh_workflow = s.workflow, sh_workflow_exception = s.exception_id
         from unnest($1::text[], $2::text[], $3::uuid[]) as s(id, workflow, exception_id)
         where f.id = s.id",
        ids.as_slice() as &[&str],
        workflows.as_slice() as &[&str],
        exceptions.as_slice() as &[Option<uuid::Uuid>],
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "delete from security_hub_workflow_outbox o using unnest($1::text[], $2::timestamptz[]) as s(id, version)
         where o.finding_id = s.id and o.enqueued_at = s.version",
        ids.as_slice() as &[&str],
        &versions,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Tries again later with exponential backoff, capped at a day. Never given up: an update
/// left unsent could keep a finding hidden after its exception ended.
pub async fn defer(pool: &PgPool, update: &DueUpdate, error: &str, base: Duration) -> Result<(), StoreError> {
    let delay = super::outbox::retry_delay(update.attempts, base);
    sqlx::query!(
        "update security_hub_workflow_outbox set attempts = attempts + 1, last_error = $3, next_attempt_at = now() + $4
         where finding_id = $1 and enqueued_at = $2",
        &update.finding_id,
        update.enqueued_at,
        error,
        delay as Duration,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Updates waiting to be sent.
pub async fn pending(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar!(r#"select count(*) as "pending!" from security_hub_workflow_outbox"#)
        .fetch_one(pool)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(record: RecordState, workflow: Option<&str>, was: Option<u128>, now: Option<u128>) -> Candidate {
        Candidate {
            id: "f".into(),
            account_id: "111122223333".into(),
            sh_record_state: record,
            sh_target_account: None,
            sh_target_region: None,
            sh_workflow: workflow.map(str::to_owned),
            sh_workflow_exception: was.map(uuid::Uuid::from_u128),
            exception_id: now.map(uuid::Uuid::from_u128),
            exception_reason: now.map(|_| "sandbox".into()),
            exception_expires_at: None,
        }
    }

    #[test]
    fn a_live_exception_suppresses_an_active_finding_once() {
        let (w, e, note) = decide(&candidate(RecordState::Active, None, None, Some(7))).unwrap();
        assert_eq!((w, e), (Workflow::Suppressed, Some(uuid::Uuid::from_u128(7))));
        assert!(note.contains(&uuid::Uuid::from_u128(7).to_string()) && note.contains("sandbox"), "{note}");
        assert!(
            decide(&candidate(RecordState::Active, Some("SUPPRESSED"), Some(7), Some(7))).is_none(),
            "already done"
        );
    }

    #[test]
    fn another_exception_taking_over_rewrites_the_note() {
        let (w, e, _) = decide(&candidate(RecordState::Active, Some("SUPPRESSED"), Some(7), Some(8))).unwrap();
        assert_eq!((w, e), (Workflow::Suppressed, Some(uuid::Uuid::from_u128(8))));
    }

    #[test]
    fn an_ended_exception_lifts_only_our_own_suppression() {
        let (w, e, note) = decide(&candidate(RecordState::Active, Some("SUPPRESSED"), Some(7), None)).unwrap();
        assert_eq!((w, e), (Workflow::New, None));
        assert!(note.contains("no longer applies"), "{note}");
        // Never touched by us (the customer's own triage) or already lifted: left alone.
        assert!(decide(&candidate(RecordState::Active, None, None, None)).is_none());
        assert!(decide(&candidate(RecordState::Active, Some("NEW"), None, None)).is_none());
    }

    #[test]
    fn an_archived_finding_waits_until_it_comes_back() {
        // Hidden, and perhaps deleted by Security Hub: nothing is sent either way.
        assert!(decide(&candidate(RecordState::Archived, None, None, Some(7))).is_none());
        assert!(decide(&candidate(RecordState::Archived, Some("SUPPRESSED"), Some(7), None)).is_none());
        // Reopened: the import forgot the exception, so a live one is sent again (Security
        // Hub may hold a new finding with workflow NEW) and an ended one is lifted.
        let again = decide(&candidate(RecordState::Active, Some("SUPPRESSED"), None, Some(7))).unwrap();
        assert_eq!(again.0, Workflow::Suppressed);
        let lifted = decide(&candidate(RecordState::Active, Some("SUPPRESSED"), None, None)).unwrap();
        assert_eq!(lifted.0, Workflow::New);
    }
}
