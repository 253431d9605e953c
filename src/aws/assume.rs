//! Assumed-role credentials for a member account.
//!
//! The first `AssumeRole` happens eagerly so that an account we cannot enter is known (with
//! its AWS error code) before any collector runs. The credentials provider then re-assumes
//! the role whenever the SDK's identity cache finds the credentials expired, so a sweep
//! that outlives `session_duration_seconds` keeps working.
//!
//! The role's ARN is built in the partition of the service's own credentials, and the
//! external id stays a `SecretString` until the request is built, so it never reaches a log
//! through `Debug` (the SDK's credentials cache logs its provider at trace level).

use std::sync::Mutex;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, error::CredentialsError, future};
use secrecy::{ExposeSecret, SecretString};

use super::errors::{Failure, classify};
use super::{AccountClients, AwsContext};
use crate::domain::AccountId;

/// The role could not be assumed.
#[derive(Debug, thiserror::Error)]
#[error("cannot assume {role_arn}: {} ({})", failure.code, failure.message)]
pub struct AssumeRoleError {
    /// The role we tried.
    pub role_arn: String,
    /// What STS said.
    pub failure: Failure,
}

#[derive(Debug)]
struct AssumedRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    session_name: String,
    external_id: Option<SecretString>,
    duration_seconds: i32,
    /// The credentials of the eager first call, handed out once and then refreshed.
    first: Mutex<Option<Credentials>>,
}

impl AssumedRole {
    async fn assume(
        &self,
    ) -> Result<Credentials, aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError>> {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(&self.session_name)
            .set_external_id(self.external_id.as_ref().map(|s| s.expose_secret().to_owned()))
            .duration_seconds(self.duration_seconds)
            .send()
            .await?;
        let creds = out.credentials.map(|c| {
            let expiry = SystemTime::try_from(c.expiration).ok();
            Credentials::new(c.access_key_id, c.secret_access_key, Some(c.session_token), expiry, "AssumeRole")
        });
        creds.ok_or_else(|| {
            aws_sdk_sts::error::SdkError::construction_failure("AssumeRole answered without credentials")
        })
    }

    async fn provide(&self) -> Result<Credentials, CredentialsError> {
        let first = self.first.lock().ok().and_then(|mut f| f.take());
        if let Some(c) = first {
            return Ok(c);
        }
        self.assume().await.map_err(CredentialsError::provider_error)
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.provide())
    }
}

/// Assumes the member role in `account` and returns clients that use it.
pub async fn assume_role(ctx: &AwsContext, account: &AccountId) -> Result<AccountClients, AssumeRoleError> {
    let settings = ctx.settings();
    let partition = ctx.partition().await.map_err(|failure| AssumeRoleError {
        role_arn: format!(
            "role {}{} in {account} (partition unknown)",
            settings.member_role_path, settings.member_role_name
        ),
        failure,
    })?;
    let role_arn = settings.member_role_arn(&partition, account);
    let role = AssumedRole {
        sts: ctx.own_clients().sts(None),
        role_arn: role_arn.clone(),
        session_name: settings.session_name.clone(),
        external_id: settings.external_id.clone(),
        duration_seconds: settings.session_duration_seconds,
        first: Mutex::new(None),
    };
    let first = role.assume().await.map_err(|e| AssumeRoleError { role_arn, failure: classify(&e) })?;
    if let Ok(mut slot) = role.first.lock() {
        *slot = Some(first);
    }
    // One identity cache for every client of the account: without it each client (one per
    // service and region) caches on its own and assumes the role again.
    let config = ctx
        .base()
        .clone()
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(role))
        .identity_cache(aws_config::identity::IdentityCache::lazy().build())
        .build();
    Ok(AccountClients { config, counter: ctx.counter().clone(), s3_force_path_style: settings.s3_force_path_style })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_external_id_stays_out_of_debug_output() {
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::Config::builder()
                .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
                .region(aws_sdk_sts::config::Region::new("eu-west-1"))
                .build(),
        );
        let role = AssumedRole {
            sts,
            role_arn: "arn:aws:iam::111122223333:role/BedrockSweeperReadOnly".into(),
            session_name: "bedrock-sweeper".into(),
            external_id: Some(SecretString::from("ext-id-hunter2")),
            duration_seconds: 900,
            first: Mutex::new(None),
        };
        let shown = format!("{role:?}");
        assert!(shown.contains("BedrockSweeperReadOnly"), "the rest is still shown: {shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
