//! AWS SDK plumbing, and nothing else: the base `SdkConfig` (standard retry, timeouts),
//! one place that builds every client (so each carries the call counter), assumed-role
//! credentials for member accounts, and classification of SDK errors.
//!
//! No business logic here, and no SDK type leaves `aws/`, `org/`, `collect/` or `export/`.

mod assume;
mod calls;
pub mod errors;
mod identity;

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

pub use assume::{AssumeRoleError, assume_role};

/// The STS actions of the service's own credentials: entering the member accounts
/// (`assume_role`) and knowing who it is (`CallerIdentity`).
pub const ACTIONS: &[&str] = &["sts:AssumeRole", "sts:GetCallerIdentity"];
pub use calls::{CallCounter, CallCounts, OperationCount, calls_since};
pub use identity::{CallerIdentity, ManagementAccessRefused, check_management_access};

use crate::config::AwsSettings;
use crate::domain::{Partition, Region};

/// The AWS side of a sweep: the base configuration (management-account credentials,
/// endpoint, retry and timeouts), the call counter every client reports to, and the
/// settings for assuming member roles.
#[derive(Debug, Clone)]
pub struct AwsContext {
    base: SdkConfig,
    counter: CallCounter,
    settings: AwsSettings,
    /// The caller identity, read on first use and then shared by every clone.
    identity: Arc<tokio::sync::OnceCell<CallerIdentity>>,
}

/// Clients for one account, all sharing its credentials and the sweep's call counter.
#[derive(Debug, Clone)]
pub struct AccountClients {
    config: SdkConfig,
    counter: CallCounter,
    s3_force_path_style: bool,
}

impl AwsContext {
    /// Loads the base configuration from the standard AWS chain (`AWS_PROFILE`,
    /// `AWS_REGION`, `AWS_ENDPOINT_URL`, ...) and applies our retry and timeout policy.
    pub async fn from_env(settings: &AwsSettings) -> Self {
        let loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry_policy(settings))
            .timeout_config(timeout_policy(settings));
        let base = loader.load().await;
        Self::from_config(base, settings)
    }

    /// Uses an already-built base configuration (tests point it at the emulator); our
    /// retry and timeout policy replaces whatever it had.
    pub fn from_config(base: SdkConfig, settings: &AwsSettings) -> Self {
        let base =
            base.into_builder().retry_config(retry_policy(settings)).timeout_config(timeout_policy(settings)).build();
        Self { base, counter: CallCounter::default(), settings: settings.clone(), identity: Arc::default() }
    }

    /// The call counter shared by every client this context builds.
    pub fn counter(&self) -> &CallCounter {
        &self.counter
    }

    /// The settings for member roles.
    pub fn settings(&self) -> &AwsSettings {
        &self.settings
    }

    /// The region the service itself runs in (used for global APIs such as IAM and STS).
    pub fn home_region(&self) -> Option<String> {
        self.base.region().map(|r| r.to_string())
    }

    /// Clients that use the service's own credentials (the management account).
    pub fn own_clients(&self) -> AccountClients {
        AccountClients {
            config: self.base.clone(),
            counter: self.counter.clone(),
            s3_force_path_style: self.settings.s3_force_path_style,
        }
    }

    /// Who the service's own credentials are (STS GetCallerIdentity), read once and then
    /// remembered: credentials do not change account or partition while the process runs.
    /// A failed read is not remembered, so the next caller tries again.
    pub async fn caller_identity(&self) -> Result<&CallerIdentity, errors::Failure> {
        self.identity
            .get_or_try_init(|| async {
                let out = self
                    .own_clients()
                    .sts(None)
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| errors::classify(&e))?;
                CallerIdentity::from_answer(out.account(), out.arn())
            })
            .await
    }

    /// The partition of the service's own credentials: where every ARN we build lives.
    pub async fn partition(&self) -> Result<Partition, errors::Failure> {
        Ok(self.caller_identity().await?.partition.clone())
    }

    /// The account of the service's own credentials (STS GetCallerIdentity).
    pub async fn own_account_id(&self) -> Result<String, String> {
        match self.caller_identity().await {
            Ok(identity) => Ok(identity.account.to_string()),
            Err(f) => Err(format!("{}: {}", f.code, f.message)),
        }
    }

    fn base(&self) -> &SdkConfig {
        &self.base
    }
}

fn retry_policy(settings: &AwsSettings) -> RetryConfig {
    // Standard mode: exponential backoff with jitter, and throttling errors are retried.
    RetryConfig::standard().with_max_attempts(settings.max_attempts)
}

fn timeout_policy(settings: &AwsSettings) -> TimeoutConfig {
    // An endpoint that is down (connection refused, or packets dropped) fails each attempt
    // within the connect timeout, and the operation timeout bounds a call's attempts and
    // backoff together: a sweep whose AWS side went away ends its remaining accounts as gaps
    // in bounded time instead of hanging.
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(settings.connect_timeout_seconds))
        .operation_attempt_timeout(Duration::from_secs(settings.call_timeout_seconds))
        .operation_timeout(Duration::from_secs(settings.operation_timeout_seconds))
        .build()
}

macro_rules! client_fn {
    ($name:ident, $krate:ident) => {
        #[doc = concat!("A `", stringify!($krate), "` client for `region` (the configured region when `None`).")]
        pub fn $name(&self, region: Option<&Region>) -> $krate::Client {
            let mut b = $krate::config::Builder::from(&self.config).interceptor(self.counter.clone());
            if let Some(r) = region {
                b = b.region($krate::config::Region::new(r.as_str().to_owned()));
            }
            $krate::Client::from_conf(b.build())
        }
    };
}

impl AccountClients {
    client_fn!(organizations, aws_sdk_organizations);
    client_fn!(sts, aws_sdk_sts);
    client_fn!(ec2, aws_sdk_ec2);
    client_fn!(cloudtrail, aws_sdk_cloudtrail);
    client_fn!(bedrock, aws_sdk_bedrock);
    client_fn!(bedrock_agent, aws_sdk_bedrockagent);
    client_fn!(agentcore, aws_sdk_bedrockagentcorecontrol);
    client_fn!(kms, aws_sdk_kms);
    client_fn!(iam, aws_sdk_iam);
    client_fn!(logs, aws_sdk_cloudwatchlogs);
    client_fn!(config_service, aws_sdk_config);
    client_fn!(securityhub, aws_sdk_securityhub);

    /// An S3 client for `region`, path-style when configured (S3-compatible endpoints).
    pub fn s3(&self, region: Option<&Region>) -> aws_sdk_s3::Client {
        let mut b = aws_sdk_s3::config::Builder::from(&self.config)
            .interceptor(self.counter.clone())
            .force_path_style(self.s3_force_path_style);
        if let Some(r) = region {
            b = b.region(aws_sdk_s3::config::Region::new(r.as_str().to_owned()));
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }
}
