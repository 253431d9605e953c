//! The `bedrock-sweeper` binary: parses the command line, sets up telemetry and
//! configuration, and calls into the library. Nothing else lives here.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use bedrock_sweeper::app::{self, App};
use bedrock_sweeper::catalog::Catalog;
use bedrock_sweeper::config::Settings;
use bedrock_sweeper::domain::SweepOutcome;
use bedrock_sweeper::evaluate::preview::{PolicyChange, PolicyType};
use bedrock_sweeper::policy_preview::{self, PreviewFailure};
use bedrock_sweeper::sweep::SweepError;
use bedrock_sweeper::{report, scheduler, store, sweep, telemetry};
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
    /// Preview an SCP, RCP or Bedrock policy change on the organization of the last completed
    /// sweep, without calling AWS: which organization-policy verdicts change and which calls
    /// would be denied that are allowed today.
    ///
    /// Exits 0 when the change opens no fence and blocks no approved path, 4 when it does
    /// (for a pipeline, before `organizations:AttachPolicy`), 2 for a change that cannot be
    /// applied, 1 when it cannot be judged (no completed sweep, database unreachable).
    Preview {
        /// The policy type.
        #[arg(long = "type", value_enum, default_value_t = PreviewType::Scp)]
        policy_type: PreviewType,
        /// The candidate policy document (a new policy, or with `--policy-id` the replacement
        /// content of an existing one).
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// An existing policy (`p-...`) to attach, detach or replace.
        #[arg(long, value_name = "ID")]
        policy_id: Option<String>,
        /// Attach the policy to this root, OU or account (repeatable).
        #[arg(long, value_name = "TARGET")]
        attach: Vec<String>,
        /// Detach `--policy-id` from this root, OU or account (repeatable).
        #[arg(long, value_name = "TARGET")]
        detach: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// List the control catalog (it is validated on every start).
    Controls {
        /// Print the catalog as JSON.
        #[arg(long)]
        json: bool,
        /// Print the README's generated tables (controls, member-role permissions, emulator
        /// coverage) as Markdown.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        /// With `--markdown`: rewrite the generated tables in this file in place.
        #[arg(long, requires = "markdown", value_name = "FILE")]
        update: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PreviewType {
    /// A service control policy.
    Scp,
    /// A resource control policy.
    Rcp,
    /// An Organizations Bedrock policy.
    Bedrock,
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
    let catalog = match Catalog::embedded().and_then(|c| bedrock_sweeper::evaluate::check_catalog(&c).map(|()| c)) {
        Ok(c) => Arc::new(c),
        Err(e) => return fail(1, &format!("the control catalog is invalid: {e}")),
    };
    match cli.command {
        Command::Controls { markdown: true, update, .. } => {
            let blocks = report::readme_blocks(&catalog);
            let Some(path) = update else {
                print!("{}", report::marked_blocks(&blocks));
                return ExitCode::SUCCESS;
            };
            let updated = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|doc| report::splice_blocks(&doc, &blocks))
                .and_then(|doc| std::fs::write(&path, doc).map_err(|e| e.to_string()));
            match updated {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(1, &format!("{}: {e}", path.display())),
            }
        }
        Command::Controls { json, .. } => {
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
        Command::Preview { policy_type, policy, policy_id, attach, detach, output } => {
            let content = match policy.map(|p| std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display())))
            {
                Some(Err(e)) => return fail(2, &e),
                Some(Ok(text)) => Some(text),
                None => None,
            };
            let change = PolicyChange {
                policy_type: match policy_type {
                    PreviewType::Scp => PolicyType::ServiceControlPolicy,
                    PreviewType::Rcp => PolicyType::ResourceControlPolicy,
                    PreviewType::Bedrock => PolicyType::BedrockPolicy,
                },
                policy_id,
                content,
                attach_to: attach,
                detach_from: detach,
            };
            let pool = match app::prepare_database(&settings, &catalog).await {
                Ok(pool) => pool,
                Err(e) => return fail(1, &e.to_string()),
            };
            let controls = Arc::new(settings.controls.clone());
            match policy_preview::preview(&pool, Arc::clone(&catalog), controls, change).await {
                Ok(p) => {
                    match output {
                        Output::Text => print!("{}", report::preview_text(&p)),
                        Output::Json => match serde_json::to_string_pretty(&p) {
                            Ok(text) => println!("{text}"),
                            Err(e) => return fail(1, &e.to_string()),
                        },
                    }
                    if p.harmful { ExitCode::from(4) } else { ExitCode::SUCCESS }
                }
                Err(e @ PreviewFailure::Invalid(_)) => fail(2, &e.to_string()),
                Err(e) => fail(1, &e.to_string()),
            }
        }
        Command::Migrate => match app::prepare_database(&settings, &catalog).await {
            Ok(_) => {
                eprintln!("database is up to date");
                ExitCode::SUCCESS
            }
            Err(e) => fail(1, &e.to_string()),
        },
        Command::Serve => {
            let app = match App::build(&settings, catalog, false).await {
                Ok(app) => app,
                Err(e) => return fail(1, &e.to_string()),
            };
            match app.serve().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(1, &e.to_string()),
            }
        }
        Command::Sweep { output, quiet, no_security_hub } => {
            let app = match App::build(&settings, catalog, !quiet).await {
                Ok(app) => app,
                Err(e) => return fail(1, &e.to_string()),
            };
            let deps = app.sweep_deps();
            let stop_on_signal = Arc::clone(&deps.stop);
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("interrupt: finishing the accounts in flight; run `sweep` again to resume");
                    stop_on_signal.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            });
            match sweep::run(deps, "cli").await {
                Ok(r) => {
                    let delivery = if no_security_hub {
                        None
                    } else {
                        match scheduler::deliver(
                            deps,
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
                    if r.status == SweepOutcome::Completed { ExitCode::SUCCESS } else { ExitCode::from(3) }
                }
                Err(e @ (SweepError::AlreadyRunning(_) | SweepError::TakenOver(_))) => fail(3, &e.to_string()),
                Err(SweepError::Discovery(e)) if e.is_config_error() => fail(2, &e.to_string()),
                Err(e) => fail(1, &e.to_string()),
            }
        }
    }
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
