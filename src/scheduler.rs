//! Runs sweeps for the `serve` process: on the cron schedule, on `POST /api/v1/sweeps`, at
//! start-up to resume an interrupted sweep, and whenever the running sweep's lease lapses
//! (its process died: [`start`] also watches the lease). Each run is `sweep::run` (or
//! `sweep::resume`) followed by the Security Hub delivery (the same steps as the `sweep`
//! subcommand, through [`deliver`]). Between sweeps it also delivers on its own interval and
//! when an exception changes, so suppressions, their expiry and deferred findings reach
//! Security Hub without a sweep.
//!
//! It never decides by itself whether a sweep may start: `sweep::run` refuses a second
//! sweep through the database (`sweeps_one_running` and the sweep's lease), which holds
//! across replicas. It must not call AWS or the database other than through `sweep`,
//! `store` and `export`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use tracing::{error, info, warn};

use crate::aws::CallCounts;
use crate::domain::{AccountId, SweepId};
use crate::export::security_hub::DrainReport;
use crate::export::sender::{Counters, Sender};
use crate::store::workflow::DefaultTarget;
use crate::store::{StoreError, sweeps};
use crate::sweep::{self, SweepDeps, SweepError, SweepReport};

/// Sends the Security Hub outbox after a sweep, when delivery is on (`deps.security_hub`).
///
/// Shared by the `sweep` subcommand and the `serve` runner so both deliver the same way.
pub async fn deliver(
    deps: &SweepDeps,
    concurrency: usize,
    management_account: Option<AccountId>,
    counters: Arc<Counters>,
) -> Result<Option<DrainReport>, StoreError> {
    let Some(policy) = &deps.security_hub else { return Ok(None) };
    let sender = Sender {
        pool: deps.pool.clone(),
        aws: deps.aws.clone(),
        catalog: Arc::clone(&deps.catalog),
        management_account,
        hub: DefaultTarget { region: policy.region.clone(), central_account: policy.central_account.clone() },
        concurrency,
        retry_base: chrono::Duration::minutes(5),
        max_requests: None,
        counters,
    };
    sender.drain().await.map(Some)
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

// `Sender::drain` is Send, but rustc needs the concrete lifetimes of this site to see it.
fn boxed_deliver(
    deps: &SweepDeps,
    concurrency: usize,
    management_account: Option<AccountId>,
    counters: Arc<Counters>,
) -> BoxFuture<'_, Result<Option<DrainReport>, StoreError>> {
    Box::pin(deliver(deps, concurrency, management_account, counters))
}

/// Why `POST /sweeps` could not start a sweep.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// A sweep is running (here or in another replica).
    #[error("sweep {0} is already running")]
    AlreadyRunning(SweepId),
    /// The process is shutting down.
    #[error("the service is shutting down")]
    ShuttingDown,
    /// The sweep ended before it was recorded (for example, the organization could not be read).
    #[error("the sweep could not start: {0}")]
    Failed(String),
    /// This process does not run sweeps (an API served without AWS).
    #[error("this process does not run sweeps")]
    NotRunHere,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the API may ask of whoever runs sweeps: the narrow handle `api::AppState` holds
/// instead of the runner, so the API can be built and served without AWS ([`NoSweeps`]).
pub trait SweepTrigger: Send + Sync {
    /// Starts a sweep in the background (or resumes the one whose process died) and returns
    /// its id once it is recorded.
    fn trigger(&self, trigger: &'static str) -> BoxFuture<'_, Result<SweepId, TriggerError>>;
    /// Asks for a Security Hub delivery soon (an exception changed).
    fn request_security_hub_sync(&self);
    /// AWS calls made so far, by service and operation.
    fn aws_calls(&self) -> CallCounts;
    /// Security Hub delivery counters since start-up.
    fn security_hub_counters(&self) -> &Counters;
}

impl SweepTrigger for Arc<Runner> {
    fn trigger(&self, trigger: &'static str) -> BoxFuture<'_, Result<SweepId, TriggerError>> {
        Box::pin(Runner::trigger(self, trigger))
    }

    fn request_security_hub_sync(&self) {
        Runner::request_security_hub_sync(self);
    }

    fn aws_calls(&self) -> CallCounts {
        self.deps.aws.counter().snapshot()
    }

    fn security_hub_counters(&self) -> &Counters {
        &self.counters
    }
}

/// The trigger of a process that does not run sweeps: every trigger is refused.
#[derive(Debug, Default)]
pub struct NoSweeps(Counters);

impl SweepTrigger for NoSweeps {
    fn trigger(&self, _trigger: &'static str) -> BoxFuture<'_, Result<SweepId, TriggerError>> {
        Box::pin(std::future::ready(Err(TriggerError::NotRunHere)))
    }

    fn request_security_hub_sync(&self) {}

    fn aws_calls(&self) -> CallCounts {
        CallCounts::new()
    }

    fn security_hub_counters(&self) -> &Counters {
        &self.0
    }
}

/// Runs sweeps in the background of the `serve` process.
pub struct Runner {
    deps: SweepDeps,
    security_hub_concurrency: usize,
    counters: Arc<Counters>,
    // Held (shared) by every run; shutdown takes it exclusively to wait for the runs in flight.
    active: tokio::sync::RwLock<()>,
    // A delivery between sweeps was asked for; the one running (if any) picks it up.
    sync_requested: AtomicBool,
    syncing: tokio::sync::Mutex<()>,
    sync_interval: Duration,
    // This process's workers are lent to a sweep another replica drives.
    joining: AtomicBool,
}

impl Runner {
    /// A runner over `deps`; Security Hub delivery follows `deps.security_hub`.
    pub fn new(deps: SweepDeps, security_hub_concurrency: usize) -> Self {
        Self {
            deps,
            security_hub_concurrency,
            counters: Arc::default(),
            active: tokio::sync::RwLock::new(()),
            sync_requested: AtomicBool::new(false),
            syncing: tokio::sync::Mutex::new(()),
            sync_interval: Duration::from_secs(15 * 60),
            joining: AtomicBool::new(false),
        }
    }

