//! The only module that knows the whole flow of a sweep:
//! discover → plan tasks → (per account, bounded) assume → collect → evaluate → record
//! → finish.
//!
//! A sweep is rows in Postgres, driven by one process at a time: the one holding the
//! sweep's lease (`store::sweeps`), which it renews while it runs, discovery included. Its
//! workers (each with an owner id of its own) claim account tasks and renew their leases
//! while they sweep the account. If the process dies, the next process (at start-up, at a
//! scheduler tick, on `POST /sweeps`, or its lease watcher) takes the sweep over once the
//! lease lapsed and resumes it from its stored organization snapshot, or reads the
//! organization again if it had not been planned yet. A process that loses its lease stops
//! claiming; whatever it still writes is refused by the guards on every write.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, instrument, warn};

use crate::aws::{self, AwsContext, CallCounts};
use crate::catalog::Catalog;
use crate::config::{ControlParameters, ManagementAccess, SweepSettings};
use crate::domain::{AccountId, Region, Status, SweepId, SweepOutcome};
use crate::evaluate::{self, AccountInput};
use crate::snapshot::{NotAssessed, OrgAccount, OrgSnapshot};
use crate::store::findings::AccountRecord;
use crate::store::{self, StoreError, sweeps};
use crate::{collect, org};

/// Why a sweep could not run or could not finish.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Another sweep is in progress, driven by a process whose lease is live (this one or another).
    #[error("sweep {0} is already running")]
    AlreadyRunning(SweepId),
    /// This process lost the sweep's lease: another process took the sweep over, or this one
    /// could not renew it for a whole lease (the database). Whoever holds it next finishes it.
    #[error("this process lost the lease of sweep {0}; the process that takes it over finishes it")]
    TakenOver(SweepId),
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
    /// Regions, concurrency and leases.
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

/// The outcome of a sweep. Its findings stay in the database (`store::findings::of_sweep`,
/// `store::sweeps::stream_findings`): a sweep of a large organization does not hold them.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    /// Its id.
    pub sweep_id: SweepId,
    /// Completed, or interrupted when stopped early (resumable).
    pub status: SweepOutcome,
    /// Whether this run took over a sweep started earlier (by a process that died or stopped).
    pub resumed: bool,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: DateTime<Utc>,
    /// Accounts by outcome.
    pub accounts: AccountCounts,
    /// AWS calls (attempts) by service and operation made by this run.
    pub aws_calls: CallCounts,
    /// The organization's management account.
    pub management_account: Option<crate::domain::AccountId>,
}

/// Runs one sweep to the end: takes over the running sweep if its lease lapsed (its
/// process died or stopped), else starts a new one; refused while another process's lease
/// is live.
///
/// The future owns what it uses and is `Send + 'static` (the bound on the return type is
/// the compile-time check), so `serve` spawns it and its workers run on every core.
pub fn run(deps: &SweepDeps, trigger: &str) -> impl Future<Output = Result<SweepReport, SweepError>> + Send + 'static {
    let deps = deps.clone();
    let trigger = trigger.to_owned();
    async move {
        let calls_before = deps.aws.counter().snapshot();
        let owner = owner_id("sweep");
        let held = match take_over(&deps, &owner).await? {
            Some(held) => held,
            None => match sweeps::start(&deps.pool, &trigger, &owner, deps.sweep.lease_seconds).await? {
                Some(id) => Held { id, org_hash: None, resumed: false },
                None => {
                    // Another process started one between the two statements.
                    let running = sweeps::running(&deps.pool).await?.map_or_else(SweepId::new, |s| s.id);
                    return Err(SweepError::AlreadyRunning(running));
                }
            },
        };
        drive(deps, owner, held, calls_before).await
    }
}

/// Takes over and finishes the running sweep if its lease lapsed; `None` when no sweep is
/// running. Never starts a new sweep (the lease watcher and start-up use it, so a sweep
/// that just completed is not followed by a second one).
pub fn resume(deps: &SweepDeps) -> impl Future<Output = Result<Option<SweepReport>, SweepError>> + Send + 'static {
    let deps = deps.clone();
    async move {
        let calls_before = deps.aws.counter().snapshot();
        let owner = owner_id("sweep");
        let Some(held) = take_over(&deps, &owner).await? else { return Ok(None) };
        drive(deps, owner, held, calls_before).await.map(Some)
    }
}

