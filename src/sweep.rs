//! The only module that knows the whole flow of a sweep:
//! discover → plan tasks → (per account, bounded) assume → collect → evaluate → record
//! → finish.
//!
//! A sweep is rows in Postgres. If a process dies mid-sweep, the next `sweep` finds the
//! running sweep with no live lease and resumes it from its stored organization snapshot.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use tracing::{info, instrument, warn};

use crate::aws::{self, AwsContext, CallCounts};
use crate::catalog::Catalog;
use crate::config::{ControlParameters, ManagementAccess, SweepSettings};
use crate::domain::{Region, Status, SweepId};
use crate::evaluate::{self, AccountInput};
use crate::snapshot::{NotAssessed, OrgAccount, OrgSnapshot};
use crate::store::findings::{AccountRecord, FindingRow};
use crate::store::{self, StoreError, sweeps};
use crate::{collect, org};

/// Why a sweep could not run or could not finish.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Another sweep is in progress (in this or another process).
    #[error("sweep {0} is already running")]
    AlreadyRunning(SweepId),
    /// The organization could not be read.
    #[error(transparent)]
    Discovery(#[from] org::DiscoveryError),
    /// The database failed; the sweep stays resumable.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a sweep needs.
#[derive(Clone)]
pub struct SweepDeps {
    /// The database.
    pub pool: PgPool,
    /// AWS access.
    pub aws: AwsContext,
    /// The validated catalog.
    pub catalog: Arc<Catalog>,
    /// Regions and concurrency.
    pub sweep: SweepSettings,
    /// Control parameters.
    pub controls: ControlParameters,
    /// Where global calls and the management trails are read.
    pub home_region: Region,
    /// Print one progress line per account on stderr.
    pub progress: bool,
    /// Set to stop claiming new accounts (the account in flight is finished).
    pub stop: Arc<AtomicBool>,
    /// Security Hub delivery policy; `None` when delivery is off.
    pub security_hub: Option<crate::store::outbox::OutboxPolicy>,
}

/// How many accounts ended how.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct AccountCounts {
    /// Accounts in the organization.
    pub total: i64,
    /// Swept with the role assumed.
    pub assessed: i64,
    /// Swept, but the role could not be assumed.
    pub not_assessed: i64,
    /// Listed but not swept (suspended, closed).
    pub skipped: i64,
}

/// The outcome of a sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    /// Its id.
    pub sweep_id: SweepId,
    /// `completed`, or `interrupted` when stopped early (resumable).
    pub status: String,
    /// Whether this run resumed an interrupted sweep.
    pub resumed: bool,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: DateTime<Utc>,
    /// Accounts by outcome.
    pub accounts: AccountCounts,
    /// AWS calls (attempts) by service and operation made by this run.
    pub aws_calls: CallCounts,
    /// Every active finding this sweep wrote.
    pub findings: Vec<FindingRow>,
    /// The organization's management account.
    pub management_account: Option<crate::domain::AccountId>,
}