    /// How often `serve` delivers to Security Hub between sweeps (`security_hub.sync_interval_minutes`).
    #[must_use]
    pub fn with_sync_interval(mut self, interval: Duration) -> Self {
        self.sync_interval = interval;
        self
    }

    /// Delivers to Security Hub now, between sweeps: what is due in the outbox, and the
    /// workflow changes the live exceptions call for (an expiry included). Skipped while
    /// another delivery of this process runs. Logs the outcome.
    pub async fn sync_security_hub(&self, trigger: &str) {
        let Ok(_one) = self.syncing.try_lock() else {
            info!(trigger, "Security Hub delivery skipped: one is running");
            return;
        };
        self.sync_once(trigger).await;
    }

    async fn sync_once(&self, trigger: &str) {
        if self.stopping() || self.deps.security_hub.is_none() {
            return;
        }
        let _running = self.active.read().await;
        let management = match sweeps::latest_management_account(&self.deps.pool).await {
            Ok(m) => m,
            Err(e) => {
                error!(trigger, error = %e, "Security Hub delivery not started");
                return;
            }
        };
        match boxed_deliver(&self.deps, self.security_hub_concurrency, management, Arc::clone(&self.counters)).await {
            Ok(Some(d)) if d.busy => info!(trigger, "Security Hub delivery skipped: another process delivers"),
            Ok(Some(d)) => info!(
                trigger,
                imported = d.imported,
                deferred = d.deferred,
                suppressions = d.workflow.updated,
                suppressions_deferred = d.workflow.deferred,
                "Security Hub delivery done"
            ),
            Ok(None) => {}
            Err(e) => error!(trigger, error = %e, "Security Hub delivery failed; everything stays queued"),
        }
    }

    /// Asks for a delivery soon (an exception was created or withdrawn). Requests made while
    /// one runs are folded into one more run after it.
    pub fn request_security_hub_sync(self: &Arc<Self>) {
        if self.deps.security_hub.is_none() {
            return;
        }
        self.sync_requested.store(true, Ordering::SeqCst);
        let runner = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                {
                    let Ok(_one) = runner.syncing.try_lock() else { return };
                    while runner.sync_requested.swap(false, Ordering::SeqCst) {
                        runner.sync_once("requested").await;
                    }
                }
                // A request that arrived while the lock was being released.
                if !runner.sync_requested.load(Ordering::SeqCst) {
                    return;
                }
            }
        });
    }

    /// What sweeps use (the API reads the pool and catalog from here).
    pub fn deps(&self) -> &SweepDeps {
        &self.deps
    }

    /// Whether shutdown has begun.
    pub fn stopping(&self) -> bool {
        self.deps.stop.load(Ordering::Relaxed)
    }

    /// One sweep (or the resumption of the one whose process died), then delivery to Security Hub.
    ///
    /// A delivery failure is logged, not returned: the findings stay in the outbox for the next run.
    pub async fn run_once(self: &Arc<Self>, trigger: &str) -> Result<SweepReport, SweepError> {
        let _running = self.active.read().await;
        let started = Instant::now();
        let result = sweep::run(&self.deps, trigger).await;
        crate::telemetry::record_sweep(&result, started.elapsed());
        let report = result?;
        self.deliver_after(&report).await;
        Ok(report)
    }