/// Lends this process's workers to the sweep another replica drives: claims its open
/// accounts (each under its own task lease, as the driver's workers do) until none is left,
/// the sweep ends or its driver's lease lapses. The driver completes the sweep. Returns how
/// many accounts this process recorded; 0 when there was nothing to join.
pub fn join(deps: &SweepDeps) -> impl Future<Output = Result<usize, SweepError>> + Send + 'static {
    let deps = deps.clone();
    async move {
        let Some((sweep_id, org_hash, driver)) = sweeps::joinable(&deps.pool).await? else { return Ok(0) };
        // Our own sweep already has our workers.
        if driver.starts_with(&format!("sweep-{}-", std::process::id())) {
            return Ok(0);
        }
        let Some(org) = load_org(&deps, Some(&org_hash)).await? else { return Ok(0) };
        let lease = SweepLease::watch(deps.pool.clone(), sweep_id, deps.sweep.lease_seconds);
        info!(sweep.id = %sweep_id, "joining the sweep another replica drives");
        let run = SweepRun::new(deps, sweep_id, None, Arc::new(org), lease).await?;
        match run_workers(&run).await {
            Some(e) => Err(e),
            None => Ok(run.recorded.load(Ordering::Relaxed)),
        }
    }
}

// Compile-time check, beside the return types' bounds: the sweep's futures can be spawned
// (`serve` runs them on the runtime, which moves them between threads).
const _: fn(&SweepDeps) = |deps| {
    fn spawnable<F: Future + Send + 'static>(_: F) {}
    spawnable(run(deps, "check"));
    spawnable(resume(deps));
    spawnable(join(deps));
};

/// A lease holder's id: the process, plus a random part so each holder (the sweep's driver,
/// each worker) is told apart from every other, in this process and elsewhere.
fn owner_id(role: &str) -> String {
    format!("{role}-{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The sweep this process now drives.
struct Held {
    id: SweepId,
    org_hash: Option<String>,
    resumed: bool,
}

/// The running sweep, taken over for `owner` if its lease lapsed; `None` if none runs.
async fn take_over(deps: &SweepDeps, owner: &str) -> Result<Option<Held>, SweepError> {
    match sweeps::take_over(&deps.pool, owner, deps.sweep.lease_seconds).await? {
        sweeps::Takeover::NoneRunning => Ok(None),
        sweeps::Takeover::Live(id) => Err(SweepError::AlreadyRunning(id)),
        sweeps::Takeover::Taken(row) => {
            warn!(sweep.id = %row.id, "taking over a sweep whose lease lapsed");
            Ok(Some(Held { id: row.id, org_hash: row.org_snapshot_hash, resumed: true }))
        }
    }
}

/// How often a holder renews a lease: three times per lease, so one or two failed renewals
/// (a slow database) do not lose it.
fn renew_interval(lease_seconds: i64) -> Duration {
    Duration::from_secs_f64((lease_seconds as f64 / 3.0).max(0.5))
}

/// The sweep's lease, renewed in the background while this value lives.
struct SweepLease {
    lost: watch::Receiver<bool>,
    renewer: tokio::task::JoinHandle<()>,
}

impl Drop for SweepLease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

impl SweepLease {
    fn hold(pool: PgPool, sweep: SweepId, owner: String, lease_seconds: i64) -> Self {
        let (tx, lost) = watch::channel(false);
        let lease = Duration::from_secs(u64::try_from(lease_seconds).unwrap_or(0));
        let renewer = tokio::spawn(async move {
            let mut held_since = Instant::now();
            loop {
                tokio::time::sleep(renew_interval(lease_seconds)).await;
                let asked = Instant::now();
                match sweeps::renew(&pool, sweep, &owner, lease_seconds).await {
                    Ok(true) => held_since = asked,
                    Ok(false) => {
                        warn!(sweep.id = %sweep, "the sweep's lease was taken over by another process");
                        break;
                    }
                    Err(e) if held_since.elapsed() >= lease => {
                        // It may have lapsed: another process may take the sweep over now.
                        warn!(sweep.id = %sweep, error = %e, "could not renew the sweep's lease for a whole lease");
                        break;
                    }
                    Err(e) => warn!(sweep.id = %sweep, error = %e, "could not renew the sweep's lease; retrying"),
                }
            }
            tx.send_replace(true);
        });
        Self { lost, renewer }
    }

    /// For a replica that joined: "lost" once the sweep ends or its driver's lease lapses
    /// (checked as often as a holder renews).
    fn watch(pool: PgPool, sweep: SweepId, lease_seconds: i64) -> Self {
        let (tx, lost) = watch::channel(false);
        let renewer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(renew_interval(lease_seconds)).await;
                match sweeps::running_lease(&pool).await {
                    Ok(Some((id, left))) if id == sweep && left > 0.0 => {}
                    Ok(_) => break,
                    Err(e) => warn!(sweep.id = %sweep, error = %e, "could not read the sweep's lease"),
                }
            }
            tx.send_replace(true);
        });
        Self { lost, renewer }
    }

    fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Resolves once the lease is lost.
    fn lost(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.lost.clone();
        async move {
            // An error means the renewer is gone, which happens only after it reported the loss.
            drop(rx.wait_for(|lost| *lost).await);
        }
    }
}

