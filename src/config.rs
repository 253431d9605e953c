//! Settings: parsed once, at start-up, from an optional TOML file and `SWEEPER_*`
//! environment variables (the environment wins), then validated.
//!
//! Each part of the program receives only the section it needs (`&AwsSettings`,
//! `&ControlParameters`, ...), never the whole `Settings`. Secrets (the database URL, which
//! may carry a password, and the external id) are `SecretString`s so they never reach a log.
//!
//! Environment variables: `SWEEPER_<SECTION>__<KEY>`, e.g. `SWEEPER_SWEEP__REGIONS=eu-west-1,eu-central-1`.
//! Lists are comma-separated. `SWEEPER_CONFIG` names the TOML file. AWS credentials,
//! region and endpoint come from the standard AWS chain (`AWS_PROFILE`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, ...), not from here.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::{FilterStrength, Region, TokenHash};

/// Why the configuration was rejected. Every variant names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not TOML. Only the position is given, never the text there: the line may
    /// hold a password.
    #[error("the config file is not valid TOML: {problem} at line {line}, column {column}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What the parser expected (its message, which does not quote the input).
        problem: String,
    },
    /// The TOML (file plus environment) did not match the expected shape.
    #[error("invalid configuration: {0}")]
    Shape(String),
    /// An environment variable does not name a known key or has the wrong type.
    #[error("invalid environment variable {var}: {reason}")]
    Env {
        /// The variable name.
        var: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value has the right type but is not acceptable.
    #[error("invalid configuration key `{key}`: {reason}")]
    Invalid {
        /// The dotted key, e.g. `sweep.account_concurrency`.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// All settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where the state lives.
    pub database: DatabaseSettings,
    /// How the member accounts are reached.
    pub aws: AwsSettings,
    /// Which regions, how much concurrency.
    pub sweep: SweepSettings,
    /// The parameters of the controls (DESIGN §2, the `[brackets]`).
    pub controls: ControlParameters,
    /// Delivery of findings to AWS Security Hub.
    pub security_hub: SecurityHubSettings,
    /// The `serve` subcommand: HTTP API, bearer tokens, sweep schedule.
    pub api: ApiSettings,
}

/// The `serve` subcommand: where it listens, who may call it, when it sweeps.
///
/// Tokens are configured as the SHA-256 of the token (lowercase hex) with a role, as
/// `"<role>:<sha256 hex>"`, e.g. `SWEEPER_API__TOKENS=viewer:9f86…,operator:2c26…`; the
/// tokens themselves never appear in the configuration. Make one with
/// `printf %s "$TOKEN" | sha256sum`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    /// The API's address. Loopback by default: put a TLS-terminating proxy in front.
    pub listen: std::net::SocketAddr,
    /// Serve `/metrics` on this address instead of the API address.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The key of the audit fingerprints (an HMAC of the token), at least 32 characters.
    /// Unset: one is generated and kept in the database, shared by every replica.
    #[serde(serialize_with = "serialize_opt_secret_placeholder")]
    pub fingerprint_secret: Option<SecretString>,
    /// When the scheduler starts a sweep: cron with seconds, in UTC (`sec min hour day month weekday`).
    pub schedule: String,
    /// Bearer tokens as `"<role>:<sha256 hex>"`.
    pub tokens: Vec<TokenHash>,
    /// A client must send a request's whole head (request line and headers) within this
    /// many seconds of starting it, or of the previous response on a kept-alive connection;
    /// otherwise the connection is closed (slow-header clients hold no connection for long).
    pub header_read_timeout_seconds: u64,
    /// A request not answered within this many seconds gets 503 (`timeout`).
    pub request_timeout_seconds: u64,
    /// Requests handled at once; more get 503 (`overloaded`) at once instead of queueing.
    /// `/healthz` is not counted, so the process still shows it is alive under load.
    pub max_concurrent_requests: usize,
    /// Open connections at most; one more is answered 503 (`overloaded`) and closed.
    pub max_connections: usize,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
            fingerprint_secret: None,
            schedule: "0 0 3 * * *".into(),
            tokens: Vec::new(),
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 30,
            max_concurrent_requests: 256,
            max_connections: 1024,
        }
    }
}

/// Parses a cron expression the way the scheduler does (six fields, seconds first).
pub fn parse_schedule(expr: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .build()
        .parse(expr)
        .map_err(|e| e.to_string())
}

