//! The `bedrock-sweeper` binary: parses the command line, sets up telemetry and
//! configuration, and calls into the library. Nothing else lives here.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bedrock_sweeper::catalog::Catalog;
use bedrock_sweeper::config::Settings;
use bedrock_sweeper::domain::Region;
use bedrock_sweeper::sweep::{SweepDeps, SweepError};
use bedrock_sweeper::{aws, report, store, sweep, telemetry};
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
    },
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
    telemetry::init("warn");
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
        Command::Sweep { output, quiet } => {
            let pool = match prepare_database(&settings, &catalog).await {
                Ok(p) => p,
                Err(e) => return fail(1, &e.to_string()),
            };
            let aws = aws::AwsContext::from_env(&settings.aws).await;
            let home_region = aws
                .home_region()
                .and_then(|r| Region::parse(&r).ok())
                .unwrap_or_else(|| Region::parse("us-east-1").expect("a valid literal region"));
            let stop = Arc::new(AtomicBool::new(false));
            let stop_on_signal = Arc::clone(&stop);
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("interrupt: finishing the accounts in flight; run `sweep` again to resume");
                    stop_on_signal.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            });
            let deps = SweepDeps {
                pool,
                aws,
                catalog,
                sweep: settings.sweep.clone(),
                controls: settings.controls.clone(),
                home_region,
                progress: !quiet,
                stop,
            };
            match sweep::run(&deps, "cli").await {
                Ok(r) => {
                    match output {
                        Output::Text => print!("{}", report::text(&r)),
                        Output::Json => match serde_json::to_string_pretty(&report::json(&r)) {
                            Ok(text) => println!("{text}"),
                            Err(e) => return fail(1, &e.to_string()),
                        },
                    }
                    if r.status == "completed" { ExitCode::SUCCESS } else { ExitCode::from(3) }
                }
                Err(e @ SweepError::AlreadyRunning(_)) => fail(3, &e.to_string()),
                Err(e) => fail(1, &e.to_string()),
            }
        }
    }
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