/// What the workers of one sweep share.
struct SweepRun {
    deps: SweepDeps,
    sweep: SweepId,
    /// The process's lease on the sweep, when it drives it; `None` for a replica that joined.
    sweep_owner: Option<String>,
    org: Arc<OrgSnapshot>,
    /// SCP policies parsed once and BR.ORG.1–6 verdicts shared by accounts on the same path.
    scp: evaluate::scp::ScpEngine<'static>,
    lease: SweepLease,
    done: AtomicUsize,
    /// Bytes of CloudTrail digest and log files this process may still read (BR.LOG.6).
    digest_budget: Arc<collect::trail_integrity::ByteBudget>,
    /// CloudTrail's public keys, listed once per region for every account (BR.LOG.6).
    public_keys: collect::trail_integrity::PublicKeys,
    /// Who reads which trail bucket (`sweep.trail_bucket_owners`).
    bucket_owners: BTreeMap<String, AccountId>,
    /// Accounts this process recorded in this run.
    recorded: AtomicUsize,
    total: usize,
}

impl SweepRun {
    /// The shared state of this process's workers on `sweep`: the driver's (`sweep_owner` its
    /// lease) or a joined replica's (`None`).
    async fn new(
        deps: SweepDeps,
        sweep: SweepId,
        sweep_owner: Option<String>,
        org: Arc<OrgSnapshot>,
        lease: SweepLease,
    ) -> Result<Arc<Self>, SweepError> {
        let scp = evaluate::scp::ScpEngine::shared(Arc::clone(&org), deps.catalog.regions(), &deps.controls);
        let (already, total) = sweeps::progress(&deps.pool, sweep).await?;
        let digest_budget =
            collect::trail_integrity::ByteBudget::new(deps.sweep.digest_max_mib_per_sweep.saturating_mul(1024 * 1024));
        // Validated when the settings were loaded.
        let bucket_owners = deps.sweep.trail_bucket_owners().unwrap_or_default();
        Ok(Arc::new(Self {
            digest_budget,
            public_keys: collect::trail_integrity::PublicKeys::default(),
            bucket_owners,
            sweep,
            sweep_owner,
            org,
            scp,
            lease,
            done: AtomicUsize::new(usize::try_from(already).unwrap_or(0)),
            recorded: AtomicUsize::new(0),
            total: usize::try_from(total).unwrap_or(0),
            deps,
        }))
    }
}

/// Runs `sweep.account_concurrency` workers on `run` to the end; the first error, if any.
async fn run_workers(run: &Arc<SweepRun>) -> Option<SweepError> {
    let mut workers = JoinSet::new();
    for _ in 0..run.deps.sweep.account_concurrency {
        workers.spawn(worker(Arc::clone(run), owner_id("worker")));
    }
    let mut failed = None;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failed.get_or_insert(e);
            }
            // A panic in a worker is a bug: let it surface where it would have without the task.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled (the runtime shuts down): its account stays open and the sweep resumable.
            Err(e) => warn!(sweep.id = %run.sweep, error = %e, "a worker was cancelled"),
        }
    }
    failed
}

