//! Drains the Security Hub outbox with BatchImportFindings.
//!
//! - Per member account, through the assumed role (an administrator cannot import findings
//!   for members), or into one central account when configured.
//! - Batches of at most 100 findings and 6 MB, paced per account and region at 10 requests a
//!   second with a burst of 30 (the BatchImportFindings quota).
//! - Throttling and 5xx are retried by the SDK's standard retry; what still fails is deferred
//!   with exponential backoff. `FailedFindings` entries are read one by one: InvalidInput is
//!   a bug and is kept as `failed`, not retried; InvalidAccess (hub not enabled) is deferred
//!   and the target recorded as `not_enabled`, so the next sweep tries again.
//! - A row leaves the outbox only after Security Hub accepted it, so a crash loses nothing;
//!   a re-send after a crash carries the same UpdatedAt, which Security Hub ignores.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::StreamExt;
use serde::Serialize;
use tracing::{instrument, warn};

use super::asff::{self, Delivery};
use super::sender::{MAX_BATCH, MAX_REQUEST_BYTES, Pacer, Sender, hub_status};
use crate::aws::errors::classify;
use crate::aws::{self, AccountClients};
use crate::config::ManagementAccess;
use crate::domain::{AccountId, Partition, Region};
use crate::store::StoreError;
use crate::store::outbox::{self, DueItem};
use crate::store::workflow;

/// What a drain did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DrainReport {
    /// Accepted by Security Hub.
    pub imported: u64,
    /// Rejected for good.
    pub failed: u64,
    /// Deferred to a later attempt.
    pub deferred: u64,
    /// BatchImportFindings requests made.
    pub requests: u64,
    /// Outbox rows still pending afterwards.
    pub pending: i64,
    /// Outbox rows kept as failed afterwards.
    pub failed_total: i64,
    /// Targets whose hub is not usable: `account/region: status`.
    pub unusable_targets: Vec<String>,
    /// Another delivery was running (in this or another process): nothing was sent by this
    /// one; what is due goes with that one or the next.
    pub busy: bool,
    /// Workflow updates (exceptions as SUPPRESSED, and back to NEW) sent with BatchUpdateFindings.
    pub workflow: super::workflow::WorkflowReport,
    /// Workflow updates still waiting afterwards (retried with backoff).
    pub workflow_pending: i64,
}

/// Serialises drains across processes and replicas (a transaction-scoped advisory lock, so
/// a drain that dies or is cancelled releases it with its transaction).
const DRAIN_LOCK: i64 = 0x6272_7377_7368_6472;

