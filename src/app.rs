//! The composition root: the one place that turns [`Settings`] into the running parts (the
//! database, the AWS context, what a sweep needs, the runner, the API state) and, for
//! `serve`, runs them together. `main`, the integration tests and the benchmarks build the
//! service here, so they wire it the way production does.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use sqlx::PgPool;
use tracing::info;

use crate::api::{self, AppState, Listeners, ServeError};
use crate::aws::AwsContext;
use crate::catalog::Catalog;
use crate::config::{SecurityHubMode, Settings};
use crate::domain::Region;
use crate::scheduler::{self, NoSweeps, Runner};
use crate::store::{self, StoreError, outbox::OutboxPolicy};
use crate::sweep::SweepDeps;

/// Why the service could not be put together.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The database could not be reached, migrated or given the catalog.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Security Hub central mode needs the account of the service's own credentials.
    #[error("Security Hub central mode: {0}")]
    CentralAccount(String),
}

/// The service, put together.
pub struct App {
    settings: Settings,
    runner: Arc<Runner>,
    state: AppState,
}

impl App {
    /// The service as `main` runs it: the configured database (connected, migrated, the
    /// catalog synchronised) and AWS from the environment. `progress` prints per-account
    /// progress to stderr (the `sweep` subcommand).
    pub async fn build(settings: &Settings, catalog: Arc<Catalog>, progress: bool) -> Result<Self, BuildError> {
        let pool = prepare_database(settings, &catalog).await?;
        let aws = AwsContext::from_env(&settings.aws).await;
        let mut deps = sweep_deps(settings, catalog, pool, aws).await?;
        deps.progress = progress;
        Ok(Self::from_deps(settings, deps))
    }

    /// The service over a given database and AWS context (the tests' emulator, a
    /// benchmark's database), wired as [`App::build`] wires it.
    pub async fn with(
        settings: &Settings,
        catalog: Arc<Catalog>,
        pool: PgPool,
        aws: AwsContext,
    ) -> Result<Self, BuildError> {
        Ok(Self::from_deps(settings, sweep_deps(settings, catalog, pool, aws).await?))
    }

    /// The runner and the API over `deps` (which a test may have adjusted).
    pub fn from_deps(settings: &Settings, deps: SweepDeps) -> Self {
        let sync = std::time::Duration::from_secs(settings.security_hub.sync_interval_minutes * 60);
        let (pool, catalog) = (deps.pool.clone(), Arc::clone(&deps.catalog));
        let runner = Arc::new(Runner::new(deps, settings.security_hub.concurrency).with_sync_interval(sync));
        let trigger = Arc::new(Arc::clone(&runner));
        let state = AppState::new(pool, catalog, trigger, &settings.api.tokens, crate::telemetry::install_metrics())
            .with_controls(&settings.controls);
        Self { settings: settings.clone(), runner, state }
    }

    /// The API alone over `pool`, without AWS: `POST /sweeps` answers 503. For serving and
    /// measuring the read path where no sweep runs.
    pub fn api_only(settings: &Settings, catalog: Arc<Catalog>, pool: PgPool) -> AppState {
        AppState::new(pool, catalog, Arc::new(NoSweeps::default()), &settings.api.tokens, None)
            .with_controls(&settings.controls)
    }

    /// What a sweep needs.
    pub fn sweep_deps(&self) -> &SweepDeps {
        self.runner.deps()
    }

    /// The runner of sweeps and deliveries.
    pub fn runner(&self) -> &Arc<Runner> {
        &self.runner
    }

    /// The API's state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The whole HTTP surface.
    pub fn router(&self) -> axum::Router {
        api::router(self.state.clone())
    }

