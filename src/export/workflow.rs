//! Sends the workflow outbox (`store::workflow`) with BatchUpdateFindings: exceptions become
//! Workflow.Status = SUPPRESSED in Security Hub, and go back to NEW when they end.
//!
//! - From the account whose hub holds the finding (through the member role, or with the
//!   service's own credentials in central mode): a member may update its own findings.
//! - One request carries one workflow and one note, so updates are grouped by (target,
//!   workflow, exception, note), at most 100 findings a request, paced like imports
//!   (10 requests a second, burst 30, per account and region).
//! - `UnprocessedFindings` are read one by one and deferred with backoff (Security Hub may
//!   not have finished processing a just-imported finding), as is a request that fails as a
//!   whole; nothing is given up, since an unsent lift would keep a finding hidden. A row
//!   leaves the outbox only when Security Hub processed it.
//!
//! See <https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchUpdateFindings.html>.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_securityhub::types::{AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tracing::{instrument, warn};

use super::asff::asff_id;
use super::sender::{MAX_BATCH, Pacer, Sender, hub_status};
use crate::aws::errors::classify;
use crate::domain::Region;
use crate::store::StoreError;
use crate::store::outbox;
use crate::store::workflow::{self, DueUpdate};

/// The author BatchUpdateFindings records on the note.
const NOTE_AUTHOR: &str = "bedrock-sweeper";

/// What one pass over the workflow outbox did.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct WorkflowReport {
    /// Findings whose workflow Security Hub processed.
    pub updated: u64,
    /// Findings deferred to a later attempt.
    pub deferred: u64,
    /// BatchUpdateFindings requests made.
    pub requests: u64,
}

impl Sender {
    /// Sends every workflow update that is due.
    #[instrument(skip_all)]
    pub async fn drain_workflow(&self) -> Result<WorkflowReport, StoreError> {
        let mut report = WorkflowReport::default();
        let requests = AtomicU64::new(0);
        loop {
            let updates = workflow::due(&self.pool, 5_000).await?;
            if updates.is_empty() {
                break;
            }
            let results = self
                .per_target(
                    updates,
                    |u| (u.target_account.clone(), u.target_region.clone()),
                    |account, region, updates| self.update_group(account, region, updates, &requests),
                )
                .await?;
            let mut progressed = false;
            for r in results {
                // Deferred updates wait for their backoff; only processed ones make progress.
                progressed |= r.updated > 0;
                report.updated += r.updated;
                report.deferred += r.deferred;
            }
            if !progressed {
                break;
            }
        }
        report.requests = requests.load(Ordering::Relaxed);
        Ok(report)
    }

    async fn update_group(
        &self,
        account: String,
        region: String,
        updates: Vec<DueUpdate>,
        requests: &AtomicU64,
    ) -> Result<WorkflowReport, StoreError> {
        let mut report = WorkflowReport::default();
        let (clients, partition) = match self.clients_for(&account).await {
            Ok(c) => c,
            Err(reason) => {
                outbox::set_target_status(&self.pool, &account, &region, "access_denied", Some(&reason)).await?;
                for u in &updates {
                    self.defer_update(u, &format!("cannot assume role: {reason}"), &mut report).await?;
                }
                return Ok(report);
            }
        };
        let client = clients.securityhub(Region::parse(&region).ok().as_ref());
        let product_arn = partition.security_hub_default_product_arn(&region, &account);

        // Equal (workflow, exception, note) share a request; the outbox returns them adjacent.
        let mut batches: Vec<Vec<DueUpdate>> = Vec::new();
        for u in updates {
            let joins = batches.last().is_some_and(|b: &Vec<DueUpdate>| {
                let first = &b[0];
                b.len() < MAX_BATCH
                    && (first.workflow.as_str(), first.exception_id, first.note.as_str())
                        == (u.workflow.as_str(), u.exception_id, u.note.as_str())
            });
            match batches.last_mut() {
                Some(b) if joins => b.push(u),
                _ => batches.push(vec![u]),
            }
        }

        let pacer = Pacer::new();
        let mut batches = batches.into_iter();
        while let Some(batch) = batches.next() {
            pacer.take().await;
            requests.fetch_add(1, Ordering::Relaxed);
            let first = &batch[0];
            let mut request = client
                .batch_update_findings()
                .workflow(WorkflowUpdate::builder().status(WorkflowStatus::from(first.workflow.as_str())).build())
                .note(NoteUpdate::builder().text(&first.note).updated_by(NOTE_AUTHOR).build());
            for u in &batch {
                request = request.finding_identifiers(
                    AwsSecurityFindingIdentifier::builder()
                        .id(asff_id(&u.finding_id))
                        .product_arn(&product_arn)
                        .build(),
                );
            }
            match Box::pin(request.send()).await {
                Ok(out) => {
                    let unprocessed: BTreeMap<&str, (&str, &str)> = out
                        .unprocessed_findings()
                        .iter()
                        .map(|f| {
                            let id = f.finding_identifier().and_then(|i| i.id()).unwrap_or("");
                            (id, (f.error_code().unwrap_or("unknown"), f.error_message().unwrap_or("")))
                        })
                        .collect();
                    let processed: BTreeSet<&str> =
                        out.processed_findings().iter().filter_map(AwsSecurityFindingIdentifier::id).collect();
                    let mut done = Vec::with_capacity(batch.len());
                    for u in &batch {
                        let id = asff_id(&u.finding_id);
                        match unprocessed.get(id.as_str()) {
                            Some((code, message)) => {
                                self.defer_update(u, &format!("{code}: {message}"), &mut report).await?;
                            }
                            // Neither processed nor unprocessed: do not assume it took.
                            None if !processed.contains(id.as_str()) => {
                                self.defer_update(u, "not in ProcessedFindings", &mut report).await?;
                            }
                            None => done.push(u),
                        }
                    }
                    workflow::mark_sent(&self.pool, &done).await?;
                    report.updated += done.len() as u64;
                }
                Err(err) => {
                    let failure = classify(&err);
                    let status = hub_status(&failure);
                    warn!(account.id = %account, aws.region = %region, code = %failure.code, "BatchUpdateFindings failed");
                    outbox::set_target_status(&self.pool, &account, &region, status, Some(&failure.code)).await?;
                    let reason = format!("{}: {}", failure.code, err.message().unwrap_or("no message"));
                    for u in batch.iter().chain(batches.by_ref().flatten().collect::<Vec<_>>().iter()) {
                        self.defer_update(u, &reason, &mut report).await?;
                    }
                    break;
                }
            }
        }
        Ok(report)
    }

    async fn defer_update(&self, u: &DueUpdate, reason: &str, report: &mut WorkflowReport) -> Result<(), StoreError> {
        workflow::defer(&self.pool, u, reason, self.retry_base).await?;
        report.deferred += 1;
        Ok(())
    }
}