impl Sender {
    /// Sends everything due: imports until the outbox has nothing due left (or
    /// `max_requests`), then the workflow changes the live exceptions call for. One drain at a
    /// time across processes: when another one runs, this one sends nothing and says so
    /// (`busy`), rather than hold a database connection while it waits.
    #[instrument(skip_all)]
    pub async fn drain(&self) -> Result<DrainReport, StoreError> {
        let mut lock = self.pool.begin().await?;
        let ours: bool = sqlx::query_scalar!(r#"select pg_try_advisory_xact_lock($1) as "locked!""#, DRAIN_LOCK)
            .fetch_one(&mut *lock)
            .await?;
        if !ours {
            let (pending, failed_total) = outbox::backlog(&self.pool).await?;
            let workflow_pending = workflow::pending(&self.pool).await?;
            return Ok(DrainReport { busy: true, pending, failed_total, workflow_pending, ..DrainReport::default() });
        }
        let mut report = self.drain_imports().await?;
        // After the imports: a finding must exist in Security Hub before its workflow changes.
        workflow::reconcile(&self.pool, &self.hub).await?;
        report.workflow = self.drain_workflow().await?;
        report.workflow_pending = workflow::pending(&self.pool).await?;
        lock.commit().await?;
        Ok(report)
    }

    async fn drain_imports(&self) -> Result<DrainReport, StoreError> {
        let mut report = DrainReport::default();
        let requests = AtomicU64::new(0);
        let stop = AtomicBool::new(false);
        loop {
            let items = outbox::due(&self.pool, 5_000).await?;
            if items.is_empty() || stop.load(Ordering::Relaxed) {
                break;
            }
            let results = self
                .per_target(
                    items,
                    |i| (i.target_account.clone(), i.target_region.clone()),
                    |account, region, items| self.send_group(account, region, items, &requests, &stop),
                )
                .await?;
            let mut progressed = false;
            for r in results {
                // Deferred rows wait for their backoff; only accepted or rejected ones make progress.
                progressed |= r.imported + r.failed > 0;
                report.imported += r.imported;
                report.failed += r.failed;
                report.deferred += r.deferred;
            }
            if !progressed {
                break;
            }
        }
        report.requests = requests.load(Ordering::Relaxed);
        (report.pending, report.failed_total) = outbox::backlog(&self.pool).await?;
        report.unusable_targets =
            outbox::unusable_targets(&self.pool).await?.into_iter().map(|(a, r, s)| format!("{a}/{r}: {s}")).collect();
        Ok(report)
    }

    /// Groups due rows by their target (account, region) and handles the groups, at most
    /// `concurrency` at a time; the first database error is returned once all are done.
    pub(super) async fn per_target<T, R, Fut>(
        &self,
        rows: Vec<T>,
        target: impl Fn(&T) -> (String, String),
        handle: impl Fn(String, String, Vec<T>) -> Fut,
    ) -> Result<Vec<R>, StoreError>
    where
        Fut: std::future::Future<Output = Result<R, StoreError>>,
    {
        let mut groups: BTreeMap<(String, String), Vec<T>> = BTreeMap::new();
        for row in rows {
            groups.entry(target(&row)).or_default().push(row);
        }
        // Boxed: the SDK's request futures are large, and many of them side by side overflow a worker's stack.
        let results: Vec<Result<R, StoreError>> = futures::stream::iter(groups)
            .map(|((account, region), rows)| Box::pin(handle(account, region, rows)))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Clients for the account whose hub receives findings: its member role, or the service's
    /// own credentials (central mode, or the management account when so configured); and the
    /// partition the product ARN is built in (the credentials').
    pub(super) async fn clients_for(&self, account: &str) -> Result<(AccountClients, Partition), String> {
        let partition = self
            .aws
            .partition()
            .await
            .map_err(|f| format!("STS GetCallerIdentity failed: {} ({})", f.code, f.message))?;
        let own = self.hub.central_account.is_some()
            || (self.management_account.as_ref().is_some_and(|m| m.as_str() == account)
                && self.aws.settings().management_account_access == ManagementAccess::OwnCredentials);
        if own {
            return Ok((self.aws.own_clients(), partition));
        }
        let id = AccountId::parse(account).map_err(|e| e.to_string())?;
        let clients =
            aws::assume_role(&self.aws, &id).await.map_err(|e| format!("{} ({})", e.failure.code, e.role_arn))?;
        Ok((clients, partition))
    }

    async fn send_group(
        &self,
        account: String,
        region: String,
        items: Vec<DueItem>,
        requests: &AtomicU64,
        stop: &AtomicBool,
    ) -> Result<DrainReport, StoreError> {
        let mut report = DrainReport::default();
        let (clients, partition) = match self.clients_for(&account).await {
            Ok(c) => c,
            Err(reason) => {
                outbox::set_target_status(&self.pool, &account, &region, "access_denied", Some(&reason)).await?;
                for item in &items {
                    outbox::defer(&self.pool, item, &format!("cannot assume role: {reason}"), self.retry_base).await?;
                }
                report.deferred += items.len() as u64;
                self.counters.retried.fetch_add(items.len() as u64, Ordering::Relaxed);
                return Ok(report);
            }
        };
        let hub_region = Region::parse(&region).ok();
        let client = clients.securityhub(hub_region.as_ref());

        // Build and validate; invalid findings are a bug on our side: kept as failed.
        let mut ready: Vec<(DueItem, asff::Asff, usize)> = Vec::with_capacity(items.len());
        for item in items {
            let Some(control) = self.catalog.control(&item.finding.record.control_id) else {
                outbox::mark_failed(&self.pool, &item, "control no longer in the catalog").await?;
                report.failed += 1;
                continue;
            };
            let delivery = Delivery {
                target_account: item.target_account.clone(),
                target_region: item.target_region.clone(),
                partition: partition.clone(),
                record_state: item.record_state,
                compliance: item.compliance,
                updated_at: item.updated_at,
            };
            let finding = asff::build(&item.finding, control, &delivery);
            match asff::validate(&finding) {
                Ok(size) => ready.push((item, finding, size)),
                Err(e) => {
                    warn!(finding.id = %item.finding.record.id, error = %e, "finding is not valid ASFF");
                    outbox::mark_failed(&self.pool, &item, &e.to_string()).await?;
                    report.failed += 1;
                }
            }
        }

        let pacer = Pacer::new();
        let mut batches: Vec<Vec<(DueItem, asff::Asff, usize)>> = Vec::new();
        for entry in ready {
            let fits = batches.last().is_some_and(|b| {
                b.len() < MAX_BATCH && b.iter().map(|(_, _, s)| s).sum::<usize>() + entry.2 + 1024 <= MAX_REQUEST_BYTES
            });
            if fits {
                if let Some(b) = batches.last_mut() {
                    b.push(entry);
                }
            } else {
                batches.push(vec![entry]);
            }
        }
        let mut batches = batches.into_iter();
        while let Some(batch) = batches.next() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let before = requests.fetch_add(1, Ordering::SeqCst);
            if self.max_requests.is_some_and(|max| before >= max) {
                requests.fetch_sub(1, Ordering::SeqCst);
                stop.store(true, Ordering::Relaxed);
                break;
            }
            pacer.take().await;
            let findings = batch.iter().map(|(_, a, _)| a.to_sdk()).collect();
            // Boxed: the SDK's request future is large, and a deep stack of them overflows a worker thread.
            let sent = Box::pin(client.batch_import_findings().set_findings(Some(findings)).send()).await;
            match sent {
                Ok(out) => {
                    let failed: BTreeMap<&str, (&str, &str)> = out
                        .failed_findings()
                        .iter()
                        .map(|f| {
                            (f.id().unwrap_or(""), (f.error_code().unwrap_or(""), f.error_message().unwrap_or("")))
                        })
                        .collect();
                    let mut not_enabled = false;
                    let mut accepted = Vec::with_capacity(batch.len());
                    for (item, finding, _) in &batch {
                        match failed.get(finding.id.as_str()) {
                            None => accepted.push(item),
                            Some((code, message)) if *code == "InvalidInput" => {
                                warn!(finding.id = %item.finding.record.id, code, message, "Security Hub rejected a finding");
                                outbox::mark_failed(&self.pool, item, &format!("{code}: {message}")).await?;
                                report.failed += 1;
                            }
                            Some((code, message)) => {
                                not_enabled |= *code == "InvalidAccess";
                                outbox::defer(&self.pool, item, &format!("{code}: {message}"), self.retry_base).await?;
                                report.deferred += 1;
                            }
                        }
                    }
                    outbox::mark_sent(&self.pool, &accepted).await?;
                    report.imported += accepted.len() as u64;
                    let status = if not_enabled { "not_enabled" } else { "ok" };
                    outbox::set_target_status(&self.pool, &account, &region, status, None).await?;
                }
                Err(err) => {
                    let failure = classify(&err);
                    let status = hub_status(&failure);
                    warn!(account.id = %account, aws.region = %region, code = %failure.code, "BatchImportFindings failed");
                    outbox::set_target_status(&self.pool, &account, &region, status, Some(&failure.code)).await?;
                    // This batch and the rest of this target wait for a later attempt.
                    let rest: Vec<_> = batch.into_iter().chain(batches.by_ref().flatten()).collect();
                    let reason = format!("{}: {}", failure.code, err.message().unwrap_or("no message"));
                    for (item, _, _) in &rest {
                        outbox::defer(&self.pool, item, &reason, self.retry_base).await?;
                    }
                    report.deferred += rest.len() as u64;
                    break;
                }
            }
        }
        self.counters.imported.fetch_add(report.imported, Ordering::Relaxed);
        self.counters.failed.fetch_add(report.failed, Ordering::Relaxed);
        self.counters.retried.fetch_add(report.deferred, Ordering::Relaxed);
        Ok(report)
    }
}