/// Delivery of findings to AWS Security Hub (CSPM) with BatchImportFindings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityHubSettings {
    /// Send findings after each sweep.
    pub enabled: bool,
    /// `member`: into each member account's hub through the assumed role (findings are
    /// attributed correctly and members see their own); `central`: everything into the
    /// service's own account (one credential, but findings appear to belong to it).
    pub mode: SecurityHubMode,
    /// The hub region (the aggregation region); empty: the service's AWS region.
    pub region: Option<Region>,
    /// Re-send unchanged active findings after this many days (Security Hub deletes
    /// findings not updated for 90 days).
    pub heartbeat_days: i64,
    /// Target accounts sent to at once.
    pub concurrency: usize,
    /// `serve` also delivers between sweeps this often: exception expiries reach Security Hub
    /// (as workflow NEW) and deferred findings are retried without waiting for the next sweep.
    pub sync_interval_minutes: u64,
}

impl Default for SecurityHubSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            mode: SecurityHubMode::Member,
            region: None,
            heartbeat_days: 7,
            concurrency: 4,
            sync_interval_minutes: 15,
        }
    }
}

/// Where findings are imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecurityHubMode {
    /// Each member account's own hub.
    Member,
    /// The service's own account.
    Central,
}

/// PostgreSQL connection.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `postgres://` URL. Secret because it may carry a password.
    #[serde(serialize_with = "serialize_secret_placeholder")]
    pub url: SecretString,
    /// Pool size.
    pub max_connections: u32,
    /// How long to wait for a connection before giving up, in seconds.
    pub connect_timeout_seconds: u64,
    /// Snapshots, collection gaps and sweep tasks older than this many days are deleted
    /// (`serve` prunes daily) unless a current finding still refers to them.
    pub retention_days: i64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("postgres://postgres@127.0.0.1:5432/bedrock_sweeper"),
            max_connections: 10,
            connect_timeout_seconds: 10,
            retention_days: 400,
        }
    }
}

/// How the service reaches the management account and the member accounts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsSettings {
    /// The read-only role assumed in every member account (deploy/member-role-policy.json).
    pub member_role_name: String,
    /// Its IAM path.
    pub member_role_path: String,
    /// The external id the role's trust policy requires, if any.
    #[serde(serialize_with = "serialize_opt_secret_placeholder")]
    pub external_id: Option<SecretString>,
    /// The role session name, visible in the member accounts' CloudTrail.
    pub session_name: String,
    /// Lifetime of the assumed-role credentials; they are refreshed when a sweep outlives them.
    pub session_duration_seconds: i32,
    /// How the management account itself is assessed.
    pub management_account_access: ManagementAccess,
    /// Attempts per AWS call (standard retry mode, exponential backoff with jitter).
    pub max_attempts: u32,
    /// Timeout of one AWS call including its retries, in seconds.
    pub call_timeout_seconds: u64,
    /// Address S3 buckets path-style (needed for S3-compatible endpoints such as the local emulator).
    pub s3_force_path_style: bool,
    /// Timeout of establishing one connection to an AWS endpoint, in seconds.
    pub connect_timeout_seconds: u64,
    /// Timeout of one AWS call with all its attempts and the backoff between them, in seconds.
    pub operation_timeout_seconds: u64,
}

impl Default for AwsSettings {
    fn default() -> Self {
        Self {
            member_role_name: "BedrockSweeperReadOnly".into(),
            member_role_path: "/".into(),
            external_id: None,
            session_name: "bedrock-sweeper".into(),
            session_duration_seconds: 3600,
            management_account_access: ManagementAccess::Role,
            max_attempts: 4,
            call_timeout_seconds: 30,
            s3_force_path_style: false,
            connect_timeout_seconds: 5,
            operation_timeout_seconds: 120,
        }
    }
}

impl AwsSettings {
    /// The ARN of the member role in `account`, in `partition` (the caller's).
    pub fn member_role_arn(&self, partition: &crate::domain::Partition, account: &crate::domain::AccountId) -> String {
        partition.iam_role_arn(account.as_str(), &self.member_role_path, &self.member_role_name)
    }
}

/// Whether the management account is assessed through the member role or with the
/// service's own credentials (which already belong to the management account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManagementAccess {
    /// Assume `member_role_name` in the management account too.
    Role,
    /// Use the credentials the service runs with.
    OwnCredentials,
}