    /// `serve`: binds the API, resumes an interrupted sweep, starts the schedule and the
    /// retention pruning, and serves until SIGTERM or SIGINT. Then shuts down gracefully: no
    /// new requests or sweeps, the accounts in flight finish, the sweep stays resumable.
    pub async fn serve(self) -> Result<(), ServeError> {
        let api_settings = &self.settings.api;
        let listeners = Listeners::bind(api_settings).await?;
        let runner = self.runner;
        scheduler::resume_interrupted(&runner).await?;
        let mut schedule = scheduler::start(Arc::clone(&runner), &api_settings.schedule).await?;
        info!(listen = %listeners.api_addr()?, schedule = %api_settings.schedule, "started");

        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let signal_runner = Arc::clone(&runner);
        tokio::spawn(async move {
            wait_for_signal().await;
            info!("shutting down: finishing the requests and accounts in flight");
            signal_runner.stop();
            stop_tx.send_replace(true);
        });
        let keep = chrono::Duration::days(self.settings.database.retention_days);
        let pruning = tokio::spawn(prune_daily(self.state.pool.clone(), keep, stop_rx.clone()));
        let stopped = || {
            let mut rx = stop_rx.clone();
            async move { drop(rx.wait_for(|s| *s).await) }
        };
        let served = api::serve(api_settings, listeners, self.state, stopped).await;
        runner.stop();
        schedule.shutdown().await?;
        runner.wait_idle().await;
        pruning.abort();
        info!("stopped");
        served
    }
}

/// Connects and migrates the database and records the catalog's controls.
pub async fn prepare_database(settings: &Settings, catalog: &Catalog) -> Result<PgPool, StoreError> {
    let pool = store::connect(&settings.database).await?;
    store::migrate(&pool).await?;
    store::controls::sync(&pool, catalog).await?;
    Ok(pool)
}

/// What a sweep needs, from the settings: the home region of the AWS context, and where
/// Security Hub findings go (in central mode, the account of the service's own credentials).
pub async fn sweep_deps(
    settings: &Settings,
    catalog: Arc<Catalog>,
    pool: PgPool,
    aws: AwsContext,
) -> Result<SweepDeps, BuildError> {
    let home_region = aws
        .home_region()
        .and_then(|r| Region::parse(&r).ok())
        .unwrap_or_else(|| Region::parse("us-east-1").expect("a valid literal region"));
    let sh = &settings.security_hub;
    let security_hub = if sh.enabled {
        let central_account = match sh.mode {
            SecurityHubMode::Member => None,
            SecurityHubMode::Central => Some(aws.own_account_id().await.map_err(BuildError::CentralAccount)?),
        };
        Some(OutboxPolicy {
            region: sh.region.as_ref().unwrap_or(&home_region).to_string(),
            central_account,
            heartbeat: chrono::Duration::days(sh.heartbeat_days),
        })
    } else {
        None
    };
    Ok(SweepDeps {
        pool,
        aws,
        catalog,
        sweep: settings.sweep.clone(),
        controls: settings.controls.clone(),
        home_region,
        progress: false,
        stop: Arc::new(AtomicBool::new(false)),
        security_hub,
    })
}
/// Prunes what is older than `keep` a minute after start-up and then daily (hourly after a
/// failure), until `stop`.
///
/// Each run is independent and safe beside a running sweep (see `store::retention`); a
/// failed run (the database away) is logged and retried at the next one.
async fn prune_daily(pool: PgPool, keep: chrono::Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut wait = std::time::Duration::from_secs(60);
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match store::retention::prune(&pool, keep).await {
            Ok(p) => {
                info!(
                    snapshots = p.snapshots,
                    gaps = p.gaps,
                    sweep_tasks = p.sweep_tasks,
                    evidence_detached = p.evidence_detached,
                    "retention: pruned what is older than the retention"
                );
                wait = std::time::Duration::from_secs(24 * 3600);
            }
            Err(e) => {
                tracing::warn!(error = %e, "retention: pruning failed; retried in an hour");
                wait = std::time::Duration::from_secs(3600);
            }
        }
    }
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the service");
                drop(interrupt.await);
                return;
            }
        };
        tokio::select! {
            r = interrupt => drop(r),
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    drop(interrupt.await);
}