    /// Takes over and finishes the running sweep when its lease lapsed, then delivers; never
    /// starts a new sweep. `Ok(None)`: no sweep is running.
    pub async fn resume_once(self: &Arc<Self>) -> Result<Option<SweepReport>, SweepError> {
        let _running = self.active.read().await;
        let started = Instant::now();
        let result = match sweep::resume(&self.deps).await {
            Ok(None) => return Ok(None),
            Ok(Some(report)) => Ok(report),
            Err(e) => Err(e),
        };
        crate::telemetry::record_sweep(&result, started.elapsed());
        let report = result?;
        self.deliver_after(&report).await;
        Ok(Some(report))
    }

    async fn deliver_after(self: &Arc<Self>, report: &SweepReport) {
        // After a shutdown signal the outbox is left for the next process.
        if self.stopping() {
            return;
        }
        let management = report.management_account.clone();
        match boxed_deliver(&self.deps, self.security_hub_concurrency, management, Arc::clone(&self.counters)).await {
            // Another delivery runs: this sweep's findings go with one more run after it.
            Ok(Some(d)) if d.busy => self.request_security_hub_sync(),
            Ok(Some(d)) => info!(
                sweep.id = %report.sweep_id, imported = d.imported, failed = d.failed, deferred = d.deferred,
                suppressions = d.workflow.updated, "Security Hub delivery done"
            ),
            Ok(None) => {}
            Err(e) => {
                error!(sweep.id = %report.sweep_id, error = %e, "Security Hub delivery failed; findings stay queued")
            }
        }
    }

    /// A scheduler tick: runs a sweep (or takes over the one whose process died) and logs how it ended.
    pub async fn run_logged(self: &Arc<Self>, trigger: &str) {
        if self.stopping() {
            return;
        }
        log_outcome(trigger, self.run_once(trigger).await.map(Some));
    }

    /// Start-up and the lease watcher: takes over the running sweep if its lease lapsed, and
    /// logs how it ended.
    /// Lends this process's workers to the sweep another replica drives, in the background,
    /// unless they already are (or the process is stopping).
    pub fn join_in_background(self: &Arc<Self>) {
        if self.stopping() || self.joining.swap(true, Ordering::SeqCst) {
            return;
        }
        let runner = Arc::clone(self);
        tokio::spawn(async move {
            {
                // Shutdown waits for the accounts in flight, as for a sweep this process drives.
                let _active = runner.active.read().await;
                match sweep::join(&runner.deps).await {
                    Ok(0) => {}
                    Ok(n) => info!(accounts = n, "helped with the sweep another replica drives"),
                    Err(e) => warn!(error = %e, "helping with another replica's sweep failed; it stays resumable"),
                }
            }
            runner.joining.store(false, Ordering::SeqCst);
        });
    }

    pub async fn resume_logged(self: &Arc<Self>, trigger: &str) {
        if self.stopping() {
            return;
        }
        log_outcome(trigger, self.resume_once().await);
    }