/// Scope and pace of a sweep.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweepSettings {
    /// Regions to sweep. Empty: the regions enabled in each account that offer Bedrock
    /// (`findings/regions.toml`).
    pub regions: Vec<Region>,
    /// Accounts collected at once.
    pub account_concurrency: usize,
    /// Regions collected at once within one account.
    pub region_concurrency: usize,
    /// How long a lease lasts without renewal, in seconds: the sweep's (held by the process
    /// that drives it) and each account task's (held by one worker). Holders renew three
    /// times per lease; a dead process's sweep is taken over once its lease lapsed.
    pub lease_seconds: i64,
    /// How far back model customization and batch inference jobs are read, in days (BR.JOB.1).
    pub job_window_days: i64,
    /// Most bytes of CloudTrail digest and log files one process reads per sweep to verify
    /// digest chains (BR.LOG.6), in MiB; a chain left unfinished resumes next sweep.
    pub digest_max_mib_per_sweep: u64,
    /// Who owns the trail buckets that live in another account than the trail's (the usual
    /// log-archive account), as `bucket=account-id`: the member role there reads the digests.
    /// A bucket not listed is read as the trail's own account.
    pub trail_bucket_owners: Vec<String>,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            regions: Vec::new(),
            account_concurrency: 8,
            region_concurrency: 4,
            lease_seconds: 60,
            job_window_days: 30,
            digest_max_mib_per_sweep: 4096,
            trail_bucket_owners: Vec::new(),
        }
    }
}

impl SweepSettings {
    /// `trail_bucket_owners` as a map from bucket name to owning account.
    pub fn trail_bucket_owners(&self) -> Result<std::collections::BTreeMap<String, crate::domain::AccountId>, String> {
        self.trail_bucket_owners
            .iter()
            .map(|entry| {
                let (bucket, account) = entry.split_once('=').ok_or_else(|| format!("{entry}: no `=`"))?;
                let account = crate::domain::AccountId::parse(account.trim()).map_err(|e| format!("{entry}: {e}"))?;
                let bucket = bucket.trim();
                if bucket.is_empty() {
                    return Err(format!("{entry}: no bucket name"));
                }
                Ok((bucket.to_owned(), account))
            })
            .collect()
    }
}

/// The parameters of the controls. Names are those in the catalog's `parameters` lists.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlParameters {
    /// Regions where Bedrock may be used. Empty: every swept region counts as approved.
    pub approved_regions: Vec<Region>,
    /// Whether global cross-region inference (`aws:RequestedRegion = unspecified`) is allowed.
    pub allow_global_inference: bool,
    /// The VPC endpoints Bedrock traffic must arrive through (empty: any VPC endpoint).
    pub approved_vpce_ids: Vec<String>,
    /// Guardrails that must be named on every invocation (empty: any guardrail).
    pub required_guardrail_arns: Vec<String>,
    /// Models that may be invoked (empty: BR.ORG.5 does not apply).
    pub approved_models: Vec<String>,
    /// Oldest acceptable CloudTrail delivery, in hours.
    pub max_delivery_age_hours: i64,
    /// How far back a digest chain is verified when no earlier sweep verified it, in hours (BR.LOG.6).
    pub digest_window_hours: i64,
    /// Shortest acceptable retention of the invocation log group, in days.
    pub min_log_retention_days: i32,
    /// Weakest acceptable prompt-attack filter strength (LOW, MEDIUM, HIGH).
    pub min_prompt_attack_strength: FilterStrength,
    /// IAM principal ARN patterns (`*` and `?` allowed) that BR.IAM.1 does not judge.
    pub exempt_principals: Vec<String>,
    /// Oldest acceptable active long-term Bedrock API key, in days (BR.IAM.2).
    pub max_api_key_age_days: i64,
    /// Weakest acceptable strength of each harmful-content filter, on prompts and responses (BR.GRD.2).
    pub min_content_filter_strength: FilterStrength,
    /// Whether every guardrail must also check contextual grounding and relevance (BR.GRD.2).
    pub require_contextual_grounding: bool,
    /// Longest acceptable idle-session TTL of an agent, in seconds (BR.AGT.1).
    pub max_agent_idle_session_seconds: i32,
    /// Whether BR.NET.3 also requires private endpoints for the Bedrock control planes
    /// (bedrock, bedrock-agent) where the region has resources they manage.
    pub require_control_plane_endpoints: bool,
    /// Names or ARNs (`*` and `?` allowed) of AgentCore runtimes, browsers and code
    /// interpreters allowed on the public network (BR.AGC.4).
    pub agentcore_public_network_allowed: Vec<String>,
}