async fn drive(
    deps: SweepDeps,
    owner: String,
    held: Held,
    calls_before: CallCounts,
) -> Result<SweepReport, SweepError> {
    let sweep_id = held.id;
    let lease = SweepLease::hold(deps.pool.clone(), sweep_id, owner.clone(), deps.sweep.lease_seconds);
    let org = match load_org(&deps, held.org_hash.as_deref()).await? {
        Some(org) => org,
        None => {
            // Not planned yet (new, or taken over while its first process read the organization).
            // Checked: with own-credentials, the credentials must be the management account's.
            let discovered = tokio::select! {
                d = org::discover_checked(&deps.aws, &deps.home_region) => d,
                () = lease.lost() => return Err(SweepError::TakenOver(sweep_id)),
            };
            let org = match discovered {
                Ok(org) => org,
                Err(e) => {
                    let calls = aws::calls_since(&calls_before, &deps.aws.counter().snapshot());
                    sweeps::fail(&deps.pool, sweep_id, &owner, &calls, &e.to_string()).await?;
                    return Err(e.into());
                }
            };
            let mut conn = deps.pool.acquire().await.map_err(StoreError::from)?;
            let hash = store::snapshots::put(&mut conn, "organization", &org).await?;
            drop(conn);
            if !sweeps::plan(&deps.pool, sweep_id, &owner, &hash, &plan_tasks(&org)).await? {
                return Err(SweepError::TakenOver(sweep_id));
            }
            org
        }
    };
    info!(sweep.id = %sweep_id, resumed = held.resumed, accounts = org.accounts.len(), "sweep started");
    let started = sweeps::get(&deps.pool, sweep_id).await?.map_or_else(Utc::now, |s| s.started_at);

    let run = SweepRun::new(deps, sweep_id, Some(owner.clone()), Arc::new(org), lease).await?;
    let failed = run_workers(&run).await;
    let deps = &run.deps;
    if run.lease.is_lost() {
        return Err(SweepError::TakenOver(sweep_id));
    }
    if let Some(err) = failed {
        // The sweep stays running; handing its lease back lets the next trigger resume it at once.
        release_sweep(deps, sweep_id, &owner).await;
        return Err(err);
    }

    let calls = aws::calls_since(&calls_before, &deps.aws.counter().snapshot());
    let (done_count, total) = sweeps::progress(&deps.pool, sweep_id).await?;
    let status = if done_count == total {
        if !sweeps::complete(&deps.pool, sweep_id, &owner, &calls).await? {
            return Err(SweepError::TakenOver(sweep_id));
        }
        SweepOutcome::Completed
    } else {
        // Stopped (shutdown, Ctrl-C): the next process takes it over without waiting for the lease.
        release_sweep(deps, sweep_id, &owner).await;
        SweepOutcome::Interrupted
    };
    let (assessed, not_assessed, skipped) = sweeps::account_outcomes(&deps.pool, sweep_id).await?;
    info!(sweep.id = %sweep_id, %status, "sweep finished");
    Ok(SweepReport {
        sweep_id,
        status,
        resumed: held.resumed,
        started_at: started,
        finished_at: Utc::now(),
        accounts: AccountCounts { total, assessed, not_assessed, skipped },
        aws_calls: calls,
        management_account: Some(run.org.management_account_id.clone()),
    })
}

async fn release_sweep(deps: &SweepDeps, sweep: SweepId, owner: &str) {
    if let Err(e) = sweeps::release_sweep(&deps.pool, sweep, owner).await {
        warn!(sweep.id = %sweep, error = %e, "could not hand the sweep's lease back; it lapses on its own");
    }
}