    /// Starts a sweep in the background and returns its id as soon as it is recorded; when
    /// the running sweep's process died (its lease lapsed), resumes that one and returns its id.
    pub async fn trigger(self: &Arc<Self>, trigger: &'static str) -> Result<SweepId, TriggerError> {
        if self.stopping() {
            return Err(TriggerError::ShuttingDown);
        }
        // A sweep whose lease lapsed (its process died) is not refused: this trigger resumes it.
        if let Some((id, lease_left)) = sweeps::running_lease(&self.deps.pool).await?
            && lease_left > 0.0
        {
            return Err(TriggerError::AlreadyRunning(id));
        }
        let newest_before = sweeps::page(&self.deps.pool, None, 1).await?.first().map(|s| s.id);
        let runner = Arc::clone(self);
        let task = tokio::spawn(async move { runner.run_once(trigger).await });
        // The sweep row is written before anything slow (AWS) happens, so this wait is short.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if task.is_finished() {
                return match task.await {
                    Ok(Ok(report)) => Ok(report.sweep_id),
                    Ok(Err(SweepError::AlreadyRunning(id))) => Err(TriggerError::AlreadyRunning(id)),
                    Ok(Err(e)) => {
                        // It failed fast (say, the organization could not be read) but it was
                        // recorded: the caller gets its id and reads the reason from it.
                        match sweeps::page(&self.deps.pool, None, 1).await?.first() {
                            Some(s) if Some(s.id) != newest_before && s.trigger == trigger => {
                                error!(sweep.id = %s.id, sweep.trigger = trigger, error = %e, "sweep failed");
                                Ok(s.id)
                            }
                            _ => Err(TriggerError::Failed(e.to_string())),
                        }
                    }
                    Err(e) => Err(TriggerError::Failed(e.to_string())),
                };
            }
            // Recorded (or taken over) and driven: a live lease on the running sweep.
            if let Some((id, lease_left)) = sweeps::running_lease(&self.deps.pool).await?
                && lease_left > 0.0
            {
                return Ok(id);
            }
            if Instant::now() > deadline {
                // The task goes on; it is visible in GET /sweeps once recorded.
                return Err(TriggerError::Failed("the sweep was not recorded within 10 seconds".into()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops taking new work: workers finish the account in flight, the sweep stays resumable.
    pub fn stop(&self) {
        self.deps.stop.store(true, Ordering::Relaxed);
    }

    /// Waits until the runs in flight (sweeps, deliveries) have ended; after [`Runner::stop`]
    /// no new one starts.
    pub async fn wait_idle(&self) {
        drop(self.active.write().await);
    }
}

/// Starts the cron schedule (six fields, seconds first, UTC). Each tick runs a sweep unless one
/// is running, in which case the tick is refused and logged. With Security Hub delivery on,
/// it also delivers on the runner's sync interval between sweeps. Also starts the lease
/// watcher ([`watch_lease`]), which ends when the runner stops.
pub async fn start(runner: Arc<Runner>, schedule: &str) -> Result<JobScheduler, JobSchedulerError> {
    tokio::spawn(watch_lease(Arc::clone(&runner)));
    let scheduler = JobScheduler::new().await?;
    let sweeps = Arc::clone(&runner);
    let job = Job::new_async(schedule, move |_id, _lock| {
        let runner = Arc::clone(&sweeps);
        Box::pin(async move { runner.run_logged("schedule").await })
    })?;
    scheduler.add(job).await?;
    if runner.deps.security_hub.is_some() {
        let sync = Job::new_repeated_async(runner.sync_interval, move |_id, _lock| {
            let runner = Arc::clone(&runner);
            Box::pin(async move { runner.sync_security_hub("interval").await })
        })?;
        scheduler.add(sync).await?;
    }
    scheduler.start().await?;
    Ok(scheduler)
}

/// Resumes the interrupted sweep in the background, if there is one whose lease lapsed. A
/// sweep another live process drives is left to it (the lease watcher takes it over if that
/// process dies).
pub async fn resume_interrupted(runner: &Arc<Runner>) -> Result<Option<SweepId>, StoreError> {
    let Some((id, lease_left)) = sweeps::running_lease(&runner.deps.pool).await? else { return Ok(None) };
    if lease_left > 0.0 {
        info!(sweep.id = %id, "a sweep is running in another process; taken over here if its lease lapses");
        return Ok(None);
    }
    warn!(sweep.id = %id, "resuming an interrupted sweep");
    let runner = Arc::clone(runner);
    tokio::spawn(async move { runner.resume_logged("resume").await });
    Ok(Some(id))
}

/// Takes the running sweep over as soon as its lease lapses (its process died or hangs),
/// until the runner stops. It sleeps until the lease it sees would lapse, at most a quarter
/// of a lease (at least a second, at most 15 s) at a time, so a sweep started elsewhere
/// is noticed soon and one whose process dies is resumed within a lease and a fraction.
pub async fn watch_lease(runner: Arc<Runner>) {
    let lease = runner.deps.sweep.lease_seconds as f64;
    let poll = (lease / 4.0).clamp(1.0, 15.0);
    while !runner.stopping() {
        let wait = match sweeps::running_lease(&runner.deps.pool).await {
            Ok(None) => poll,
            Ok(Some((_, left))) if left > 0.0 => {
                // Live: another replica (or this one) drives it; lend it our workers meanwhile.
                runner.join_in_background();
                (left + 0.05).min(poll)
            }
            Ok(Some((id, _))) => {
                info!(sweep.id = %id, "the running sweep's lease lapsed: taking it over");
                runner.resume_logged("takeover").await;
                // Not at once: a takeover that failed (the database) is not retried in a loop.
                1.0
            }
            Err(e) => {
                warn!(error = %e, "could not read the running sweep's lease");
                poll
            }
        };
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
}

fn log_outcome(trigger: &str, outcome: Result<Option<SweepReport>, SweepError>) {
    match outcome {
        Ok(Some(r)) => info!(sweep.id = %r.sweep_id, sweep.trigger = trigger, status = %r.status, "sweep ended"),
        Ok(None) => {}
        Err(SweepError::AlreadyRunning(id)) => {
            info!(sweep.id = %id, sweep.trigger = trigger, "sweep not started: another sweep is running");
        }
        Err(e @ SweepError::TakenOver(_)) => warn!(sweep.trigger = trigger, error = %e, "sweep handed over"),
        Err(e) => error!(sweep.trigger = trigger, error = %e, "sweep failed (a running sweep stays resumable)"),
    }
}