impl Default for ControlParameters {
    fn default() -> Self {
        Self {
            approved_regions: Vec::new(),
            allow_global_inference: false,
            approved_vpce_ids: Vec::new(),
            required_guardrail_arns: Vec::new(),
            approved_models: Vec::new(),
            max_delivery_age_hours: 24,
            digest_window_hours: 48,
            min_log_retention_days: 365,
            min_prompt_attack_strength: FilterStrength::High,
            exempt_principals: Vec::new(),
            max_api_key_age_days: 90,
            min_content_filter_strength: FilterStrength::Medium,
            require_contextual_grounding: false,
            max_agent_idle_session_seconds: 1800,
            require_control_plane_endpoints: false,
            agentcore_public_network_allowed: Vec::new(),
        }
    }
}

impl ControlParameters {
    /// The names of every control parameter (its fields, as the catalog's `parameters` name
    /// them), derived from the struct itself, for the catalog validator.
    pub fn names() -> Vec<String> {
        match serde_json::to_value(Self::default()) {
            Ok(serde_json::Value::Object(fields)) => fields.into_iter().map(|(name, _)| name).collect(),
            _ => Vec::new(),
        }
    }
}

const ENV_PREFIX: &str = "SWEEPER_";

/// Keys whose values are secrets: an error about them never repeats the value.
const SECRET_KEYS: [&str; 3] = ["database.url", "aws.external_id", "api.fingerprint_secret"];