/// Runs one sweep to the end (or resumes the interrupted one).
#[instrument(skip_all, fields(sweep.trigger = trigger))]
pub async fn run(deps: &SweepDeps, trigger: &str) -> Result<SweepReport, SweepError> {
    // The counter lives as long as the AWS context; report only what this run called.
    let calls_before = deps.aws.counter().snapshot();
    let (sweep_id, org, resumed) = match resumable(deps).await? {
        Some((id, org)) => (id, org, true),
        None => {
            let Some(id) = sweeps::start(&deps.pool, trigger).await? else {
                let running = sweeps::running(&deps.pool).await?.map_or_else(SweepId::new, |s| s.id);
                return Err(SweepError::AlreadyRunning(running));
            };
            let org = match org::discover_checked(&deps.aws, &deps.home_region).await {
                Ok(org) => org,
                Err(e) => {
                    sweeps::finish(&deps.pool, id, "failed", &deps.aws.counter().snapshot(), Some(&e.to_string()))
                        .await?;
                    return Err(e.into());
                }
            };
            let mut conn = deps.pool.acquire().await.map_err(StoreError::from)?;
            let hash = store::snapshots::put(&mut conn, "organization", &org).await?;
            drop(conn);
            sweeps::plan(&deps.pool, id, &hash, &plan_tasks(&org)).await?;
            (id, org, false)
        }
    };
    info!(sweep.id = %sweep_id, resumed, accounts = org.accounts.len(), "sweep started");
    let started = sweeps::get(&deps.pool, sweep_id).await?.map_or_else(Utc::now, |s| s.started_at);

    let org = Arc::new(org);
    // SCP policies parsed once and BR.ORG.1–6 verdicts shared by accounts on the same path.
    let scp = evaluate::scp::ScpEngine::new(&org, deps.catalog.regions(), &deps.controls);
    let owner = format!("worker-{}-{}", std::process::id(), &uuid::Uuid::new_v4().to_string()[..8]);
    let done = Arc::new(AtomicUsize::new(0));
    let (already, total) = sweeps::progress(&deps.pool, sweep_id).await?;
    done.fetch_add(usize::try_from(already).unwrap_or(0), Ordering::Relaxed);
    let workers = (0..deps.sweep.account_concurrency).map(|_| {
        worker(deps, sweep_id, Arc::clone(&org), &owner, Arc::clone(&done), usize::try_from(total).unwrap_or(0), &scp)
    });
    let results = futures::future::join_all(workers).await;
    if let Some(err) = results.into_iter().find_map(Result::err) {
        // Leave the sweep running: the next `sweep` resumes it.
        return Err(err);
    }

    let calls = aws::calls_since(&calls_before, &deps.aws.counter().snapshot());
    let (done_count, total) = sweeps::progress(&deps.pool, sweep_id).await?;
    let status = if done_count == total {
        sweeps::complete(&deps.pool, sweep_id, &calls).await?;
        "completed"
    } else {
        "interrupted"
    };
    let (assessed, not_assessed, skipped) = sweeps::account_outcomes(&deps.pool, sweep_id).await?;
    let findings = store::findings::of_sweep(&deps.pool, sweep_id).await?;
    info!(sweep.id = %sweep_id, status, findings = findings.len(), "sweep finished");
    Ok(SweepReport {
        sweep_id,
        status: status.to_owned(),
        resumed,
        started_at: started,
        finished_at: Utc::now(),
        accounts: AccountCounts { total, assessed, not_assessed, skipped },
        aws_calls: calls,
        findings,
        management_account: Some(org.management_account_id.clone()),
    })
}

/// The running sweep, if no live worker holds any of its tasks: it is ours to resume.
async fn resumable(deps: &SweepDeps) -> Result<Option<(SweepId, OrgSnapshot)>, SweepError> {
    let Some(running) = sweeps::running(&deps.pool).await? else { return Ok(None) };
    let live: (i64,) = sqlx::query_as(
        "select count(*) from sweep_tasks where sweep_id = $1 and state = 'running' and lease_expires_at > now()",
    )
    .bind(running.id)
    .fetch_one(&deps.pool)
    .await
    .map_err(StoreError::from)?;
    if live.0 > 0 {
        return Err(SweepError::AlreadyRunning(running.id));
    }
    let org = match &running.org_snapshot_hash {
        Some(hash) => store::snapshots::get::<OrgSnapshot>(&deps.pool, hash).await?,
        None => None,
    };
    match org {
        Some(org) => Ok(Some((running.id, org))),
        None => {
            // Died before it had planned anything: nothing to resume.
            let age = Utc::now() - running.started_at;
            if age.num_seconds() < deps.sweep.lease_seconds {
                return Err(SweepError::AlreadyRunning(running.id));
            }
            sweeps::finish(&deps.pool, running.id, "failed", &CallCounts::new(), Some("interrupted before planning"))
                .await?;
            Ok(None)
        }
    }
}

