//! Tracing set-up. Logs go to stderr (stdout is for command output such as
//! `sweep --output json`); `RUST_LOG` filters, `SWEEPER_LOG_FORMAT=json` switches to JSON lines.
//!
//! Field names are dotted (`account.id`, `aws.region`, `control.id`, `sweep.id`); secrets
//! never appear in fields (configuration secrets are `SecretString`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call once per process.
pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = std::env::var("SWEEPER_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless, so its error is ignored on purpose.
    if json {
        drop(builder.json().try_init());
    } else {
        drop(builder.try_init());
    }
}