impl Settings {
    /// Loads settings from `path` (if given) and the process environment, then validates them.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let file_text = match path {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|source| ConfigError::Read { path: p.display().to_string(), source })?,
            None => String::new(),
        };
        Self::from_sources(&file_text, std::env::vars())
    }

    /// Builds settings from TOML text and `(name, value)` environment pairs. Env wins.
    pub fn from_sources(toml_text: &str, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let mut table: toml::Table = toml::from_str(toml_text).map_err(|e| syntax_error(&e, toml_text))?;
        let defaults = toml::Table::try_from(Settings::default()).map_err(|e| ConfigError::Shape(e.to_string()))?;
        for (var, value) in env {
            let Some(rest) = var.strip_prefix(ENV_PREFIX) else { continue };
            if rest == "CONFIG" {
                continue;
            }
            let Some((section, key)) = rest.split_once("__") else {
                return Err(ConfigError::Env { var, reason: "expected SWEEPER_<SECTION>__<KEY>".into() });
            };
            let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
            let Some(toml::Value::Table(default_section)) = defaults.get(&section) else {
                return Err(ConfigError::Env { var, reason: format!("no section `{section}`") });
            };
            let parsed = match default_section.get(&key) {
                Some(toml::Value::Array(_)) => toml::Value::Array(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| toml::Value::String(s.to_owned()))
                        .collect(),
                ),
                Some(toml::Value::Boolean(_)) => match value.as_str() {
                    "true" | "1" => toml::Value::Boolean(true),
                    "false" | "0" => toml::Value::Boolean(false),
                    _ => {
                        return Err(ConfigError::Env { var, reason: "expected true or false".into() });
                    }
                },
                Some(toml::Value::Integer(_)) => match value.trim().parse::<i64>() {
                    Ok(n) => toml::Value::Integer(n),
                    Err(_) => {
                        return Err(ConfigError::Env { var, reason: "expected a whole number".into() });
                    }
                },
                // Strings, and optional keys with no default (such as aws.external_id).
                _ => toml::Value::String(value),
            };
            let section_table = table.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match section_table {
                toml::Value::Table(t) => {
                    t.insert(key, parsed);
                }
                _ => {
                    return Err(ConfigError::Invalid { key: section, reason: "must be a table".into() });
                }
            }
        }
        // Round-trip through text so that serde errors carry the key path.
        let merged = toml::to_string(&table).map_err(|e| ConfigError::Shape(e.to_string()))?;
        let settings: Settings = toml::from_str(&merged).map_err(|e| {
            let hint = key_hint(&e, &merged);
            // serde quotes the value it refused (`invalid type: integer `123``); not for a secret.
            let secret = SECRET_KEYS.iter().any(|k| hint.contains(&format!("`{k}`")));
            let problem = if secret { "invalid value (not shown: this key holds a secret)" } else { e.message() };
            ConfigError::Shape(problem.to_owned() + &hint)
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: &str| Err(ConfigError::Invalid { key: key.into(), reason: reason.into() });
        if self.sweep.account_concurrency == 0 || self.sweep.account_concurrency > 256 {
            return invalid("sweep.account_concurrency", "must be between 1 and 256");
        }
        if self.sweep.region_concurrency == 0 || self.sweep.region_concurrency > 64 {
            return invalid("sweep.region_concurrency", "must be between 1 and 64");
        }
        if !(1..=3_650).contains(&self.sweep.job_window_days) {
            return invalid("sweep.job_window_days", "must be between 1 and 3650");
        }
        if !(3..=86_400).contains(&self.sweep.lease_seconds) {
            return invalid("sweep.lease_seconds", "must be between 3 and 86400");
        }
        let name_ok = !self.aws.member_role_name.is_empty()
            && self.aws.member_role_name.len() <= 64
            && self.aws.member_role_name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !name_ok {
            return invalid("aws.member_role_name", "must be a valid IAM role name");
        }
        if !self.aws.member_role_path.starts_with('/') || !self.aws.member_role_path.ends_with('/') {
            return invalid("aws.member_role_path", "must start and end with `/`");
        }
        if !(900..=43_200).contains(&self.aws.session_duration_seconds) {
            return invalid("aws.session_duration_seconds", "must be between 900 and 43200");
        }
        if self.aws.max_attempts == 0 || self.aws.max_attempts > 20 {
            return invalid("aws.max_attempts", "must be between 1 and 20");
        }
        if self.aws.call_timeout_seconds == 0 {
            return invalid("aws.call_timeout_seconds", "must be at least 1");
        }
        if self.aws.connect_timeout_seconds == 0 || self.aws.connect_timeout_seconds > self.aws.call_timeout_seconds {
            return invalid("aws.connect_timeout_seconds", "must be between 1 and aws.call_timeout_seconds");
        }
        if self.aws.operation_timeout_seconds < self.aws.call_timeout_seconds {
            return invalid("aws.operation_timeout_seconds", "must be at least aws.call_timeout_seconds");
        }
        if !(1..=36_500).contains(&self.database.retention_days) {
            return invalid("database.retention_days", "must be between 1 and 36500");
        }
        if self.controls.max_delivery_age_hours <= 0 {
            return invalid("controls.max_delivery_age_hours", "must be positive");
        }
        if !(1..=24 * 366).contains(&self.controls.digest_window_hours) {
            return invalid("controls.digest_window_hours", "must be between 1 and 8784");
        }
        if self.sweep.digest_max_mib_per_sweep == 0 {
            return invalid("sweep.digest_max_mib_per_sweep", "must be at least 1");
        }
        if self.sweep.trail_bucket_owners().is_err() {
            return invalid("sweep.trail_bucket_owners", "each entry must be `bucket=123456789012`");
        }
        if self.controls.max_agent_idle_session_seconds <= 0 {
            return invalid("controls.max_agent_idle_session_seconds", "must be positive");
        }
        if self.controls.max_api_key_age_days <= 0 {
            return invalid("controls.max_api_key_age_days", "must be positive");
        }
        if self.controls.min_log_retention_days <= 0 {
            return invalid("controls.min_log_retention_days", "must be positive");
        }
        if !(1..=80).contains(&self.security_hub.heartbeat_days) {
            return invalid(
                "security_hub.heartbeat_days",
                "must be between 1 and 80 (Security Hub deletes findings after 90 days)",
            );
        }
        if self.security_hub.concurrency == 0 {
            return invalid("security_hub.concurrency", "must be at least 1");
        }
        if !(1..=1440).contains(&self.security_hub.sync_interval_minutes) {
            return invalid("security_hub.sync_interval_minutes", "must be between 1 and 1440");
        }
        if let Some(bad) = self.controls.approved_vpce_ids.iter().find(|v| !v.starts_with("vpce-")) {
            return invalid("controls.approved_vpce_ids", &format!("`{bad}` is not a VPC endpoint id"));
        }
        if let Err(e) = parse_schedule(&self.api.schedule) {
            return invalid("api.schedule", &format!("not a cron expression with seconds ({e})"));
        }
        if self.api.fingerprint_secret.as_ref().is_some_and(|s| s.expose_secret().chars().count() < 32) {
            return invalid(
                "api.fingerprint_secret",
                "must be at least 32 characters (leave it out to have one generated)",
            );
        }
        if !(1..=300).contains(&self.api.header_read_timeout_seconds) {
            return invalid("api.header_read_timeout_seconds", "must be between 1 and 300");
        }
        if !(1..=3600).contains(&self.api.request_timeout_seconds) {
            return invalid("api.request_timeout_seconds", "must be between 1 and 3600");
        }
        if self.api.max_concurrent_requests == 0 {
            return invalid("api.max_concurrent_requests", "must be at least 1");
        }
        if self.api.max_connections == 0 || self.api.max_connections > 1_000_000 {
            return invalid("api.max_connections", "must be between 1 and 1000000");
        }
        if self.api.metrics_listen == Some(self.api.listen) {
            return invalid("api.metrics_listen", "must differ from api.listen (leave it out to serve /metrics there)");
        }
        Ok(())
    }
}