fn plan_tasks(org: &OrgSnapshot) -> Vec<sweeps::PlannedTask> {
    org.accounts
        .iter()
        .map(|a| sweeps::PlannedTask {
            account_id: a.id.clone(),
            skip_reason: (!a.is_active()).then(|| format!("account is {}", a.status)),
        })
        .collect()
}

async fn worker(
    deps: &SweepDeps,
    sweep: SweepId,
    org: Arc<OrgSnapshot>,
    owner: &str,
    done: Arc<AtomicUsize>,
    total: usize,
    scp: &evaluate::scp::ScpEngine<'_>,
) -> Result<(), SweepError> {
    while !deps.stop.load(Ordering::Relaxed) {
        let Some(account_id) = sweeps::claim(&deps.pool, sweep, owner, deps.sweep.lease_seconds).await? else {
            return Ok(());
        };
        let Some(account) = org.account(&account_id) else {
            warn!(account.id = %account_id, "task for an account missing from the organization snapshot");
            sweeps::release(&deps.pool, sweep, &account_id, owner).await?;
            continue;
        };
        match sweep_account(deps, sweep, &org, account, owner, scp).await {
            Ok(line) => {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if deps.progress {
                    eprintln!("[{n}/{total}] {line}");
                }
            }
            Err(e) => {
                // Best effort: hand the account back so a resumed sweep takes it at once.
                if let Err(release_err) = sweeps::release(&deps.pool, sweep, &account_id, owner).await {
                    warn!(account.id = %account_id, error = %release_err, "could not release the task");
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

#[instrument(skip_all, fields(account.id = %account.id))]
async fn sweep_account(
    deps: &SweepDeps,
    sweep: SweepId,
    org: &OrgSnapshot,
    account: &OrgAccount,
    owner: &str,
    scp: &evaluate::scp::ScpEngine<'_>,
) -> Result<String, SweepError> {
    let own = account.id == org.management_account_id
        && deps.aws.settings().management_account_access == ManagementAccess::OwnCredentials;
    let clients = if own { Ok(deps.aws.own_clients()) } else { aws::assume_role(&deps.aws, &account.id).await };
    let collected = match clients {
        Ok(clients) => {
            Ok(collect::account(&clients, &account.id, &deps.sweep, &deps.catalog.bedrock_regions(), &deps.home_region)
                .await)
        }
        Err(e) => Err(NotAssessed {
            role_arn: e.role_arn,
            kind: e.failure.kind,
            code: e.failure.code,
            message: e.failure.message,
        }),
    };
    let input =
        AccountInput { org, account, snapshot: collected.as_ref(), params: &deps.controls, now: Utc::now(), scp };
    let verdicts = evaluate::account(&input);
    let evaluations = &verdicts.evaluations;
    let gaps = match &collected {
        Ok(snap) => evaluate::gaps(snap),
        Err(_) => Vec::new(),
    };
    let failing = evaluations.iter().filter(|e| e.status == Status::Fail).count();
    let errors = evaluations.iter().filter(|e| e.status == Status::Error).count();
    let evidence = match &collected {
        Ok(snap) => serde_json::to_value(snap),
        Err(na) => serde_json::to_value(na),
    }
    .map_err(StoreError::from)?;
    let rec = AccountRecord {
        sweep,
        owner,
        account,
        ou_path: org.ou_path_text(account),
        assessed: collected.is_ok(),
        evidence: &evidence,
        evaluations,
        incomplete: &verdicts.incomplete,
        gaps,
        security_hub: deps.security_hub.as_ref(),
    };
    match store::findings::record_account(&deps.pool, &deps.catalog, &rec).await? {
        Ok(_) => {}
        Err(lost) => warn!(account.id = %account.id, "{lost}; the other worker's result stands"),
    }
    let state = match &collected {
        Ok(_) => "assessed".to_owned(),
        Err(na) => format!("NOT assessed ({})", na.code),
    };
    Ok(format!("{} ({}): {state}, {failing} failing, {errors} errors", account.id, account.name))
}
