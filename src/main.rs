//! The `bedrock-sweeper` binary: parses the command line, sets up telemetry and
//! configuration, and calls into the library. Nothing else lives here.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bedrock_sweeper::catalog::Catalog;
use bedrock_sweeper::config::{SecurityHubMode, SecurityHubSettings, Settings};
use bedrock_sweeper::domain::Region;
use bedrock_sweeper::store::outbox::OutboxPolicy;
use bedrock_sweeper::sweep::{SweepDeps, SweepError};
use bedrock_sweeper::{api, aws, report, scheduler, store, sweep, telemetry};
use clap::{Parser, Subcommand, ValueEnum};

/// Decides whether an AWS Organization's Amazon Bedrock controls really hold.
#[derive(Debug, Parser)]
#[command(name = "bedrock-sweeper", version, about, long_about = None)]
struct Cli {
    /// TOML configuration file (environment variables SWEEPER_<SECTION>__<KEY> override it).
    #[arg(long, global = true, env = "SWEEPER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one sweep now (or resume an interrupted one) and print a summary.
    ///
    /// Exits 0 when the sweep completed, whatever it found; non-zero when it could not run.
    Sweep {
        /// Summary format.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
        /// Do not print a progress line per account on stderr.
        #[arg(long)]
        quiet: bool,
        /// Do not send findings to Security Hub after the sweep (they stay queued).
        #[arg(long)]
        no_security_hub: bool,
    },
    /// Serve the REST API and run sweeps on the configured schedule until SIGTERM/SIGINT.
    ///
    /// Resumes an interrupted sweep on start. Settings are in the `[api]` section.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// List the control catalog (it is validated on every start).
    Controls {
        /// Print the catalog as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` is a long-running service: its start, sweeps and shutdown are worth logging.
    telemetry::init(if matches!(cli.command, Command::Serve) { "info" } else { "warn" });
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(2, &e.to_string()),
    };
    let catalog = match Catalog::embedded() {
        Ok(c) => Arc::new(c),
        Err(e) => return fail(1, &format!("the control catalog is invalid: {e}")),
    };
    match cli.command {
        Command::Controls { json } => {
            if json {
                match serde_json::to_string_pretty(catalog.controls()) {
                    Ok(text) => println!("{text}"),
                    Err(e) => return fail(1, &e.to_string()),
                }
            } else {
                print!("{}", report::controls_table(&catalog));
            }
            ExitCode::SUCCESS
        }
        Command::Migrate => match prepare_database(&settings, &catalog).await {
            Ok(_) => {
                eprintln!("database is up to date");
                ExitCode::SUCCESS
            }
            Err(e) => fail(1, &e.to_string()),
        },
        Command::Serve => {
            let deps = match sweep_deps(&settings, &catalog, false).await {
                Ok(d) => d,
                Err(e) => return fail(1, &e),
            };
            let sync = std::time::Duration::from_secs(settings.security_hub.sync_interval_minutes * 60);
            let runner =
                Arc::new(scheduler::Runner::new(deps, settings.security_hub.concurrency).with_sync_interval(sync));
            let mut state = api::AppState::new(runner, &settings.api.tokens, api::metrics::install());
            state.retention = Some(chrono::Duration::days(settings.database.retention_days));
            match api::serve(&settings.api, state).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(1, &e.to_string()),
            }
        }
        Command::Sweep { output, quiet, no_security_hub } => {
            let deps = match sweep_deps(&settings, &catalog, !quiet).await {
                Ok(d) => d,
                Err(e) => return fail(1, &e),
            };
            let stop_on_signal = Arc::clone(&deps.stop);
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("interrupt: finishing the accounts in flight; run `sweep` again to resume");
                    stop_on_signal.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            });
            match sweep::run(&deps, "cli").await {
                Ok(r) => {
                    let delivery = if no_security_hub {
                        None
                    } else {
                        match scheduler::deliver(
                            &deps,
                            settings.security_hub.concurrency,
                            r.management_account.clone(),
                            Arc::default(),
                        )
                        .await
                        {
                            Ok(d) => d,
                            Err(e) => return fail(1, &format!("Security Hub delivery: {e}")),
                        }
                    };
                    match output {
                        Output::Text => match store::sweeps::finding_counts(&deps.pool, r.sweep_id).await {
                            Ok(counts) => print!("{}", report::text(&r, &counts, delivery.as_ref())),
                            Err(e) => return fail(1, &e.to_string()),
                        },
                        Output::Json => {
                            // Streamed: the findings of a large organization are never all in memory.
                            let head = report::json_head(&r, delivery.as_ref());
                            let findings = store::sweeps::stream_findings(&deps.pool, r.sweep_id);
                            let mut out = std::io::BufWriter::new(std::io::stdout());
                            if let Err(e) = report::write_json(&mut out, &head, findings).await {
                                return fail(1, &e.to_string());
                            }
                        }
                    }
                    if r.status == "completed" { ExitCode::SUCCESS } else { ExitCode::from(3) }
                }
                Err(e @ (SweepError::AlreadyRunning(_) | SweepError::TakenOver(_))) => fail(3, &e.to_string()),
                Err(SweepError::Discovery(e)) if e.is_config_error() => fail(2, &e.to_string()),
                Err(e) => fail(1, &e.to_string()),
            }
        }
    }
}

/// Connects and migrates the database, reads the AWS environment and builds what a sweep needs.
async fn sweep_deps(settings: &Settings, catalog: &Arc<Catalog>, progress: bool) -> Result<SweepDeps, String> {
    let pool = prepare_database(settings, catalog).await.map_err(|e| e.to_string())?;
    let aws = aws::AwsContext::from_env(&settings.aws).await;
    let home_region = aws
        .home_region()
        .and_then(|r| Region::parse(&r).ok())
        .unwrap_or_else(|| Region::parse("us-east-1").expect("a valid literal region"));
    let security_hub = if settings.security_hub.enabled {
        Some(security_hub_policy(&settings.security_hub, &aws, &home_region).await?)
    } else {
        None
    };
    Ok(SweepDeps {
        pool,
        aws,
        catalog: Arc::clone(catalog),
        sweep: settings.sweep.clone(),
        controls: settings.controls.clone(),
        home_region,
        progress,
        stop: Arc::new(AtomicBool::new(false)),
        security_hub,
    })
}

/// Where Security Hub findings go. In central mode the target is the account of the
/// service's own credentials.
async fn security_hub_policy(
    settings: &SecurityHubSettings,
    aws: &aws::AwsContext,
    home_region: &Region,
) -> Result<OutboxPolicy, String> {
    let central_account = match settings.mode {
        SecurityHubMode::Member => None,
        SecurityHubMode::Central => {
            Some(aws.own_account_id().await.map_err(|e| format!("Security Hub central mode: {e}"))?)
        }
    };
    Ok(OutboxPolicy {
        region: settings.region.as_ref().unwrap_or(home_region).to_string(),
        central_account,
        heartbeat: chrono::Duration::days(settings.heartbeat_days),
    })
}

async fn prepare_database(settings: &Settings, catalog: &Catalog) -> Result<sqlx::PgPool, store::StoreError> {
    let pool = store::connect(&settings.database).await?;
    store::migrate(&pool).await?;
    store::controls::sync(&pool, catalog).await?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