/// A TOML syntax error as its position and the parser's message. `toml`'s `Display` quotes
/// the offending line, which may hold a secret (`url = "postgres://u:pw@…`), so it is not used.
fn syntax_error(err: &toml::de::Error, text: &str) -> ConfigError {
    let offset = err.span().map_or(0, |s| s.start).min(text.len());
    // The span may fall inside a multi-byte character; step back to a boundary.
    let offset = (0..=offset).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let problem = err.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
    ConfigError::Syntax { line, column, problem }
}

/// Names the key a deserialisation error points at, from its span in the merged TOML.
fn key_hint(err: &toml::de::Error, text: &str) -> String {
    let Some(span) = err.span() else { return String::new() };
    let line_start = text[..span.start.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let section = text[..line_start]
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')))
        .unwrap_or("");
    let line = text[line_start..].lines().next().unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) if !section.is_empty() => format!(" (at `{section}.{}`)", key.trim()),
        _ if !section.is_empty() => format!(" (in section `{section}`)"),
        _ => String::new(),
    }
}

fn serialize_secret_placeholder<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("(secret)")
}

fn serialize_opt_secret_placeholder<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("(secret)"),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use sha2::Digest;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_are_valid_and_env_wins_over_the_file() {
        let s = Settings::from_sources("", env(&[])).unwrap();
        assert_eq!(s.aws.member_role_name, "BedrockSweeperReadOnly");
        let file = "[sweep]\naccount_concurrency = 3\nregions = [\"eu-west-1\"]\n";
        let s = Settings::from_sources(
            file,
            env(&[
                ("SWEEPER_SWEEP__ACCOUNT_CONCURRENCY", "5"),
                ("SWEEPER_CONTROLS__APPROVED_REGIONS", "eu-central-1, eu-west-1"),
                ("SWEEPER_AWS__EXTERNAL_ID", "s3cr3t"),
                ("SWEEPER_DATABASE__URL", "postgres://u:pw@h/db"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(s.sweep.account_concurrency, 5);
        assert_eq!(s.sweep.regions, vec![Region::parse("eu-west-1").unwrap()]);
        assert_eq!(s.controls.approved_regions.len(), 2);
        assert_eq!(s.aws.external_id.as_ref().map(|x| x.expose_secret().to_owned()), Some("s3cr3t".into()));
        assert_eq!(s.database.url.expose_secret(), "postgres://u:pw@h/db");
    }

    #[test]
    fn the_example_configuration_is_valid_and_shows_the_defaults() {
        let example = include_str!("../deploy/bedrock-sweeper.example.toml");
        let s = Settings::from_sources(example, env(&[])).unwrap();
        let defaults = Settings::from_sources("", env(&[])).unwrap();
        // Only the values marked "example" differ from the defaults.
        assert_eq!(s.controls.approved_regions.len(), 2);
        assert_eq!(s.security_hub.sync_interval_minutes, defaults.security_hub.sync_interval_minutes);
        assert_eq!(s.security_hub.heartbeat_days, defaults.security_hub.heartbeat_days);
        assert_eq!((s.api.listen, &s.api.schedule), (defaults.api.listen, &defaults.api.schedule));
        assert_eq!(s.sweep.account_concurrency, defaults.sweep.account_concurrency);
        for section in ["[database]", "[aws]", "[sweep]", "[controls]", "[security_hub]", "[api]"] {
            assert!(example.contains(section), "{section} missing from the example");
        }
    }

    #[test]
    fn security_hub_sync_interval_is_bounded() {
        let err = Settings::from_sources("[security_hub]\nsync_interval_minutes = 0\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("security_hub.sync_interval_minutes"), "{err}");
        let s = Settings::from_sources("", env(&[("SWEEPER_SECURITY_HUB__SYNC_INTERVAL_MINUTES", "5")])).unwrap();
        assert_eq!(s.security_hub.sync_interval_minutes, 5);
    }

    #[test]
    fn errors_name_the_key() {
        let err = Settings::from_sources("[sweep]\naccount_concurrency = 0\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("sweep.account_concurrency"), "{err}");
        let err = Settings::from_sources("[sweep]\nregions = [\"Mars\"]\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("sweep.regions"), "{err}");
        let err = Settings::from_sources("[sweep]\nbogus = 1\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        let err = Settings::from_sources("", env(&[("SWEEPER_SWEEP__ACCOUNT_CONCURRENCY", "many")])).unwrap_err();
        assert!(err.to_string().contains("SWEEPER_SWEEP__ACCOUNT_CONCURRENCY"), "{err}");
        let err = Settings::from_sources("", env(&[("SWEEPER_NOPE__X", "1")])).unwrap_err();
        assert!(err.to_string().contains("SWEEPER_NOPE__X"), "{err}");
        let err = Settings::from_sources("not toml [", env(&[])).unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { line: 1, .. }), "{err}");
    }

    #[test]
    fn a_secret_of_the_wrong_type_is_not_repeated() {
        for text in [
            "[aws]\nexternal_id = 987654321\n",
            "[database]\nurl = 987654321\n",
            "[api]\nfingerprint_secret = 987654321\n",
        ] {
            let err = Settings::from_sources(text, env(&[])).unwrap_err().to_string();
            assert!(!err.contains("987654321") && err.contains("holds a secret"), "{err}");
        }
        // Other keys still say what they refused.
        let err = Settings::from_sources("[aws]\nmanagement_account_access = \"owned\"\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("owned"), "{err}");
    }

    #[test]
    fn toml_syntax_errors_give_the_position_and_never_the_line() {
        let cases = [
            // An unterminated string holding a password.
            ("[database]\nurl = \"postgres://u:hunter2@db/x\n", 2),
            // A missing `=`, the secret as a bare word.
            ("[aws]\nsession_name = \"s\"\nexternal_id hunter2\n", 3),
            // A bare value.
            ("[database]\n\n\nurl = hunter2\n", 4),
        ];
        for (text, want_line) in cases {
            let err = Settings::from_sources(text, env(&[])).unwrap_err();
            let shown = err.to_string();
            assert!(!shown.contains("hunter2") && !format!("{err:?}").contains("hunter2"), "{shown}");
            match err {
                ConfigError::Syntax { line, column, .. } => {
                    assert_eq!(line, want_line, "{shown}");
                    assert!(column >= 1, "{shown}");
                }
                other => panic!("not a syntax error: {other}"),
            }
            assert!(shown.contains(&format!("line {want_line}, column ")), "{shown}");
        }
    }

    #[test]
    fn api_section_defaults_and_token_hashes() {
        let s = Settings::from_sources("", env(&[])).unwrap();
        assert_eq!(s.api.listen.to_string(), "127.0.0.1:8080");
        assert!(s.api.tokens.is_empty() && s.api.metrics_listen.is_none());
        let hash = hex::encode(sha2::Sha256::digest(b"secret-token"));
        let s = Settings::from_sources(
            &format!("[api]\ntokens = [\"viewer:{hash}\"]\nschedule = \"0 30 2 * * Mon\"\n"),
            env(&[("SWEEPER_API__METRICS_LISTEN", "127.0.0.1:9100")]),
        )
        .unwrap();
        assert_eq!(s.api.tokens[0].role, Role::Viewer);
        assert_eq!(hex::encode(s.api.tokens[0].sha256), hash);
        assert_eq!(s.api.metrics_listen.map(|a| a.port()), Some(9100));
        let s = Settings::from_sources("", env(&[("SWEEPER_API__TOKENS", &format!("operator:{hash}, viewer:{hash}"))]))
            .unwrap();
        assert_eq!(s.api.tokens.iter().map(|t| t.role).collect::<Vec<_>>(), [Role::Operator, Role::Viewer]);
    }

    #[test]
    fn api_section_rejects_plain_tokens_bad_roles_and_bad_schedules() {
        // A token pasted instead of its hash is refused, and the error does not echo it.
        let err = Settings::from_sources("[api]\ntokens = [\"viewer:my-plain-token\"]\n", env(&[])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("api.tokens") && !text.contains("my-plain-token"), "{text}");
        let err = Settings::from_sources(&format!("[api]\ntokens = [\"admin:{}\"]\n", "ab".repeat(32)), env(&[]))
            .unwrap_err();
        assert!(err.to_string().contains("unknown role `admin`"), "{err}");
        let err = Settings::from_sources("[api]\nschedule = \"0 3 * * *\"\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("api.schedule"), "{err}");
        let err = Settings::from_sources("[api]\nlisten = \"nowhere\"\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("api.listen"), "{err}");
        let err = Settings::from_sources(
            "[api]\nlisten = \"127.0.0.1:8080\"\nmetrics_listen = \"127.0.0.1:8080\"\n",
            env(&[]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("api.metrics_listen"), "{err}");
    }

    #[test]
    fn the_fingerprint_secret_is_a_long_secret() {
        let long = "f".repeat(32);
        let s = Settings::from_sources("", env(&[("SWEEPER_API__FINGERPRINT_SECRET", &long)])).unwrap();
        assert_eq!(s.api.fingerprint_secret.as_ref().map(|x| x.expose_secret().len()), Some(32));
        assert!(!format!("{s:?}").contains(&long));
        let err = Settings::from_sources("[api]\nfingerprint_secret = \"short-hunter2\"\n", env(&[])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("api.fingerprint_secret") && !text.contains("hunter2"), "{text}");
    }

    #[test]
    fn http_limits_aws_timeouts_and_retention_have_defaults_and_bounds() {
        let s = Settings::from_sources("", env(&[])).unwrap();
        assert_eq!((s.api.header_read_timeout_seconds, s.api.request_timeout_seconds), (10, 30));
        assert_eq!((s.api.max_concurrent_requests, s.api.max_connections), (256, 1024));
        assert_eq!((s.aws.connect_timeout_seconds, s.aws.operation_timeout_seconds), (5, 120));
        assert_eq!(s.database.retention_days, 400);
        let s = Settings::from_sources("", env(&[("SWEEPER_API__MAX_CONNECTIONS", "64")])).unwrap();
        assert_eq!(s.api.max_connections, 64);
        for (text, key) in [
            ("[api]\nheader_read_timeout_seconds = 0\n", "api.header_read_timeout_seconds"),
            ("[api]\nrequest_timeout_seconds = 0\n", "api.request_timeout_seconds"),
            ("[api]\nmax_concurrent_requests = 0\n", "api.max_concurrent_requests"),
            ("[api]\nmax_connections = 0\n", "api.max_connections"),
            ("[aws]\nconnect_timeout_seconds = 0\n", "aws.connect_timeout_seconds"),
            ("[aws]\ncall_timeout_seconds = 30\noperation_timeout_seconds = 10\n", "aws.operation_timeout_seconds"),
            ("[database]\nretention_days = 0\n", "database.retention_days"),
        ] {
            let err = Settings::from_sources(text, env(&[])).unwrap_err();
            assert!(err.to_string().contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn token_hashes_stay_out_of_debug_output() {
        let hash = "ab".repeat(32);
        let s = Settings::from_sources(&format!("[api]\ntokens = [\"operator:{hash}\"]\n"), env(&[])).unwrap();
        assert!(!format!("{s:?}").contains(&hash));
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let s = Settings::from_sources(
            "",
            env(&[("SWEEPER_DATABASE__URL", "postgres://u:hunter2@h/db"), ("SWEEPER_AWS__EXTERNAL_ID", "ext-hunter3")]),
        )
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("hunter3"), "{shown}");
    }
}
