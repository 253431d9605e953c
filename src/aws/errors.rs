//! Classification of SDK errors by their AWS error code (`ProvideErrorMetadata::code`),
//! never by message text. A failed call becomes a `Failure` that says what kind of
//! failure it was; `collect/` turns that into a recorded gap.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure a call ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// IAM, an SCP or a resource policy said no.
    AccessDenied,
    /// The region is not enabled for the account (opt-in region) or the account is not subscribed.
    NotEnabled,
    /// Still throttled after the retries.
    Throttled,
    /// The call timed out.
    Timeout,
    /// The request never got an answer (connection refused, DNS, TLS).
    Network,
    /// The answer could not be understood (e.g. an HTML error page instead of JSON).
    BadResponse,
    /// Any other error answered by the service.
    Service,
}

/// A classified failure: the kind, the AWS error code when there is one, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The AWS error code (`AccessDenied`, `OptInRequired`, ...) or a descriptive token.
    pub code: String,
    /// The error with its context, for people.
    pub message: String,
}

const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
];
const NOT_ENABLED: &[&str] = &[
    "OptInRequired",
    "SubscriptionRequiredException",
    "InvalidAccessException",
    "RegionDisabledException",
    "AWSOrganizationsNotInUseException",
];
const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
];

/// Classifies any SDK error.
pub fn classify<E, R>(err: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let message = DisplayErrorContext(err).to_string();
    let (kind, code) = match err {
        SdkError::TimeoutError(_) => (FailureKind::Timeout, "Timeout".to_owned()),
        SdkError::DispatchFailure(d) if d.is_timeout() => (FailureKind::Timeout, "Timeout".to_owned()),
        SdkError::DispatchFailure(_) => (FailureKind::Network, "DispatchFailure".to_owned()),
        SdkError::ResponseError(_) => (FailureKind::BadResponse, "UnparseableResponse".to_owned()),
        SdkError::ConstructionFailure(_) => (FailureKind::Service, "ConstructionFailure".to_owned()),
        _ => match err.code() {
            Some(code) => (kind_of_code(code), code.to_owned()),
            // A service error without a code: usually a body we could not parse.
            None => (FailureKind::BadResponse, "UnparseableResponse".to_owned()),
        },
    };
    Failure { kind, code, message }
}

/// The kind of failure an AWS error code stands for.
pub fn kind_of_code(code: &str) -> FailureKind {
    if ACCESS_DENIED.contains(&code) {
        FailureKind::AccessDenied
    } else if NOT_ENABLED.contains(&code) {
        FailureKind::NotEnabled
    } else if THROTTLED.contains(&code) {
        FailureKind::Throttled
    } else {
        FailureKind::Service
    }
}

/// True when the error is one of the "not found" codes a collector may treat as
/// "nothing of that kind exists" (for example no invocation-logging configuration).
pub fn is_not_found<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    matches!(
        err.code(),
        Some(
            "ResourceNotFoundException"
                | "NoSuchEntity"
                | "ServerSideEncryptionConfigurationNotFoundError"
                | "TrailNotFoundException"
                | "NotFoundException"
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(kind_of_code("AccessDenied"), FailureKind::AccessDenied);
        assert_eq!(kind_of_code("OptInRequired"), FailureKind::NotEnabled);
        assert_eq!(kind_of_code("ThrottlingException"), FailureKind::Throttled);
        assert_eq!(kind_of_code("InternalFailure"), FailureKind::Service);
    }
}