/// The stored organization snapshot of a planned sweep; `None` when it was not planned.
async fn load_org(deps: &SweepDeps, hash: Option<&str>) -> Result<Option<OrgSnapshot>, SweepError> {
    match hash {
        Some(hash) => Ok(store::snapshots::get::<OrgSnapshot>(&deps.pool, hash).await?),
        None => Ok(None),
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

/// Claims accounts until none is left. When what is left is held by other workers it waits:
/// for them to finish, or for the lease of a dead one to lapse, so it claims that account too.
/// Claims of one account's task in one sweep before it is given up (counted as not assessed).
pub const MAX_TASK_ATTEMPTS: i32 = 5;

async fn worker(run: Arc<SweepRun>, owner: String) -> Result<(), SweepError> {
    let deps = &run.deps;
    let lease_seconds = deps.sweep.lease_seconds;
    loop {
        if deps.stop.load(Ordering::Relaxed) || run.lease.is_lost() {
            return Ok(());
        }
        let claimed = sweeps::claim(&deps.pool, run.sweep, &owner, run.sweep_owner.as_deref(), lease_seconds).await?;
        let Some((account_id, attempts)) = claimed else {
            let open = sweeps::open_tasks(&deps.pool, run.sweep).await?;
            // A joined replica leaves the accounts in flight elsewhere to their workers (the
            // driver's take over any whose lease lapses); the driver waits for them.
            if open.pending == 0 && (open.running == 0 || run.sweep_owner.is_none()) {
                return Ok(());
            }
            let wait = open.next_lapse_seconds.unwrap_or(0.0).clamp(0.05, 1.0);
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            continue;
        };
        let Some(account) = run.org.account(&account_id) else {
            warn!(account.id = %account_id, "task for an account missing from the organization snapshot");
            sweeps::release(&deps.pool, run.sweep, &account_id, &owner).await?;
            continue;
        };
        // An account whose result could not be recorded time after time (each failure hands
        // the sweep over) would keep the sweep running for ever: give it up, as not assessed.
        if attempts > MAX_TASK_ATTEMPTS {
            let reason = format!(
                "gave up on the account after {MAX_TASK_ATTEMPTS} attempts in this sweep ended without a recorded \
                 result (see the service log); its earlier findings are left as they were"
            );
            warn!(account.id = %account_id, attempts, "{reason}");
            sweeps::give_up(&deps.pool, run.sweep, &account_id, &owner, &reason).await?;
            continue;
        }
        tokio::select! {
            swept = sweep_account(&run, account, &owner) => match swept {
                Ok(line) => {
                    run.recorded.fetch_add(1, Ordering::Relaxed);
                    let n = run.done.fetch_add(1, Ordering::Relaxed) + 1;
                    if deps.progress {
                        eprintln!("[{n}/{}] {line}", run.total);
                    }
                }
                Err(e) => {
                    // Best effort: hand the account back so a resumed sweep takes it at once.
                    if let Err(release_err) = sweeps::release(&deps.pool, run.sweep, &account_id, &owner).await {
                        warn!(account.id = %account_id, error = %release_err, "could not release the task");
                    }
                    return Err(e);
                }
            },
            () = hold_task(&deps.pool, run.sweep, &account_id, &owner, lease_seconds) => {
                warn!(account.id = %account_id, "task lease lapsed and was taken over; the other worker's result stands");
            }
        }
    }
}

/// Renews the worker's lease on its task while it sweeps the account; returns when the task
/// is no longer its own.
async fn hold_task(pool: &PgPool, sweep: SweepId, account: &AccountId, owner: &str, lease_seconds: i64) {
    loop {
        tokio::time::sleep(renew_interval(lease_seconds)).await;
        match sweeps::renew_task(pool, sweep, account, owner, lease_seconds).await {
            Ok(true) => {}
            Ok(false) => return,
            // The write of the result checks the lease itself; keep trying.
            Err(e) => warn!(account.id = %account, error = %e, "could not renew the task's lease"),
        }
    }
}

#[instrument(skip_all, fields(account.id = %account.id))]
async fn sweep_account(run: &SweepRun, account: &OrgAccount, owner: &str) -> Result<String, SweepError> {
    let (deps, sweep, org, scp) = (&run.deps, run.sweep, run.org.as_ref(), &run.scp);
    let own = account.id == org.management_account_id
        && deps.aws.settings().management_account_access == ManagementAccess::OwnCredentials;
    let clients = if own { Ok(deps.aws.own_clients()) } else { aws::assume_role(&deps.aws, &account.id).await };
    let collected = match clients {
        Ok(clients) => {
            let offered = collect::Offered::from_catalog(&deps.catalog);
            let mut snap = collect::account(&clients, &account.id, &deps.sweep, &offered, &deps.home_region).await;
            snap.digest_chains = digest_chains(run, account, &clients, &snap).await?;
            Ok(snap)
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
        Ok(snap) => evaluate::inputs::coverage_gaps(org, &account.id, snap),
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
        Ok(_) => {
            // After the findings: a process that dies in between verifies the same digests
            // again next time and finds the same breaks.
            if let Ok(snap) = &collected {
                store::digest_cursors::save(&deps.pool, &account.id, &snap.digest_chains).await?;
            }
        }
        Err(lost) => warn!(account.id = %account.id, "{lost}; the other worker's result stands"),
    }
    let state = match &collected {
        Ok(_) => "assessed".to_owned(),
        Err(na) => format!("NOT assessed ({})", na.code),
    };
    Ok(format!("{} ({}): {state}, {failing} failing, {errors} errors", account.id, account.name))
}

/// Verifies the account's CloudTrail digest chains (BR.LOG.6) from where the last sweep left
/// them. A bucket owned by another account is read with that account's role (assumed once
/// per account swept); a role that cannot be assumed is a gap for its chains.
async fn digest_chains(
    run: &SweepRun,
    account: &OrgAccount,
    clients: &aws::AccountClients,
    snap: &crate::snapshot::AccountSnapshot,
) -> Result<Vec<crate::snapshot::DigestChain>, SweepError> {
    use collect::trail_integrity::{self, ChainPolicy};
    let deps = &run.deps;
    let planned = trail_integrity::plan(&run.org, &account.id, snap, &run.bucket_owners);
    if planned.is_empty() {
        return Ok(Vec::new());
    }
    let cursors = store::digest_cursors::of_account(&deps.pool, &account.id).await?;
    let policy = ChainPolicy {
        window: chrono::Duration::hours(deps.controls.digest_window_hours),
        stall_after: chrono::Duration::hours(deps.controls.max_delivery_age_hours),
        now: Utc::now(),
    };
    let mut readers: BTreeMap<AccountId, Result<aws::AccountClients, crate::snapshot::Gap>> = BTreeMap::new();
    let mut out = Vec::with_capacity(planned.len());
    for chain in planned {
        if !readers.contains_key(&chain.read_as) {
            let reader = if chain.read_as == account.id {
                Ok(clients.clone())
            } else if chain.read_as == run.org.management_account_id
                && deps.aws.settings().management_account_access == ManagementAccess::OwnCredentials
            {
                Ok(deps.aws.own_clients())
            } else {
                aws::assume_role(&deps.aws, &chain.read_as).await.map_err(|e| {
                    let mut gap = crate::snapshot::Gap::from_failure("sts", "AssumeRole", None, e.failure);
                    gap.message = format!(
                        "the trail bucket {} is read as account {}, whose role {} could not be assumed: {}",
                        chain.target.bucket, chain.read_as, e.role_arn, gap.message
                    );
                    gap
                })
            };
            readers.insert(chain.read_as.clone(), reader);
        }
        let cursor = cursors
            .iter()
            .find(|c| c.trail_arn == chain.trail_arn && c.region == chain.target.region.as_str())
            .map(|c| &c.cursor);
        let verification = match &readers[&chain.read_as] {
            Ok(reader) => {
                let (budget, keys) = (&run.digest_budget, &run.public_keys);
                trail_integrity::verify_chain(reader, &chain.target, cursor, &policy, budget, keys).await
            }
            Err(gap) => Err(gap.clone()),
        };
        // A verified chain carries its breaks itself; one that could not be read keeps the
        // ones found before, so a known failure stays one.
        let recorded_breaks = match (&verification, cursor) {
            (Err(_), Some(c)) => c.breaks.clone(),
            _ => Vec::new(),
        };
        out.push(crate::snapshot::DigestChain {
            trail_arn: chain.trail_arn,
            region: chain.target.region,
            bucket: chain.target.bucket,
            digest_prefix: chain.target.digest_prefix,
            read_as: chain.read_as,
            verification,
            recorded_breaks,
        });
    }
    Ok(out)
}
